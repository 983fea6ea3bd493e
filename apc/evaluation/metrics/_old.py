r"""Ranking metrics as pure, vectorised functions returning one value per query.

Every metric takes the recommended items ``recs`` (int32 ``(Q, w)``, best first, ``-1``
padding that never counts) and the targets as a ``(Q, n_tracks)`` sparse matrix (or a
:class:`~apc.data.queries.Queries`), and returns a float64 ``(Q,)`` array — so means,
bootstrap intervals and paired tests all come from the same per-query values. Targets
are treated as a *set* G (repeats collapse); a query with no target gets ``NaN``.
Metrics that describe the whole set of lists (catalogue coverage) return a scalar.

The hits are computed once per call as a ``(Q, w)`` boolean matrix (a blocked bitmap
gather, no Python loop over queries); each metric is then a reduction of it. A track
recommended twice counts once, at its first rank.

Definitions, with :math:`h_i = 1` if the item at rank :math:`i` (1-based) is in G:

===================  ==============================================================
``hit@k``            :math:`\max_{i \le k} h_i`
``recall@k``         :math:`\sum_{i \le k} h_i / |G|`
``precision@k``      :math:`\sum_{i \le k} h_i / k`
``mrr@k``            :math:`1 / \min\{i \le k : h_i = 1\}` (0 without a hit)
``ndcg@k``           :math:`\sum_{i \le k} h_i / \log_2(i+1)` over the same sum for the
                     ideal list of :math:`\min(|G|, k)` hits (textbook NDCG)
``map@k``            :math:`\sum_{i \le k} h_i \, P@i / \min(|G|, k)`
``rprec``            :math:`\sum_{i \le |G|} h_i / |G|` (textbook R-precision)
``rprec_mpd``        RecSys Challenge 2018 R-precision: track hits among the first
                     :math:`|G|` recommendations, plus 0.25 for each distinct artist of
                     G matched by a non-hit recommendation in that prefix (artists of
                     hit tracks are not credited twice), divided by :math:`|G|`
``ndcg_mpd``         challenge NDCG over the whole list: rank 1 full weight, rank
                     :math:`i \ge 2` weighted :math:`1/\log_2 i`; the ideal DCG ranks the
                     :math:`|G \cap R|` matched tracks first (0 without a hit)
``clicks_mpd``       :math:`\lfloor (i^* - 1) / 10 \rfloor` for the first hit rank
                     :math:`i^*`, 51 without a hit in the list (lower is better)
``coverage@k``       distinct tracks in all top-k lists / catalogue size (set level)
``popularity@k``     mean share of training playlists that hold a recommended track
``artist_diversity@k``  distinct artists / tracks with a known artist in the top k
===================  ==============================================================

References
----------
C.-W. Chen, P. Lamere, M. Schedl and H. Zamani, "Recsys Challenge 2018: Automatic Music
Playlist Continuation", RecSys 2018 (``*_mpd`` metrics). K. Järvelin and J. Kekäläinen,
"Cumulated gain-based evaluation of IR techniques", TOIS 20(4), 2002 (NDCG).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp

#: Scores are gathered in blocks whose bitmap has at most this many cells.
BITMAP_CELLS = 1 << 25

MetricFn = Callable[..., Any]
METRICS: dict[str, MetricFn] = {}


def _metric(name: str, *, has_cutoff: bool = True, needs: tuple[str, ...] = ("targets",),
            higher_is_better: bool = True, set_level: bool = False):
    def register(fn: MetricFn) -> MetricFn:
        fn.metric_name = name
        fn.has_cutoff = has_cutoff
        fn.needs = needs
        fn.higher_is_better = higher_is_better
        fn.set_level = set_level
        METRICS[name] = fn
        return fn

    return register


def takes_k(metric: str) -> bool:
    """Tell whether a metric is computed at a cut-off (labels ``name@k``).

    Parameters
    ----------
    metric : str
        Metric name.

    Returns
    -------
    bool
        True also for a name not in :data:`METRICS`.
    """
    fn = METRICS.get(metric)
    return True if fn is None else bool(fn.has_cutoff)


def higher_is_better(metric: str) -> bool:
    """Tell whether higher values of a metric are better.

    Parameters
    ----------
    metric : str
        Metric name.

    Returns
    -------
    bool
        False for metrics where lower values are better (``clicks_mpd``); True also for
        a name not in :data:`METRICS`.
    """
    fn = METRICS.get(metric)
    return True if fn is None else bool(fn.higher_is_better)


def label(metric: str, k: int | None) -> str:
    """Return the label of a metric at a cut-off.

    Parameters
    ----------
    metric : str
        Metric name.
    k : int or None
        Cut-off.

    Returns
    -------
    str
        ``recall@10`` for metrics with a cut-off (when ``k`` is not None), the bare
        name otherwise.
    """
    return f"{metric}@{k}" if k is not None and takes_k(metric) else metric


# ---------------------------------------------------------------------------- inputs
def _items(recs) -> np.ndarray:
    items = getattr(recs, "items", recs)
    items = np.asarray(items)
    if items.ndim != 2:
        raise ValueError(f"recommendations must be 2-D (Q, k), got shape {items.shape}")
    return items.astype(np.int64, copy=False)


def _targets(targets) -> sp.csr_array:
    if hasattr(targets, "targets_csr"):
        return targets.targets_csr()
    t = sp.csr_array(targets, copy=True)
    t.sum_duplicates()
    t.eliminate_zeros()  # an explicit zero (e.g. from multiply()) is not a target
    return t


def hit_matrix(recs, targets) -> tuple[np.ndarray, np.ndarray]:
    """Compute the boolean ``(Q, w)`` hit matrix and the number of distinct targets per query.

    Parameters
    ----------
    recs : np.ndarray or Recommendations
        int ``(Q, w)`` recommended track indices, ``-1`` padded.
    targets : scipy.sparse matrix or Queries
        ``(Q, n_tracks)``: non-zero where a track is a target.

    Returns
    -------
    hits : np.ndarray
        bool ``(Q, w)``; a track recommended twice is a hit only at its first rank.
    n_targets : np.ndarray
        int64 ``(Q,)``: :math:`|G|`.
    """
    items = _items(recs)
    t = _targets(targets)
    q, w = items.shape
    if t.shape[0] != q:
        raise ValueError(f"{q} recommendation lists for {t.shape[0]} target rows")
    n_targets = np.diff(t.indptr).astype(np.int64)
    n = max(1, t.shape[1])
    hits = np.zeros((q, w), dtype=bool)
    if q == 0 or w == 0 or t.nnz == 0:
        return hits, n_targets
    valid = (items >= 0) & (items < n)
    safe = np.where(valid, items, 0)
    step = max(1, min(q, BITMAP_CELLS // n))
    mask = np.zeros((step, n), dtype=bool)
    for start in range(0, q, step):  # blocks of queries, never one query at a time
        stop = min(q, start + step)
        lo, hi = t.indptr[start], t.indptr[stop]
        rows = np.repeat(np.arange(stop - start), np.diff(t.indptr[start : stop + 1]))
        cols = t.indices[lo:hi]
        mask[rows, cols] = True
        hits[start:stop] = mask[np.arange(stop - start)[:, None], safe[start:stop]]
        mask[rows, cols] = False
    hits &= valid
    # a repeated track counts once, at its first rank
    r, c = np.nonzero(hits)
    if len(r):
        keys = r * n + safe[r, c]
        _, first = np.unique(keys, return_index=True)
        if len(first) < len(keys):
            dup = np.ones(len(keys), dtype=bool)
            dup[first] = False
            hits[r[dup], c[dup]] = False
    return hits, n_targets


def _with_nan(values: np.ndarray, n_targets: np.ndarray) -> np.ndarray:
    out = values.astype(np.float64, copy=False)
    out[n_targets == 0] = np.nan
    return out


def _hits(recs, targets, hits):
    if hits is not None:
        return hits
    return hit_matrix(recs, targets)


def _cut(hits: np.ndarray, k: int) -> np.ndarray:
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    return hits[:, :k]


# ---------------------------------------------------------------------------- accuracy
@_metric("hit")
def hit_at_k(recs, targets, k: int, *, hits=None) -> np.ndarray:
    """Score 1 if any target is among the first ``k`` recommendations, else 0.

    Parameters
    ----------
    recs : np.ndarray or Recommendations
        int ``(Q, w)`` recommended track indices, best first, ``-1`` padded.
    targets : scipy.sparse matrix or Queries
        ``(Q, n_tracks)``: non-zero where a track is a target.
    k : int
        Cut-off, >= 1.
    hits : tuple of np.ndarray, optional
        ``(hits, n_targets)`` as returned by :func:`hit_matrix`, to share one hit
        matrix between metrics; computed from ``recs`` and ``targets`` when None.

    Returns
    -------
    np.ndarray
        float64 ``(Q,)``; NaN for a query without targets.
    """
    h, g = _hits(recs, targets, hits)
    return _with_nan(_cut(h, k).any(axis=1).astype(np.float64), g)


@_metric("recall")
def recall_at_k(recs, targets, k: int, *, hits=None) -> np.ndarray:
    """Compute the share of the distinct targets found among the first ``k`` recommendations.

    Parameters
    ----------
    recs : np.ndarray or Recommendations
        int ``(Q, w)`` recommended track indices, best first, ``-1`` padded.
    targets : scipy.sparse matrix or Queries
        ``(Q, n_tracks)``: non-zero where a track is a target.
    k : int
        Cut-off, >= 1.
    hits : tuple of np.ndarray, optional
        ``(hits, n_targets)`` as returned by :func:`hit_matrix`, to share one hit
        matrix between metrics; computed from ``recs`` and ``targets`` when None.

    Returns
    -------
    np.ndarray
        float64 ``(Q,)``; NaN for a query without targets.
    """
    h, g = _hits(recs, targets, hits)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _with_nan(_cut(h, k).sum(axis=1) / np.maximum(g, 1), g)


@_metric("precision")
def precision_at_k(recs, targets, k: int, *, hits=None) -> np.ndarray:
    """Compute the hits among the first ``k`` recommendations divided by ``k``.

    Parameters
    ----------
    recs : np.ndarray or Recommendations
        int ``(Q, w)`` recommended track indices, best first, ``-1`` padded.
    targets : scipy.sparse matrix or Queries
        ``(Q, n_tracks)``: non-zero where a track is a target.
    k : int
        Cut-off, >= 1.
    hits : tuple of np.ndarray, optional
        ``(hits, n_targets)`` as returned by :func:`hit_matrix`, to share one hit
        matrix between metrics; computed from ``recs`` and ``targets`` when None.

    Returns
    -------
    np.ndarray
        float64 ``(Q,)``; NaN for a query without targets.
    """
    h, g = _hits(recs, targets, hits)
    return _with_nan(_cut(h, k).sum(axis=1) / float(k), g)


def _first_hit(h: np.ndarray) -> np.ndarray:
    """0-based column of the first hit per row, -1 where none."""
    any_hit = h.any(axis=1)
    return np.where(any_hit, h.argmax(axis=1), -1)


@_metric("mrr")
def mrr_at_k(recs, targets, k: int, *, hits=None) -> np.ndarray:
    """Compute the reciprocal rank of the first hit within the first ``k`` (0 without a hit).

    Parameters
    ----------
    recs : np.ndarray or Recommendations
        int ``(Q, w)`` recommended track indices, best first, ``-1`` padded.
    targets : scipy.sparse matrix or Queries
        ``(Q, n_tracks)``: non-zero where a track is a target.
    k : int
        Cut-off, >= 1.
    hits : tuple of np.ndarray, optional
        ``(hits, n_targets)`` as returned by :func:`hit_matrix`, to share one hit
        matrix between metrics; computed from ``recs`` and ``targets`` when None.

    Returns
    -------
    np.ndarray
        float64 ``(Q,)``; NaN for a query without targets.
    """
    h, g = _hits(recs, targets, hits)
    first = _first_hit(_cut(h, k))
    return _with_nan(np.where(first >= 0, 1.0 / (np.maximum(first, 0) + 1.0), 0.0), g)


def _discounts(w: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(w, dtype=np.float64) + 2.0)  # rank i -> 1/log2(i+1)


@_metric("ndcg")
def ndcg_at_k(recs, targets, k: int, *, hits=None) -> np.ndarray:
    """Compute textbook NDCG@k: gain 1/log2(rank+1), ideal DCG over min(|G|, k) hits.

    Parameters
    ----------
    recs : np.ndarray or Recommendations
        int ``(Q, w)`` recommended track indices, best first, ``-1`` padded.
    targets : scipy.sparse matrix or Queries
        ``(Q, n_tracks)``: non-zero where a track is a target.
    k : int
        Cut-off, >= 1.
    hits : tuple of np.ndarray, optional
        ``(hits, n_targets)`` as returned by :func:`hit_matrix`, to share one hit
        matrix between metrics; computed from ``recs`` and ``targets`` when None.

    Returns
    -------
    np.ndarray
        float64 ``(Q,)``; NaN for a query without targets.
    """
    h, g = _hits(recs, targets, hits)
    hk = _cut(h, k)
    disc = _discounts(max(k, 1))
    dcg = hk @ disc[: hk.shape[1]]
    ideal = np.concatenate([[0.0], np.cumsum(disc)])[np.minimum(g, k)]
    with np.errstate(invalid="ignore", divide="ignore"):
        return _with_nan(np.where(ideal > 0, dcg / np.where(ideal > 0, ideal, 1.0), 0.0), g)


@_metric("map")
def map_at_k(recs, targets, k: int, *, hits=None) -> np.ndarray:
    """Compute average precision at k: the sum of P@i over the hit ranks i over min(|G|, k).

    Parameters
    ----------
    recs : np.ndarray or Recommendations
        int ``(Q, w)`` recommended track indices, best first, ``-1`` padded.
    targets : scipy.sparse matrix or Queries
        ``(Q, n_tracks)``: non-zero where a track is a target.
    k : int
        Cut-off, >= 1.
    hits : tuple of np.ndarray, optional
        ``(hits, n_targets)`` as returned by :func:`hit_matrix`, to share one hit
        matrix between metrics; computed from ``recs`` and ``targets`` when None.

    Returns
    -------
    np.ndarray
        float64 ``(Q,)``; NaN for a query without targets.
    """
    h, g = _hits(recs, targets, hits)
    hk = _cut(h, k).astype(np.float64)
    ranks = np.arange(1, hk.shape[1] + 1, dtype=np.float64)
    prec = np.cumsum(hk, axis=1) / ranks
    with np.errstate(invalid="ignore", divide="ignore"):
        return _with_nan((prec * hk).sum(axis=1) / np.maximum(np.minimum(g, k), 1), g)


def _prefix(h: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Mask of the first |G| columns of each row."""
    return np.arange(h.shape[1])[None, :] < g[:, None]


