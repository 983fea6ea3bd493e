r"""Rank of the next song (Vall et al. 2018), and the model-level ``loglik`` entry.

``rank`` is the 1-based position of the best-ranked held-out track in the model's
ranking of the candidate tracks (the catalogue less the query's seed tracks);
``rank_pct`` is that position as a percentage of the candidates (0 best, 100 worst).
Both are lower-is-better and take no cut-off: they describe the *whole* ranking, which
is why Vall et al. report them next to hit rates, whose cut-off hides everything past
the list. The benchmark runner and :func:`apc.evaluation.model_metrics.model_metric_rows`
rank the full catalogue, so the values are exact; given a shorter list (``w`` tracks),
a target past its end is placed at the mean position of the unlisted candidates,
:math:`(w + 1 + c) / 2` for ``c`` candidates, the expectation under a random order of
the rest.

``loglik`` (mean log-probability per held-out transition, higher is better) is listed
here so that suites and reports know its direction and meaning; it is computed from the
model's next-track distribution by :mod:`apc.evaluation.loglik`, never from a list
(given only a list, its value is NaN).

References
----------
A. Vall, M. Quadrana, M. Schedl and G. Widmer, "Order, context and popularity bias in
next-song recommendations", IJMIR 8, 2019 (preprint 2018): rank of the next song.
B. McFee and G. Lanckriet, "The natural language of playlists", ISMIR 2011 (loglik).
"""

from __future__ import annotations

import numpy as np

from apc.evaluation.metrics._core import Hits, _items
from apc.evaluation.metrics._registry import metric

#: Metrics whose values need the model itself (full ranking or next-track distribution).
MODEL_LEVEL = ("loglik", "rank", "rank_pct")


def _candidates(targets, n_tracks: int) -> np.ndarray:
    """float64 (Q,): catalogue size less each query's distinct seed tracks."""
    seeds = getattr(targets, "seeds_csr", None)
    if seeds is None:
        return np.full(targets.shape[0], float(n_tracks))
    return float(n_tracks) - np.diff(seeds(binary=True).indptr).astype(np.float64)


def ranks_and_candidates(recs, targets, n_tracks: int, hits=None) -> tuple[np.ndarray, np.ndarray]:
    """Return float64 ``(Q,)`` ranks (see :func:`rank_of_target`) and candidate counts."""
    items = _items(recs)
    h = hits if isinstance(hits, Hits) and hits.has_targets else Hits(items, targets)
    width = (items >= 0).sum(axis=1).astype(np.float64)
    cand = np.maximum(_candidates(targets, n_tracks), width)
    rank = (width + 1.0 + cand) / 2.0  # past the list: mean position of the unlisted
    rows, at = np.unique(h.rows, return_index=True)  # hits are row-major: first per row
    rank[rows] = h.cols[at].astype(np.float64) + 1.0
    rank[h.n_targets == 0] = np.nan
    return rank, cand


@metric("rank", "1-based position of the best-ranked held-out track in the full ranking of "
        "the candidates (catalogue less seed tracks); lower is better (Vall et al. 2018)",
        higher_is_better=False, takes_k=False, needs=("targets", "n_tracks"))
def rank_of_target(recs, targets, *, n_tracks: int, hits=None) -> np.ndarray:
    """Compute the rank of the next song per query.

    Parameters
    ----------
    recs : np.ndarray or Recommendations
        int ``(Q, w)`` ranking, best first, ``-1`` padded (the full catalogue for exact
        values).
    targets : Queries or sparse matrix
        The held-out tracks.
    n_tracks : int
        Catalogue size.
    hits : Hits, optional
        Shared hits.

    Returns
    -------
    np.ndarray
        float64 ``(Q,)``; NaN for a query without targets.

    Examples
    --------
    >>> from apc.data import Queries
    >>> q = Queries.from_lists([[0], [0]], [[2], [3]], n_tracks=4)
    >>> rank_of_target(np.array([[1, 2, 3], [1, 2, 3]]), q, n_tracks=4).tolist()
    [2.0, 3.0]
    """
    return ranks_and_candidates(recs, targets, n_tracks, hits)[0]


@metric("rank_pct", "rank of the next song as a percentage of the candidates (0 best, 100 "
        "worst); lower is better (Vall et al. 2018)", higher_is_better=False, takes_k=False,
        needs=("targets", "n_tracks"))
def rank_percentile(recs, targets, *, n_tracks: int, hits=None) -> np.ndarray:
    """Compute ``100 * rank / candidates`` per query (see :func:`rank_of_target`).

    Examples
    --------
    >>> from apc.data import Queries
    >>> q = Queries.from_lists([[0]], [[3]], n_tracks=5)
    >>> rank_percentile(np.array([[1, 2, 3, 4]]), q, n_tracks=5).tolist()
    [75.0]
    """
    rank, cand = ranks_and_candidates(recs, targets, n_tracks, hits)
    return 100.0 * rank / np.maximum(cand, 1.0)


@metric("loglik", "mean log-probability (nats) per held-out transition under the model's "
        "next-track distribution; from the model, not a list (McFee & Lanckriet 2011)",
        takes_k=False, needs=("targets",))
def loglik_from_model(recs, targets, *, hits=None) -> np.ndarray:
    """Return NaN per query: a list has no likelihood (see :mod:`apc.evaluation.loglik`).

    The runner and :func:`~apc.evaluation.evaluate.evaluate` replace these values by the
    model's own (:mod:`apc.evaluation.model_metrics`); this entry gives the label its
    direction and description, and keeps "compute every registered metric" working.
    """
    return np.full(len(_items(recs)), np.nan)
