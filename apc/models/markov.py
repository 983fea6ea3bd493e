r"""Markov-chain next-track models: higher orders with back-off, McFee-Lanckriet mixtures.

First-order and higher-order chains with back-off, and the McFee & Lanckriet (2011)
mixture of edge sets.

The module also holds :class:`SparsePriorRecommender`, the family base of the
order-aware count models (Markov chains here, sequential and association rules in
:mod:`apc.models.rules`). Their scores have the shape

.. math::  s_b(j) = S_{bj} + w_b\, p(j) + c_b

with ``S`` a sparse (queries x tracks) matrix, ``p`` a fixed popularity prior and
``w_b, c_b`` per-query scalars. For such scores the exact top-k lies among the
non-zeros of row ``b`` of ``S`` plus the first ``k + |seed| + nnz_b`` tracks in
popularity order, so :meth:`SparsePriorRecommender.recommend` never builds a dense
queries x catalogue block: at MPD scale (2M tracks) this is the difference between
minutes and hours.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from apc.data.playlists import Playlists
from apc.data.queries import Queries
from apc.errors import ApcInputError
from apc.models._topk import Prior, PriorScores, _canonical, _descending_bits  # noqa: F401
from apc.models.base import ScoringRecommender

#: The edge sets of the McFee & Lanckriet mixture, in the order of ``mixture_weights_``.
EDGE_SETS = ("uniform", "popularity", "artist", "markov")

#: Upper bound on the held-out transitions used to learn the mixture weights (sampled).
MAX_EM_TRANSITIONS = 200_000


# ---------------------------------------------------------------------------- helpers
def entry_mask(indptr: np.ndarray, n_entries: int, min_position: int) -> np.ndarray:
    """Mark the entries whose position inside their playlist is >= ``min_position``.

    Built by clearing the first ``min_position`` slots of every playlist, so no int64
    positions array (8 bytes per entry) is needed at MPD scale.

    Parameters
    ----------
    indptr : np.ndarray
        (P + 1,) playlist boundaries.
    n_entries : int
        Total number of entries, ``N``.
    min_position : int
        First 0-based position to keep.

    Returns
    -------
    np.ndarray
        bool (N,).

    Examples
    --------
    >>> entry_mask(np.array([0, 3, 4]), 4, 1).tolist()
    [False, True, True, False]
    """
    mask = np.ones(n_entries, dtype=bool)
    starts = indptr[:-1]
    lengths = np.diff(indptr)
    for t in range(min_position):
        mask[starts[lengths > t] + t] = False
    return mask


def csr_lookup(m: sp.csr_array, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Look up ``m[rows[i], cols[i]]`` for every ``i``, vectorised (0 where not stored).

    ``m`` must be canonical (sorted indices, no duplicates).

    Returns
    -------
    np.ndarray
        float64, same length as ``rows``.
    """
    n = m.shape[1]
    keys = np.repeat(np.arange(m.shape[0], dtype=np.int64), np.diff(m.indptr)) * n + m.indices
    want = rows.astype(np.int64) * n + cols
    pos = np.searchsorted(keys, want)
    pos_c = np.minimum(pos, max(len(keys) - 1, 0))
    found = (pos < len(keys)) & (keys[pos_c] == want) if len(keys) else np.zeros(len(want), bool)
    out = np.zeros(len(want), dtype=np.float64)
    out[found] = m.data[pos_c[found]]
    return out


def row_selector(rows: np.ndarray, cols: np.ndarray, values: np.ndarray, shape) -> sp.csr_array:
    """Build a sparse float32 matrix of ``shape`` with ``values`` at ``(rows, cols)``.

    ``sel @ M`` then picks (and scales) rows of ``M``.
    """
    return sp.csr_array(
        (np.asarray(values, dtype=np.float32), (rows, cols)), shape=shape, dtype=np.float32
    )


