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
(``apc.datasets.synthetic.render_audio``). Tracks whose audio is missing or cannot be
decoded are reported (a :class:`~apc.errors.DataWarning` and ``report.parquet`` in the
cache) and marked unavailable; they never stop a build.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from apc._atomic import atomic_path
from apc.data.features import ItemFeatures
from apc.data.playlists import Playlists
from apc.errors import ApcInputError, DataWarning
from apc.features.audio import REPORT_COLUMNS, MelSettings

#: Version of the on-disk table layout.
STORE_FORMAT = 1

#: Tables built in this process, by (name, key): several models fitted on one split
#: (each calling build_features) share one build even without a cache directory.
_MEMO: OrderedDict[tuple[str, str], tuple[FeatureTable, list[pd.DataFrame]]] = OrderedDict()
_MEMO_SIZE = 16


@dataclass(eq=False)
class FeatureTable:
    """One named feature set: rows keyed by ``track_ids``.

    Parameters
    ----------
    name : str
        Feature set name (``wmf``, ``audio_cnn`` ...).
    track_ids : np.ndarray
        object (n,): external track ids (compared as strings when aligning).
    matrix : np.ndarray
        float32 (n, d).
    available : np.ndarray
        bool (n,): False where the track has no features (its row is zero).
    info : dict
        Provenance: settings, seed, counts.
    """

    name: str
    track_ids: np.ndarray
    matrix: np.ndarray
    available: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.track_ids = np.asarray(self.track_ids, dtype=object)
        self.matrix = np.ascontiguousarray(self.matrix, dtype=np.float32)
        self.available = np.asarray(self.available, dtype=bool)
        if (
            self.matrix.ndim != 2
            or len(self.matrix) != len(self.track_ids)
            or len(self.available) != len(self.track_ids)
        ):
            raise ApcInputError(
                f"feature table {self.name!r}: matrix {self.matrix.shape}, "
                f"{len(self.track_ids)} ids, "
                f"{len(self.available)} flags do not line up",
                field=self.name,
            )
        if (~self.available).any() and self.matrix[~self.available].any():
            self.matrix = self.matrix.copy()
            self.matrix[~self.available] = 0.0

    @property
    def dim(self) -> int:
        """Number of columns."""
        return self.matrix.shape[1]


class FeatureStore:
    """Parquet files ``<root>/<name>-<key>.parquet``, one per feature table.

    Parameters
    ----------
    root : str or Path
        Directory of the store (created on first save).

    Examples
    --------
    >>> import tempfile
    >>> store = FeatureStore(tempfile.mkdtemp())
    >>> t = FeatureTable("demo", np.array(["a", "b"], object), np.eye(2), np.array([True, False]))
    >>> _ = store.save(t, key="k1")
    >>> store.load("demo", "k1").matrix.tolist()
    [[1.0, 0.0], [0.0, 0.0]]
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, name: str, key: str) -> Path:
        """Return the file of the table ``name`` with key ``key``.

        Parameters
        ----------
        name : str
            Feature set name.
        key : str
            Cache key (see :func:`feature_key`).

        Returns
        -------
        Path
            ``<root>/<name>-<key>.parquet`` (which may not exist).
        """
        return self.root / f"{name}-{key}.parquet"

    def has(self, name: str, key: str) -> bool:
        """Tell whether the table is stored.

        Parameters
        ----------
        name : str
            Feature set name.
        key : str
            Cache key (see :func:`feature_key`).

        Returns
        -------
        bool
        """
        return self.path(name, key).is_file()

    def names(self) -> list[str]:
        """List the names of the stored tables (sorted, unique)."""
        if not self.root.is_dir():
            return []
        return sorted({p.name.rsplit("-", 1)[0] for p in self.root.glob("*-*.parquet")})

    def save(self, table: FeatureTable, key: str) -> Path:
        """Write a table atomically (temp file, then rename).

        Parameters
        ----------
        table : FeatureTable
            The table; stored under its ``name``.
        key : str
            Cache key.

        Returns
        -------
        Path
            The file written.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        d = table.dim
        flat = pa.array(table.matrix.reshape(-1), type=pa.float32())
        cols = {
            "track_id": pa.array([str(t) for t in table.track_ids], type=pa.string()),
            "available": pa.array(table.available, type=pa.bool_()),
            "x": pa.FixedSizeListArray.from_arrays(flat, d),
        }
        meta = {
            "format": STORE_FORMAT,
            "name": table.name,
            "key": key,
            "dim": d,
            "info": table.info,
        }
        schema_meta = {b"apc_feature": json.dumps(meta, default=str).encode()}
        tab = pa.table(cols).replace_schema_metadata(schema_meta)
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.path(table.name, key)
        with atomic_path(path) as tmp:
            pq.write_table(tab, tmp)
        return path

    def load(self, name: str, key: str | None = None) -> FeatureTable:
        """Read a stored table.

        Parameters
        ----------
        name : str
            Feature set name.
        key : str, optional
            Cache key; without it, the most recently written table of that name.

        Returns
        -------
        FeatureTable

        Raises
        ------
        ApcInputError
            If no such table is stored or the file is not an apc feature table.
        """
        import pyarrow.parquet as pq

        if key is not None:
            path = self.path(name, key)
        else:
            found = sorted(self.root.glob(f"{name}-*.parquet"), key=lambda p: p.stat().st_mtime)
            if not found:
                raise ApcInputError(
                    f"no feature table named {name!r}", file=str(self.root), field=name
                )
            path = found[-1]
        if not path.is_file():
            raise ApcInputError(
                f"no feature table named {name!r} with key {key}", file=str(path), field=name
            )
        try:
            tab = pq.read_table(path)
            meta = json.loads((tab.schema.metadata or {}).get(b"apc_feature", b"{}"))
            d = int(meta["dim"])
        except Exception as e:  # noqa: BLE001 - a damaged file is bad input, reported as such
            raise ApcInputError(f"not an apc feature table ({e})", file=str(path)) from e
        x = tab.column("x").combine_chunks()
        matrix = np.array(x.flatten().to_numpy(zero_copy_only=False), dtype=np.float32).reshape(
            -1, d
        )
        return FeatureTable(
            meta.get("name", name),
            np.asarray(tab.column("track_id").to_pylist(), dtype=object),
            matrix,
            tab.column("available").to_numpy(zero_copy_only=False),
            meta.get("info", {}),
        )


