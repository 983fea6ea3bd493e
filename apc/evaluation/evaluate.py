"""Evaluate one model on one split: fit, recommend, per-query metrics in long form.

:func:`score_recommendations` is the one place where recommendations become per-query
rows; :func:`evaluate` (fit + recommend + score), ``apc evaluate`` and the benchmark
runner all use it. The rows (``model, dataset, protocol, seed, query, playlist_id,
category, seed_length, n_targets, metric, k, label, value``; ``k`` is a nullable
integer, missing for metrics without a cut-off) are the single source of every later
table, statistic and plot. :func:`write_results` stores them as parquet (atomically),
with the split report, the evaluation policies and the metric variants in the file's
metadata.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from apc._atomic import atomic_path
from apc.errors import ApcInputError, ParameterWarning
from apc.evaluation.metrics import METRICS, compute_metrics, label, parse_label, takes_k
from apc.evaluation.protocols import Split

#: Evaluation policies, stated with every result.
POLICIES = {
    "ranking": "full ranking over the training catalogue (no sampled candidates)",
    "seed_filtering": "seed tracks are never recommended unless the model declares allows_repeats",
    "ties": "equal scores are ordered by lower track index (apc.models._topk.top_k); the "
            "Markov and association-rule family first break ties by training popularity",
    "targets": "distinct targets; targets repeating a seed track or unseen in training are "
               "dropped at split time and counted in the split report",
    "padding": "lists shorter than k are padded with -1, which never counts as a hit",
}

def metric_variants(names=None) -> dict[str, str]:
    """Return which definition each metric name stands for, from the metric registry.

    Parameters
    ----------
    names : iterable of str, optional
        Metric names (default: every registered metric).

    Returns
    -------
    dict[str, str]
        Name -> :attr:`Metric.description <apc.evaluation.metrics.Metric.description>`.
    """
    chosen = METRICS if names is None else [n for n in dict.fromkeys(names) if n in METRICS]
    return {n: METRICS[n].description for n in chosen}


#: Which definition each metric name stands for (reports name them); read from the
#: registry, where each :class:`~apc.evaluation.metrics.Metric` states its meaning.
METRIC_VARIANTS = metric_variants()

#: Protocols whose queries hold one next track (or a few); the rest are continuation-like.
NEXT_TRACK_PROTOCOLS = {"next-track"}

#: Default metric labels per protocol family: the one list behind ``apc evaluate``
#: (which takes their metric names, at its own cut-offs) and a suite without ``metrics``.
DEFAULT_LABELS = {
    "next-track": ["hit@1", "hit@5", "hit@10", "hit@20", "mrr@20", "ndcg@20", "coverage@20",
                   "popularity@20", "artist_diversity@20"],
    "continuation": ["recall@20", "recall@100", "recall@500", "rprec", "rprec_mpd", "ndcg@500",
                     "ndcg_mpd", "clicks_mpd", "coverage@100", "popularity@100",
                     "artist_diversity@100"],
}


def default_labels(protocol: str) -> list[str]:
    """Return the default metric labels for a protocol (next-track vs. continuation family).

    Parameters
    ----------
    protocol : str
        Protocol name.

    Returns
    -------
    list of str
        A fresh list from :data:`DEFAULT_LABELS`.
    """
    family = "next-track" if protocol in NEXT_TRACK_PROTOCOLS else "continuation"
    return list(DEFAULT_LABELS[family])

#: Columns of the long-form per-query rows, the one schema of every results file.
RESULT_COLUMNS = ["model", "dataset", "protocol", "seed", "query", "playlist_id", "category",
                  "seed_length", "n_targets", "metric", "k", "label", "value"]


def default_metrics(protocol: str) -> list[str]:
    """Return the metric names evaluated when none are given: those of :func:`default_labels`.

    Parameters
    ----------
    protocol : str
        Protocol name.

    Returns
    -------
    list of str
        Distinct metric names, in the order of their first label.
    """
    return list(dict.fromkeys(label.partition("@")[0] for label in default_labels(protocol)))


@dataclass
class EvaluationResult:
    """Per-query rows plus timings of one model on one split.

    Parameters
    ----------
    per_query : pd.DataFrame
        Long-form rows, columns :data:`RESULT_COLUMNS`.
    fit_seconds, recommend_seconds : float
        Wall-clock time of ``fit`` and ``recommend``.
    split_report : dict
        :meth:`SplitReport.as_dict` of the split.
    policies : dict, optional
        Evaluation policies (default :data:`POLICIES`).
    """

    per_query: pd.DataFrame
    fit_seconds: float
    recommend_seconds: float
    split_report: dict[str, Any]
    policies: dict[str, str] = field(default_factory=lambda: dict(POLICIES))

    def summary(self) -> pd.Series:
        """Average each metric label over the queries, ignoring NaN.

        Returns
        -------
        pd.Series
            Label (``recall@10``, ``rprec``) -> mean, in order of first appearance.
        """
        return self.per_query.groupby("label", sort=False)["value"].mean()


def metric_labels(metrics: Iterable[str], ks: Iterable[int]) -> list[str]:
    """Expand metric names and cut-offs into labels, name by name.

    Parameters
    ----------
    metrics : iterable of str
        Metric names (see :data:`apc.evaluation.metrics.METRICS`).
    ks : iterable of int
        Cut-offs, applied to every metric that takes one.

    Returns
    -------
    list of str
        ``recall@10``-style labels; a metric without a cut-off appears once, bare.

    Examples
    --------
    >>> metric_labels(["recall", "rprec"], [10, 100])
    ['recall@10', 'recall@100', 'rprec']
    """
    ks = sorted({int(k) for k in ks})
    out: list[str] = []
    for name in metrics:
        out.extend([label(name, k) for k in ks] if takes_k(name) else [name])
    return out


def score_recommendations(recs, queries, train, labels: Iterable[str], *, model: str,
                          dataset: str, protocol: str, seed: int,
                          k: int | None = None) -> pd.DataFrame:
    """Score recommendations for the queries of a split: one row per query and metric label.

    This is the one place where recommendations become per-query rows: :func:`evaluate`,
    the benchmark runner and the CLI all go through it.

    Parameters
    ----------
    recs : Recommendations
        int ``(Q, w)`` items (best first, ``-1`` padded) for ``queries``.
    queries : Queries
        The queries (their targets are the ground truth).
    train : Playlists
        The training corpus (its catalogue size, popularity and artists feed the
        metrics that need them).
    labels : iterable of str
        Metric labels (``recall@10``, ``rprec``), in row order.
    model, dataset, protocol : str
        Recorded in every row.
    seed : int
        Recorded in every row (the split seed for :func:`evaluate`, the replicate seed
        for the benchmark runner).
    k : int, optional
        The list length asked for; a wider list is an error.

    Returns
    -------
    pd.DataFrame
        Columns :data:`RESULT_COLUMNS`: ``playlist_id`` as text, ``category`` text or
        null, ``k`` a nullable ``Int64`` (missing for metrics without a cut-off); a
        set-level metric repeats its one value on every row.

    Raises
    ------
    ValueError
        If the recommendations do not have one row per query (or are wider than ``k``).
    ApcInputError
        If a label names an unknown metric.
    """
    q = len(queries)
    items = np.asarray(getattr(recs, "items", recs))
    if items.ndim != 2 or items.shape[0] != q or (k is not None and items.shape[1] > k):
        width = "w" if k is None else f"<= {k}"
        raise ValueError(f"recommend() returned items of shape {items.shape}; "
                         f"expected ({q}, {width})")
    labels = list(labels)
    parsed = [parse_label(lab) for lab in labels]
    # one call, so the hits are found once; labels not asked for are dropped below
    names = list(dict.fromkeys(n for n, _ in parsed))
    ks = sorted({kk for _, kk in parsed if kk is not None})
    values = compute_metrics(recs, queries, train, metrics=names, ks=ks)
    missing = [lab for lab in labels if lab not in values]
    if missing:
        raise ApcInputError(f"no such metric label {missing[0]!r} (a metric without a cut-off "
                            "takes no @k; one with a cut-off needs it)", field="metrics")
    cat = queries.category
    category = (pd.Series(cat, dtype=object).map(lambda c: None if pd.isna(c) else str(c))
                if cat is not None else pd.Series([None] * q, dtype=object))
    base = pd.DataFrame({
        "query": np.arange(q, dtype=np.int64),
        "playlist_id": np.asarray(queries.playlist_ids).astype(str),
        "category": category.to_numpy(dtype=object),
        "seed_length": queries.seed_lengths.astype(np.int64),
        "n_targets": np.diff(queries.targets_csr().indptr).astype(np.int64),
    })
    frames = []
    for lab, (name, kk) in zip(labels, parsed, strict=True):
        arr = np.asarray(values[lab], dtype=np.float64)
        if arr.ndim == 0:  # set-level metric: the same value on every row
            arr = np.full(q, float(arr))
        f = base.copy()
        f["metric"] = name
        f["k"] = pd.array([kk] * q, dtype="Int64")
        f["label"] = lab
        f["value"] = arr
        frames.append(f)
    if not frames:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    out.insert(0, "seed", np.int64(seed))
    out.insert(0, "protocol", protocol)
    out.insert(0, "dataset", dataset)
    out.insert(0, "model", model)
    return out[RESULT_COLUMNS]


def evaluate(model, split: Split, *, ks=(10, 100, 500), metrics: list[str] | None = None,
             dataset: str = "corpus", seed: int = 0, model_name: str | None = None,
             features=None, fit: bool = True) -> EvaluationResult:
    """Fit ``model`` on ``split.train``, recommend ``max(ks)`` tracks, score every query.

    Parameters
    ----------
    model : Recommender
        Any object with ``fit`` and ``recommend``, used as given: queries with an empty
        seed (the MPD challenge's title-only playlists) get the model's own answer. To
        answer them by title, as ``apc evaluate``, the runner and ``apc mpd submit`` do,
        pass ``apc.models.with_title_fallback(model)``.
    split : Split
        From a protocol.
    ks : iterable of int
        Cut-offs; the lists are ``max(ks)`` long (the ``*_mpd`` metrics and ``rprec``
        use the whole list).
    metrics : list of str, optional
        Names from :data:`apc.evaluation.metrics.METRICS` (default per protocol).
    dataset, seed, model_name
        Recorded in every row.
    features : ItemFeatures, optional
        Passed to ``fit``.
    fit : bool
        Set False for an already fitted model.

    Returns
    -------
    EvaluationResult
        Per-query rows (:func:`score_recommendations`), fit and recommend times, and
        the split report.

    Raises
    ------
    ApcInputError
        If ``ks`` is empty or a metric name is unknown.
    """
    names = list(metrics) if metrics else default_metrics(split.report.protocol)
    ks = sorted({int(k) for k in ks})
    if not ks:
        raise ApcInputError("at least one cut-off k is needed", field="k")
    for name in names:
        if name not in METRICS:
            raise ApcInputError(f"unknown metric {name!r}; known: {', '.join(sorted(METRICS))}",
                                field="metrics")
    t0 = time.perf_counter()
    if fit:
        model.fit(split.train, features) if features is not None else model.fit(split.train)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    recs = model.recommend(split.queries, max(ks))
    rec_s = time.perf_counter() - t0
    name = model_name or getattr(model, "name", "") or type(model).__name__
    from apc.evaluation.model_metrics import model_metric_rows, split_labels

    list_labels, model_labels = split_labels(metric_labels(names, ks))
    frame = score_recommendations(recs, split.queries, split.train, list_labels,
                                  model=name, dataset=dataset, protocol=split.report.protocol,
                                  seed=seed, k=max(ks))
    if model_labels:  # loglik, rank, rank_pct: from the model itself, not from its top-k list
        extra, notes = model_metric_rows(model, split.queries, split.train, model_labels,
                                         model_name=name, dataset=dataset,
                                         protocol=split.report.protocol, seed=seed)
        frame = pd.concat([frame, extra], ignore_index=True)
        for note in notes:  # e.g. a model without a next-track distribution has no loglik
            warnings.warn(f"{name}: {note}", ParameterWarning, stacklevel=2)
    return EvaluationResult(frame, fit_s, rec_s, split.report.as_dict())


def write_results(per_query: pd.DataFrame, out: str | Path, *, split_report: dict | None = None,
                  policies: dict | None = None, extra: dict | None = None) -> Path:
    """Write per-query rows to parquet via a temp file and rename.

    The split report, the policies and the metric variants go into the parquet
    key-value metadata under ``apc`` (JSON), so a results file describes itself.

    Parameters
    ----------
    per_query : pd.DataFrame
        Rows as made by :func:`score_recommendations`.
    out : str or Path
        Parquet file to write; parent directories are created.
    split_report : dict, optional
        Stored as ``split_report``.
    policies : dict, optional
        Evaluation policies (default :data:`POLICIES`).
    extra : dict, optional
        More metadata entries, merged in last.

    Returns
    -------
    Path
        ``out``.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    import apc

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(per_query.reset_index(drop=True), preserve_index=False)
    meta = {
        "apc_version": apc.__version__,
        "split_report": split_report or {},
        "policies": policies or POLICIES,
        "metric_variants": metric_variants(),
        **(extra or {}),
    }
    existing = table.schema.metadata or {}
    table = table.replace_schema_metadata(
        {**existing, b"apc": json.dumps(meta, default=str).encode()}
    )
    with atomic_path(out) as tmp:
        pq.write_table(table, tmp)
    return out


def read_results_metadata(path: str | Path) -> dict[str, Any]:
    """Read the ``apc`` metadata written by :func:`write_results`.

    Parameters
    ----------
    path : str or Path
        A parquet results file.

    Returns
    -------
    dict
        The metadata; empty when the file has none.
    """
    import pyarrow.parquet as pq

    meta = pq.read_schema(path).metadata or {}
    raw = meta.get(b"apc")
    return json.loads(raw) if raw else {}
