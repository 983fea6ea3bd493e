r"""RecSys Challenge 2018 (MPD) metrics, one registered name per published reading.

The challenge's metrics were written down three times, and not the same way: in the
organisers' analysis paper (Zamani, Schedl, Lamere and Chen, ACM TIST 10(5), 2019,
Appendix A), on the challenge's rules page (recsys-challenge.spotify.com/rules), and in
code. apc ships each reading under its own name; the *default* names used by suites
(``rprec_mpd``, ``ndcg_mpd``, ``clicks_mpd``) follow the organisers' own code, the best
evidence of what the leaderboard computed:

* ``metrics.py``, "Copyright 2017 Spotify AB", author Cedric De Boom, "Metrics for the
  2018 RecSys Challenge" (R-precision, NDCG, playlist extender clicks), with the
  organisers' gist ``r_precision_with_artist_fallback`` ("This gist shows how to
  calculate the r_precision score using artist fallback if track doesn't match. For more
  information please visit https://recsys-challenge.spotify.com"), as redistributed by a
  participant in the GitHub repository ``irhete/recsys-challenge-2018``, file
  ``metrics.py``.
* The winners' (team vl6, Layer 6 AI) validation code, GitHub repository
  ``layer6ai-labs/RecSys2018``, files ``src/main/java/common/EvaluatorRPrecisionArtist.java``,
  ``EvaluatorBinaryNDCG.java`` and ``EvaluatorClicks.java``: same NDCG and clicks as the
  organisers' code, an R-precision that differs only in its denominator and in repeats.

Write :math:`G_T` for the distinct held-out tracks, :math:`G_A` for their (known)
artists, :math:`R_{1:n}` for the first :math:`n` recommendations and :math:`i^*` for the
rank of the first hit.

=====================  ==================================================================
``rprec_mpd``          organisers' gist (default): distinct tracks of
                       :math:`R_{1:|G_T|}` in :math:`G_T`, plus 0.25 for each distinct
                       artist of :math:`G_A` among the *non-matching* tracks of that
                       prefix, over :math:`|G_T|`. In [0, 1].
``rprec_mpd_paper``    the paper's formula read literally:
                       :math:`(|S_T \cap G_T| + 0.25 |S_A \cap G_A|) / |G_T|` with
                       :math:`S_A` the artists of *all* of :math:`R_{1:|G_T|}`, hit tracks
                       included; reaches 1.25 when every held-out track is found.
``rprec_mpd_strict``   apc's earlier reading: as ``rprec_mpd`` but an artist of a hit
                       track in the prefix is never credited again; at most
                       ``rprec_mpd``.
``rprec_mpd_vl6``      the winners' evaluator: positions of
                       :math:`R_{1:m}`, :math:`m = \min(|G_T|, |R|)`, each hit counted
                       (a repeated hit again), 0.25 per distinct artist of
                       :math:`G_A` among non-matching positions, over :math:`m`.
``ndcg_mpd``           organisers' code and the paper (default): DCG
                       :math:`\sum_i h_i / \log_2(i+1)` over the whole list over the
                       ideal DCG of :math:`\min(|G_T|, K)` hits (textbook NDCG@K).
``ndcg_mpd_rules``     the rules page: rank 1 weighs 1 and rank :math:`i \ge 2` weighs
                       :math:`1/\log_2 i`; the ideal DCG ranks the :math:`|G_T \cap R|`
                       matched tracks first (0 without a hit).
``clicks_mpd``         :math:`\lfloor (i^* - 1) / 10 \rfloor`, 51 without a hit in the
                       first 500 (lower is better); every source agrees.
=====================  ==================================================================

Why the default ``rprec_mpd`` is the gist's reading: the paper's formula exceeds 1 when
every held-out track is found, which no leaderboard value shows, and the organisers'
gist credits an artist only through a recommended track that does not match, so a
prefix slot is worth at most 1. Why the default ``ndcg_mpd`` is textbook: the
organisers' ``ndcg`` computes ``sum(score / log2(1 + arange(1, len(score) + 1)))``
and divides by the DCG of the relevant elements truncated at ``min(k, |G|)``, as does
the winners' ``EvaluatorBinaryNDCG``; only the rules page words it otherwise.

Artists come from the training corpus (``track_artists``, ``-1`` unknown); an unknown
artist, a padding cell or an id outside the catalogue never matches. A track recommended
twice is a hit once, at its first rank (the challenge's validator rejected lists with
repeats, so the leaderboard never met one); only ``rprec_mpd_vl6`` counts a repeated
hit again, as its Java loop does.
"""

