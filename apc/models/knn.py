r"""Neighbourhood models: playlist k-NN (with the V-SKNN and STAN weightings) and item k-NN.

Both are plain sparse linear algebra over the training playlists' binary matrix
``X`` (playlists x tracks):

* :class:`PlaylistKNN` finds, for each query, the ``n_neighbors`` training playlists
  most similar to its seed and lets them vote for their tracks (Bonnin & Jannach 2014;
  the session-based SKNN of Jannach & Ludewig 2017 and its sequence-aware variants
  V-SKNN, Ludewig & Jannach 2018, and STAN, Garg et al. 2019).
* :class:`ItemKNN` scores a track by its summed co-occurrence similarity to the seed
  tracks (``seeds @ S`` with ``S`` the pruned cosine of ``X^T X``).

See ``docs/models/knn.md`` for the equations, complexity and the literature.
"""

from __future__ import annotations

import warnings
import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from apc.data.playlists import Playlists
from apc.data.queries import Queries
from apc.errors import ApcInputError, DataWarning, ParameterWarning
from apc.models._decays import (  # noqa: F401 - position_decay, DECAYS: public here
    DECAYS,
    MATCH_DECAYS,
    _position_decay64,
    match_decay,
    position_decay,
)
from apc.models._similarity import (
    SimilarityRecommender,
    cooccurrence_topn,
    expand_ranges,
    topn_mask,
)
from apc.models.base import ScoringRecommender
from apc.models.params import param

SIMILARITIES = ("cosine", "jaccard", "overlap", "dot")
SAMPLINGS = ("recent", "random", "popular")
WEIGHTINGS = ("none", "vsknn", "stan")
IDF_COUNTS = ("playlists", "entries")
# the smallest positive float32: a vote too small for float32 is stored as this, so a
# track some neighbour voted for still ranks above every track none voted for
_TINY32 = np.float32(np.finfo(np.float32).smallest_subnormal)
# seeds up to this long find each neighbour's most recent matched seed track by one
# sparse product of 4 ** (position - last position) weights (see PlaylistKNN._score)
_MATCH_PRODUCT_MAX_SEED = 500
# playlists up to this long find STAN's anchor i* the same way (4 ** -(steps from the end))
_ANCHOR_PRODUCT_MAX_LENGTH = 500
# votes (stored scores) per block of queries: blocks this size stay in cache, which on
# the MPD subset makes scoring ~1.5x faster than 1,024-query blocks
_BLOCK_VOTES = 1 << 19
_SECONDS_PER_DAY = 86400.0


# --------------------------------------------------------------------------- helpers
def _timestamps(meta: pd.DataFrame) -> np.ndarray | None:
    """Playlist timestamps in seconds (float64), or None when the corpus has none."""
    if "timestamp" not in meta.columns:
        return None
    col = meta["timestamp"]
    if pd.api.types.is_datetime64_any_dtype(col):
        t = col.astype("datetime64[ns]").astype("int64").to_numpy() / 1e9
        t[col.isna().to_numpy()] = np.nan
    else:
        t = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64)
    if np.isnan(t).all():
        return None
    return t


def _rank(values: np.ndarray) -> np.ndarray:
    """float32 rank 1..P of ``values`` (NaN lowest; ties: the later row ranks higher)."""
    v = np.where(np.isnan(values), -np.inf, values)
    order = np.lexsort((np.arange(len(v)), v))
    rank = np.empty(len(v), dtype=np.float32)
    rank[order] = np.arange(1, len(v) + 1, dtype=np.float32)
    return rank