class SparsePriorRecommender(ScoringRecommender):
    """Family base for models scoring ``S + w * prior + c`` (sparse part + popularity prior).

    Subclasses implement ``_fit`` (calling :meth:`_set_prior`) and :meth:`_sparse_parts`.
    Each block's scores go to :func:`~apc.models._topk.top_k` as
    :class:`~apc.models._topk.PriorScores`, so the exact top-k is found without a dense
    queries x catalogue block; ties in score are broken by popularity, then by track
    index (the prior's rank).
    """

    batch_size: ClassVar[int] = 512
    sparse_scores: ClassVar[bool] = True

    def _set_prior(self, prior: np.ndarray) -> None:
        self.prior_ = np.ascontiguousarray(prior, dtype=np.float32)
        self.prior_order_ = np.argsort(-self.prior_, kind="stable").astype(np.int32)
        self.prior_rank_ = np.empty(len(prior), dtype=np.int32)
        self.prior_rank_[self.prior_order_] = np.arange(len(prior), dtype=np.int32)

    def _sparse_parts(self, queries: Queries) -> tuple[sp.csr_array, np.ndarray, np.ndarray]:
        """``(S, w, c)``: float32 CSR (B, n_tracks), float32 (B,), float32 (B,)."""
        raise NotImplementedError

    def _last_track_only(self) -> bool:
        """Tell whether scores depend on the last seed track alone (enables the row index)."""
        return False

    def _index_rows(self, chunk: int = 1 << 17) -> None:
        """Precompute, for every track as the last seed track, its sparse row ordered by score.

        Called at the end of ``_fit``. When :meth:`_last_track_only` holds, the row of
        track ``i`` (computed by :meth:`_sparse_parts` itself, so the floats are the same)
        is stored sorted by the final score ``(w p + S) + c``, ties by popularity rank.
        A query then needs only the first ``k + |seed|`` entries of its row: the others
        are beaten by at least ``k`` non-seed entries, so they cannot enter the top-k,
        and the query costs ``O(k + |seed|)`` instead of ``O(nnz(row))``.
        """
        self.rows_ = None
        if not self._last_track_only():
            return
        n = len(self.prior_)
        pieces, ws, cs = [], [], []
        for lo in range(0, n, chunk):
            hi = min(n, lo + chunk)
            ids = np.arange(lo, hi, dtype=np.int64)
            q = Queries(
                np.arange(hi - lo + 1, dtype=np.int64),
                ids.astype(np.int32),
                np.zeros(hi - lo + 1, dtype=np.int64),
                np.empty(0, np.int32),
                n,
            )
            s, w, c = self._sparse_parts(q)
            s = _canonical(s)
            w = np.asarray(w, np.float32)
            c = np.asarray(c, np.float32)
            row = np.repeat(np.arange(hi - lo), np.diff(s.indptr))
            v = (w[row] * self.prior_[s.indices] + s.data) + c[row]
            srt = np.lexsort((self.prior_rank_[s.indices], -v, row))
            pieces.append(sp.csr_array((s.data[srt], s.indices[srt], s.indptr), shape=s.shape))
            ws.append(w)
            cs.append(c)
        self.rows_ = sp.vstack(pieces, format="csr") if len(pieces) > 1 else pieces[0]
        self.rows_w_ = np.concatenate(ws)
        self.rows_c_ = np.concatenate(cs)

    def _row_parts(self, queries: Queries, k: int):
        """``(S, w, c)`` from the row index, keeping ``k + |seed|`` entries per query."""
        last = queries.last_seed().astype(np.int64)
        indptr = self.rows_.indptr
        start = indptr[last]
        length = np.minimum(indptr[last + 1] - start, k + queries.seed_lengths)
        out_ptr = np.zeros(len(last) + 1, dtype=np.int64)
        np.cumsum(length, out=out_ptr[1:])
        take = np.repeat(start - out_ptr[:-1], length) + np.arange(out_ptr[-1], dtype=np.int64)
        s = sp.csr_array(
            (self.rows_.data[take], self.rows_.indices[take], out_ptr),
            shape=(len(last), len(self.prior_)),
        )
        return s, self.rows_w_[last], self.rows_c_[last]

    def _score(self, queries: Queries) -> np.ndarray:
        s, w, c = self._sparse_parts(queries)
        out = w[:, None] * self.prior_[None, :]
        out += s.toarray()
        out += c[:, None]
        return out

    def _block_scores(self, queries: Queries, k: int) -> PriorScores:
        """The block's scores as :class:`~apc.models._topk.PriorScores` (no dense block).

        With the row index (:meth:`_index_rows`) only the first ``k + |seed|`` entries of
        each query's row are read; queries with an empty seed use :meth:`_sparse_parts`.
        """
        if getattr(self, "rows_", None) is not None and (queries.seed_lengths > 0).all():
            s, w, c = self._row_parts(queries, k)
        else:
            s, w, c = self._sparse_parts(queries)
        return PriorScores(
            s, np.asarray(w, np.float32), np.asarray(c, np.float32),
            Prior(self.prior_, self.prior_order_, self.prior_rank_),
        )


