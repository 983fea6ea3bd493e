"""Constant-Q patches (Oramas et al. 2017): one log-CQT patch per track, via ``librosa.cqt``.

Oramas et al. feed their audio CNN one 15-second patch per track of a constant-Q
transform with 96 bins (12 per octave, 8 octaves from C1) and 1,024-sample hops at
22,050 Hz (46 ms, no overlap), amplitude in decibels. Clips come from the middle of the
track's audio file (decoded by :func:`apc.features.audio.load_audio`) or are rendered
for the synthetic corpus (:func:`apc.features.synth_audio.render_audio`); a track whose
audio is missing or undecodable gets no patch.

References
----------
S. Oramas, O. Nieto, M. Sordo and X. Serra. "A deep multimodal approach for cold-start
music recommendation." DLRS 2017 (RecSys workshop), 32-37.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from apc.data.playlists import Playlists
from apc.errors import ApcInputError


@dataclass(frozen=True)
class CQTSettings:
    """Settings of the constant-Q front end (defaults: Oramas et al. 2017)."""

    seconds: float = 15.0
    n_bins: int = 96
    bins_per_octave: int = 12
    hop_length: int = 1024
    sr: int = 22_050
    top_db: float = 80.0

    def validate(self) -> None:
        """Raise :class:`ApcInputError` on impossible values."""
        if self.seconds <= 0 or self.top_db <= 0:
            raise ApcInputError("seconds and top_db must be > 0", field="seconds")
        if min(self.n_bins, self.bins_per_octave, self.hop_length, self.sr) < 1:
            raise ApcInputError("n_bins, bins_per_octave, hop_length, sr must be >= 1",
                                field="n_bins")

    @property
    def frames(self) -> int:
        """Frames of one patch."""
        return 1 + int(self.seconds * self.sr) // self.hop_length


def log_cqt(y: np.ndarray, s: CQTSettings) -> np.ndarray:
    """Return the (clips, n_bins, frames) log-CQT of (clips, samples) signals, scaled to [0, 1].

    Decibels relative to each clip's maximum, floored at ``-top_db``, divided by
    ``top_db`` and shifted by one.
    """
    import librosa

    c = np.abs(librosa.cqt(np.asarray(y, np.float32), sr=s.sr, hop_length=s.hop_length,
                           n_bins=s.n_bins, bins_per_octave=s.bins_per_octave))
    ref = np.maximum(c.max(axis=(-2, -1), keepdims=True), 1e-10)
    db = 20.0 * np.log10(np.maximum(c, 1e-10) / ref)
    return (np.maximum(db, -s.top_db) / s.top_db + 1.0).astype(np.float32)


def _fit_length(y: np.ndarray, n: int) -> np.ndarray:
    if len(y) >= n:
        start = (len(y) - n) // 2
        return y[start : start + n]
    return np.pad(y, (0, n - len(y)))


def cqt_patches(pl: Playlists, settings: CQTSettings, *, chunk: int = 32
                ) -> tuple[np.ndarray, np.ndarray, int]:
    """Compute one log-CQT patch per track of ``pl``.

    Parameters
    ----------
    pl : Playlists
        A corpus with an ``audio_path`` column or the synthetic corpus.
    settings : CQTSettings
        Front-end settings.
    chunk : int
        Clips transformed together.

    Returns
    -------
    matrix : np.ndarray
        float32 (n_tracks, n_bins * frames): each row a flattened (n_bins, frames) patch.
    available : np.ndarray
        bool (n_tracks,).
    failed : int
        Tracks whose audio file was missing or undecodable.
    """
    from apc.features.audio import MelSettings, load_audio
    from apc.features.sources import _is_synthetic
    from apc.features.synth_audio import render_audio
    from apc.progress import progress

    s = settings
    s.validate()
    n_samples = int(s.seconds * s.sr)
    matrix = np.zeros((pl.n_tracks, s.n_bins * s.frames), np.float32)
    available = np.zeros(pl.n_tracks, bool)
    failed = 0
    if "audio_path" in pl.tracks.columns:
        mel = MelSettings(sr=s.sr, max_seconds=s.seconds)
        root = pl.info.get("audio_root")
        paths = pl.tracks["audio_path"].to_numpy(dtype=object)
        for i in progress(range(pl.n_tracks), "constant-Q patches", unit="track"):
            p = paths[i]
            if p is None or (isinstance(p, float) and np.isnan(p)) or str(p) == "":
                continue
            path = p if root is None else f"{root}/{p}"
            try:
                y = load_audio(path, mel)
            except (ApcInputError, OSError, RuntimeError):
                failed += 1
                continue
            matrix[i] = log_cqt(_fit_length(y, n_samples)[None], s)[0, :, : s.frames].ravel()
            available[i] = True
        return matrix, available, failed
    if not _is_synthetic(pl):
        raise ApcInputError(
            "the corpus has no audio: expected an 'audio_path' column in tracks or the "
            "synthetic corpus", field="audio_path",
        )
    for start in progress(range(0, pl.n_tracks, chunk), "constant-Q patches", unit="chunk"):
        rows = np.arange(start, min(pl.n_tracks, start + chunk))
        y = np.asarray(render_audio(pl.tracks, rows, sr=s.sr, seconds=s.seconds))
        y = np.stack([_fit_length(v, n_samples) for v in y])
        matrix[rows] = log_cqt(y, s)[:, :, : s.frames].reshape(len(rows), -1)
        available[rows] = True
    return matrix, available, failed


def settings_key(settings: CQTSettings) -> dict:
    """Return the settings as a plain dict (part of a cache key)."""
    return asdict(settings)


__all__ = ["CQTSettings", "cqt_patches", "log_cqt", "settings_key"]