def align(tables: Sequence[FeatureTable], tracks: pd.DataFrame) -> ItemFeatures:
    """Concatenate tables side by side, rows in the order of ``tracks["track_id"]``.

    Tracks missing from a table get zeros there. ``available`` is True where at least
    one table has the track; ``blocks`` maps each table's name to its column slice.

    Parameters
    ----------
    tables : sequence of FeatureTable
        The tables (matched to ``tracks`` by track id, as text).
    tracks : pd.DataFrame
        Catalogue with a ``track_id`` column.

    Returns
    -------
    ItemFeatures

    Raises
    ------
    ApcInputError
        If ``tables`` is empty.
    """
    if not tables:
        raise ApcInputError("no feature sets given", field="features")
    ids = pd.Index([str(t) for t in tracks["track_id"].to_numpy(dtype=object)])
    mats, avail, blocks, start = [], np.zeros(len(ids), dtype=bool), {}, 0
    for t in tables:
        pos = pd.Index([str(x) for x in t.track_ids]).get_indexer(ids)
        found = pos >= 0
        m = np.zeros((len(ids), t.dim), dtype=np.float32)
        m[found] = t.matrix[pos[found]]
        a = np.zeros(len(ids), dtype=bool)
        a[found] = t.available[pos[found]]
        m[~a] = 0.0
        mats.append(m)
        avail |= a
        blocks[t.name] = slice(start, start + t.dim)
        start += t.dim
    return ItemFeatures(np.hstack(mats), avail, blocks)


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


def _audio_digest(pl: Playlists) -> bytes:
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


# ---------------------------------------------------------------------------- audio
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
        try:
            from apc.datasets.synthetic import render_audio
        except ImportError as e:
            raise ApcInputError(
                "the synthetic corpus' audio renderer (apc.datasets.synthetic.render_audio) "
                f"is not available: {e}",
                field="audio",
            ) from e
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


# ---------------------------------------------------------------------------- builders
def _opts(options: dict | None, name: str) -> dict:
    return dict((options or {}).get(name, {}))


def _build_wmf(pl: Playlists, *, seed: int, opts: dict, cache_dir, report: list) -> FeatureTable:
    from apc.features.wmf import WMF

    wmf = WMF(seed=seed, **opts).fit(pl)
    return FeatureTable(
        "wmf",
        pl.tracks["track_id"].to_numpy(dtype=object),
        wmf.track_factors_,
        wmf.available_,
        {"params": opts, "seed": seed},
    )


def _build_tags(pl: Playlists, *, seed: int, opts: dict, cache_dir, report: list) -> FeatureTable:
    from apc.features.tags import TagWord2Vec, tag_lists

    column = opts.pop("column", "tags")
    lists = tag_lists(pl.tracks, column)
    w2v = TagWord2Vec(seed=seed, **opts).fit(lists)
    return FeatureTable(
        "tags_w2v",
        pl.tracks["track_id"].to_numpy(dtype=object),
        w2v.transform(lists),
        w2v.available(lists),
        {"params": opts, "seed": seed, "n_tags": len(w2v.tags_)},
    )