def _mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser: a fast, well-mixed hash of uint64 values."""
    x = x.astype(np.uint64)
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return x


def _query_keys(playlist_ids: np.ndarray) -> np.ndarray:
    """uint64 key per query id (the id itself for integers, crc32 of its text otherwise)."""
    ids = np.asarray(playlist_ids)
    if np.issubdtype(ids.dtype, np.integer):
        return ids.astype(np.uint64)
    return np.array([zlib.crc32(str(p).encode()) for p in ids], dtype=np.uint64)


def _dedup_last(indptr: np.ndarray, items: np.ndarray, n_cols: int):
    """Distinct items of each row with the position of their last occurrence.

    Returns ``(indptr, items, positions)`` with items sorted within each row.
    """
    lengths = np.diff(indptr)
    pos = (np.arange(len(items), dtype=np.int64) - np.repeat(indptr[:-1], lengths)).astype(
        np.int32)
    m = sp.csr_array((pos, items.astype(np.int32), indptr.astype(np.int64)),
                     shape=(len(lengths), n_cols))
    m.has_sorted_indices = False
    m.sort_indices()  # duplicates of a row become adjacent (their order is arbitrary)
    rows = np.repeat(np.arange(len(lengths)), lengths)
    new = np.ones(len(items), dtype=bool)
    if len(items):
        new[1:] = (m.indices[1:] != m.indices[:-1]) | (rows[1:] != rows[:-1])
    starts = np.flatnonzero(new)
    d_items = m.indices[starts].astype(np.int32)
    d_pos = np.maximum.reduceat(m.data, starts) if len(starts) else m.data[:0]
    d_indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows[starts], minlength=len(lengths)), out=d_indptr[1:])
    return d_indptr, d_items, d_pos.astype(np.int32)


def _to_float32(scores: sp.csr_array) -> sp.csr_array:
    """float32 votes; a positive vote below float32's range becomes the smallest one."""
    if scores.dtype == np.float32:
        return scores
    data = scores.data.astype(np.float32)
    data[(data == 0) & (scores.data > 0)] = _TINY32
    return sp.csr_array((data, scores.indices, scores.indptr), shape=scores.shape)


# --------------------------------------------------------------------------- playlist k-NN
@dataclass(frozen=True)
class KNNConfig:
    """Hyper-parameters of :class:`PlaylistKNN`."""

    n_neighbors: int = param(100, ge=1, doc="Neighbour playlists per query, k.")
    similarity: str = param("cosine", choices=SIMILARITIES, doc="Seed / playlist similarity.")
    sample_size: int | None = param(
        None, ge=1, doc="SKNN candidate sampling: consider only this many of the playlists "
        "that share a track with the seed (None: all of them).",
    )
    sampling: str = param(
        "recent", choices=SAMPLINGS, doc="Which candidates to keep when sampling: the most "
        "recent (meta timestamp; corpus order when absent), a random subset (seeded per "
        "query by seed and the query's playlist id) or those with most followers "
        "(meta num_followers).",
    )
    weighting: str = param("none", choices=WEIGHTINGS, doc="Sequence-aware variant.")
    decay: str = param(
        "linear", choices=DECAYS, doc="V-SKNN seed-position weights (see position_decay)."
    )
    match_decay: str = param(
        "harmonic", choices=MATCH_DECAYS, doc="V-SKNN: scale of a neighbour's vote by the "
        "position of the most recent seed track it contains (see match_decay; harmonic: "
        "1 / (steps back + 1), session-rec's div).",
    )
    idf_weight: float = param(
        0.0, ge=0, doc="lambda_idf: boost rare tracks by 1 + lambda_idf log(P / pop(t)) "
        "(V-SKNN/VSTAN).",
    )
    idf_count: str = param(
        "playlists", choices=IDF_COUNTS, doc="pop(t) of the IDF: the playlists holding t "
        "(playlists) or t's entries, repeats included (entries: session-rec's row count).",
    )
    lambda_spw: float = param(1.02, gt=0, doc="STAN decay of the seed position.")
    lambda_snh: float | None = param(
        None, gt=0, doc="STAN decay of the neighbour's recency, in days (None: off)."
    )
    lambda_inh: float | None = param(
        2.05, gt=0, doc="STAN decay of the position in the neighbour (None: off)."
    )
    lambda_ipw: float | None = param(
        None, gt=0, doc="VSTAN decay of a vote by the position of the most recent seed "
        "track the neighbour holds (None: off, as in STAN).",
    )
    seed: int = param(0, ge=0, doc='Seed of sampling="random".')