from __future__ import annotations

import numpy as np

from apc.evaluation.metrics._core import Hits, as_hits, first_occurrence, member, with_nan
from apc.evaluation.metrics._registry import metric

#: The challenge's list length: clicks look at the first 500 tracks.
CHALLENGE_K = 500
#: Clicks without a hit in the first :data:`CHALLENGE_K` (one more than the most possible).
NO_HIT_CLICKS = CHALLENGE_K // 10 + 1
#: Credit of an artist match in the challenge's R-precision.
ARTIST_CREDIT = 0.25

_SOURCES = ("organisers' metrics.py and gist r_precision_with_artist_fallback "
            "(github irhete/recsys-challenge-2018, metrics.py)")

_RPREC_DOC = """
    Parameters
    ----------
    recs : np.ndarray or Recommendations
        int ``(Q, w)`` recommended track indices, best first, ``-1`` padded.
    targets : scipy.sparse matrix or Queries
        ``(Q, n_tracks)``: non-zero where a track is a target.
    track_artists : np.ndarray
        int ``(n_tracks,)``: artist index of each track, ``-1`` if unknown (never
        matches).
    hits : Hits or tuple, optional
        Shared hits; computed from ``recs`` and ``targets`` when None.

    Returns
    -------
    np.ndarray
        float64 ``(Q,)``; NaN for a query without targets.
"""


def _doc(fn):
    fn.__doc__ = fn.__doc__.rstrip() + "\n" + _RPREC_DOC
    return fn


def _distinct(values: np.ndarray, mask: np.ndarray, n_values: int) -> np.ndarray:
    """Count the distinct values per row among the cells of ``mask``."""
    vals = np.where(mask, values, n_values)
    return first_occurrence(vals, n_values).sum(axis=1)


