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