# ---------------------------------------------------------------------------- counts
def transition_counts(
    train: Playlists, order: int
) -> tuple[list[np.ndarray | None], list[sp.csr_array], list[np.ndarray]]:
    """Count context -> next-track transitions for orders 1..``order``.

    Parameters
    ----------
    train : Playlists
        The training corpus.
    order : int
        Longest context, 1 to 3.

    Returns
    -------
    keys : list
        Per order ``k``: sorted unique int64 context keys (``None`` for order 1, whose
        context id is the track index). Order 2 keys are ``a * n + b`` for the context
        ``(a, b)``; order 3 keys are ``id2(a, b) * n + c``, exact (no hashing collisions)
        for any catalogue with fewer than ~4e9 tracks.
    counts : list of csr_array
        float32 (n_contexts_k, n_tracks): how often each track followed each context.
    totals : list of np.ndarray
        float64 (n_contexts_k,): row sums of ``counts``.
    """
    n = train.n_tracks
    items = train.items
    keys: list[np.ndarray | None] = []
    counts: list[sp.csr_array] = []
    totals: list[np.ndarray] = []
    for level in range(1, order + 1):
        mask = entry_mask(train.indptr, len(items), level)[level:]
        target = items[level:][mask]
        if level == 1:
            ctx = items[:-1][mask]
            n_ctx = n
            keys.append(None)
        else:
            prev = items[level - 1 : -1][mask].astype(np.int64)
            if level == 2:
                key = items[:-2][mask].astype(np.int64) * n + prev
            else:
                a = items[:-3][mask].astype(np.int64) * n + items[1:-2][mask]
                id2 = np.searchsorted(keys[1], a)
                key = id2 * n + prev
            uniq, ctx = np.unique(key, return_inverse=True)
            keys.append(uniq)
            n_ctx = len(uniq)
        c = sp.csr_array(
            (np.ones(len(target), np.float32), (ctx, target)), shape=(n_ctx, n), dtype=np.float32
        )
        c.sum_duplicates()
        c.sort_indices()
        counts.append(c)
        totals.append(np.asarray(c.sum(axis=1), dtype=np.float64).ravel())
    return keys, counts, totals


