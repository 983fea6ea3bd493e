"""Evaluate one model on one split: fit, recommend, per-query metrics in long form.

The per-query rows (``model, dataset, protocol, seed, query, playlist_id, category,
seed_length, n_targets, metric, k, value``) are the single source of every later
table, statistic and plot. :func:`write_results` stores them as parquet (atomically),
with the split report, the evaluation policies and the metric variants in the file's
metadata.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from apc.evaluation.metrics import METRICS, compute_metrics
from apc.evaluation.protocols import Split

#: Evaluation policies, stated with every result.
POLICIES = {
    "ranking": "full ranking over the training catalogue (no sampled candidates)",
    "seed_filtering": "seed tracks are never recommended unless the model declares allows_repeats",
    "ties": "equal scores are ordered by lower track index (apc.models._topk.top_k)",
    "targets": "distinct targets; targets repeating a seed track or unseen in training are "
               "dropped at split time and counted in the split report",
    "padding": "lists shorter than k are padded with -1, which never counts as a hit",
}

#: Which definition each metric name stands for (reports name them).
METRIC_VARIANTS = {
    "ndcg": "textbook: gain 1/log2(rank+1), IDCG over min(|G|, k)",
    "rprec": "textbook: hits in the first |G| over |G|",
    "rprec_mpd": "RecSys 2018: + 0.25 per distinct matched artist in the first |G|, over |G|",
    "ndcg_mpd": "RecSys 2018: rank 1 weight 1, rank i>=2 1/log2(i), IDCG over matched tracks",
    "clicks_mpd": "RecSys 2018: floor((first hit rank - 1) / 10), 51 without a hit",
    "popularity": "mean share of training playlists holding a recommended track",
    "coverage": "distinct recommended tracks in all top-k lists / catalogue size (set level)",
}

NEXT_TRACK_METRICS = ["hit", "mrr", "ndcg", "coverage", "popularity", "artist_diversity"]
CONTINUATION_METRICS = ["recall", "ndcg", "rprec", "rprec_mpd", "ndcg_mpd", "clicks_mpd",
                        "coverage", "popularity", "artist_diversity"]

RESULT_COLUMNS = ["model", "dataset", "protocol", "seed", "query", "playlist_id", "category",
                  "seed_length", "n_targets", "metric", "k", "value"]


def default_metrics(protocol: str) -> list[str]:
    """Return the metric names evaluated when none are given.

    Parameters
    ----------
    protocol : str
        Protocol name; ``"next-track"`` gets :data:`NEXT_TRACK_METRICS`, any other
        :data:`CONTINUATION_METRICS`.

    Returns
    -------
    list of str
        A fresh list.
    """
    return list(NEXT_TRACK_METRICS if protocol == "next-track" else CONTINUATION_METRICS)


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
        df = self.per_query
        labels = np.where(df["k"].isna(), df["metric"], df["metric"] + "@" + df["k"].astype(str))
        return df.assign(label=labels).groupby("label", sort=False)["value"].mean()


def per_query_frame(values: dict[str, Any], queries, *, model: str, dataset: str,
                    protocol: str, seed: int) -> pd.DataFrame:
    """Turn :func:`compute_metrics` output into long-form rows (one per query x label).

    Parameters
    ----------
    values : dict
        Label -> per-query array, or a scalar for a set-level metric (repeated on
        every row).
    queries : Queries
        The evaluated queries (ids, categories, seed and target lengths).
    model, dataset, protocol : str
        Recorded in every row.
    seed : int
        Seed of the split, recorded in every row.

    Returns
    -------
    pd.DataFrame
        Columns :data:`RESULT_COLUMNS`; ``k`` is a nullable integer (missing for
        metrics without a cut-off).
    """
    q = len(queries)
    frames = []
    cat = queries.category if queries.category is not None else np.full(q, None, dtype=object)
    base = pd.DataFrame({
        "query": np.arange(q, dtype=np.int64),
        "playlist_id": queries.playlist_ids,
        "category": pd.Series(cat, dtype=object).astype(str).where(pd.notna(cat), None),
        "seed_length": queries.seed_lengths,
        "n_targets": queries.target_lengths,
    })
    for lab, vals in values.items():
        name, _, k = lab.partition("@")
        arr = np.asarray(vals, dtype=np.float64)
        if arr.ndim == 0:  # set-level metric: the same value on every row
            arr = np.full(q, float(arr))
        f = base.copy()
        f["metric"] = name
        f["k"] = pd.array([int(k)] * q if k else [pd.NA] * q, dtype="Int64")
        f["value"] = arr
        frames.append(f)
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=RESULT_COLUMNS)
    out.insert(0, "seed", int(seed))
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
        Any object with ``fit`` and ``recommend``.
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
        Per-query rows, fit and recommend times, and the split report.

    Raises
    ------
    ApcInputError
        If ``ks`` is empty or a metric name is unknown.
    """
    protocol = split.report.protocol
    names = list(metrics) if metrics else default_metrics(protocol)
    ks = sorted({int(k) for k in ks})
    if not ks:
        from apc.errors import ApcInputError

        raise ApcInputError("at least one cut-off k is needed", field="k")
    for name in names:
        if name not in METRICS:
            from apc.errors import ApcInputError

            raise ApcInputError(f"unknown metric {name!r}; known: {', '.join(sorted(METRICS))}",
                                field="metrics")
    t0 = time.perf_counter()
    if fit:
        model.fit(split.train, features) if features is not None else model.fit(split.train)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    recs = model.recommend(split.queries, max(ks))
    rec_s = time.perf_counter() - t0
    values = compute_metrics(recs, split.queries, split.train, metrics=names, ks=ks)
    name = model_name or getattr(model, "name", "") or type(model).__name__
    frame = per_query_frame(values, split.queries, model=name, dataset=dataset,
                            protocol=protocol, seed=seed)
    return EvaluationResult(frame, fit_s, rec_s, split.report.as_dict())


def write_results(per_query: pd.DataFrame, out: str | Path, *, split_report: dict | None = None,
                  policies: dict | None = None, extra: dict | None = None) -> Path:
    """Write per-query rows to parquet via a temp file and rename.

    The split report, the policies and the metric variants go into the parquet
    key-value metadata under ``apc`` (JSON), so a results file describes itself.

    Parameters
    ----------
    per_query : pd.DataFrame
        Rows as made by :func:`per_query_frame`.
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
        "metric_variants": METRIC_VARIANTS,
        **(extra or {}),
    }
    existing = table.schema.metadata or {}
    table = table.replace_schema_metadata(
        {**existing, b"apc": json.dumps(meta, default=str).encode()}
    )
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
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