def _rprec_parts(h: Hits, track_artists) -> dict[str, np.ndarray]:
    """Per-query track and artist counts for every R-precision reading, computed once."""
    art = np.asarray(track_artists)
    key = ("rprec_parts", id(track_artists), art.shape)
    if key in h.cache:
        return h.cache[key]
    q, w = h.shape
    g = h.n_targets
    if not h.has_targets:
        raise ValueError("the R-precision readings need the targets, not only a hit matrix")
    n_art = int(art.max()) + 1 if len(art) and art.max() >= 0 else 0
    n_ids = max(h.n_tracks, h.n_target_ids)
    # artist of every id, with n_art for unknown artists, padding and unseen ids
    art_of = np.full(n_ids + 1, n_art, dtype=np.int32)
    m = min(len(art), n_ids)
    art_of[:m] = np.where(art[:m] >= 0, art[:m], n_art)
    width = int(min(w, g.max())) if q else 0
    ids = h.ids[:, :width] if h.n_tracks == n_ids else np.where(
        (h.items[:, :width] >= 0) & (h.items[:, :width] < n_ids), h.items[:, :width], n_ids)
    a = art_of[ids]  # (Q, width)
    col = np.arange(width)
    prefix = col[None, :] < g[:, None]  # the first |G| ranks
    listed = (h.items >= 0).sum(axis=1)  # |R|: the list without its padding
    m_vl6 = np.minimum(g, listed)
    # every rank holding a target (repeats included) inside the first `width` columns
    raw = np.zeros((q, width), dtype=bool)
    for rows, cols in ((h.rows, h.cols), (h.repeat_rows, h.repeat_cols)):
        keep = cols < width
        raw[rows[keep], cols[keep]] = True
    # artists of the targets, unknown ones dropped (the sentinel must never be in a set)
    ta = art_of[h.target_indices]
    known = ta != n_art
    t_rows = np.repeat(np.arange(q), np.diff(h.target_indptr))
    ta_indptr = np.concatenate([[0], np.cumsum(np.bincount(t_rows[known], minlength=q))])
    target_artist = member(a, ta_indptr.astype(np.int64), ta[known].astype(a.dtype), n_art)
    miss = prefix & ~raw & target_artist  # non-matching ranks by an artist of G
    # the first non-matching rank of each target artist: the organisers' credit; the
    # winners' prefix is shorter, and a first rank inside it is first there too
    first_miss = first_occurrence(np.where(miss, a, n_art), n_art)
    fr, fc = np.nonzero(first_miss)
    fa = a[fr, fc].astype(np.int64)
    # strict: drop artists of the (first-rank) hits of the prefix
    hp = h.cols < np.minimum(g, width)[h.rows]
    hr, hc = h.rows[hp], h.cols[hp]
    hit_keys = hr * (n_art + 1) + a[hr, hc]
    strict = ~np.isin(fr * (n_art + 1) + fa, hit_keys)
    parts = {
        "tracks": h.count(g).astype(np.float64),
        "fallback": np.bincount(fr, minlength=q),
        "paper": _distinct(a, prefix & target_artist, n_art),
        "strict": np.bincount(fr[strict], minlength=q),
        "vl6_tracks": (raw & (col[None, :] < m_vl6[:, None])).sum(axis=1).astype(np.float64),
        "vl6_artists": np.bincount(fr[fc < m_vl6[fr]], minlength=q),
        "vl6_denominator": m_vl6,
    }
    h.cache[key] = parts
    return parts


def _rprec(h: Hits, tracks, artists, denominator=None) -> np.ndarray:
    g = h.n_targets if denominator is None else denominator
    value = (tracks + ARTIST_CREDIT * artists) / np.maximum(g, 1)
    return with_nan(np.where(g > 0, value, 0.0), h.n_targets)


@metric("rprec_mpd", "RecSys Challenge 2018 R-precision as the organisers computed it: "
        "distinct targets among the first R = |targets| recommendations plus 0.25 per "
        "distinct target artist of a non-matching track there, over R (in [0, 1]; "
        f"source: {_SOURCES})", takes_k=False, needs=("targets", "track_artists"))
@_doc
def rprec_mpd(recs, targets, track_artists: np.ndarray, *, hits=None) -> np.ndarray:
    r"""Compute the challenge's R-precision as the organisers' artist-fallback gist does.

    .. math::

        \frac{|R_{1:|G_T|} \cap G_T| + 0.25\,|A(R_{1:|G_T|} \setminus G_T) \cap G_A|}{|G_T|}

    where :math:`A(\cdot)` is the set of artists of a set of tracks. An artist of a hit
    track can still earn 0.25 through another, non-matching track of the prefix; each
    artist is credited once. Every prefix rank is worth at most 1, so the value is in
    [0, 1].

    References
    ----------
    Organisers' ``r_precision_with_artist_fallback`` (Spotify, 2018) in
    ``metrics.py`` of github.com/irhete/recsys-challenge-2018. H. Zamani, M. Schedl,
    P. Lamere and C.-W. Chen, "An analysis of approaches taken in the ACM RecSys
    Challenge 2018 for automatic music playlist continuation", ACM TIST 10(5), 2019,
    Appendix A (the formula this reading keeps within [0, 1]).
    """
    h = as_hits(recs, targets, hits)
    p = _rprec_parts(h, track_artists)
    return _rprec(h, p["tracks"], p["fallback"])