# ---------------------------------------------------------------------------- model
class MarkovChain(SparsePriorRecommender):
    r"""Markov chain over tracks: first order, or up to third order with back-off.

    **First order.** From the counts :math:`c(i, j)` of track ``j`` directly following
    track ``i`` in the training playlists, with :math:`c(i) = \sum_j c(i, j)`,

    .. math::

        M_1(j \mid i) = \frac{c(i, j) + \alpha}{c(i) + \alpha n}
        \quad\text{if } c(i) > 0, \qquad M_1(j \mid i) = p(j) \text{ otherwise,}

    where :math:`p(j)` is the popularity distribution (share of training playlists
    holding ``j``) and ``n`` the catalogue size: unseen contexts back off to popularity.

    **Higher order** (``order=2, 3``): Jelinek-Mercer interpolation with a fixed weight
    :math:`\mu` (``higher_order_weight``) that drops to 0 when the longer context
    :math:`h_k = (t_{-k}, \dots, t_{-1})` was never seen (back-off):

    .. math::

        M_k(j \mid h_k) = \mu\,[c(h_k) > 0]\,\frac{c(h_k, j)}{c(h_k)}
        + (1 - \mu\,[c(h_k) > 0])\, M_{k-1}(j \mid h_{k-1}).

    **Score.** :math:`P(j \mid h) = (1 - \lambda) M_{\text{order}}(j \mid h) + \lambda p(j)`
    with :math:`\lambda` = ``popularity_weight``, so popular tracks fill the list after
    the observed successors and every catalogue track has a score.

    **Mixture of edge sets** (``mixture=True``; McFee & Lanckriet 2011): the next track
    is drawn from a mixture of random walks on edge sets,

    .. math::

        P(j \mid h) = \mu_u \tfrac{1}{n} + \mu_p\, p(j) + \mu_a A(j \mid t_{-1})
        + \mu_m M_{\text{order}}(j \mid h),

    with ``A`` uniform over the other tracks of the same artist (popularity where the
    artist is unknown or has one track). The weights :math:`\mu \ge 0, \sum \mu = 1`
    maximise the likelihood of held-out transitions (EM on a seeded
    ``validation_fraction`` of the training playlists, at most
    :data:`MAX_EM_TRANSITIONS` of their transitions); the counts are then refitted on
    all training playlists. ``popularity_weight`` is ignored.

    Parameters
    ----------
    order : int
        Longest context used, 1 to 3 (default 1).
    alpha : float
        Additive smoothing of the first-order counts (default 0: maximum likelihood;
        ``alpha > 0`` matters for probabilities, e.g. likelihoods, and shrinks observed
        transitions toward the popularity fill).
    popularity_weight : float
        :math:`\lambda \in [0, 1]`, weight of the popularity distribution (default 0.01).
    higher_order_weight : float
        :math:`\mu \in [0, 1]`, Jelinek-Mercer weight of each seen longer context
        (default 0.5; unused when ``order == 1``).
    mixture : bool
        Learn McFee & Lanckriet mixture weights instead of using ``popularity_weight``
        (default False).
    edge_sets : tuple of str
        Edge sets of the mixture, a subset of ``("uniform", "popularity", "artist",
        "markov")`` (default all four; ``artist`` is dropped when the corpus has no
        artists).
    validation_fraction : float
        Share of training playlists held out to learn the mixture weights (default 0.1).
    em_iterations : int
        Maximum EM iterations (default 200; stops earlier when the held-out
        log-likelihood improves by less than 1e-7 per transition).
    seed : int
        Seed of the validation split (default 0).

    Attributes
    ----------
    counts_ : list of csr_array
        Per order, context x track transition counts (see :func:`transition_counts`).
    weights_ : dict
        Edge set -> mixture weight used for scoring (fixed
        ``{popularity: lambda, markov: 1 - lambda}`` unless ``mixture``).
    validation_log_likelihood_ : float
        Mean held-out log-likelihood per transition under the learned mixture (only
        with ``mixture=True``).

    Notes
    -----
    Fit is :math:`O(N \log N)` for ``N`` playlist entries (one sparse count matrix per
    order); memory is one float32 + int32 per distinct transition. Scoring a query costs
    :math:`O(\mathrm{nnz}(\text{row}) + k)` (see :class:`SparsePriorRecommender`).

    References
    ----------
    .. [1] B. McFee and G. R. G. Lanckriet. "The natural language of playlists".
       In Proc. ISMIR 2011, pp. 537-542.
    .. [2] F. Jelinek and R. L. Mercer. "Interpolated estimation of Markov source
       parameters from sparse data". Pattern Recognition in Practice, 1980.
    .. [3] G. Bonnin and D. Jannach. "Automated generation of music playlists: survey
       and experiments". ACM Computing Surveys 47(2), 2014.

    Examples
    --------
    >>> from apc.testing import cycles, queries_from
    >>> pl = cycles()
    >>> model = MarkovChain().fit(pl)
    >>> model.recommend(queries_from(pl, [[3]], [[4]]), 2).items[0].tolist()[0]
    4
    """

    name = "markov"

    def __init__(
        self,
        *,
        order: int = 1,
        alpha: float = 0.0,
        popularity_weight: float = 0.01,
        higher_order_weight: float = 0.5,
        mixture: bool = False,
        edge_sets: tuple[str, ...] = EDGE_SETS,
        validation_fraction: float = 0.1,
        em_iterations: int = 200,
        seed: int = 0,
    ) -> None:
        self.order = order
        self.alpha = alpha
        self.popularity_weight = popularity_weight
        self.higher_order_weight = higher_order_weight
        self.mixture = mixture
        self.edge_sets = edge_sets
        self.validation_fraction = validation_fraction
        self.em_iterations = em_iterations
        self.seed = seed

    # ------------------------------------------------------------------ validation
    def _validate(self, train: Playlists) -> None:
        if (
            isinstance(self.order, bool)
            or not isinstance(self.order, (int, np.integer))
            or not 1 <= self.order <= 3
        ):
            raise ApcInputError(f"order must be 1, 2 or 3, got {self.order!r}", field="order")
        _check_real(self.alpha, "alpha", low=0.0)
        _check_real(self.popularity_weight, "popularity_weight", low=0.0, high=1.0)
        _check_real(self.higher_order_weight, "higher_order_weight", low=0.0, high=1.0)
        if not isinstance(self.mixture, (bool, np.bool_)):
            raise ApcInputError(
                f"mixture must be True or False, got {self.mixture!r}", field="mixture"
            )
        if self.mixture:
            sets = (self.edge_sets,) if isinstance(self.edge_sets, str) else tuple(self.edge_sets)
            bad = [e for e in sets if e not in EDGE_SETS]
            if bad or not sets:
                raise ApcInputError(
                    f"edge_sets must be a non-empty subset of {EDGE_SETS}, got {self.edge_sets!r}",
                    field="edge_sets",
                )
            _check_real(
                self.validation_fraction, "validation_fraction", low=0.0, high=1.0, open_=True
            )
            if not isinstance(self.em_iterations, (int, np.integer)) or self.em_iterations < 1:
                raise ApcInputError(
                    f"em_iterations must be a positive integer, got {self.em_iterations!r}",
                    field="em_iterations",
                )
            if len(train) < 2:
                raise ApcInputError(
                    "mixture=True needs at least 2 training playlists", field="mixture"
                )

    # ------------------------------------------------------------------ fitting
    def _last_track_only(self) -> bool:
        return int(self.order) == 1 and not self.mixture

    def _fit(self, train: Playlists, features) -> None:
        if not self.mixture:
            self._fit_counts(train)
            lam = float(self.popularity_weight)
            self.weights_ = {"popularity": lam, "markov": 1.0 - lam}
            self._index_rows()
            return
        sets = (self.edge_sets,) if isinstance(self.edge_sets, str) else tuple(self.edge_sets)
        if (train.track_artists < 0).all():
            sets = tuple(e for e in sets if e != "artist") or ("uniform",)
        sets = tuple(e for e in EDGE_SETS if e in sets)
        rng = np.random.default_rng(self.seed)
        perm = rng.permutation(len(train))
        n_val = max(1, int(round(self.validation_fraction * len(train))))
        n_val = min(n_val, len(train) - 1)
        val, fit_part = train.subset(np.sort(perm[:n_val])), train.subset(np.sort(perm[n_val:]))
        self._fit_counts(fit_part)
        q = _transition_queries(val, self.order, rng)
        if len(q) == 0:  # held-out playlists without transitions: no evidence, equal weights
            self.weights_ = {e: 1.0 / len(sets) for e in sets}
            self.validation_log_likelihood_ = float("nan")
        else:
            f = self._component_likelihoods(q, sets)
            weights, ll = _em_weights(f, int(self.em_iterations))
            self.weights_ = dict(zip(sets, weights.tolist(), strict=True))
            self.validation_log_likelihood_ = ll
        self._fit_counts(train)
        self._index_rows()  # mixtures depend on more than the last track: no row index

    def _fit_counts(self, train: Playlists) -> None:
        self.n_tracks_ = train.n_tracks  # needed by the scorers during EM, before fit() sets it
        pop = train.item_popularity().astype(np.float64)
        total = pop.sum()
        prior = pop / total if total > 0 else np.full(train.n_tracks, 1.0 / max(1, train.n_tracks))
        self._set_prior(prior)
        self.keys_, self.counts_, self.totals_ = transition_counts(train, int(self.order))
        art = train.track_artists
        self.track_artist_ = art
        known = art >= 0
        n_art = max(train.n_artists, int(art.max()) + 1 if known.any() else 0)
        self.artist_tracks_ = sp.csr_array(
            (
                np.ones(int(known.sum()), np.float32),
                (art[known], np.flatnonzero(known)),
            ),
            shape=(n_art, train.n_tracks),
            dtype=np.float32,
        )
        self.artist_size_ = np.diff(self.artist_tracks_.indptr).astype(np.int64)

    def _component_likelihoods(self, q: Queries, sets: tuple[str, ...]) -> np.ndarray:
        """float64 (T, E): probability of each held-out target under each edge set."""
        out = np.empty((len(q), len(sets)), dtype=np.float64)
        step = 20_000
        for start in range(0, len(q), step):
            rows = np.arange(start, min(len(q), start + step))
            block = q.subset(rows)
            target = block.targets
            for e, name in enumerate(sets):
                s, w, c = self._component(block, name)
                out[rows, e] = (
                    csr_lookup(_canonical(s), np.arange(len(rows)), target)
                    + w.astype(np.float64) * self.prior_[target]
                    + c
                )
        return out

    # ------------------------------------------------------------------ scoring
    def _context_ids(self, queries: Queries, level: int) -> np.ndarray:
        """int64 (B,): row of ``counts_[level - 1]`` for each query's context; -1 if unseen."""
        lengths = queries.seed_lengths
        end = queries.seeds_indptr[1:]
        ok = lengths >= level
        ids = np.full(len(queries), -1, dtype=np.int64)
        if not ok.any():
            return ids
        e = end[ok]
        s = queries.seeds
        n = self.n_tracks_
        if level == 1:
            ids[ok] = s[e - 1]
            return ids
        key = s[e - 2].astype(np.int64) * n + s[e - 1]
        if level == 3:
            a = s[e - 3].astype(np.int64) * n + s[e - 2]
            id2 = _find(self.keys_[1], a)
            key = np.where(id2 >= 0, id2 * n + s[e - 1], -1)
        found = _find(self.keys_[level - 1], key)
        ids[ok] = found
        return ids

    def _markov_parts(self, queries: Queries):
        """Return the back-off chain ``M_order`` as ``(S, w, c)`` over the prior."""
        b, n = len(queries), self.n_tracks_
        alpha = float(self.alpha)
        ids = self._context_ids(queries, 1)
        tot = np.where(ids >= 0, self.totals_[0][np.maximum(ids, 0)], 0.0)
        seen = tot > 0
        denom = tot + alpha * n
        rows = np.flatnonzero(seen)
        s = row_selector(rows, ids[seen], 1.0 / denom[seen], (b, n)) @ self.counts_[0]
        w = np.where(seen, 0.0, 1.0)
        c = np.where(seen, alpha / np.where(seen, denom, 1.0), 0.0)
        mu = float(self.higher_order_weight)
        for level in range(2, int(self.order) + 1):
            ids = self._context_ids(queries, level)
            has = ids >= 0
            factor = np.where(has, 1.0 - mu, 1.0)
            rows = np.flatnonzero(has)
            sel = row_selector(
                rows,
                ids[has],
                mu / self.totals_[level - 1][ids[has]],
                (b, len(self.keys_[level - 1])),
            )
            s = sp.diags_array(factor.astype(np.float32)) @ s + sel @ self.counts_[level - 1]
            w, c = w * factor, c * factor
        return s, w, c

    def _artist_parts(self, queries: Queries):
        """Uniform walk to the other tracks of the last seed track's artist."""
        b, n = len(queries), self.n_tracks_
        last = queries.last_seed()
        art = np.where(last >= 0, self.track_artist_[np.maximum(last, 0)], -1)
        size = np.where(art >= 0, self.artist_size_[np.maximum(art, 0)], 0)
        active = size >= 2
        rows = np.flatnonzero(active)
        val = 1.0 / (size[active] - 1)
        s = (
            row_selector(rows, art[active], val, (b, self.artist_tracks_.shape[0]))
            @ self.artist_tracks_
        )
        s = s - row_selector(rows, last[active], val, (b, n))  # no self-loop
        s = sp.csr_array(s)
        s.eliminate_zeros()
        return s, np.where(active, 0.0, 1.0), np.zeros(b)

    def _component(self, queries: Queries, name: str):
        b, n = len(queries), self.n_tracks_
        if name == "uniform":
            return sp.csr_array((b, n), dtype=np.float32), np.zeros(b), np.full(b, 1.0 / n)
        if name == "popularity":
            return sp.csr_array((b, n), dtype=np.float32), np.ones(b), np.zeros(b)
        if name == "artist":
            return self._artist_parts(queries)
        return self._markov_parts(queries)

    def _sparse_parts(self, queries: Queries):
        b, n = len(queries), self.n_tracks_
        s = sp.csr_array((b, n), dtype=np.float32)
        w = np.zeros(b)
        c = np.zeros(b)
        for name, weight in self.weights_.items():
            if weight <= 0:
                continue
            s_e, w_e, c_e = self._component(queries, name)
            s = s + np.float32(weight) * s_e
            w = w + weight * w_e
            c = c + weight * c_e
        return sp.csr_array(s, dtype=np.float32), w.astype(np.float32), c.astype(np.float32)


