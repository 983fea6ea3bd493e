"""Beyond-accuracy metrics: they describe the lists (no targets) and are never ranked.

Each takes the recommended items ``recs`` (int ``(Q, w)``, best first, ``-1`` padded),
a cut-off ``k`` and what it needs from the training corpus; ``hits`` takes a shared
:class:`~apc.evaluation.metrics.Hits` so that per-cell lookups (artists, popularity)
are done once for all cut-offs. Ids outside the catalogue count as unknown tracks.
"""

from __future__ import annotations

import numpy as np

from apc.evaluation.metrics._core import Hits, check_k, first_occurrence
from apc.evaluation.metrics._registry import metric


def _lists(recs, hits, n_tracks: int | None = None) -> Hits:
    if isinstance(hits, Hits) and (n_tracks is None or hits.n_tracks == n_tracks):
        return hits
    return Hits(recs, None, n_tracks=n_tracks)


@metric("coverage", "share of the catalogue recommended in at least one top-k list "
        "(one value per cell, descriptive)", set_level=True, descriptive=True,
        needs=("n_tracks",))
def coverage_at_k(recs, k: int, n_tracks: int, *, hits=None) -> float:
    """Compute the share of the catalogue recommended in at least one top-``k`` list.

    Parameters
    ----------
    recs : np.ndarray or Recommendations
        int ``(Q, w)`` recommended track indices, best first, ``-1`` padded.
    k : int
        Cut-off.
    n_tracks : int
        Catalogue size.
    hits : Hits, optional
        Shared lists.

    Returns
    -------
    float
        One value for the whole set of lists; NaN for an empty catalogue.
    """
    if not n_tracks:
        return float("nan")
    h = _lists(recs, hits, n_tracks)
    k = check_k(k)
    # cut-offs come in ascending order from compute_metrics: mark only the new columns
    used, done = h.cache.get(("coverage", n_tracks), (None, 0))
    if used is None or k < done:
        used, done = np.zeros(n_tracks + 1, dtype=bool), 0
    used[h.ids[:, done:k]] = True
    h.cache[("coverage", n_tracks)] = (used, max(done, min(k, h.shape[1])))
    return float(used[:n_tracks].sum() / n_tracks)


@metric("popularity", "mean training popularity (share of training playlists holding the "
        "track) of the recommended tracks in the top k (descriptive)", descriptive=True,
        needs=("popularity",))
def popularity_at_k(recs, k: int, popularity: np.ndarray, *, hits=None) -> np.ndarray:
    """Compute the mean popularity of the top-``k`` tracks per query.

    Parameters
    ----------
    recs : np.ndarray or Recommendations
        int ``(Q, w)`` recommended track indices, best first, ``-1`` padded.
    k : int
        Cut-off.
    popularity : np.ndarray
        float ``(n_tracks,)``: e.g. the share of training playlists holding each track.
    hits : Hits, optional
        Shared lists.

    Returns
    -------
    np.ndarray
        float64 ``(Q,)``; NaN for a list without a known track.
    """
    pop = np.asarray(popularity, dtype=np.float64)
    h = _lists(recs, hits, len(pop))
    k = check_k(k)
    key = ("popularity", id(popularity), pop.shape)
    total, n, done = h.cache.get(key, (None, None, 0))
    if total is None or k < done:  # cut-offs ascend: add only the new columns
        total, n, done = np.zeros(h.shape[0]), np.zeros(h.shape[0], dtype=np.int64), 0
    pop_ext = np.append(pop, 0.0)  # the sentinel id scores 0 and is not counted
    step = max(1, (1 << 20) // max(1, k - done))
    for start in range(0, h.shape[0], step):  # row blocks keep the gathered values small
        ids = h.ids[start : start + step, done:k]
        total[start : start + step] += pop_ext[ids].sum(axis=1)
        n[start : start + step] += (ids != len(pop)).sum(axis=1)
    h.cache[key] = (total, n, max(done, k))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, total / np.maximum(n, 1), np.nan)


@metric("artist_diversity", "distinct artists / tracks with a known artist in the top k "
        "(descriptive)", descriptive=True, needs=("track_artists",))
def artist_diversity_at_k(recs, k: int, track_artists: np.ndarray, *, hits=None) -> np.ndarray:
    """Compute distinct artists over tracks with a known artist in the top ``k``.

    Parameters
    ----------
    recs : np.ndarray or Recommendations
        int ``(Q, w)`` recommended track indices, best first, ``-1`` padded.
    k : int
        Cut-off.
    track_artists : np.ndarray
        int ``(n_tracks,)``: artist index of each track, ``-1`` if unknown.
    hits : Hits, optional
        Shared lists; the first occurrence of each artist is then found once for all
        cut-offs.

    Returns
    -------
    np.ndarray
        float64 ``(Q,)``; NaN where no top-``k`` track has a known artist.
    """
    art = np.asarray(track_artists)
    h = _lists(recs, hits, len(art))
    k = check_k(k)
    key = ("artist_first", id(track_artists), art.shape)
    if key not in h.cache or h.cache[key][0].shape[1] < min(k, h.shape[1]):
        # a first occurrence in the top k is one in any longer prefix too, so one pass
        # serves every smaller cut-off; the first pass covers only the first cut-off
        width = h.shape[1] if key in h.cache else min(k, h.shape[1])
        n_art = int(art.max()) + 1 if len(art) and art.max() >= 0 else 0
        art_of = np.append(np.where(art >= 0, art, n_art), n_art).astype(np.int32)
        a = art_of[h.ids[:, :width]]
        h.cache[key] = (first_occurrence(a, n_art), a != n_art)
    first, known = h.cache[key]
    distinct = first[:, :k].sum(axis=1)
    n = known[:, :k].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, distinct / np.maximum(n, 1), np.nan)
