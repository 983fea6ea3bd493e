"""The benchmark runner: split once, fit once, evaluate every cell, resume after a crash.

A *cell* is one (dataset, replicate seed, model). For each cell the runner

1. builds (or reads from the cache) the split of the dataset for that seed;
2. fits the model (or reads the fitted model from the cache), timing the fit and
   sampling its peak memory;
3. asks for ``cutoff`` recommendations per query (timed, peak memory sampled);
4. computes every metric per query with :func:`apc.evaluation.metrics.compute_metrics`,
   the recall@k curve for k = 1..cutoff and the long-tail breakdown by how often each
   target track occurs in the training playlists (0, 1, 2, 3, 4, 5+).

Each finished cell is written to ``cells/<cell>.parquet`` and ``cells/<cell>.json``
(temp file, then rename; the JSON is the commit marker). A failed cell records its
error and the others go on. ``--resume`` skips committed cells, so an interrupted run
ends with every row exactly once. At the end the cells are concatenated in suite order
into ``results.parquet`` (one row per query x metric x model x seed), ``curves.parquet``
and ``longtail.parquet``, and the summary (``summary.md``, ``summary.json``) is written
beside the resolved config, the package versions and the git commit.

Seeds: split seed = ``derive_seed(seed, "split", dataset)``; model seed =
``derive_seed(seed, "model", dataset, model label)``, given to every model whose
constructor takes ``seed`` (unless the suite sets it). Results do not depend on the
order or the place (process, Ray worker) cells run in.
"""

from __future__ import annotations

import inspect
import json
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from apc.bench.cache import Cache, atomic_write_bytes, corpus_hash, model_key, split_key
from apc.bench.memory import PeakMemory
from apc.bench.suite import ModelEntry, Suite, metric_label, parse_label, safe_name
from apc.errors import ApcInputError
from apc.random import derive_seed

#: Bucket edges of the long-tail breakdown (Vall et al. 2019, Fig. 7): 0..4 and 5+.
LONGTAIL_BUCKETS = ("0", "1", "2", "3", "4", "5+")

#: Evaluation policies every report states.
POLICIES = {
    "ranking": "full ranking over the training catalogue (no sampled candidates)",
    "seed_filtering": "seed tracks are never recommended unless the model declares allows_repeats",
    "ties": "equal scores are ordered by lower track index (apc.models._topk.top_k)",
    "padding": "lists shorter than the cutoff are padded with -1, which never counts as a hit",
}

RESULT_COLUMNS = [
    "model",
    "dataset",
    "protocol",
    "seed",
    "query",
    "playlist_id",
    "category",
    "seed_length",
    "n_targets",
    "metric",
    "k",
    "label",
    "value",
]


# ---------------------------------------------------------------------- cells
@dataclass(frozen=True)
class CellTask:
    """Everything a worker needs to run one cell.

    Small and picklable; the split travels apart (see :func:`run_cell`).

    Parameters
    ----------
    index : int
        Position of the cell in suite order.
    cell_id : str
        See :func:`cell_id`.
    dataset : str
        Dataset label.
    seed : int
        Replicate seed.
    split_key : str
        Cache key of the cell's split (the key of the split in the executor's shared
        objects).
    protocol : str
        Protocol name (recorded in the rows).
    model : ModelEntry
        The model to build.
    model_seed : int
        Seed given to a model whose constructor takes ``seed``.
    metrics : tuple of str
        Metric labels.
    cutoff : int
        List length.
    longtail_k : int
        Cut-off of the long-tail breakdown.
    cache_root : str or None
        Model cache folder (None: no caching).
    """

    index: int
    cell_id: str
    dataset: str
    seed: int
    split_key: str
    protocol: str
    model: ModelEntry
    model_seed: int
    metrics: tuple[str, ...]
    cutoff: int
    longtail_k: int
    cache_root: str | None


@dataclass
class CellOutput:
    """What a worker sends back: per-query rows, the recall curve, the long-tail table, info.

    Parameters
    ----------
    cell_id : str
        The cell.
    status : {"ok", "error"}
        How the cell ended.
    rows : pd.DataFrame, optional
        Per-query rows, columns :data:`RESULT_COLUMNS`.
    curve : np.ndarray, optional
        Recall@k for k = 1..cutoff (:func:`recall_curve`).
    longtail : pd.DataFrame, optional
        :func:`longtail_table` of the cell.
    info : dict
        Parameters, timings, peak memory, cache use; the error, phase and traceback
        of a failed cell.
    """

    cell_id: str
    status: str
    rows: pd.DataFrame | None = None
    curve: np.ndarray | None = None
    longtail: pd.DataFrame | None = None
    info: dict[str, Any] = field(default_factory=dict)