def _find(keys: np.ndarray, want: np.ndarray) -> np.ndarray:
    """Index of each ``want`` in sorted ``keys``; -1 where absent (or ``want < 0``)."""
    if len(keys) == 0:
        return np.full(len(want), -1, dtype=np.int64)
    pos = np.minimum(np.searchsorted(keys, want), len(keys) - 1)
    return np.where((keys[pos] == want) & (want >= 0), pos, -1).astype(np.int64)


def _transition_queries(val: Playlists, order: int, rng: np.random.Generator) -> Queries:
    """Every transition of ``val`` as a query: seed = up to ``order`` previous tracks."""
    mask = entry_mask(val.indptr, val.n_entries, 1)
    g = np.flatnonzero(mask)
    if len(g) > MAX_EM_TRANSITIONS:
        g = np.sort(rng.choice(g, MAX_EM_TRANSITIONS, replace=False))
    pos = g - np.repeat(val.indptr[:-1], val.lengths)[g]
    lengths = np.minimum(pos, order)
    indptr = np.zeros(len(g) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    offs = np.arange(indptr[-1], dtype=np.int64) - np.repeat(indptr[:-1], lengths)
    seeds = val.items[np.repeat(g - lengths, lengths) + offs]
    return Queries(indptr, seeds, np.arange(len(g) + 1, dtype=np.int64), val.items[g], val.n_tracks)


def _em_weights(f: np.ndarray, iterations: int, tol: float = 1e-7) -> tuple[np.ndarray, float]:
    """Maximum-likelihood mixture weights for fixed component likelihoods ``f`` (T, E).

    EM for mixture proportions (Dempster, Laird & Rubin 1977): the log-likelihood is
    concave in the weights, so EM converges to the global maximum.
    """
    t, e = f.shape
    mu = np.full(e, 1.0 / e)
    ll_old = -np.inf
    ll = -np.inf
    for _ in range(iterations):
        mix = f @ mu
        mix = np.maximum(mix, 1e-300)
        ll = float(np.log(mix).mean())
        mu = (f * mu / mix[:, None]).mean(axis=0)
        mu = mu / mu.sum()
        if ll - ll_old < tol:
            break
        ll_old = ll
    mix = np.maximum(f @ mu, 1e-300)
    return mu, float(np.log(mix).mean())


def _check_real(value, field: str, *, low=None, high=None, open_: bool = False) -> None:
    """Raise ApcInputError unless ``value`` is a finite real in the given range."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    ok = ok and math.isfinite(float(value))
    if ok and low is not None:
        ok = value > low if open_ else value >= low
    if ok and high is not None:
        ok = value < high if open_ else value <= high
    if not ok:
        if high is None:
            want = f"{'>' if open_ else '>='} {low}"
        else:
            want = f"in {'(' if open_ else '['}{low}, {high}{')' if open_ else ']'}"
        raise ApcInputError(f"{field} must be a real number {want}, got {value!r}", field=field)