@metric("rprec_mpd_paper", "R-precision as printed in Zamani et al., ACM TIST 2019, "
        "Appendix A: (distinct targets among the first R + 0.25 x distinct target artists "
        "among the first R, hit tracks' artists included) / R; up to 1.25",
        takes_k=False, needs=("targets", "track_artists"))
@_doc
def rprec_mpd_paper(recs, targets, track_artists: np.ndarray, *, hits=None) -> np.ndarray:
    r"""Compute the paper's R-precision read literally (may exceed 1).

    .. math::

        \frac{|S_T \cap G_T| + 0.25\,|S_A \cap G_A|}{|G_T|}

    with :math:`S_T` and :math:`S_A` the distinct tracks and artists of the first
    :math:`|G_T|` recommendations. A hit adds 1 for its track *and* 0.25 for its artist,
    so a perfect list scores up to 1.25 — a value the leaderboard never shows.

    References
    ----------
    H. Zamani, M. Schedl, P. Lamere and C.-W. Chen, ACM TIST 10(5), 2019, Appendix A.
    """
    h = as_hits(recs, targets, hits)
    p = _rprec_parts(h, track_artists)
    return _rprec(h, p["tracks"], p["paper"])


@metric("rprec_mpd_strict", "apc's earlier strict R-precision: as rprec_mpd, but an "
        "artist of a hit track in the first R is never credited; at most rprec_mpd",
        takes_k=False, needs=("targets", "track_artists"))
@_doc
def rprec_mpd_strict(recs, targets, track_artists: np.ndarray, *, hits=None) -> np.ndarray:
    r"""Compute apc's earlier, strict reading of the challenge's R-precision.

    As :func:`rprec_mpd`, except that the 0.25 artist credit goes only to artists none
    of whose tracks is a hit among the first :math:`|G_T|` recommendations; always at
    or below :func:`rprec_mpd`. Kept so that numbers reported before the default
    changed can be reproduced.
    """
    h = as_hits(recs, targets, hits)
    p = _rprec_parts(h, track_artists)
    return _rprec(h, p["tracks"], p["strict"])


@metric("rprec_mpd_vl6", "R-precision of the winners' evaluator (layer6ai-labs/RecSys2018, "
        "EvaluatorRPrecisionArtist.java): hits plus 0.25 per distinct target artist of a "
        "non-matching track among the first m = min(|targets|, list length) ranks, over m",
        takes_k=False, needs=("targets", "track_artists"))
@_doc
def rprec_mpd_vl6(recs, targets, track_artists: np.ndarray, *, hits=None) -> np.ndarray:
    r"""Compute R-precision as the winning team's (vl6, Layer 6 AI) evaluator does.

    Over the ranks :math:`i \le m = \min(|G_T|, |R|)`, with :math:`|R|` the list length
    without padding: 1 for each rank holding a target (a repeated target again), else
    0.25 the first time a target artist appears; divided by :math:`m`. It differs from
    :func:`rprec_mpd` only for lists shorter than :math:`|G_T|` and lists with repeats
    (an empty list scores 0, where the Java code divides 0 by 0).

    References
    ----------
    M. Volkovs, H. Rai, Z. Cheng, G. Wu, Y. Lu and S. Sanner, "Two-stage model for
    automatic playlist continuation at scale", RecSys Challenge 2018; code at
    github.com/layer6ai-labs/RecSys2018, ``src/main/java/common/EvaluatorRPrecisionArtist.java``.
    """
    h = as_hits(recs, targets, hits)
    p = _rprec_parts(h, track_artists)
    return _rprec(h, p["vl6_tracks"], p["vl6_artists"], p["vl6_denominator"])


def _dcg_weights(w: int, *, rules: bool) -> np.ndarray:
    rank = np.arange(1, w + 1, dtype=np.float64)
    if rules:  # rank 1 weighs 1, rank i >= 2 weighs 1/log2(i)
        return np.where(rank == 1, 1.0, 1.0 / np.log2(np.maximum(rank, 2.0)))
    return 1.0 / np.log2(rank + 1.0)


