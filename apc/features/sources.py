"""Where a corpus' audio comes from: files named in ``tracks``, or the synthetic renderer.

Audio comes from an ``audio_path`` column of ``tracks`` (relative to
``info["audio_root"]``), or, for the synthetic corpus, is rendered from each track's
audio parameters (:func:`apc.features.synth_audio.render_audio`). Tracks whose audio is
missing or cannot be decoded are reported, never fatal.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from apc.data.playlists import Playlists
from apc.errors import ApcInputError
from apc.features.audio import REPORT_COLUMNS, MelSettings
from apc.features.synth_audio import render_audio


def has_audio(pl: Playlists) -> bool:
    """Tell whether audio for a corpus' tracks can be found or rendered.

    Parameters
    ----------
    pl : Playlists
        The corpus.

    Returns
    -------
    bool
        True when the tracks have an ``audio_path`` column or the corpus is synthetic.
    """
    return "audio_path" in pl.tracks.columns or _is_synthetic(pl)


def _is_synthetic(pl: Playlists) -> bool:
    text = " ".join(str(pl.info.get(k, "")) for k in ("dataset", "adapter", "source", "name"))
    return "synth" in text.lower()


def corpus_log_mels(
    pl: Playlists,
    *,
    settings: MelSettings | None = None,
    cache_dir: str | Path | None = None,
    render_seconds: float = 6.0,
    render_chunk: int = 128,
) -> tuple[list[np.ndarray | None], pd.DataFrame]:
    """Compute the log-mel spectrogram of every track of ``pl`` (``None`` where audio is unusable).

    Parameters
    ----------
    pl : Playlists
        Corpus with an ``audio_path`` column (and ``info["audio_root"]``) or the
        synthetic corpus.
    settings : MelSettings, optional
        Front-end settings.
    cache_dir : str or Path, optional
        Spectrogram cache.
    render_seconds : float
        Length of rendered synthetic clips.
    render_chunk : int
        Synthetic tracks rendered at a time (bounds memory).

    Returns
    -------
    spectrograms : list
        One float32 (n_mels, n_frames) array or ``None`` per track.
    report : pd.DataFrame
        ``track``, ``path``, ``error`` for each track whose audio failed.
    """
    from apc.features.audio import log_mels_from_files, log_mels_from_signals

    s = settings or MelSettings()
    ids = pl.tracks["track_id"].to_numpy(dtype=object)
    if "audio_path" in pl.tracks.columns:
        return log_mels_from_files(
            list(pl.tracks["audio_path"].to_numpy(dtype=object)),
            ids,
            settings=s,
            cache_dir=cache_dir,
            root=pl.info.get("audio_root"),
        )
    if _is_synthetic(pl):
        out: list[np.ndarray | None] = []
        for start in range(0, pl.n_tracks, render_chunk):
            rows = np.arange(start, min(pl.n_tracks, start + render_chunk))
            audio = render_audio(pl.tracks, rows, sr=s.sr, seconds=render_seconds)
            out += log_mels_from_signals(
                list(np.asarray(audio)), sr=s.sr, settings=s, cache_dir=cache_dir
            )
        return out, pd.DataFrame([], columns=REPORT_COLUMNS)
    raise ApcInputError(
        "the corpus has no audio: expected an 'audio_path' column in tracks "
        "(relative to info['audio_root']) or the synthetic corpus",
        field="audio_path",
    )


def audio_digest(pl: Playlists) -> bytes:
    """Digest what the audio of ``pl``'s tracks depends on: file paths + mtimes, or the render."""
    if "audio_path" in pl.tracks.columns:
        root = pl.info.get("audio_root")
        parts = []
        for p in pl.tracks["audio_path"].to_numpy(dtype=object):
            if p is None or (isinstance(p, float) and np.isnan(p)) or str(p) == "":
                parts.append("")
                continue
            path = Path(p) if root is None or Path(p).is_absolute() else Path(root) / p
            try:
                st = path.stat()
                parts.append(f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}")
            except OSError:
                parts.append(f"{path}:missing")
        return "\x1f".join(parts).encode()
    cols = pd.util.hash_pandas_object(pl.tracks.astype(str), index=False).to_numpy()
    return (
        cols.tobytes()
        + json.dumps(
            {k: v for k, v in pl.info.items() if isinstance(v, str | int | float)}, sort_keys=True
        ).encode()
    )