def _mel_settings(opts: dict) -> tuple[MelSettings, float]:
    mel = MelSettings(**opts.pop("mel", {}))
    return mel, float(opts.pop("render_seconds", 6.0))


def _build_mfcc(pl: Playlists, *, seed: int, opts: dict, cache_dir, report: list) -> FeatureTable:
    from apc.features.mfcc_bow import MFCCBagOfWords

    mel, seconds = _mel_settings(opts)
    specs, rep = corpus_log_mels(pl, settings=mel, cache_dir=cache_dir, render_seconds=seconds)
    report.append(rep)
    has = np.array([s is not None for s in specs], dtype=bool)
    bow = MFCCBagOfWords(seed=seed, settings=mel, **opts).fit([s for s in specs if s is not None])
    return FeatureTable(
        "mfcc_bow",
        pl.tracks["track_id"].to_numpy(dtype=object),
        bow.transform(specs),
        has,
        {"params": opts, "seed": seed, "audio_failed": int(len(rep))},
    )


def _build_audio_cnn(
    pl: Playlists, *, seed: int, opts: dict, cache_dir, report: list
) -> FeatureTable:
    from apc.features.cnn import AudioCNNConfig, AudioFactorCNN
    from apc.features.wmf import WMF

    mel, seconds = _mel_settings(opts)
    wmf_opts = opts.pop("wmf", {})
    cfg = opts.pop("config", None)
    if isinstance(cfg, dict):
        cfg = AudioCNNConfig(**cfg)
    specs, rep = corpus_log_mels(pl, settings=mel, cache_dir=cache_dir, render_seconds=seconds)
    report.append(rep)
    counts = pl.to_csr()
    wmf = WMF(seed=seed, **wmf_opts).fit_matrix(counts)
    has = np.array([s is not None for s in specs], dtype=bool)
    train = np.flatnonzero(has & wmf.available_)
    if len(train) < 2:
        raise ApcInputError(
            "audio_cnn needs at least two tracks with audio that occur in playlists; "
            f"found {len(train)}",
            field="audio",
        )
    cnn = AudioFactorCNN(seed=seed, config=cfg, frames_per_second=mel.frames_per_second, **opts)
    cnn.fit(
        [specs[i] for i in train],
        wmf.track_factors_[train],
        wmf=wmf,
        counts=counts,
        track_index=train,
    )
    matrix = cnn.predict(specs)
    return FeatureTable(
        "audio_cnn",
        pl.tracks["track_id"].to_numpy(dtype=object),
        matrix,
        has,
        {
            "params": {k: v for k, v in opts.items()},
            "wmf": wmf_opts,
            "seed": seed,
            "trained_on": int(len(train)),
            "audio_failed": int(len(rep)),
        },
    )


#: name -> (builder, what the features depend on besides settings and seed)
FEATURES: dict[str, tuple[Callable[..., FeatureTable], tuple[str, ...]]] = {
    "wmf": (_build_wmf, ("playlists",)),
    "tags_w2v": (_build_tags, ("tags",)),
    "mfcc_bow": (_build_mfcc, ("audio",)),
    "audio_cnn": (_build_audio_cnn, ("audio", "playlists")),
}


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
        _opts(options, name),
        _ids_digest(pl.tracks),
    ]
    if "playlists" in deps:
        parts += [pl.indptr, pl.items]
    if "tags" in deps:
        parts.append(_column_digest(pl.tracks, _opts(options, name).get("column", "tags")))
    if "audio" in deps:
        parts.append(_audio_digest(pl))
    return _digest(*parts)


def build_tables(
    pl: Playlists,
    names: str | Sequence[str],
    *,
    cache_dir: str | Path | None = None,
    seed: int = 0,
    options: dict[str, dict] | None = None,
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
    store = None if cache_dir is None else FeatureStore(Path(cache_dir) / "features")
    tables, reports = [], []
    for name in names:
        key = feature_key(pl, name, seed=seed, options=options)
        if (name, key) in _MEMO:
            _MEMO.move_to_end((name, key))
            table, rep = _MEMO[(name, key)]
            tables.append(table)
            reports += rep
            continue
        if store is not None and store.has(name, key):
            try:
                tables.append(store.load(name, key))
                continue
            except ApcInputError:
                pass  # damaged cache entry: rebuild it
        builder, _ = FEATURES[name]
        rep: list[pd.DataFrame] = []
        table = builder(
            pl, seed=int(seed), opts=_opts(options, name), cache_dir=cache_dir, report=rep
        )
        reports += rep
        if store is not None:
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
    tables, _ = build_tables(pl, names, cache_dir=cache_dir, seed=seed, options=options)
    return align(tables, pl.tracks)