def cell_id(dataset: str, seed: int, model: str) -> str:
    """Return the file-safe identity of a cell.

    Parameters
    ----------
    dataset : str
        Dataset name.
    seed : int
        Replicate seed.
    model : str
        Model label.

    Returns
    -------
    str
        ``<dataset>__s<seed>__<model>``, names made file-safe by
        :func:`~apc.bench.suite.safe_name`.
    """
    return f"{safe_name(dataset)}__s{seed}__{safe_name(model)}"


def _model_params(entry: ModelEntry, cls: type, model_seed: int) -> dict[str, Any]:
    params = dict(entry.params)
    try:
        accepted = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        accepted = {}
    if "seed" in accepted and "seed" not in params:
        params["seed"] = int(model_seed)
    return params


def recall_curve(items: np.ndarray, queries, cutoff: int) -> np.ndarray:
    """Compute mean recall@k for k = 1..cutoff over queries with targets.

    Recall@k = |distinct targets in the top k| / |distinct targets|, the definition of
    ``recall`` in :mod:`apc.evaluation.metrics`; a query without targets is skipped.
    Computed from one ``(Q, cutoff)`` hit matrix and a cumulative sum, so the curve is
    exact at every k without storing the lists.

    Parameters
    ----------
    items : np.ndarray
        int ``(Q, w)`` recommended track indices, best first, ``-1`` padded.
    queries : Queries
        The queries (their targets are the ground truth).
    cutoff : int
        Largest k.

    Returns
    -------
    np.ndarray
        float64 ``(cutoff,)``; flat beyond ``w`` when the lists are shorter; all NaN
        when no query has a target.
    """
    hits, n_targets = _hit_matrix(items, queries)
    valid = n_targets > 0
    if not valid.any():
        return np.full(cutoff, np.nan)
    cum = np.cumsum(hits[valid], axis=1, dtype=np.float64)
    curve = (cum / n_targets[valid, None]).mean(axis=0)
    if curve.shape[0] < cutoff:  # the model returned fewer columns: recall stays flat
        curve = np.concatenate(
            [curve, np.full(cutoff - curve.shape[0], curve[-1] if len(curve) else 0.0)]
        )
    return curve[:cutoff]


def _hit_matrix(items: np.ndarray, queries) -> tuple[np.ndarray, np.ndarray]:
    """Return the ``(Q, k)`` hit matrix and the number of distinct targets per query."""
    q = len(queries)
    n = max(1, queries.n_tracks)
    tcsr = queries.targets_csr()
    rows = np.repeat(np.arange(q, dtype=np.int64), np.diff(tcsr.indptr))
    target_keys = np.unique(rows * n + tcsr.indices.astype(np.int64))
    safe = np.where(items >= 0, items, 0).astype(np.int64)
    keys = np.arange(q, dtype=np.int64)[:, None] * n + safe
    hits = np.isin(keys, target_keys) & (items >= 0)
    return hits, np.diff(tcsr.indptr).astype(np.int64)


def longtail_table(items: np.ndarray, queries, train, k: int) -> pd.DataFrame:
    """Count hits at ``k`` by how often each target track occurs in the training playlists.

    Each (query, distinct target) pair is one case, bucketed by the number of training
    playlists holding the target: 0, 1, 2, 3, 4 or 5+ (Vall et al. 2019).

    Parameters
    ----------
    items : np.ndarray
        int ``(Q, w)`` recommended track indices, best first, ``-1`` padded.
    queries : Queries
        The queries (their targets are the ground truth).
    train : Playlists
        The training corpus.
    k : int
        Cut-off.

    Returns
    -------
    pd.DataFrame
        One row per bucket of :data:`LONGTAIL_BUCKETS`: ``bucket, n_targets, hits,
        recall`` (recall = hits / n_targets for that bucket, NaN when empty).
    """
    occ = train.item_popularity(distinct=True)
    tcsr = queries.targets_csr()
    rows = np.repeat(np.arange(len(queries), dtype=np.int64), np.diff(tcsr.indptr))
    targets = tcsr.indices.astype(np.int64)
    n = max(1, queries.n_tracks)
    top = items[:, :k]
    safe = np.where(top >= 0, top, 0).astype(np.int64)
    rec_keys = np.unique((np.arange(len(queries), dtype=np.int64)[:, None] * n + safe)[top >= 0])
    hit = np.isin(rows * n + targets, rec_keys)
    bucket = np.minimum(occ[targets] if len(occ) else np.zeros(0, np.int64), 5)
    n_t = np.bincount(bucket, minlength=6)[:6]
    n_h = np.bincount(bucket, weights=hit.astype(np.float64), minlength=6)[:6]
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(n_t > 0, n_h / np.maximum(n_t, 1), np.nan)
    return pd.DataFrame(
        {
            "bucket": list(LONGTAIL_BUCKETS),
            "n_targets": n_t.astype(np.int64),
            "hits": n_h.astype(np.int64),
            "recall": recall,
        }
    )