@_metric("rprec", has_cutoff=False)
def r_precision(recs, targets, *, hits=None) -> np.ndarray:
    """Compute textbook R-precision: hits among the first |G| recommendations over |G|.

    Parameters
    ----------
    recs : np.ndarray or Recommendations
        int ``(Q, w)`` recommended track indices, best first, ``-1`` padded.
    targets : scipy.sparse matrix or Queries
        ``(Q, n_tracks)``: non-zero where a track is a target.
    hits : tuple of np.ndarray, optional
        ``(hits, n_targets)`` as returned by :func:`hit_matrix`, to share one hit
        matrix between metrics; computed from ``recs`` and ``targets`` when None.

    Returns
    -------
    np.ndarray
        float64 ``(Q,)``; NaN for a query without targets.
    """
    h, g = _hits(recs, targets, hits)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _with_nan((h & _prefix(h, g)).sum(axis=1) / np.maximum(g, 1), g)


@_metric("rprec_mpd", has_cutoff=False, needs=("targets", "track_artists"))
def rprec_mpd(recs, targets, track_artists: np.ndarray, *, hits=None) -> np.ndarray:
    """Compute RecSys Challenge 2018 R-precision with 0.25 credit per matched artist.

    Parameters
    ----------
    recs : np.ndarray or Recommendations
        int ``(Q, w)`` recommended track indices, best first, ``-1`` padded.
    targets : scipy.sparse matrix or Queries
        ``(Q, n_tracks)``: non-zero where a track is a target.
    track_artists : np.ndarray
        int ``(n_tracks,)``: artist index of each track, ``-1`` if unknown (never matches).
    hits : tuple of np.ndarray, optional
        ``(hits, n_targets)`` as returned by :func:`hit_matrix`, to share one hit
        matrix between metrics; computed from ``recs`` and ``targets`` when None.

    Returns
    -------
    np.ndarray
        float64 ``(Q,)``; NaN for a query without targets.
    """
    items = _items(recs)
    t = _targets(targets)
    h, g = _hits(items, t, hits)
    q, w = items.shape
    in_prefix = _prefix(h, g)
    track_hits = (h & in_prefix).sum(axis=1).astype(np.float64)
    art = np.asarray(track_artists, dtype=np.int64)
    n_art = int(art.max()) + 1 if len(art) and art.max() >= 0 else 0
    credit = np.zeros(q, dtype=np.float64)
    width = int(min(w, g.max())) if q else 0  # only the first |G| columns matter
    if n_art and q and width:
        items, h, in_prefix = items[:, :width], h[:, :width], in_prefix[:, :width]
        w = width
        safe = np.where(items >= 0, items, 0)
        a_r = np.where(items >= 0, art[safe], -1)
        known = a_r >= 0
        a_safe = np.where(known, a_r, 0)
        hit_pos = h & in_prefix & known
        cand = in_prefix & ~h & known
        a_t = art[t.indices]
        step = max(1, min(q, BITMAP_CELLS // n_art))
        target_art = np.zeros((step, n_art), dtype=bool)
        hit_art = np.zeros((step, n_art), dtype=bool)
        for start in range(0, q, step):  # blocks of queries
            stop = min(q, start + step)
            b = np.arange(stop - start)
            rows_t = np.repeat(b, np.diff(t.indptr[start : stop + 1]))
            at = a_t[t.indptr[start] : t.indptr[stop]]
            rows_t, at = rows_t[at >= 0], at[at >= 0]
            target_art[rows_t, at] = True
            hr, hc = np.nonzero(hit_pos[start:stop])
            ha = a_safe[start:stop][hr, hc]
            hit_art[hr, ha] = True
            blk = a_safe[start:stop]
            cand[start:stop] &= target_art[b[:, None], blk] & ~hit_art[b[:, None], blk]
            target_art[rows_t, at] = False
            hit_art[hr, ha] = False
        credit = _distinct_per_row(a_safe, cand, n_art).sum(axis=1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _with_nan((track_hits + 0.25 * credit) / np.maximum(g, 1), g)


def _distinct_per_row(values: np.ndarray, valid: np.ndarray, n_values: int) -> np.ndarray:
    """Bool mask with exactly one True per distinct (row, value) among ``valid`` cells.

    Each valid cell writes its column into a (block, n_values) scratch table and reads it
    back: of the cells sharing a (row, value), exactly one finds its own column there.
    """
    q, w = values.shape
    out = np.zeros((q, w), dtype=bool)
    if q == 0 or w == 0 or not valid.any():
        return out
    step = max(1, min(q, BITMAP_CELLS // max(1, n_values)))
    scratch = np.empty((step, max(1, n_values)), dtype=np.int32)
    cols = np.broadcast_to(np.arange(w, dtype=np.int32), (step, w))
    for start in range(0, q, step):
        stop = min(q, start + step)
        r, c = np.nonzero(valid[start:stop])
        v = values[start:stop][r, c]
        scratch[r, v] = cols[r, c]
        out[start + r, c] = scratch[r, v] == c
    return out


@_metric("ndcg_mpd", has_cutoff=False)
def ndcg_mpd(recs, targets, *, hits=None) -> np.ndarray:
    """Compute RecSys Challenge 2018 NDCG over the whole list (IDCG over the matched tracks).

    Parameters
    ----------
    recs : np.ndarray or Recommendations
        int ``(Q, w)`` recommended track indices, best first, ``-1`` padded.
    targets : scipy.sparse matrix or Queries
        ``(Q, n_tracks)``: non-zero where a track is a target.
    hits : tuple of np.ndarray, optional
        ``(hits, n_targets)`` as returned by :func:`hit_matrix`, to share one hit
        matrix between metrics; computed from ``recs`` and ``targets`` when None.

    Returns
    -------
    np.ndarray
        float64 ``(Q,)``; NaN for a query without targets.
    """
    h, g = _hits(recs, targets, hits)
    w = h.shape[1]
    ranks = np.arange(1, w + 1, dtype=np.float64)
    disc = np.where(ranks == 1, 1.0, 1.0 / np.log2(np.maximum(ranks, 2.0)))
    dcg = h @ disc
    ideal = np.concatenate([[0.0], np.cumsum(disc)])[h.sum(axis=1)]
    with np.errstate(invalid="ignore", divide="ignore"):
        return _with_nan(np.where(ideal > 0, dcg / np.where(ideal > 0, ideal, 1.0), 0.0), g)


@_metric("clicks_mpd", has_cutoff=False, higher_is_better=False)
def clicks_mpd(recs, targets, *, hits=None) -> np.ndarray:
    """Count recommended-songs clicks: pages of 10 before the first hit; 51 without one.

    Parameters
    ----------
    recs : np.ndarray or Recommendations
        int ``(Q, w)`` recommended track indices, best first, ``-1`` padded.
    targets : scipy.sparse matrix or Queries
        ``(Q, n_tracks)``: non-zero where a track is a target.
    hits : tuple of np.ndarray, optional
        ``(hits, n_targets)`` as returned by :func:`hit_matrix`, to share one hit
        matrix between metrics; computed from ``recs`` and ``targets`` when None.

    Returns
    -------
    np.ndarray
        float64 ``(Q,)``; NaN for a query without targets.
    """
    h, g = _hits(recs, targets, hits)
    first = _first_hit(h)
    return _with_nan(np.where(first >= 0, first // 10, 51).astype(np.float64), g)


# ---------------------------------------------------------------------------- beyond accuracy
@_metric("coverage", needs=("n_tracks",), set_level=True)
def coverage_at_k(recs, k: int, n_tracks: int) -> float:
    """Compute the share of the catalogue recommended in at least one top-``k`` list.

    Parameters
    ----------
    recs : np.ndarray or Recommendations
        int ``(Q, w)`` recommended track indices, best first, ``-1`` padded.
    k : int
        Cut-off.
    n_tracks : int
        Catalogue size.

    Returns
    -------
    float
        One value for the whole set of lists; NaN for an empty catalogue.
    """
    top = _items(recs)[:, :k]
    if not n_tracks:
        return float("nan")
    used = np.zeros(n_tracks, dtype=bool)
    used[top[(top >= 0) & (top < n_tracks)]] = True
    return float(used.sum() / n_tracks)


@_metric("popularity", needs=("popularity",))
def popularity_at_k(recs, k: int, popularity: np.ndarray) -> np.ndarray:
    """Compute the mean popularity of the top-``k`` tracks per query.

    Parameters
    ----------
    recs : np.ndarray or Recommendations
        int ``(Q, w)`` recommended track indices, best first, ``-1`` padded.
    k : int
        Cut-off.
    popularity : np.ndarray
        float ``(n_tracks,)``: e.g. the share of training playlists holding each track.

    Returns
    -------
    np.ndarray
        float64 ``(Q,)``; NaN for an empty list.
    """
    top = _items(recs)[:, :k]
    ok = top >= 0
    pop = np.asarray(popularity, dtype=np.float64)
    vals = np.where(ok, pop[np.where(ok, top, 0)], 0.0).sum(axis=1)
    n = ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, vals / np.maximum(n, 1), np.nan)


@_metric("artist_diversity", needs=("track_artists",))
def artist_diversity_at_k(recs, k: int, track_artists: np.ndarray) -> np.ndarray:
    """Compute distinct artists over tracks with a known artist in the top ``k``.

    Parameters
    ----------
    recs : np.ndarray or Recommendations
        int ``(Q, w)`` recommended track indices, best first, ``-1`` padded.
    k : int
        Cut-off.
    track_artists : np.ndarray
        int ``(n_tracks,)``: artist index of each track, ``-1`` if unknown.

    Returns
    -------
    np.ndarray
        float64 ``(Q,)``; NaN where no top-``k`` track has a known artist.
    """
    top = _items(recs)[:, :k]
    art = np.asarray(track_artists, dtype=np.int64)
    if len(art) == 0:
        return np.full(top.shape[0], np.nan)
    a = np.where(top >= 0, art[np.where(top >= 0, top, 0)], -1)
    known = a >= 0
    n_art = int(art.max()) + 1 if art.max() >= 0 else 1
    distinct = _distinct_per_row(np.where(known, a, 0), known, n_art).sum(axis=1)
    n = known.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, distinct / np.maximum(n, 1), np.nan)


# ---------------------------------------------------------------------------- driver
def compute_metrics(
    recs,
    queries,
    train=None,
    *,
    metrics: Iterable[str],
    ks: Iterable[int] = (),
) -> dict[str, Any]:
    """Compute several metrics at several cut-offs from one hit matrix.

    Parameters
    ----------
    recs : Recommendations or np.ndarray
        ``(Q, w)`` recommended items.
    queries : Queries
        The queries (their targets are the ground truth).
    train : Playlists, optional
        The training corpus: its popularity and artists feed ``popularity``,
        ``artist_diversity`` and ``rprec_mpd``; its size feeds ``coverage``.
    metrics : iterable of str
        Names from :data:`METRICS`.
    ks : iterable of int
        Cut-offs for the metrics that take one; metrics without a cut-off are computed
        once over the whole list.

    Returns
    -------
    dict
        Label (``recall@10``, ``rprec``) -> float64 ``(Q,)`` array (a float for
        set-level metrics such as coverage).

    Examples
    --------
    >>> from apc.data import Queries
    >>> q = Queries.from_lists([[0], [1]], [[2, 3], [0]], n_tracks=4)
    >>> out = compute_metrics(np.array([[2, 1], [3, 0]]), q, metrics=["recall", "mrr"], ks=[2])
    >>> out["recall@2"].tolist(), out["mrr@2"].tolist()
    ([0.5, 1.0], [1.0, 0.5])
    """
    from apc.errors import ApcInputError

    names = list(metrics)
    ks = sorted({int(k) for k in ks})
    unknown = [m for m in names if m not in METRICS]
    if unknown:
        raise ApcInputError(
            f"unknown metric {unknown[0]!r}; known: {', '.join(sorted(METRICS))}", field="metrics"
        )
    if any(k < 1 for k in ks):
        raise ApcInputError(f"cut-offs must be >= 1, got {ks}", field="k")
    items = _items(recs)
    n_tracks = int(getattr(queries, "n_tracks", 0) or (train.n_tracks if train is not None else 0))
    context: dict[str, Any] = {"n_tracks": n_tracks}
    needs = {need for m in names for need in METRICS[m].needs}
    if "track_artists" in needs:
        context["track_artists"] = (
            train.track_artists if train is not None else np.full(n_tracks, -1, np.int64)
        )
    if "popularity" in needs:
        if train is None or len(train) == 0:
            context["popularity"] = np.zeros(n_tracks)
        else:
            context["popularity"] = train.item_popularity() / float(len(train))
    hits = hit_matrix(items, queries) if "targets" in needs else None
    out: dict[str, Any] = {}
    for name in names:
        fn = METRICS[name]
        extra = {need: context[need] for need in fn.needs if need != "targets"}
        if "targets" in fn.needs:
            extra["hits"] = hits
        if fn.has_cutoff:
            if not ks:
                raise ApcInputError(f"metric {name!r} needs a cut-off k", field="k")
            for k in ks:
                args = (items, queries, k) if "targets" in fn.needs else (items, k)
                out[label(name, k)] = fn(*args, **extra)
        else:
            args = (items, queries) if "targets" in fn.needs else (items,)
            out[name] = fn(*args, **extra)
    return out


def mean_metrics(values: Mapping[str, Any]) -> dict[str, float]:
    """Average each per-query array returned by :func:`compute_metrics`, ignoring NaN.

    Parameters
    ----------
    values : mapping
        Label -> per-query values (or a scalar).

    Returns
    -------
    dict[str, float]
        Label -> mean; NaN where every value is NaN or there are none.
    """
    out = {}
    for key, v in values.items():
        arr = np.asarray(v, dtype=np.float64)
        out[key] = float(np.nanmean(arr)) if arr.size and not np.isnan(arr).all() else float("nan")
    return out
