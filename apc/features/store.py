"""A feature store: named per-track feature tables on disk, aligned to any catalogue.

Every feature set is a table keyed by ``track_id`` — a float32 matrix and an
``available`` mask — stored as one parquet file per (name, key), where the key hashes
everything the features depend on (the training playlists for ``wmf`` and
``audio_cnn``, the tags for ``tags_w2v``, the audio sources for ``mfcc_bow``, the
settings and the seed). Loading by name and aligning to a ``Playlists.tracks`` order
gives an :class:`~apc.data.features.ItemFeatures` whose ``blocks`` name the column
range of each set; several sets concatenate side by side.

Built-in feature sets (:data:`FEATURES`):

``wmf``
    WMF track factors of the corpus' own playlists (:mod:`apc.features.wmf`); tracks in
    no playlist are unavailable.
``audio_cnn``
    Factors predicted from audio by the CNN of van den Oord et al. (2013)
    (:mod:`apc.features.cnn`), trained on the tracks that have both audio and WMF
    factors and applied to every track with audio (cold tracks included).
``mfcc_bow``
    The PCA-reduced MFCC bag of words of each clip (:mod:`apc.features.mfcc_bow`).
``tags_w2v``
    Mean word2vec vector of each track's tags (:mod:`apc.features.tags`).

Audio comes from an ``audio_path`` column of ``tracks`` (relative to
``info["audio_root"]``), or is rendered from the synthetic corpus
(:mod:`apc.features.sources`). Tracks whose audio is missing or cannot be
decoded are reported (a :class:`~apc.errors.DataWarning` and ``report.parquet`` in the
cache) and marked unavailable; they never stop a build.

This module keys, caches and builds the tables; :mod:`apc.features.table` holds the
table and store types, :mod:`apc.features.builders` the feature sets.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections import Counter, OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from apc._atomic import atomic_path
from apc.data.features import ItemFeatures
from apc.data.playlists import Playlists
from apc.errors import ApcInputError, DataWarning
from apc.features.audio import REPORT_COLUMNS
from apc.features.builders import DEFAULTS_REVISION, FEATURES, options_for
from apc.features.sources import audio_digest, corpus_log_mels, has_audio
from apc.features.table import STORE_FORMAT, FeatureStore, FeatureTable, align

#: Tables built in this process, by (name, key): several models fitted on one split
#: (each calling build_features) share one build even without a cache directory.
_MEMO: OrderedDict[tuple[str, str], tuple[FeatureTable, list[pd.DataFrame]]] = OrderedDict()
_MEMO_SIZE = 16

#: How each table requested from :func:`build_tables` was obtained in this process:
#: ``memo`` (built earlier in the process), ``store`` (read from the on-disk store) or
#: ``built``. Tests and benchmarks read it to tell a cache hit from a build.
CACHE_STATS: Counter[str] = Counter()


def default_cache_dir() -> Path | None:
    """Return the folder that keeps feature tables when a model names no ``cache_dir``.

    ``$APC_CACHE_DIR`` when set (``off``, ``0``, ``none`` or empty turn the default cache
    off), else ``$XDG_CACHE_HOME/apc``, else ``~/.cache/apc``. Only the small per-track
    tables are kept there (a few hundred kB for ``synth:small``), never spectrograms:
    a second ``apc evaluate`` of a content model on the same split reads its features
    instead of rendering, analysing and training them again.

    Returns
    -------
    Path or None
        The folder (not created here), or None when the default cache is off.
    """
    env = os.environ.get("APC_CACHE_DIR")
    if env is not None:
        return None if env.strip().lower() in ("", "0", "off", "none") else Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "apc"


# ---------------------------------------------------------------------------- keys
def _digest(*parts: object) -> str:
    h = hashlib.sha1()
    for p in parts:
        if isinstance(p, np.ndarray):
            h.update(np.ascontiguousarray(p).tobytes())
        elif isinstance(p, bytes):
            h.update(p)
        else:
            h.update(json.dumps(p, sort_keys=True, default=str).encode())
        h.update(b"|")
    return h.hexdigest()[:16]


def _ids_digest(tracks: pd.DataFrame) -> bytes:
    return "\x1f".join(map(str, tracks["track_id"].to_numpy(dtype=object))).encode()


def _column_digest(tracks: pd.DataFrame, column: str) -> bytes:
    if column not in tracks.columns:
        return b""
    return "\x1f".join(map(str, tracks[column].to_numpy(dtype=object))).encode()


def parse_names(names: str | Sequence[str]) -> list[str]:
    """Parse and validate feature set names.

    Parameters
    ----------
    names : str or sequence of str
        Comma-separated names (``"audio_cnn,tags_w2v"``) or a list of them.

    Returns
    -------
    list of str
        Stripped names, empty entries dropped.

    Raises
    ------
    ApcInputError
        If no name is given or one is not in :data:`FEATURES`.
    """
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",")]
    out = [str(n).strip() for n in names if str(n).strip()]
    if not out:
        raise ApcInputError("no feature set named", field="features")
    unknown = [n for n in out if n not in FEATURES]
    if unknown:
        raise ApcInputError(
            f"unknown feature set(s) {', '.join(unknown)}; available: {', '.join(FEATURES)}",
            field="features",
        )
    return out


def feature_key(pl: Playlists, name: str, *, seed: int = 0, options: dict | None = None) -> str:
    """Compute the cache key of a feature set built from a corpus (data + settings + seed).

    Parameters
    ----------
    pl : Playlists
        The corpus.
    name : str
        Feature set name (a key of :data:`FEATURES`).
    seed : int, default 0
        Seed of the build.
    options : dict, optional
        Per-set options; only ``options[name]`` counts.

    Returns
    -------
    str
        16 hex digits covering the track ids and what the set depends on
        (playlists, tag column, audio files or render).
    """
    _, deps = FEATURES[name]
    parts: list[object] = [
        name,
        STORE_FORMAT,
        int(seed),
        options_for(options, name),
        _ids_digest(pl.tracks),
    ]
    if "playlists" in deps:
        parts += [pl.indptr, pl.items]
    if "tags" in deps:
        parts.append(_column_digest(pl.tracks, options_for(options, name).get("column", "tags")))
    if "audio" in deps:
        parts.append(audio_digest(pl))
    if name in DEFAULTS_REVISION:  # only where defaults changed: other keys stay valid
        parts.append(("defaults", DEFAULTS_REVISION[name]))
    return _digest(*parts)


def build_tables(
    pl: Playlists,
    names: str | Sequence[str],
    *,
    cache_dir: str | Path | None = None,
    seed: int = 0,
    options: dict[str, dict] | None = None,
    table_dir: str | Path | None = None,
) -> tuple[list[FeatureTable], pd.DataFrame]:
    """Load or build each named feature table for a corpus; also return the audio report.

    Parameters
    ----------
    pl : Playlists
        The (training) corpus.
    names : str or sequence of str
        Feature sets (see :func:`parse_names`).
    cache_dir : str or Path, optional
        Store and reuse tables under ``<cache_dir>/features`` (and spectrograms);
        nothing is written when None.
    seed : int, default 0
        Seed of every stochastic step.
    options : dict, optional
        Per-set keyword arguments, as for :func:`build_features`.
    table_dir : str or Path, optional
        Without ``cache_dir``: store and reuse the tables (only the tables, no
        spectrograms) under ``<table_dir>/features``; a folder that cannot be written
        is skipped with a :class:`~apc.errors.DataWarning`.

    Returns
    -------
    tables : list of FeatureTable
        One per name, in order.
    report : pd.DataFrame
        Tracks whose audio was missing or undecodable (``track``, ``path``,
        ``error``); a :class:`~apc.errors.DataWarning` is issued when it is not
        empty.
    """
    names = parse_names(names)
    root = cache_dir if cache_dir is not None else table_dir
    store = None if root is None else FeatureStore(Path(root) / "features")
    tables, reports = [], []
    for name in names:
        key = feature_key(pl, name, seed=seed, options=options)
        if (name, key) in _MEMO:
            _MEMO.move_to_end((name, key))
            table, rep = _MEMO[(name, key)]
            tables.append(table)
            reports += rep
            CACHE_STATS["memo"] += 1
            continue
        if store is not None and store.has(name, key):
            try:
                tables.append(store.load(name, key))
                CACHE_STATS["store"] += 1
                continue
            except ApcInputError:
                pass  # damaged cache entry: rebuild it
        builder, _ = FEATURES[name]
        rep: list[pd.DataFrame] = []
        table = builder(
            pl, seed=int(seed), opts=options_for(options, name), cache_dir=cache_dir, report=rep
        )
        CACHE_STATS["built"] += 1
        reports += rep
        if store is not None and cache_dir is None:
            try:  # the default table cache is a convenience: never fail a fit over it
                store.save(table, key)
            except (OSError, ApcInputError) as e:
                warnings.warn(f"feature table not cached in {store.root}: {e}", DataWarning,
                              stacklevel=2)
        elif store is not None:
            store.save(table, key)
        _MEMO[(name, key)] = (table, rep)
        while len(_MEMO) > _MEMO_SIZE:
            _MEMO.popitem(last=False)
        tables.append(table)
    report = (
        pd.concat([r for r in reports if len(r)], ignore_index=True)
        if any(len(r) for r in reports)
        else pd.DataFrame([], columns=REPORT_COLUMNS)
    )
    report = report.drop_duplicates(ignore_index=True)
    if len(report):
        if cache_dir is not None:
            _save_report(report, Path(cache_dir) / "features" / "report.parquet")
        warnings.warn(
            f"{len(report)} track(s) had missing or undecodable audio and were skipped "
            f"(first: {report.iloc[0]['path']}: {report.iloc[0]['error']})",
            DataWarning,
            stacklevel=3,
        )
    return tables, report


def _save_report(report: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        report.astype(str).to_parquet(tmp, index=False)


def build_features(
    pl: Playlists,
    names: str | Sequence[str],
    *,
    cache_dir: str | Path | None = None,
    seed: int = 0,
    options: dict[str, dict] | None = None,
    table_dir: str | Path | None = None,
) -> ItemFeatures:
    """Build per-track features of ``pl``'s catalogue (reusing cached tables).

    Parameters
    ----------
    pl : Playlists
        The (training) corpus: its playlists feed ``wmf``/``audio_cnn``, its tracks
        table the tags and audio. Build from the training split only, so that no
        held-out playlist leaks into the features.
    names : str or list of str
        Feature sets, e.g. ``"audio_cnn,tags_w2v"`` (see :data:`FEATURES`).
    cache_dir : str or Path, optional
        Store built tables (``<cache_dir>/features``) and spectrograms
        (``<cache_dir>/logmel``) here and reuse them; nothing is written when None.
    seed : int
        Seed of every stochastic step.
    options : dict, optional
        Per-set keyword arguments, e.g. ``{"wmf": {"n_factors": 16},
        "audio_cnn": {"epochs": 5, "mel": {"max_seconds": 10}}}``.
    table_dir : str or Path, optional
        Without ``cache_dir``: store and reuse only the built tables under
        ``<table_dir>/features`` (see :func:`default_cache_dir`).

    Returns
    -------
    ItemFeatures
        Rows aligned with ``pl.tracks``; ``blocks`` name each set's columns.

    Examples
    --------
    >>> from apc.testing import checkerboard
    >>> f = build_features(checkerboard(), "wmf", options={"wmf": {"n_factors": 4}})
    >>> f.matrix.shape, f.blocks
    ((12, 4), {'wmf': slice(0, 4, None)})
    """
    tables, _ = build_tables(pl, names, cache_dir=cache_dir, seed=seed, options=options,
                             table_dir=table_dir)
    return align(tables, pl.tracks)


__all__ = ["CACHE_STATS", "FEATURES", "STORE_FORMAT", "FeatureStore", "FeatureTable", "align",
           "build_features", "build_tables", "corpus_log_mels", "default_cache_dir",
           "feature_key", "has_audio", "parse_names"]
