"""Breakdowns of one set of recommendations: the recall@k curve and the long-tail table.

Both are computed from the hit matrix of :func:`apc.evaluation.metrics.hit_matrix`, the
same one the per-query metrics use, so a curve point at k equals the mean ``recall@k``
over the queries with targets, and a track recommended twice counts once.

References
----------
G. Bonnin and D. Jannach, "Automated generation of music playlists: Survey and
experiments", *ACM Computing Surveys* 47(2), 2014, doi:10.1145/2652481 (recall curves).

A. Vall, M. Dorfer, H. Eghbal-zadeh, M. Schedl, K. Burjorjee and G. Widmer,
"Feature-combination hybrid recommender systems for automated music playlist
continuation", *User Modeling and User-Adapted Interaction* 29, 527-572, 2019,
doi:10.1007/s11257-018-9215-8 (long-tail buckets, Fig. 7).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from apc.evaluation.metrics import hit_matrix

#: Bucket labels of the long-tail breakdown (Vall et al. 2019, Fig. 7): 0..4 and 5+
#: training playlists holding the target track.
LONGTAIL_BUCKETS = ("0", "1", "2", "3", "4", "5+")


def recall_curve(recs, queries, cutoff: int, *, hits=None) -> np.ndarray:
    """Compute mean recall@k for k = 1..cutoff over the queries with targets.

    Recall@k = |distinct targets in the top k| / |distinct targets|, the ``recall`` of
    :mod:`apc.evaluation.metrics`; a query without targets is skipped. One hit matrix
    and a cumulative sum give the curve exactly at every k without storing the lists.

    Parameters
    ----------
    recs : Recommendations or np.ndarray
        int ``(Q, w)`` recommended track indices, best first, ``-1`` padded.
    queries : Queries
        The queries (their targets are the ground truth).
    cutoff : int
        Largest k.
    hits : tuple, optional
        ``hit_matrix(recs, queries)``, when the caller has it already.

    Returns
    -------
    np.ndarray
        float64 ``(cutoff,)``; flat beyond ``w`` when the lists are shorter; all NaN
        when no query has a target.

    Examples
    --------
    >>> from apc.data import Queries
    >>> q = Queries.from_lists([[0]], [[2, 3]], n_tracks=4)
    >>> recall_curve(np.array([[2, 1, 3]]), q, 4).tolist()
    [0.5, 0.5, 1.0, 1.0]
    """
    hits, n_targets = hits if hits is not None else hit_matrix(recs, queries)
    valid = n_targets > 0
    if not valid.any():
        return np.full(cutoff, np.nan)
    cum = np.cumsum(hits[valid], axis=1, dtype=np.float64)
    curve = (cum / n_targets[valid, None]).mean(axis=0)
    if curve.shape[0] < cutoff:  # the model returned fewer columns: recall stays flat
        last = curve[-1] if len(curve) else 0.0
        curve = np.concatenate([curve, np.full(cutoff - curve.shape[0], last)])
    return curve[:cutoff]


def longtail_table(recs, queries, train, k: int, *, hits=None) -> pd.DataFrame:
    """Count hits at ``k`` by how often each target track occurs in the training playlists.

    Each (query, distinct target) pair is one case, bucketed by the number of training
    playlists holding the target: 0, 1, 2, 3, 4 or 5+ (Vall et al. 2019).

    Parameters
    ----------
    recs : Recommendations or np.ndarray
        int ``(Q, w)`` recommended track indices, best first, ``-1`` padded.
    queries : Queries
        The queries (their targets are the ground truth).
    train : Playlists
        The training corpus.
    k : int
        Cut-off (lists shorter than ``k`` count as they are).
    hits : tuple, optional
        ``hit_matrix(recs, queries)``, when the caller has it already.

    Returns
    -------
    pd.DataFrame
        One row per bucket of :data:`LONGTAIL_BUCKETS`: ``bucket, n_targets, hits,
        recall`` (recall = hits / n_targets for that bucket, NaN when empty).
    """
    hits, _ = hits if hits is not None else hit_matrix(recs, queries)
    items = np.asarray(getattr(recs, "items", recs))
    tcsr = queries.targets_csr()
    q = len(queries)
    n = max(1, queries.n_tracks)
    rows = np.repeat(np.arange(q, dtype=np.int64), np.diff(tcsr.indptr))
    targets = tcsr.indices.astype(np.int64)
    # the (query, track) keys hit in the top k: each is a distinct target that was found
    r, c = np.nonzero(hits[:, :k])
    found = np.unique(r * n + items[r, c].astype(np.int64))
    hit = np.isin(rows * n + targets, found)
    occ = train.item_popularity(distinct=True)
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


# ---------------------------------------------------------------- Vall et al. 2018
#: Buckets of the target position (tracks before the target) and of playlist length.
POSITION_EDGES = (1, 2, 3, 4, 5, 10, 20)
LENGTH_EDGES = (2, 3, 5, 10, 20, 50, 100)


def bucket_labels(edges: tuple[int, ...]) -> list[str]:
    """Labels of the half-open buckets ``[e_i, e_{i+1})`` and the last ``e_last+``.

    Examples
    --------
    >>> bucket_labels((1, 2, 5))
    ['1', '2-4', '5+']
    """
    out = []
    for lo, hi in zip(edges, edges[1:], strict=False):
        out.append(str(lo) if hi == lo + 1 else f"{lo}-{hi - 1}")
    return out + [f"{edges[-1]}+"]


def bucketize(values, edges: tuple[int, ...]) -> np.ndarray:
    """Bucket label of each value (``None`` below the first edge or for NaN)."""
    v = np.asarray(values, dtype=np.float64)
    labels = np.asarray(bucket_labels(edges), dtype=object)
    idx = np.searchsorted(np.asarray(edges, dtype=np.float64), v, side="right") - 1
    out = np.full(len(v), None, dtype=object)
    ok = (idx >= 0) & np.isfinite(v)
    out[ok] = labels[idx[ok]]
    return out


def playlist_lengths(rows: pd.DataFrame) -> pd.Series:
    """Length of the held-out playlist behind each per-query row.

    The longest ``seed_length + n_targets`` over the queries of the same playlist (and
    model, dataset, seed): exact for the next-track protocol with full prefixes (the
    last kept position plus one) and for continuation protocols (seed plus targets).

    Parameters
    ----------
    rows : pd.DataFrame
        Per-query rows (``RESULT_COLUMNS``).

    Returns
    -------
    pd.Series
        Aligned with ``rows``.
    """
    keys = [c for c in ("model", "dataset", "seed", "playlist_id") if c in rows]
    span = rows["seed_length"].astype(np.int64) + rows["n_targets"].astype(np.int64)
    return span.groupby([rows[c] for c in keys]).transform("max")


def length_position_table(rows: pd.DataFrame, labels: list[str] | None = None) -> pd.DataFrame:
    """Mean of each metric by target position and by held-out playlist length.

    Vall et al. (2018, Section 6) show that next-song accuracy depends on how far into
    the playlist the target lies and on how long the playlist is; this table repeats
    that breakdown for any run. The *position* of a target is the length of its seed
    (the number of tracks before it; capped where the protocol caps the seed), the
    *length* is :func:`playlist_lengths`.

    Parameters
    ----------
    rows : pd.DataFrame
        Per-query rows (``RESULT_COLUMNS``), any models and datasets.
    labels : list of str, optional
        Metric labels to keep (default: all per-query labels).

    Returns
    -------
    pd.DataFrame
        ``dataset, model, label, by ("position" or "length"), bucket, n, mean, median``,
        buckets in :data:`POSITION_EDGES` / :data:`LENGTH_EDGES` order.

    Examples
    --------
    >>> rows = pd.DataFrame({"model": "m", "dataset": "d", "seed": 0, "playlist_id": "p",
    ...     "seed_length": [1, 2, 3], "n_targets": 1, "label": "hit@1",
    ...     "value": [1.0, 0.0, 0.0]})
    >>> t = length_position_table(rows)
    >>> t[t.by == "position"]["mean"].tolist(), t[t.by == "length"]["bucket"].tolist()
    ([1.0, 0.0, 0.0], ['3-4'])
    """
    if labels is not None:
        rows = rows[rows["label"].isin(labels)]
    rows = rows[np.isfinite(rows["value"].astype(np.float64))]
    cols = ["dataset", "model", "label", "by", "bucket", "n", "mean", "median"]
    if rows.empty:
        return pd.DataFrame(columns=cols)
    frames = []
    for by, key, edges in (("position", rows["seed_length"], POSITION_EDGES),
                           ("length", playlist_lengths(rows), LENGTH_EDGES)):
        b = pd.Series(bucketize(key.to_numpy(), edges), index=rows.index)
        g = rows.assign(bucket=b).dropna(subset=["bucket"]).groupby(
            ["dataset", "model", "label", "bucket"], sort=False)["value"]
        t = g.agg(n="size", mean="mean", median="median").reset_index()
        order = {lab: i for i, lab in enumerate(bucket_labels(edges))}
        t = t.assign(by=by, _o=t["bucket"].map(order)).sort_values(
            ["dataset", "model", "label", "_o"], kind="stable")
        frames.append(t.drop(columns="_o"))
    return pd.concat(frames, ignore_index=True)[cols]


def rank_by_popularity(ranks, queries, train) -> pd.DataFrame:
    """Rank of the next song by how often its track occurs in the training playlists.

    The popularity-bias breakdown of :func:`longtail_table` (buckets 0..4, 5+), shown
    for the rank metric (Vall et al. 2018 report that sequence models rank rare next
    songs far worse than popular ones). Each query is bucketed by its first target.

    Parameters
    ----------
    ranks : np.ndarray
        float ``(Q,)``: per-query ``rank`` (or ``rank_pct``) values.
    queries : Queries
        The queries.
    train : Playlists
        The training corpus.

    Returns
    -------
    pd.DataFrame
        ``bucket, n_queries, mean_rank, median_rank`` per bucket of
        :data:`LONGTAIL_BUCKETS` (NaN where empty).
    """
    r = np.asarray(ranks, dtype=np.float64)
    has = (queries.target_lengths > 0) & np.isfinite(r)
    first = queries.targets[np.minimum(queries.targets_indptr[:-1], max(len(queries.targets) - 1,
                                                                         0))]
    occ = train.item_popularity(distinct=True)
    bucket = np.minimum(occ[first[has]] if len(occ) else np.zeros(0, np.int64), 5)
    vals = r[has]
    mean, median, n = [], [], []
    for b in range(6):
        v = vals[bucket == b]
        n.append(len(v))
        mean.append(float(v.mean()) if len(v) else np.nan)
        median.append(float(np.median(v)) if len(v) else np.nan)
    return pd.DataFrame({"bucket": list(LONGTAIL_BUCKETS), "n_queries": n,
                         "mean_rank": mean, "median_rank": median})