_NDCG_DOC = """
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


def _ndoc(fn):
    fn.__doc__ = fn.__doc__.rstrip() + "\n" + _NDCG_DOC
    return fn


@metric("ndcg_mpd", "RecSys Challenge 2018 NDCG as the organisers' code and the paper "
        "compute it: DCG with 1/log2(rank+1) over the whole list, ideal DCG of "
        f"min(|targets|, K) hits (source: {_SOURCES})", takes_k=False)
@_ndoc
def ndcg_mpd(recs, targets, *, hits=None) -> np.ndarray:
    r"""Compute the challenge's NDCG as the organisers' ``metrics.py`` does.

    .. math::

        \frac{\sum_{i \le K} h_i / \log_2(i + 1)}
             {\sum_{i \le \min(|G_T|, K)} 1 / \log_2(i + 1)}

    over the whole list (``K`` = its width, 500 in the challenge); textbook NDCG@K.

    References
    ----------
    ``ndcg`` in the organisers' ``metrics.py`` (github.com/irhete/recsys-challenge-2018);
    ``EvaluatorBinaryNDCG.java`` in github.com/layer6ai-labs/RecSys2018; Zamani et al.,
    ACM TIST 10(5), 2019, Appendix A.
    """
    h = as_hits(recs, targets, hits)
    w = h.shape[1]
    disc = _dcg_weights(w, rules=False)
    ideal = np.concatenate([[0.0], np.cumsum(disc)])[np.minimum(h.n_targets, w)]
    return with_nan(h.weighted(disc) / np.where(ideal > 0, ideal, 1.0), h.n_targets)


@metric("ndcg_mpd_rules", "RecSys Challenge 2018 NDCG as worded on the rules page: rank 1 "
        "weight 1, rank i >= 2 weight 1/log2(i), ideal DCG over the |targets in the list| "
        "matched tracks (0 without a hit)", takes_k=False)
@_ndoc
def ndcg_mpd_rules(recs, targets, *, hits=None) -> np.ndarray:
    r"""Compute the challenge's NDCG as the rules page words it.

    .. math::

        \frac{h_1 + \sum_{2 \le i \le |R|} h_i / \log_2 i}
             {1 + \sum_{2 \le i \le |G_T \cap R|} 1 / \log_2 i}

    and 0 without a hit. The ideal DCG counts only the matched tracks, so a list whose
    single hit sits at rank 1 scores 1: it rewards *where* hits are, not *how many*.

    References
    ----------
    RecSys Challenge 2018 rules, https://recsys-challenge.spotify.com/rules.
    """
    h = as_hits(recs, targets, hits)
    w = h.shape[1]
    disc = _dcg_weights(w, rules=True)
    ideal = np.concatenate([[0.0], np.cumsum(disc)])[h.count(w)]
    return with_nan(h.weighted(disc) / np.where(ideal > 0, ideal, 1.0), h.n_targets)


@metric("clicks_mpd", "RecSys Challenge 2018 recommended-songs clicks: "
        "floor((rank of first hit - 1) / 10), 51 without a hit in the first 500; "
        "lower is better (organisers' code, rules page and paper agree)",
        takes_k=False, higher_is_better=False)
@_ndoc
def clicks_mpd(recs, targets, *, hits=None) -> np.ndarray:
    r"""Count recommended-songs clicks: pages of 10 before the first hit, 51 without one.

    :math:`\lfloor (i^* - 1) / 10 \rfloor` for the first hit rank :math:`i^* \le 500`,
    else 51 (one more than the most clicks possible), as ``playlist_extender_clicks``
    in the organisers' ``metrics.py``.
    """
    h = as_hits(recs, targets, hits)
    first = h.first()
    found = (first >= 0) & (first < CHALLENGE_K)
    return with_nan(np.where(found, first // 10, NO_HIT_CLICKS), h.n_targets)
