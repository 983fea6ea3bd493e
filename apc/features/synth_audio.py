"""Audio for the synthetic corpus: a clip per track rendered from its audio parameters.

The synthetic corpus (:mod:`apc.datasets.synthetic`) gives every track a tempo, pitch,
brightness, percussiveness and timbre (:data:`AUDIO_COLUMNS`) that follow its genre and
artist. :func:`render_audio` turns them into a waveform on demand (the feature store
renders the synthetic corpus' audio this way, without files) and :func:`write_audio`
writes the clips as WAV files. Any tracks table with these columns can be rendered.

Examples
--------
>>> import pandas as pd
>>> tracks = pd.DataFrame({"track_id": ["a"], "tempo_bpm": [120.0], "pitch_hz": [220.0],
...                        "brightness": [0.5], "percussiveness": [0.3], "timbre": [0.5]})
>>> render_audio(tracks, [0], sr=8000, seconds=0.5).shape
(1, 4000)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from apc.data.playlists import Playlists
from apc.errors import ApcInputError

#: Columns of ``tracks`` that :func:`render_audio` needs.
AUDIO_COLUMNS = ("tempo_bpm", "pitch_hz", "brightness", "percussiveness", "timbre")
_SCALE = np.array([0, 2, 4, 7, 9, 12, 14, 16], dtype=np.float64)  # major pentatonic, 2 octaves
_N_HARMONICS = 8
_PATTERN = 8  # melody steps (one per beat) before the pattern repeats
#: Samples per rendering block (rows x samples) by default: the working arrays of a block
#: (~40 bytes a sample) then stay near the CPU caches instead of streaming through memory.
_BLOCK_SAMPLES = 65536


_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLD = np.uint64(0x9E3779B97F4A7C15)


def _hash_uniform(seeds: np.ndarray, counters: np.ndarray) -> np.ndarray:
    """Counter-based uniform [0, 1) floats: splitmix64 of ``(seed, counter)``, float32.

    Depends only on each (seed, counter) pair, so a track's clip is the same whichever
    other tracks share its batch.
    """
    with np.errstate(over="ignore"):
        x = seeds.astype(np.uint64)[:, None] * _GOLD + counters.astype(np.uint64)[None, :]
        x ^= x >> np.uint64(30)
        x *= _M1
        x ^= x >> np.uint64(27)
        x *= _M2
        x ^= x >> np.uint64(31)
    return (x >> np.uint64(40)).astype(np.float32) * np.float32(2.0**-24)


def _track_seeds(tracks: pd.DataFrame, rows: np.ndarray, column: str) -> np.ndarray:
    if column in tracks.columns:
        return tracks[column].to_numpy()[rows].astype(np.int64)
    ids = tracks["track_id"].iloc[rows] if "track_id" in tracks.columns else pd.Series(rows)
    return pd.util.hash_pandas_object(ids.astype(str), index=False).to_numpy().astype(np.int64)


def render_audio(tracks: pd.DataFrame, rows, *, sr: int = 22050, seconds: float = 3.0,
                 block: int | None = None) -> np.ndarray:
    """Synthesise a clip per track from its audio parameters.

    Each clip is a melody — one note per beat of ``tempo_bpm``, an eight-step pattern
    of a pentatonic scale above ``pitch_hz``, mostly the artist's motif (seeded by
    ``artist_seed``) with some notes of the track's own — played by a harmonic tone
    whose ``h``-th harmonic has amplitude ``brightness ** (h - 1)`` (even harmonics
    scaled by ``timbre``), plus percussive noise bursts and a low kick on the beats,
    weighted by ``percussiveness``. Every step is vectorised over the rows; noise comes
    from a counter-based hash of ``audio_seed``, so a track's clip does not depend on
    the other rows rendered with it.

    Parameters
    ----------
    tracks : pd.DataFrame
        A synthetic tracks table: needs the :data:`AUDIO_COLUMNS`; ``audio_seed`` and
        ``artist_seed`` are used when present (else a hash of ``track_id``).
    rows : array-like of int
        Rows of ``tracks`` to render, shape (B,).
    sr : int
        Sample rate (default 22050).
    seconds : float
        Clip length (default 3.0).
    block : int, optional
        Rows synthesised at once (bounds the memory to ~``block * sr * seconds * 40``
        bytes). Default: as many as fit in :data:`_BLOCK_SAMPLES` samples, at least one
        (one row for clips of 3 s and more). The values do not depend on it; the speed
        does: each step streams its (block, n) arrays through memory, and 32 rows of 6 s
        (34 MB per float64 array) took 2.2x the CPU time of one row at a time (issue 13).

    Returns
    -------
    np.ndarray
        float32 (B, ``int(sr * seconds)``), peak-normalised to 0.9.

    Raises
    ------
    ApcInputError
        ``tracks`` lacks an audio parameter column (``field`` names it).

    Examples
    --------
    >>> from apc.datasets.synthetic import generate
    >>> pl = generate("tiny")
    >>> x = render_audio(pl.tracks, [0, 1, 2], sr=8000, seconds=1.0)
    >>> x.shape, x.dtype
    ((3, 8000), dtype('float32'))
    """
    missing = [c for c in AUDIO_COLUMNS if c not in tracks.columns]
    if missing:
        raise ApcInputError(f"tracks lack the audio parameter column(s) {missing}; only the "
                            "synthetic corpus can be rendered", field=missing[0])
    rows = np.asarray(rows, dtype=np.int64).reshape(-1)
    if len(rows) and (rows.min() < 0 or rows.max() >= len(tracks)):
        raise ApcInputError(f"rows must lie in [0, {len(tracks)})", field="rows")
    n = int(sr * seconds)
    if block is None:
        block = max(1, _BLOCK_SAMPLES // max(n, 1))
    block = max(1, int(block))
    out = np.zeros((len(rows), n), dtype=np.float32)
    if n == 0 or len(rows) == 0:
        return out
    params = tracks.iloc[rows][list(AUDIO_COLUMNS)].to_numpy(dtype=np.float64)
    if not np.isfinite(params).all():
        raise ApcInputError("audio parameters must be finite numbers", field="tempo_bpm")
    seeds = _track_seeds(tracks, rows, "audio_seed")
    artist_seeds = _track_seeds(tracks, rows, "artist_seed") if "artist_seed" in tracks else seeds
    t = np.arange(n, dtype=np.float64) / sr
    steps = np.arange(_PATTERN)
    harmonics = np.arange(1, _N_HARMONICS + 1)
    for s in range(0, len(rows), block):
        e = min(len(rows), s + block)
        tempo, pitch, bright, perc, timbre = (params[s:e, j : j + 1] for j in range(5))
        beats = t[None, :] * (tempo / 60.0)  # (B, n) position in beats
        k = np.floor(beats).astype(np.int64)
        since = ((beats - k) * (60.0 / tempo)).astype(np.float32)  # seconds since the beat
        # melody: 3/4 of the notes from the artist's motif, the rest the track's own
        motif = _hash_uniform(artist_seeds[s:e], steps)  # (B, 8)
        own = _hash_uniform(seeds[s:e], steps + 1000)
        use_own = _hash_uniform(seeds[s:e], steps + 2000) < 0.25
        deg = _SCALE[((np.where(use_own, own, motif)) * len(_SCALE)).astype(np.int64)]
        # the pitch of each of the 8 steps once, then gathered per sample: the same values
        # as raising 2 to each sample's degree, without a power per sample
        f0 = np.take_along_axis(pitch * 2.0 ** (deg / 12.0), k % _PATTERN, axis=1)  # (B, n)
        # in place, the same operations in the same order as
        # np.mod(2 * np.pi * np.cumsum(f0, axis=1) / sr, 2 * np.pi), without temporaries
        phase64 = np.cumsum(f0, axis=1)
        del f0
        phase64 *= 2 * np.pi
        phase64 /= sr
        np.mod(phase64, 2 * np.pi, out=phase64)
        phase = phase64.astype(np.float32)
        del phase64
        # harmonic tone by the Chebyshev recurrence sin((h+1)x) = 2cos(x)sin(hx) - sin((h-1)x)
        amp = (bright ** (harmonics - 1)) * np.where(harmonics % 2 == 0, timbre, 1.0)  # (B, H)
        amp = (amp / amp.sum(axis=1, keepdims=True)).astype(np.float32)
        two_cos = 2.0 * np.cos(phase)
        s_prev, s_cur = np.zeros_like(phase), np.sin(phase)
        tone = amp[:, :1] * s_cur
        spare = np.empty_like(phase)
        for h in range(1, _N_HARMONICS):
            np.multiply(two_cos, s_cur, out=spare)  # next = two_cos * s_cur - s_prev
            spare -= s_prev
            s_prev, s_cur, spare = s_cur, spare, s_prev
            np.multiply(amp[:, h : h + 1], s_cur, out=spare)
            tone += spare
        del s_prev, s_cur, spare, two_cos, phase
        tone *= 0.45 + 0.55 * np.exp(-since / np.float32(0.25))  # each note's attack
        noise = 2.0 * _hash_uniform(seeds[s:e], np.arange(n)) - 1.0
        hits = noise * np.exp(-since / np.float32(0.035))
        kick = np.sin(np.float32(2 * np.pi * 55.0) * since) * np.exp(-since / np.float32(0.09))
        p = perc.astype(np.float32)
        clip = (1.0 - 0.7 * p) * tone + p * (0.55 * hits + 0.45 * kick)
        peak = np.abs(clip).max(axis=1, keepdims=True)
        out[s:e] = clip * (np.float32(0.9) / np.maximum(peak, np.float32(1e-6)))
    return out


def write_audio(pl: Playlists, out_dir: str | Path, *, sr: int = 22050, seconds: float = 6.0,
                chunk: int = 256) -> list[str]:
    """Render every track's clip and write it as a 16-bit WAV file in ``out_dir``.

    Parameters
    ----------
    pl : Playlists
        A synthetic corpus (its tracks need the :data:`AUDIO_COLUMNS`).
    out_dir : str or Path
        Folder for the files (created); files are named by track row, ``000123.wav``
        (more digits for catalogues over a million tracks).
    sr : int
        Sample rate (default 22050).
    seconds : float
        Clip length (default 6.0).
    chunk : int
        Tracks rendered per batch (bounds memory).

    Returns
    -------
    list of str
        The file names relative to ``out_dir``, in track order.
    """
    import soundfile as sf

    from apc.progress import task

    missing = [c for c in AUDIO_COLUMNS if c not in pl.tracks.columns]
    if missing:
        raise ApcInputError(f"tracks lack the audio parameter column(s) {missing}; only the "
                            "synthetic corpus can be rendered", field=missing[0])
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    width = max(6, len(str(max(0, pl.n_tracks - 1))))
    names = [f"{i:0{width}d}.wav" for i in range(pl.n_tracks)]
    with task("rendering audio", total=pl.n_tracks) as bar:
        for s in range(0, pl.n_tracks, chunk):
            rows = np.arange(s, min(pl.n_tracks, s + chunk))
            audio = render_audio(pl.tracks, rows, sr=sr, seconds=seconds)
            for r, clip in zip(rows, audio, strict=True):  # one file per track
                sf.write(out_dir / names[r], clip, sr, subtype="PCM_16")
            bar.advance(len(rows))
    return names


__all__ = ["AUDIO_COLUMNS", "render_audio", "write_audio"]
