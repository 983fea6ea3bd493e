r"""Textbook accuracy metrics at a cut-off, each a reduction of the shared hits.

Every function takes the recommended items ``recs`` (int ``(Q, w)``, best first,
``-1`` padding that never counts) and the targets as a ``(Q, n_tracks)`` sparse matrix
(or a :class:`~apc.data.queries.Queries`), and returns a float64 ``(Q,)`` array, NaN for
a query without targets. ``hits`` takes a shared :class:`~apc.evaluation.metrics.Hits`
(or a ``(hits, n_targets)`` pair from :func:`~apc.evaluation.metrics.hit_matrix`) so
that many metrics reuse one hit computation.
"""

from __future__ import annotations

import numpy as np

from apc.evaluation.metrics._core import as_hits, check_k, with_nan
from apc.evaluation.metrics._registry import metric

_HITS_DOC = """
    Parameters
    ----------
    recs : np.ndarray or Recommendations
        int ``(Q, w)`` recommended track indices, best first, ``-1`` padded.
    targets : scipy.sparse matrix or Queries
        ``(Q, n_tracks)``: non-zero where a track is a target.
    k : int
        Cut-off, >= 1.
    hits : Hits or tuple, optional
        Shared hits (see module docstring); computed from ``recs`` and ``targets`` when
        None.

    Returns
    -------
    np.ndarray
        float64 ``(Q,)``; NaN for a query without targets.
"""


def _doc(fn):
    fn.__doc__ = fn.__doc__.rstrip() + "\n" + _HITS_DOC
    return fn


def _discounts(w: int) -> np.ndarray:
    """1/log2(rank + 1) for the 0-based columns 0..w-1 (rank 1 weighs 1)."""
    return 1.0 / np.log2(np.arange(w, dtype=np.float64) + 2.0)


@metric("hit", "1 if any target is in the top k (HR), else 0")
@_doc
def hit_at_k(recs, targets, k: int, *, hits=None) -> np.ndarray:
    r"""Score 1 if a target is among the first ``k`` recommendations: :math:`\max_{i \le k} h_i`."""
    h = as_hits(recs, targets, hits)
    return with_nan(h.count(check_k(k)) > 0, h.n_targets)


@metric("recall", "distinct targets in the top k / distinct targets")
@_doc
def recall_at_k(recs, targets, k: int, *, hits=None) -> np.ndarray:
    r"""Compute the share of distinct targets in the top ``k``: :math:`\sum_{i \le k} h_i / |G|`."""
    h = as_hits(recs, targets, hits)
    return with_nan(h.count(check_k(k)) / np.maximum(h.n_targets, 1), h.n_targets)


@metric("precision", "distinct targets in the top k / k")
@_doc
def precision_at_k(recs, targets, k: int, *, hits=None) -> np.ndarray:
    r"""Compute the hits in the top ``k`` over ``k``: :math:`\sum_{i \le k} h_i / k`."""
    h = as_hits(recs, targets, hits)
    k = check_k(k)
    return with_nan(h.count(k) / float(k), h.n_targets)


@metric("mrr", "1 / rank of the first target in the top k, else 0")
@_doc
def mrr_at_k(recs, targets, k: int, *, hits=None) -> np.ndarray:
    r"""Compute the reciprocal rank of the first hit in the top ``k`` (0 without one)."""
    h = as_hits(recs, targets, hits)
    first = h.first()
    found = (first >= 0) & (first < check_k(k))
    return with_nan(np.where(found, 1.0 / (np.maximum(first, 0) + 1.0), 0.0), h.n_targets)


@metric("ndcg", "textbook NDCG: binary gain, discount 1/log2(rank+1), ideal DCG over "
        "min(k, |targets|) hits")
@_doc
def ndcg_at_k(recs, targets, k: int, *, hits=None) -> np.ndarray:
    r"""Compute textbook NDCG@k.

    :math:`\sum_{i \le k} h_i / \log_2(i+1)` over the same sum for an ideal list of
    :math:`\min(|G|, k)` hits (Järvelin and Kekäläinen, TOIS 2002).
    """
    h = as_hits(recs, targets, hits)
    k = check_k(k)
    disc = _discounts(max(k, h.shape[1]))
    dcg = h.weighted(disc, k)
    ideal = np.concatenate([[0.0], np.cumsum(disc[:k])])[np.minimum(h.n_targets, k)]
    return with_nan(dcg / np.where(ideal > 0, ideal, 1.0), h.n_targets)


@metric("map", "average precision: mean of precision at each hit rank in the top k, "
        "normalised by min(k, |targets|)")
@_doc
def map_at_k(recs, targets, k: int, *, hits=None) -> np.ndarray:
    r"""Compute average precision at k: :math:`\sum_{i \le k} h_i P@i / \min(|G|, k)`."""
    h = as_hits(recs, targets, hits)
    k = check_k(k)
    keep = h.cols < k
    prec = h.rank_among_hits()[keep] / (h.cols[keep] + 1.0)
    total = np.bincount(h.rows[keep], weights=prec, minlength=h.shape[0])
    return with_nan(total / np.maximum(np.minimum(h.n_targets, k), 1), h.n_targets)


@metric("rprec", "textbook R-precision: targets in the top R / R, R = |targets| "
        "(tracks only)", takes_k=False)
def r_precision(recs, targets, *, hits=None) -> np.ndarray:
    r"""Compute textbook R-precision: :math:`\sum_{i \le |G|} h_i / |G|`.

    Parameters
    ----------
    recs : np.ndarray or Recommendations
        int ``(Q, w)`` recommended track indices, best first, ``-1`` padded.
    targets : scipy.sparse matrix or Queries
        ``(Q, n_tracks)``: non-zero where a track is a target.
    hits : Hits or tuple, optional
        Shared hits; computed from ``recs`` and ``targets`` when None.

    Returns
    -------
    np.ndarray
        float64 ``(Q,)``; NaN for a query without targets.
    """
    h = as_hits(recs, targets, hits)
    return with_nan(h.count(h.n_targets) / np.maximum(h.n_targets, 1), h.n_targets)
