"""One benchmark cell: build a model, fit it (or read the fit from the cache), recommend, score.

A *cell* is one (dataset, replicate seed, model). :func:`run_cell` times the fit and
the recommendations and samples their peak memory; the per-query rows come from
:func:`apc.evaluation.evaluate.score_recommendations`, the same function behind
:func:`apc.evaluation.evaluate` and ``apc evaluate``, and the recall curve and the
long-tail table from :mod:`apc.evaluation.breakdown`. A model's failure is recorded
in the cell, never raised, so the other cells go on.
"""

from __future__ import annotations

import inspect
import json
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from apc._atomic import atomic_write_bytes
from apc.bench.cache import Cache, model_key
from apc.bench.memory import PeakMemory
from apc.bench.suite import ModelEntry, safe_name
from apc.evaluation.breakdown import longtail_table, recall_curve
from apc.evaluation.evaluate import score_recommendations
from apc.evaluation.metrics import hit_matrix


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
        Protocol name of the suite.
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
        Per-query rows, columns :data:`apc.evaluation.evaluate.RESULT_COLUMNS`.
    curve : np.ndarray, optional
        Recall@k for k = 1..cutoff (:func:`~apc.evaluation.breakdown.recall_curve`).
    longtail : pd.DataFrame, optional
        :func:`~apc.evaluation.breakdown.longtail_table` of the cell.
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


def model_params(entry: ModelEntry, cls: type, model_seed: int) -> dict[str, Any]:
    """Return the keyword arguments a cell builds its model with.

    Parameters
    ----------
    entry : ModelEntry
        The suite's model entry.
    cls : type
        The model class.
    model_seed : int
        The cell's model seed, added as ``seed`` when the constructor takes one and
        the suite does not set it.

    Returns
    -------
    dict
        The suite's parameters over an alias's preset (``vstan``...), plus ``seed``
        where it applies.
    """
    from apc.models.registry import alias_params

    params = {**alias_params(entry.model), **entry.params}
    try:
        accepted = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        accepted = {}
    if "seed" in accepted and "seed" not in params:
        params["seed"] = int(model_seed)
    return params


def _fit_meta_path(cache: Cache, key: str) -> Path | None:
    path = cache.model_path(key)
    return None if path is None else path.with_suffix(".json")


def _fit(task: CellTask, split, info: dict[str, Any]):
    """Build the cell's model and fit it, or load the fit from the cache; fill ``info``."""
    from apc.models.registry import get_model_class

    cls = get_model_class(task.model.model)
    params = model_params(task.model, cls, task.model_seed)
    info["params"] = dict(params)
    model = cls(**params)
    cache = Cache(task.cache_root if task.model.cache else None)
    key = model_key(task.split_key, cls, params) if cache.enabled else None
    loaded = cache.load_model(key, cls) if key else None
    if loaded is not None:
        meta_path = _fit_meta_path(cache, key)
        meta = json.loads(meta_path.read_text()) if meta_path and meta_path.is_file() else {}
        info.update(
            fit_seconds=meta.get("fit_seconds", float("nan")),
            fit_peak_bytes=meta.get("fit_peak_bytes", float("nan")),
            fit_cached=True,
        )
        return loaded
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        model.fit(split.train)
        fit_seconds = time.perf_counter() - t0
    info.update(fit_seconds=fit_seconds, fit_peak_bytes=mem.peak_bytes, fit_cached=False)
    if key and cache.save_model(key, model):
        meta = {"fit_seconds": fit_seconds, "fit_peak_bytes": mem.peak_bytes}
        atomic_write_bytes(_fit_meta_path(cache, key), json.dumps(meta).encode())
    return model


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
        with the failing phase (``fit``, ``recommend`` or ``evaluate``), message and
        traceback in ``info``.
    """
    from apc.models.fallback import with_title_fallback

    info: dict[str, Any] = {
        "cell": task.cell_id,
        "dataset": task.dataset,
        "seed": task.seed,
        "model": task.model.name,
        "model_spec": task.model.model,
        "split_key": task.split_key,
        "model_seed": task.model_seed,
    }
    phase = "fit"
    try:
        # title-only queries (MPD) are answered by title; the cached fit stays the model's own
        model = with_title_fallback(_fit(task, split, info), train=split.train)

        phase = "recommend"
        queries = split.queries
        with PeakMemory() as mem:
            t0 = time.perf_counter()
            recs = model.recommend(queries, task.cutoff)
            info["recommend_seconds"] = time.perf_counter() - t0
        info["recommend_peak_bytes"] = mem.peak_bytes

        phase = "evaluate"
        from apc.evaluation.model_metrics import model_metric_rows, split_labels

        list_labels, model_labels = split_labels(task.metrics)
        rows = score_recommendations(
            recs, queries, split.train, list_labels, model=task.model.name,
            dataset=task.dataset, protocol=split.report.protocol, seed=task.seed, k=task.cutoff,
        )
        if model_labels:  # loglik, rank: from the model itself, not from the top-k list
            extra, info["model_metric_notes"] = model_metric_rows(
                model, queries, split.train, model_labels, model_name=task.model.name,
                dataset=task.dataset, protocol=split.report.protocol, seed=task.seed)
            rows = pd.concat([rows, extra], ignore_index=True)
        hits = hit_matrix(recs, queries)  # shared by the two breakdowns
        curve = recall_curve(recs, queries, task.cutoff, hits=hits)
        width = np.asarray(recs.items).shape[1]
        longtail = longtail_table(recs, queries, split.train, min(task.longtail_k, width),
                                  hits=hits)
        if "rank" in model_labels:  # the same popularity buckets, for the rank of the target
            from apc.evaluation.breakdown import rank_by_popularity

            ranks = extra.loc[extra["label"] == "rank", "value"].to_numpy()
            longtail = longtail.merge(rank_by_popularity(ranks, queries, split.train), on="bucket")
        info["n_queries"] = len(queries)
        return CellOutput(task.cell_id, "ok", rows, curve, longtail, info)
    except Exception as e:  # a failing model must not stop the others
        info.update(
            error=f"{type(e).__name__}: {e}", phase=phase, traceback=traceback.format_exc(limit=20)
        )
        return CellOutput(task.cell_id, "error", info=info)