class PlaylistKNN(ScoringRecommender):
    r"""Playlist (session) k-nearest-neighbours, with the V-SKNN and STAN weightings.

    The seed ``h`` of a query is compared with every training playlist ``p`` sharing a
    track with it; the ``n_neighbors`` most similar ones form ``N(h)`` and vote:

    .. math::

        \hat{r}_{h,t} = \sum_{p \in N(h)} \mathrm{sim}(h, p)\, w(t \mid h, p)\,
                        \big(1 + \lambda_{idf}\,\mathrm{idf}(t)\big)\, \mathbb{1}[t \in p]

    The seed is a weighted vector :math:`w_h` over tracks, and with
    :math:`c = \sum_{i \in h \cap p} w_{h,i}` the similarity is ``cosine``
    :math:`c / (\lVert w_h \rVert_2 \sqrt{|p|})`, ``jaccard`` (Tanimoto)
    :math:`c / (\lVert w_h \rVert_2^2 + |p| - c)`, ``overlap``
    :math:`c / \min(\lVert w_h \rVert_1, |p|)` or ``dot`` :math:`c / |h|` (V-SKNN's
    ``vec``); for a binary seed these are the usual set similarities.

    ``weighting`` chooses the seed weights and the per-neighbour terms:

    * ``"none"`` (Bonnin & Jannach 2014 kNN, SKNN of Jannach & Ludewig 2017):
      :math:`w_{h,i} = 1`, :math:`w(t \mid h, p) = 1`.
    * ``"vsknn"`` (V-SKNN, Ludewig & Jannach 2018): :math:`w_{h,i}` = ``decay`` of the
      position of ``i`` in the seed (most recent = 1); each neighbour's vote is scaled by
      ``match_decay`` of the position of the most recent seed track it contains.
    * ``"stan"`` (STAN, Garg et al. 2019): :math:`w_{h,i} = \exp(-r_i / \lambda_{spw})`
      with :math:`r_i` the steps of ``i`` before the last seed track; similarities are
      scaled by the neighbour's recency :math:`\exp(-(t_{max} - t_p) / \lambda_{snh})`
      (``lambda_snh`` in days, only when the corpus has timestamps; :math:`t_{max}` is
      the latest training timestamp); a track's vote is scaled by
      :math:`\exp(-|\mathrm{pos}_p(t) - \mathrm{pos}_p(i^*)| / \lambda_{inh})` where
      :math:`i^*` is the last track of ``p`` (in ``p``'s order) that is also in the seed,
      as in the session-rec and RecPack implementations. Positions are those of the
      last occurrence of a track in the playlist. With ``lambda_ipw`` (VSTAN, Ludewig
      et al. 2021) each neighbour's votes are also scaled by
      :math:`\exp(-\min_{i \in h \cap p} r_i / \lambda_{ipw})`. STAN is computed in
      float64 (its seed weights leave float32's range from ~105 ``lambda_spw`` back).

    Everything is batched sparse algebra: ``(B, n_tracks) @ X^T`` gives all seed /
    playlist overlaps of a block of queries, the top ``n_neighbors`` per row are picked
    by :func:`~apc.models._similarity.topn_mask`, and the votes are ``W @ X``. The
    most recent matched seed track of each neighbour (V-SKNN's ``match_decay``, VSTAN's
    ``lambda_ipw``) and STAN's anchor :math:`i^*` come from products of the same shape
    with codes :math:`4^{-\text{steps}}`, whose sums reveal the smallest number of
    steps in their binary exponent; STAN's ``lambda_inh`` votes are summed as
    ``owner @ votes`` over a CSR block of the neighbours' entries.

    Parameters
    ----------
    **params
        Fields of :class:`KNNConfig` as keywords (``n_neighbors=50,
        weighting="stan"`` ...).

    References
    ----------
    G. Bonnin and D. Jannach. Automated generation of music playlists: Survey and
    experiments. ACM Computing Surveys 47(2), 2014.
    D. Jannach and M. Ludewig. When recurrent neural networks meet the neighborhood for
    session-based recommendation. RecSys 2017.
    M. Ludewig and D. Jannach. Evaluation of session-based recommendation algorithms.
    User Modeling and User-Adapted Interaction 28(4-5), 2018.
    D. Garg, P. Gupta, P. Malhotra, L. Vig and G. Shroff. Sequence and time aware
    neighborhood for session-based recommendations: STAN. SIGIR 2019.

    Examples
    --------
    >>> from apc.testing import checkerboard, queries_from
    >>> pl = checkerboard()
    >>> model = PlaylistKNN(n_neighbors=5).fit(pl)
    >>> model.recommend(queries_from(pl, [[0, 1]], [[2]]), 3).items.tolist()
    [[2, 3, 4]]
    """

    name = "knn"
    sparse_scores = True  # _score returns CSR blocks: no dense memory cap on blocks
    config_class = KNNConfig

    @property
    def batch_size(self) -> int:  # type: ignore[override]
        """Queries per block: about ``2**19`` expected votes, between 16 and 1,024."""
        per_query = getattr(self, "votes_per_query_", 0.0)
        if per_query <= 0:
            return 1024
        return int(min(1024, max(16, _BLOCK_VOTES // per_query)))

    # ------------------------------------------------------------------ fit
    def _validate(self, train: Playlists) -> None:
        if (self.sample_size is not None and self.sampling == "popular"
                and "num_followers" not in train.meta.columns):
            raise ApcInputError("sampling='popular' needs a 'num_followers' playlist column",
                                field="num_followers")

    def _expands(self) -> bool:
        """Whether a vote depends on the track's neighbour (needs the per-entry path)."""
        if self.weighting == "stan":
            return self.lambda_inh is not None or self.lambda_ipw is not None
        return self.weighting == "vsknn" and self.match_decay != "none"

    def _needs_recent(self) -> bool:
        """Whether a vote depends on the neighbour's most recent matched seed track."""
        if self.weighting == "stan":
            return self.lambda_ipw is not None
        return self.weighting == "vsknn" and self.match_decay != "none"

    def _needs_anchor(self) -> bool:
        """Whether a vote depends on its track's distance to STAN's anchor i*."""
        return self.weighting == "stan" and self.lambda_inh is not None

    def _fit(self, train: Playlists, features) -> None:
        n_playlists = len(train)
        d_indptr, d_items, d_pos = _dedup_last(train.indptr, train.items, train.n_tracks)
        # STAN's seed weights exp(-r / lambda_spw) leave float32 from r ~ 105 lambda_spw
        # on: its overlaps, similarities and votes are computed in float64. V-SKNN's
        # overlaps are float64 sums rounded once to float32 similarities, so that
        # neighbours whose similarities are equal (sums of position weights such as
        # 1/12 + 3/12 and 2/12 + 2/12) stay equal and go to the lower playlist index
        dtype = np.float64 if self.weighting == "stan" else np.float32
        ones = np.ones(len(d_items), dtype=dtype)
        self.playlists_ = sp.csr_array((ones, d_items, d_indptr),
                                       shape=(n_playlists, train.n_tracks))
        t_dtype = np.float64 if self.weighting in ("stan", "vsknn") else dtype
        self.playlists_t_ = sp.csr_array(self.playlists_.T, dtype=t_dtype)  # (n_tracks, P)
        self.lengths_ = np.diff(d_indptr).astype(np.float32)  # distinct tracks per playlist
        # neighbours are found through shared tracks, so their length is length-biased
        total = float(self.lengths_.sum())
        self.votes_per_query_ = (self.n_neighbors * float(np.square(self.lengths_,
                                 dtype=np.float64).sum()) / total) if total else 0.0
        self.positions_ = d_pos if self._expands() else None
        self.match_t_ = None  # float64 (n_tracks, P) for the most-recent-match product
        if self._needs_recent():
            self.match_t_ = self.playlists_t_.astype(np.float64, copy=False)
        self.anchor_t_ = self.raw_lengths_ = self.inh_table_ = None
        raw_lengths = np.diff(train.indptr)
        if self._needs_anchor() and raw_lengths.max(initial=0) <= _ANCHOR_PRODUCT_MAX_LENGTH:
            # (n_tracks, P) codes 4 ** -(steps of a track's last occurrence before the end
            # of its playlist): a product with the binary seeds gives each neighbour's
            # anchor i* as the exponent of a sum, like the most recent match
            p_rows = np.repeat(np.arange(n_playlists), np.diff(d_indptr))
            ends = (raw_lengths[p_rows] - 1 - d_pos).astype(np.int64)
            codes = sp.csr_array((np.ldexp(1.0, -2 * ends), d_items, d_indptr),
                                 shape=(n_playlists, train.n_tracks))
            self.anchor_t_ = sp.csr_array(codes.T)
            self.raw_lengths_ = raw_lengths.astype(np.int64)
            self.inh_table_ = np.exp(-np.arange(raw_lengths.max(initial=0) + 1)
                                     / self.lambda_inh)
        self.idf_ = None
        if self.idf_weight > 0:
            if self.idf_count == "entries":
                pop = np.bincount(train.items, minlength=train.n_tracks).astype(np.float64)
            else:
                pop = np.diff(self.playlists_t_.indptr).astype(np.float64)
            self.idf_ = np.where(pop > 0, np.log(max(1, n_playlists) / np.maximum(pop, 1)),
                                 0.0).astype(np.float32)
        stamps = _timestamps(train.meta)
        self.priority_ = None
        if self.sample_size is not None and self.sampling == "recent":
            if stamps is None:
                warnings.warn("no playlist timestamps: sampling='recent' treats later "
                              "playlists as more recent", DataWarning, stacklevel=3)
                stamps_or_order = np.arange(n_playlists, dtype=np.float64)
            else:
                stamps_or_order = stamps
            self.priority_ = _rank(stamps_or_order)
        elif self.sample_size is not None and self.sampling == "popular":
            followers = pd.to_numeric(train.meta["num_followers"], errors="coerce")
            self.priority_ = _rank(followers.to_numpy(dtype=np.float64))
        self.recency_ = None
        if self.weighting == "stan" and self.lambda_snh is not None:
            if stamps is None:
                warnings.warn("lambda_snh needs playlist timestamps; the corpus has none, so "
                              "neighbour recency is ignored", ParameterWarning, stacklevel=3)
            else:
                age = np.nan_to_num(np.nanmax(stamps) - stamps, nan=np.inf)
                self.recency_ = np.exp(-age / (self.lambda_snh * _SECONDS_PER_DAY)).astype(
                    np.float32)

    # ------------------------------------------------------------------ score
    def _seed_weights(self, queries: Queries):
        """Distinct seed tracks per query with weights and last positions.

        Returns ``(indptr, items, weights, positions, lengths)``; ``lengths`` is the
        seed length (with repeats) used by the position decays.
        """
        indptr, items, pos = _dedup_last(queries.seeds_indptr, queries.seeds, queries.n_tracks)
        lengths = queries.seed_lengths
        rows = np.repeat(np.arange(len(queries)), np.diff(indptr))
        steps_back = lengths[rows] - 1 - pos
        if self.weighting == "vsknn":
            w = _position_decay64(self.decay, steps_back, lengths[rows])  # see _fit
        elif self.weighting == "stan":
            w = np.exp(-steps_back / self.lambda_spw)  # float64: see _fit
        else:
            w = np.ones(len(items), dtype=np.float32)
        return indptr, items, w, pos, lengths

    def _score(self, queries: Queries) -> sp.csr_array:
        b, n_tracks = len(queries), queries.n_tracks
        s_indptr, s_items, s_w, s_pos, seed_len = self._seed_weights(queries)
        seeds = sp.csr_array((s_w, s_items, s_indptr), shape=(b, n_tracks))
        dot = sp.csr_array(seeds @ self.playlists_t_)  # (B, P): weighted overlaps
        rows = np.repeat(np.arange(b), np.diff(dot.indptr))
        cols, inter = dot.indices, dot.data
        recent = self._recent_match_codes(queries, s_indptr, s_items, s_pos, dot)
        anchor = self._anchor_codes(s_indptr, s_items, dot)
        if self.sample_size is not None:  # SKNN candidate sampling
            if self.sampling == "random":
                qkey = _query_keys(queries.playlist_ids)[rows]
                with np.errstate(over="ignore"):
                    h = _mix64(_mix64(qkey + np.uint64(self.seed)) ^ cols.astype(np.uint64))
                prio = (h >> np.uint64(40)).astype(np.float32)  # 24 bits: exact in float32
            else:
                prio = self.priority_[cols]
            keep = topn_mask(dot.indptr, cols, prio, self.sample_size)
            rows, cols, inter = rows[keep], cols[keep], inter[keep]
            recent = None if recent is None else recent[keep]
            anchor = None if anchor is None else anchor[keep]
        sim = self._similarity_values(rows, cols, inter, s_indptr, s_w)
        if self.recency_ is not None:
            sim = sim * self.recency_[cols]
        indptr = np.zeros(b + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=b), out=indptr[1:])
        keep = topn_mask(indptr, cols, sim, self.n_neighbors)
        rows, cols, sim = rows[keep], cols[keep], sim[keep]
        if ((self._needs_recent() and recent is None)
                or (self._needs_anchor() and anchor is None)):  # long seeds or playlists
            return _to_float32(self._score_entries(rows, cols, sim, s_indptr, s_items,
                                                   s_pos, seed_len, n_tracks))
        if recent is not None:
            # sum of 4 ** -r over the matched seed tracks lies in [4^-m, 4/3 4^-m) with
            # m the fewest steps back: its binary exponent is exactly 1 - 2m
            steps_back = -((np.frexp(recent[keep])[1] - 1) // 2)
            if self.weighting == "vsknn":
                sim = sim * match_decay(self.match_decay, steps_back, seed_len[rows])
            else:  # VSTAN's lambda_ipw
                sim = sim * np.exp(-steps_back / self.lambda_ipw)
        if anchor is None:
            neighbours = sp.csr_array((sim, (rows, cols)), shape=(b, len(self.lengths_)))
            scores = sp.csr_array(neighbours @ self.playlists_)
        else:
            scores = self._score_anchored(rows, cols, sim, anchor[keep], b, n_tracks)
        if self.idf_ is not None:
            scores = sp.csr_array(scores.multiply(1.0 + self.idf_weight * self.idf_))
        return _to_float32(scores)

    def _anchor_codes(self, s_indptr, s_items, dot):
        """Per entry of ``dot``: the sum of ``4 ** -e`` over the neighbour's seed tracks.

        ``e`` = steps of the track's last occurrence before the end of the neighbour.
        None when STAN's ``lambda_inh`` is off or a playlist is too long (see _fit).
        """
        if self.anchor_t_ is None or len(s_items) == 0:
            return None
        ones = np.ones(len(s_items), dtype=np.float64)
        am = sp.csr_array(sp.csr_array((ones, s_items, s_indptr),
                                       shape=(len(s_indptr) - 1, self.anchor_t_.shape[0]))
                          @ self.anchor_t_)
        if not (np.array_equal(am.indptr, dot.indptr) and np.array_equal(am.indices,
                                                                          dot.indices)):
            return None  # pragma: no cover - scipy's product is deterministic
        return am.data

    def _score_anchored(self, rows, cols, sim, codes, b, n_tracks) -> sp.csr_array:
        """STAN's votes sim * exp(-|pos_p(t) - pos_p(i*)| / lambda_inh), summed.

        The neighbours' entries are one CSR block (a row per neighbour, its tracks and
        weights); multiplying it by the (queries x neighbours) indicator sums the votes.
        """
        d_indptr = self.playlists_.indptr
        plen = np.diff(d_indptr)[cols]
        entry = expand_ranges(d_indptr[cols], plen)  # entries of every neighbour, in order
        ends = -((np.frexp(codes)[1] - 1) // 2)  # steps of i* before the end of p
        anchor = self.raw_lengths_[cols] - 1 - ends
        dist = np.abs(self.positions_[entry] - np.repeat(anchor, plen))
        w = np.repeat(sim, plen) * self.inh_table_[dist]
        v_indptr = np.zeros(len(cols) + 1, dtype=np.int64)
        np.cumsum(plen, out=v_indptr[1:])
        votes = sp.csr_array((w, self.playlists_.indices[entry], v_indptr),
                             shape=(len(cols), n_tracks))
        q_indptr = np.zeros(b + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=b), out=q_indptr[1:])
        owner = sp.csr_array((np.ones(len(cols)), np.arange(len(cols)), q_indptr),
                             shape=(b, len(cols)))
        return sp.csr_array(owner @ votes)

    def _recent_match_codes(self, queries, s_indptr, s_items, s_pos, dot):
        """Per entry of ``dot``: the sum of ``4 ** -r`` over the seed tracks matched.

        ``r`` = steps back of a seed track. None when the votes do not need it or a
        seed is too long for float64 (then the per-entry path finds the match).
        """
        if not self._needs_recent() or len(s_items) == 0:
            return None
        lengths = queries.seed_lengths
        if lengths.max() > _MATCH_PRODUCT_MAX_SEED:
            return None
        r = (lengths[np.repeat(np.arange(len(lengths)), np.diff(s_indptr))] - 1 - s_pos)
        codes = sp.csr_array((np.ldexp(1.0, -2 * r.astype(np.int64)), s_items, s_indptr),
                             shape=(len(lengths), queries.n_tracks))
        pm = sp.csr_array(codes @ self.match_t_)
        # same operands' pattern, positive values: the same entries in the same order
        if not (np.array_equal(pm.indptr, dot.indptr) and np.array_equal(pm.indices,
                                                                          dot.indices)):
            return None  # pragma: no cover - scipy's product is deterministic
        return pm.data

    def _similarity_values(self, rows, cols, inter, s_indptr, s_w) -> np.ndarray:
        """Similarities (float32; float64 for STAN, whose seed weights need the range)."""
        seg = np.repeat(np.arange(len(s_indptr) - 1), np.diff(s_indptr))
        b = len(s_indptr) - 1
        plen = self.lengths_[cols]
        if self.similarity == "cosine":
            norm = np.sqrt(np.bincount(seg, weights=s_w.astype(np.float64) ** 2, minlength=b))
            sim = inter / (norm[rows] * np.sqrt(plen))
        elif self.similarity == "jaccard":
            sq = np.bincount(seg, weights=s_w.astype(np.float64) ** 2, minlength=b)
            sim = inter / (sq[rows] + plen - inter)
        elif self.similarity == "overlap":
            l1 = np.bincount(seg, weights=s_w.astype(np.float64), minlength=b)
            sim = inter / np.minimum(l1[rows], plen)
        else:  # "dot"
            sim = inter / np.diff(s_indptr).astype(np.float64)[rows]
        return sim.astype(self.playlists_.dtype)

    def _score_entries(self, rows, cols, sim, s_indptr, s_items, s_pos, seed_len, n_tracks):
        """Votes that depend on the candidate's neighbour: one scatter-add over entries."""
        d_indptr = self.playlists_.indptr
        plen = np.diff(d_indptr)[cols]
        entry = expand_ranges(d_indptr[cols], plen)  # entries of every neighbour, in order
        pair = np.repeat(np.arange(len(cols)), plen)
        items = self.playlists_.indices[entry]
        # position in the seed of each entry's track (-1 when not a seed track)
        s_rows = np.repeat(np.arange(len(s_indptr) - 1), np.diff(s_indptr))
        s_key = s_rows.astype(np.int64) * n_tracks + s_items
        key = rows[pair].astype(np.int64) * n_tracks + items
        at = np.minimum(np.searchsorted(s_key, key), max(0, len(s_key) - 1))
        match = s_key[at] == key if len(s_key) else np.zeros(len(key), bool)
        seg = np.cumsum(plen) - plen  # first entry of each neighbour
        weight = sim  # float64 for STAN (see _fit), float32 otherwise
        if self.weighting == "vsknn" or self.lambda_ipw is not None:
            seed_pos = np.where(match, s_pos[at], -1)
            last_match = np.maximum.reduceat(seed_pos, seg)  # most recent seed track in p
            steps_back = seed_len[rows] - 1 - last_match
            if self.weighting == "vsknn":
                weight = weight * match_decay(self.match_decay, steps_back, seed_len[rows])
            else:  # VSTAN's lambda_ipw
                weight = weight * np.exp(-steps_back / self.lambda_ipw)
        w = weight[pair]
        if self.weighting == "stan" and self.lambda_inh is not None:
            npos = self.positions_[entry]
            anchor = np.maximum.reduceat(np.where(match, npos, -1), seg)  # last match in p
            w = w * np.exp(-np.abs(npos - anchor[pair]) / self.lambda_inh)
        if self.idf_ is not None:
            w = w * (1.0 + self.idf_weight * self.idf_[items])
        b = len(s_indptr) - 1
        scores = sp.csr_array((w, (rows[pair], items)), shape=(b, n_tracks))
        scores.sum_duplicates()
        return scores


# --------------------------------------------------------------------------- item k-NN
@dataclass(frozen=True)
class ItemKNNConfig:
    """Hyper-parameters of :class:`ItemKNN`."""

    n_neighbors: int | None = param(
        100, ge=1, doc="Neighbours kept per track; None keeps all (small data only)."
    )
    alpha: float = param(0.5, ge=0, le=1, doc="Asymmetry (0.5: cosine; 1: P(j | i)).")
    shrink: float = param(
        0.0, ge=0, doc="Shrinkage added to the denominator, damping pairs of rare tracks."
    )


class ItemKNN(SimilarityRecommender):
    r"""Item-based k-NN on track co-occurrence in playlists.

    .. math::

        S_{ij} = \frac{c_{ij}}{n_i^{\alpha}\, n_j^{1-\alpha} + \lambda}, \qquad
        \hat{r}_{h,t} = \sum_{i \in h} S_{i,t}

    with :math:`c_{ij}` the number of training playlists holding both tracks,
    :math:`n_i = c_{ii}` the popularity, :math:`S_{ii} = 0`, and each row ``i`` of
    ``S`` pruned to its ``n_neighbors`` largest entries (ties: lower track index).
    ``alpha = 0.5, shrink = 0`` is the cosine; ``alpha = 1`` the conditional probability
    :math:`P(j \mid i)` (association-rule confidence); ``alpha`` in between is the
    asymmetric cosine of Aiolli (2013). ``X^T X`` is computed in blocks of rows and
    pruned at once (see :func:`~apc.models._similarity.cooccurrence_topn`), so memory
    stays ``O(n_tracks * n_neighbors)``.

    Parameters
    ----------
    **params
        Fields of :class:`ItemKNNConfig` as keywords.

    References
    ----------
    B. Sarwar, G. Karypis, J. Konstan and J. Riedl. Item-based collaborative filtering
    recommendation algorithms. WWW 2001.
    F. Aiolli. Efficient top-N recommendation for very large scale binary rated datasets.
    RecSys 2013.

    Examples
    --------
    >>> from apc.testing import checkerboard, queries_from
    >>> pl = checkerboard()
    >>> ItemKNN().fit(pl).recommend(queries_from(pl, [[0]], [[1]]), 2).items.tolist()
    [[1, 2]]
    """

    name = "item-knn"
    config_class = ItemKNNConfig

    def _similarity(self, train: Playlists) -> sp.csr_array:
        return cooccurrence_topn(train.to_csr(), self.n_neighbors, alpha=float(self.alpha),
                                 shrink=float(self.shrink), description="item-knn similarity")
