"""The clip spectrogram front end of Wang & Wang (2014): 5-s clips, 120 bands, 30 ms frames, PCA.

Each track is a 5-second clip from the middle of its audio, turned into a spectrogram of
120 (mel) bands over non-overlapping 30 ms windows — 166 frames x 120 bands per clip —
and every frame is PCA-whitened to 100 dimensions (Wang & Wang 2014, Sec. 4.1). The
spectrogram is apc's log-compressed mel front end (:mod:`apc.features.audio`) with the
window and hop both set to 30 ms (662 samples at 22,050 Hz, no overlap).

The PCA is unsupervised and uses audio only (frames of every track with audio, also
cold ones), so the result depends on the audio and the settings, not on a split.

References
----------
X. Wang and Y. Wang. "Improving content-based and hybrid music recommendation using deep
learning." ACM Multimedia 2014, 627-636.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from apc.data.playlists import Playlists
from apc.errors import ApcInputError


@dataclass(frozen=True)
class ClipSpectrogramSettings:
    """Settings of the Wang & Wang (2014) front end (defaults: the paper's)."""

    seconds: float = 5.0
    n_bands: int = 120
    window_ms: float = 30.0
    n_components: int = 100
    frames: int = 166
    sr: int = 22_050
    pca_frames: int = 20_000

    def validate(self) -> None:
        """Raise :class:`ApcInputError` on impossible values."""
        if self.seconds <= 0 or self.window_ms <= 0:
            raise ApcInputError("seconds and window_ms must be > 0", field="seconds")
        if min(self.n_bands, self.n_components, self.frames, self.sr, self.pca_frames) < 1:
            raise ApcInputError(
                "n_bands, n_components, frames, sr and pca_frames must be >= 1", field="frames"
            )
        if self.n_components > self.n_bands:
            raise ApcInputError("n_components must be <= n_bands", field="n_components")

    @property
    def window(self) -> int:
        """Window (= hop) length in samples."""
        return max(1, int(round(self.sr * self.window_ms / 1000.0)))

    @property
    def clip_frames(self) -> int:
        """Frames of a whole clip (166 for 5 s of 30 ms)."""
        return max(1, int(self.seconds * self.sr) // self.window)


def clip_spectrograms(
    pl: Playlists, settings: ClipSpectrogramSettings, *, cache_dir: str | Path | None = None
) -> tuple[list[np.ndarray | None], int]:
    """Return one (clip_frames, n_bands) log spectrogram per track (None without audio).

    Returns
    -------
    specs : list
        float32 (clip_frames, n_bands) or None per track.
    failed : int
        Tracks whose audio was missing or undecodable.
    """
    from apc.features.audio import MelSettings
    from apc.features.sources import corpus_log_mels

    s = settings
    mel = MelSettings(sr=s.sr, n_mels=s.n_bands, n_fft=s.window, hop_length=s.window,
                      max_seconds=s.seconds)
    specs, report = corpus_log_mels(pl, settings=mel, cache_dir=cache_dir,
                                    render_seconds=s.seconds)
    t = s.clip_frames
    out = []
    for x in specs:
        if x is None:
            out.append(None)
            continue
        x = np.asarray(x, np.float32).T[:t]
        if len(x) < t:  # a short clip: repeat its last frame
            x = np.concatenate([x, np.repeat(x[-1:], t - len(x), axis=0)])
        out.append(x)
    return out, int(len(report))


def pca_frames(
    specs: list[np.ndarray | None], settings: ClipSpectrogramSettings, *, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """PCA-whiten every frame to ``n_components`` and keep ``frames`` evenly spaced frames.

    Parameters
    ----------
    specs : list
        (clip_frames, n_bands) arrays or None, from :func:`clip_spectrograms`.
    settings : ClipSpectrogramSettings
        ``n_components``, ``frames`` (fewer than the clip's: evenly spaced ones) and
        ``pca_frames`` (frames sampled to fit the PCA).
    seed : int
        Seed of the frame sample and the PCA.

    Returns
    -------
    matrix : np.ndarray
        float32 (n_tracks, frames * n_components): each row the clip's frames, flattened.
    available : np.ndarray
        bool (n_tracks,).
    """
    from sklearn.decomposition import PCA

    s = settings
    available = np.array([x is not None for x in specs], dtype=bool)
    d, keep_t = s.n_components, min(s.frames, s.clip_frames)
    matrix = np.zeros((len(specs), keep_t * d), np.float32)
    rows = np.flatnonzero(available)
    if len(rows) == 0:
        return matrix, available
    stack = np.stack([specs[i] for i in rows])  # (n, T, bands)
    rng = np.random.default_rng(seed)
    flat = stack.reshape(-1, stack.shape[-1])
    sample = flat[rng.choice(len(flat), size=min(len(flat), s.pca_frames), replace=False)]
    n_comp = min(d, len(sample), sample.shape[1])
    pca = PCA(n_components=n_comp, whiten=True, random_state=seed).fit(sample)
    pick = np.unique(np.linspace(0, stack.shape[1] - 1, keep_t).round().astype(np.int64))
    reduced = pca.transform(stack[:, pick].reshape(-1, stack.shape[-1])).astype(np.float32)
    reduced = reduced.reshape(len(rows), len(pick), n_comp)
    out = np.zeros((len(rows), keep_t, d), np.float32)
    out[:, : len(pick), :n_comp] = reduced
    matrix[rows] = out.reshape(len(rows), -1)
    return matrix, available


def settings_key(settings: ClipSpectrogramSettings) -> dict:
    """Return the settings as a plain dict (part of a cache key)."""
    return asdict(settings)


__all__ = ["ClipSpectrogramSettings", "clip_spectrograms", "pca_frames", "settings_key"]