def _as_per_query(value: Any, n: int) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:  # a set-level metric (e.g. catalogue coverage): one value for the cell
        return np.full(n, float(arr))
    if arr.shape != (n,):
        raise ValueError(f"metric returned shape {arr.shape}, expected ({n},)")
    return arr


def compute_cell_metrics(recs, queries, train, labels: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Compute every metric label of a cell per query.

    Labels are grouped by cut-off and passed to
    :func:`apc.evaluation.metrics.compute_metrics`.

    Parameters
    ----------
    recs : Recommendations
        The cell's recommendations.
    queries : Queries
        The queries.
    train : Playlists
        The training corpus.
    labels : tuple of str
        Metric labels (``recall@10``, ``rprec``).

    Returns
    -------
    dict[str, np.ndarray]
        Label -> float64 ``(Q,)`` values, in the order of ``labels``; a set-level
        metric is repeated on every query.
    """
    from apc.evaluation.metrics import compute_metrics

    parsed = [parse_label(label) for label in labels]
    by_k: dict[int | None, list[str]] = {}
    for name, k in parsed:
        by_k.setdefault(k, []).append(name)
    out: dict[str, np.ndarray] = {}
    for k, names in by_k.items():
        result = compute_metrics(
            recs, queries, train, metrics=names, ks=[k] if k is not None else []
        )
        out.update(_normalise_metric_output(result, names, k, len(queries)))
    return {label: out[label] for label in labels}


def _normalise_metric_output(
    result: Any, names: list[str], k: int | None, n: int
) -> dict[str, np.ndarray]:
    """Accept a mapping label -> values (or a DataFrame with label columns)."""
    if isinstance(result, pd.DataFrame):
        result = {c: result[c].to_numpy() for c in result.columns}
    out = {}
    for name in names:
        label = metric_label(name, k)
        for candidate in (label, name, (name, k)):
            if candidate in result:
                out[label] = _as_per_query(result[candidate], n)
                break
        else:
            raise KeyError(f"compute_metrics returned no {label!r} (got {list(result)[:8]})")
    return out


def _per_query_frame(task: CellTask, queries, values: dict[str, np.ndarray]) -> pd.DataFrame:
    n = len(queries)
    category = (
        np.asarray(queries.category).astype(str)
        if queries.category is not None
        else np.full(n, "", dtype=object)
    )
    base = {
        "query": np.arange(n, dtype=np.int64),
        "playlist_id": np.asarray(queries.playlist_ids).astype(str),
        "category": category,
        "seed_length": queries.seed_lengths.astype(np.int64),
        "n_targets": np.diff(queries.targets_csr().indptr).astype(np.int64),
    }
    frames = []
    for label, vals in values.items():
        name, k = parse_label(label)
        f = pd.DataFrame(base)
        f["metric"] = name
        f["k"] = -1 if k is None else k
        f["label"] = label
        f["value"] = vals.astype(np.float64)
        frames.append(f)
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=RESULT_COLUMNS)
    df.insert(0, "model", task.model.name)
    df.insert(1, "dataset", task.dataset)
    df.insert(2, "protocol", task.protocol)
    df.insert(3, "seed", np.int64(task.seed))
    return df[RESULT_COLUMNS]


def _fit_meta_path(cache: Cache, key: str) -> Path | None:
    path = cache.model_path(key)
    return None if path is None else path.with_suffix(".json")


def run_cell(task: CellTask, split) -> CellOutput:
    """Fit (or load), recommend and evaluate one cell; never raises for a model's failure.

    Parameters
    ----------
    task : CellTask
        The cell.
    split : Split
        The split named by ``task.split_key``.

    Returns
    -------
    CellOutput
        Status ``"ok"`` with rows, recall curve and long-tail table, or ``"error"``
        with the failing phase, message and traceback in ``info``.
    """
    info: dict[str, Any] = {
        "cell": task.cell_id,
        "dataset": task.dataset,
        "seed": task.seed,
        "model": task.model.name,
        "model_spec": task.model.model,
        "split_key": task.split_key,
        "model_seed": task.model_seed,
    }
    phase = "build"
    try:
        from apc.models.registry import get_model_class

        cls = get_model_class(task.model.model)
        params = _model_params(task.model, cls, task.model_seed)
        info["params"] = {k: v for k, v in params.items()}
        model = cls(**params)
        cache = Cache(task.cache_root if task.model.cache else None)
        key = model_key(task.split_key, cls, params) if cache.enabled else None
        loaded = cache.load_model(key, cls) if key else None

        phase = "fit"
        if loaded is not None:
            model = loaded
            meta_path = _fit_meta_path(cache, key)
            meta = json.loads(meta_path.read_text()) if meta_path and meta_path.is_file() else {}
            info.update(
                fit_seconds=meta.get("fit_seconds", float("nan")),
                fit_peak_bytes=meta.get("fit_peak_bytes", float("nan")),
                fit_cached=True,
            )
        else:
            with PeakMemory() as mem:
                t0 = time.perf_counter()
                model.fit(split.train)
                fit_seconds = time.perf_counter() - t0
            info.update(fit_seconds=fit_seconds, fit_peak_bytes=mem.peak_bytes, fit_cached=False)
            if key and cache.save_model(key, model):
                atomic_write_bytes(
                    _fit_meta_path(cache, key),
                    json.dumps(
                        {"fit_seconds": fit_seconds, "fit_peak_bytes": mem.peak_bytes}
                    ).encode(),
                )

        phase = "recommend"
        queries = split.queries
        with PeakMemory() as mem:
            t0 = time.perf_counter()
            recs = model.recommend(queries, task.cutoff)
            info["recommend_seconds"] = time.perf_counter() - t0
        info["recommend_peak_bytes"] = mem.peak_bytes
        items = np.asarray(recs.items)
        if items.ndim != 2 or items.shape[0] != len(queries) or items.shape[1] > task.cutoff:
            raise ValueError(
                f"recommend() returned items of shape {items.shape}; "
                f"expected ({len(queries)}, <= {task.cutoff})"
            )

        phase = "evaluate"
        values = compute_cell_metrics(recs, queries, split.train, task.metrics)
        rows = _per_query_frame(task, queries, values)
        curve = recall_curve(items, queries, task.cutoff)
        longtail = longtail_table(items, queries, split.train, min(task.longtail_k, items.shape[1]))
        info["n_queries"] = len(queries)
        return CellOutput(task.cell_id, "ok", rows, curve, longtail, info)
    except Exception as e:  # a failing model must not stop the others
        info.update(
            error=f"{type(e).__name__}: {e}", phase=phase, traceback=traceback.format_exc(limit=20)
        )
        return CellOutput(task.cell_id, "error", info=info)


def _run_cell_for_executor(task: CellTask, split) -> CellOutput:
    return run_cell(task, split)


# ---------------------------------------------------------------------- the run
@dataclass
class RunResult:
    """Where a run wrote its files and how its cells ended.

    Parameters
    ----------
    out : Path
        The run folder.
    n_cells : int
        Cells of the suite.
    n_ok, n_failed : int
        Cells that succeeded / failed in this session.
    n_skipped : int
        Cells already committed (skipped on resume).
    failed : list of dict
        ``cell`` and ``error`` of each cell that failed in this session.
    summary : dict
        The content of ``summary.json``.
    """

    out: Path
    n_cells: int
    n_ok: int
    n_failed: int
    n_skipped: int
    failed: list[dict[str, Any]]
    summary: dict[str, Any]


def _atomic_parquet(df: pd.DataFrame, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp)
    tmp.replace(path)


def _atomic_json(obj: Any, path: Path) -> None:
    atomic_write_bytes(
        path, json.dumps(obj, indent=2, sort_keys=False, default=_json_default).encode()
    )


def _json_default(o: Any) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    if hasattr(o, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(o)
    if hasattr(o, "to_dict"):
        return o.to_dict()
    return repr(o)


def _jsonable(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=_json_default))


def _load_corpus(spec: str):
    from apc.datasets import load_corpus

    return load_corpus(spec)


def prepare_splits(
    suite: Suite, pairs: list[tuple[str, int]], cache: Cache
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Build (or load) the split of every (dataset, seed) in ``pairs``.

    Parameters
    ----------
    suite : Suite
        A validated suite.
    pairs : list of (str, int)
        Dataset names and replicate seeds.
    cache : Cache
        Split cache.

    Returns
    -------
    splits : dict
        ``{split key: Split}``.
    records : dict
        ``{"<dataset>/<seed>": split record}``, where a record holds the key, the
        split's own hash, the split seed, sizes and the split report.

    Raises
    ------
    ApcInputError
        If the suite's protocol or its options are invalid.
    """
    from apc.evaluation.protocols import make_protocol

    try:
        protocol = make_protocol(suite.protocol, **suite.protocol_options)
    except ApcInputError as e:
        raise ApcInputError(
            e.message, file=suite.path or None, field=f"protocol.{e.field or 'options'}"
        ) from None
    except TypeError as e:
        raise ApcInputError(
            f"bad protocol options: {e}", file=suite.path or None, field="protocol.options"
        ) from None
    datasets = {d.name: d for d in suite.datasets}
    splits: dict[str, Any] = {}
    records: dict[str, dict[str, Any]] = {}
    corpora: dict[str, tuple[Any, str]] = {}
    for name, seed in pairs:
        if name not in corpora:
            pl = _load_corpus(datasets[name].source)
            corpora[name] = (pl, corpus_hash(pl))
        pl, digest = corpora[name]
        split_seed = derive_seed(seed, "split", name)
        key = split_key(digest, suite.protocol, suite.protocol_options, split_seed)
        split = cache.load_split(key)
        cached = split is not None
        if split is None:
            split = protocol.split(pl, seed=split_seed)
            cache.save_split(key, split)
        splits[key] = split
        records[f"{name}/{seed}"] = {
            "dataset": name,
            "seed": seed,
            "split_seed": split_seed,
            "key": key,
            "cached": cached,
            "hash": _split_hash(split),
            "corpus_hash": digest,
            "n_train": len(split.train),
            "n_queries": len(split.queries),
            "n_tracks": split.train.n_tracks,
            "report": _jsonable(getattr(split, "report", {})),
        }
    return splits, records


def _split_hash(split) -> str:
    fn = getattr(split, "hash", None)
    try:
        return str(fn()) if callable(fn) else "unknown"
    except Exception:  # pragma: no cover - defensive: provenance must not fail a run
        return "unknown"


def plan_cells(
    suite: Suite, cache_root: str | None, keys: dict[tuple[str, int], str] | None = None
) -> list[CellTask]:
    """List every cell of the suite in suite order: dataset, then seed, then model.

    Parameters
    ----------
    suite : Suite
        A validated suite.
    cache_root : str or None
        Cache folder given to every cell (None: no cache).
    keys : dict, optional
        ``{(dataset, seed): split key}``; missing keys are left empty.

    Returns
    -------
    list of CellTask
    """
    tasks = []
    for d in suite.datasets:
        for seed in suite.seeds:
            for m in suite.models:
                tasks.append(
                    CellTask(
                        index=len(tasks),
                        cell_id=cell_id(d.name, seed, m.name),
                        dataset=d.name,
                        seed=seed,
                        split_key=(keys or {}).get((d.name, seed), ""),
                        protocol=suite.protocol,
                        model=m,
                        model_seed=derive_seed(seed, "model", d.name, m.name),
                        metrics=tuple(suite.metrics),
                        cutoff=suite.cutoff,
                        longtail_k=suite.longtail_k,
                        cache_root=cache_root,
                    )
                )
    return tasks


def check_models(suite: Suite) -> None:
    """Resolve every model of the suite before any work.

    A typo is bad input, not a failed cell.

    Parameters
    ----------
    suite : Suite
        A validated suite.

    Raises
    ------
    ApcInputError
        Naming the suite file and the field ``models[i].model`` of the first model
        that cannot be resolved, or ``models[i].params`` of the first whose
        hyper-parameters its constructor rejects.
    """
    from apc.models.registry import create_model, get_model_class

    for i, m in enumerate(suite.models):
        try:
            get_model_class(m.model)
        except ApcInputError as e:
            raise ApcInputError(
                e.message, file=suite.path or None, field=f"models[{i}].model"
            ) from None
        try:
            create_model(m.model, m.params)  # constructing is cheap; fitting comes later
        except ApcInputError as e:
            raise ApcInputError(
                e.message, file=suite.path or None, field=f"models[{i}].params"
            ) from None


def _committed(cells_dir: Path, cid: str) -> bool:
    meta = cells_dir / f"{cid}.json"
    if not meta.is_file() or not (cells_dir / f"{cid}.parquet").is_file():
        return False
    try:
        return json.loads(meta.read_text()).get("status") == "ok"
    except (OSError, json.JSONDecodeError):
        return False


def _write_cell(cells_dir: Path, out: CellOutput, task: CellTask) -> None:
    """Commit one cell: data files first, the JSON marker last (each atomically)."""
    cid = task.cell_id
    info = dict(out.info, status=out.status, cell=cid, index=task.index)
    if out.status == "ok":
        _atomic_parquet(out.rows, cells_dir / f"{cid}.parquet")
        curve = pd.DataFrame(
            {
                "k": np.arange(1, len(out.curve) + 1, dtype=np.int64),
                "recall": out.curve.astype(np.float64),
            }
        )
        _atomic_parquet(curve, cells_dir / f"{cid}.curve.parquet")
        _atomic_parquet(out.longtail, cells_dir / f"{cid}.longtail.parquet")
    else:
        for suffix in (".parquet", ".curve.parquet", ".longtail.parquet"):
            (cells_dir / f"{cid}{suffix}").unlink(missing_ok=True)
    _atomic_json(info, cells_dir / f"{cid}.json")


def _check_out_dir(out: Path, suite: Suite, resume: bool) -> None:
    cfg = out / "config.json"
    cells = out / "cells"
    has_run = cfg.is_file() or (cells.is_dir() and any(cells.iterdir()))
    if not has_run:
        return
    if not resume:
        raise ApcInputError(
            "this folder already holds a benchmark run; pass --resume to continue it or choose "
            "another --out",
            file=str(out),
        )
    if cfg.is_file():
        stored = json.loads(cfg.read_text()).get("config_hash")
        if stored != suite.config_hash():
            raise ApcInputError(
                "the suite changed since this run started (config hash differs); start a new --out",
                file=str(out),
            )


def run_suite(
    suite: Suite,
    out: str | Path,
    *,
    executor: str = "local",
    resume: bool = False,
    cache: str | Path | None = ".apc-cache",
    ray_address: str | None = None,
    executor_options: dict[str, Any] | None = None,
    report: bool = True,
) -> RunResult:
    """Run every cell of ``suite`` and write results, summary and provenance to ``out``.

    Parameters
    ----------
    suite : Suite
        A validated suite (:func:`apc.bench.suite.load_suite`).
    out : path
        Output folder (created). An existing run there needs ``resume=True``.
    executor : {"local", "ray"}
        Where cells run.
    resume : bool
        Skip cells already committed in ``out`` (the suite must be unchanged).
    cache : path or None
        Split and model cache folder; None disables caching.
    ray_address : str, optional
        Ray cluster address (else ``$RAY_ADDRESS``, else a local Ray).
    executor_options : dict, optional
        Extra executor options (e.g. ``{"num_cpus": 2}`` for a local Ray).
    report : bool
        Also draw the PNG plots and the HTML page (:func:`apc.bench.report.write_report`).

    Returns
    -------
    RunResult
    """
    from apc.bench.executors import make_executor
    from apc.bench.provenance import provenance
    from apc.progress import task as progress_task

    out = Path(out)
    check_models(suite)
    _check_out_dir(out, suite, resume)
    cells_dir = out / "cells"
    cells_dir.mkdir(parents=True, exist_ok=True)
    for stale in cells_dir.glob(".*.tmp"):  # left by a killed writer; never committed
        stale.unlink(missing_ok=True)
    cache_obj = Cache(cache)
    config = {"config_hash": suite.config_hash(), "suite": suite.to_dict(), "source": suite.path}
    _atomic_json(config, out / "config.json")
    if suite.path and Path(suite.path).is_file():
        atomic_write_bytes(out / "suite.toml", Path(suite.path).read_bytes())
    prov_path = out / "provenance.json"
    sessions = json.loads(prov_path.read_text()).get("sessions", []) if prov_path.is_file() else []
    sessions.append(provenance(executor))
    _atomic_json({"sessions": sessions, **sessions[-1]}, prov_path)

    tasks = plan_cells(suite, None if cache is None else str(cache))
    todo = [t for t in tasks if not _committed(cells_dir, t.cell_id)]
    n_skipped = len(tasks) - len(todo)

    pairs = sorted(
        {(t.dataset, t.seed) for t in todo},
        key=lambda p: ([d.name for d in suite.datasets].index(p[0]), p[1]),
    )
    splits, records = prepare_splits(suite, pairs, cache_obj) if pairs else ({}, {})
    splits_path = out / "splits.json"
    all_records = json.loads(splits_path.read_text()) if splits_path.is_file() else {}
    all_records.update(records)
    _atomic_json(all_records, splits_path)
    keyed = {(r["dataset"], r["seed"]): r["key"] for r in all_records.values()}
    todo = [replace(t, split_key=keyed[(t.dataset, t.seed)]) for t in todo]

    failed: list[dict[str, Any]] = []
    n_ok = 0
    if todo:
        ex = make_executor(executor, address=ray_address, **(executor_options or {}))
        try:
            with progress_task(f"bench {suite.name}", total=len(todo)) as bar:
                for i, result in ex.map(
                    _run_cell_for_executor, todo, splits, key=lambda t: t.split_key
                ):
                    t = todo[i]
                    if not isinstance(result, CellOutput):  # the executor lost the task
                        result = CellOutput(
                            t.cell_id,
                            "error",
                            info={
                                "error": str(result),
                                "phase": "executor",
                                "model": t.model.name,
                                "dataset": t.dataset,
                                "seed": t.seed,
                            },
                        )
                    _write_cell(cells_dir, result, t)
                    if result.status == "ok":
                        n_ok += 1
                    else:
                        failed.append({"cell": t.cell_id, "error": result.info.get("error", "")})
                    bar.advance()
        finally:
            ex.close()

    summary = assemble(out, suite, tasks, report=report)
    return RunResult(out, len(tasks), n_ok, len(failed), n_skipped, failed, summary)


def assemble(
    out: Path, suite: Suite, tasks: list[CellTask] | None = None, *, report: bool = True
) -> dict[str, Any]:
    """Concatenate committed cells (suite order) into the result tables; write the summary.

    Parameters
    ----------
    out : Path
        The run folder.
    suite : Suite
        A validated suite.
    tasks : list of CellTask, optional
        The cells (default: :func:`plan_cells`); cells without a commit marker are
        recorded as ``missing``.
    report : bool, default True
        Also write the plots and ``report.html``.

    Returns
    -------
    dict
        The summary (content of ``summary.json``).
    """
    from apc.bench.report import write_report, write_summary

    tasks = tasks if tasks is not None else plan_cells(suite, None)
    cells_dir = out / "cells"
    frames, curves, tails, infos = [], [], [], []
    for t in tasks:
        meta = cells_dir / f"{t.cell_id}.json"
        if not meta.is_file():
            infos.append(
                {
                    "cell": t.cell_id,
                    "model": t.model.name,
                    "dataset": t.dataset,
                    "seed": t.seed,
                    "status": "missing",
                }
            )
            continue
        info = json.loads(meta.read_text())
        infos.append(info)
        if info.get("status") != "ok":
            continue
        frames.append(pd.read_parquet(cells_dir / f"{t.cell_id}.parquet"))
        c = pd.read_parquet(cells_dir / f"{t.cell_id}.curve.parquet")
        lt = pd.read_parquet(cells_dir / f"{t.cell_id}.longtail.parquet")
        for f in (c, lt):
            f.insert(0, "model", t.model.name)
            f.insert(1, "dataset", t.dataset)
            f.insert(2, "seed", np.int64(t.seed))
        curves.append(c)
        tails.append(lt)
    results = (
        pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=RESULT_COLUMNS)
    )
    _atomic_parquet(results, out / "results.parquet")
    _atomic_parquet(
        pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(), out / "curves.parquet"
    )
    _atomic_parquet(
        pd.concat(tails, ignore_index=True) if tails else pd.DataFrame(), out / "longtail.parquet"
    )
    _atomic_json(infos, out / "cells.json")
    summary = write_summary(out, suite)
    if report:
        write_report(out, quiet=True)
    return summary
