r"""Markov-chain next-track models: higher orders with back-off, McFee-Lanckriet mixtures.

First-order and higher-order chains with back-off, and the McFee & Lanckriet (2011)
mixture of edge sets. They score ``S + w * prior + c`` with a sparse ``S`` (see
:class:`~apc.models._sparse_prior.SparsePriorRecommender`), so the exact top-k never
needs a dense queries x catalogue block.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from apc.data.playlists import Playlists
from apc.data.queries import Queries
from apc.errors import ApcInputError
from apc.models._sparse_prior import (  # noqa: F401  (csr_lookup: public helper, docs)
    SparsePriorRecommender,
    _canonical,
    csr_lookup,
    entry_mask,
    row_selector,
)
from apc.models.params import param

#: The edge sets of the McFee & Lanckriet mixture, in the order of ``mixture_weights_``.
EDGE_SETS = ("uniform", "popularity", "artist", "markov")

#: Upper bound on the held-out transitions used to learn the mixture weights (sampled).
MAX_EM_TRANSITIONS = 200_000


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
@dataclass(frozen=True)
class MarkovConfig:
    """Hyper-parameters of :class:`MarkovChain`."""

    order: int = param(1, ge=1, le=3, doc="Longest context used.")
    alpha: float = param(
        0.0, ge=0, doc="Additive smoothing of the first-order counts (0: maximum likelihood; "
        "> 0 matters for probabilities, e.g. likelihoods, and shrinks observed transitions "
        "toward the popularity fill).",
    )
    popularity_weight: float = param(
        0.01, ge=0, le=1, doc="lambda, weight of the popularity distribution."
    )
    higher_order_weight: float = param(
        0.5, ge=0, le=1, doc="mu, Jelinek-Mercer weight of each seen longer context "
        "(unused when order == 1).",
    )
    mixture: bool = param(
        False, doc="Learn McFee & Lanckriet mixture weights instead of using popularity_weight."
    )
    edge_sets: tuple[str, ...] | str = param(
        EDGE_SETS, choices=EDGE_SETS, doc="Edge sets of the mixture (artist is dropped when "
        "the corpus has no artists).",
    )
    validation_fraction: float = param(
        0.1, gt=0, lt=1, doc="Share of training playlists held out to learn the mixture weights."
    )
    em_iterations: int = param(
        200, ge=1, doc="Maximum EM iterations (stops earlier when the held-out "
        "log-likelihood improves by less than 1e-7 per transition).",
    )
    seed: int = param(0, ge=0, doc="Seed of the validation split.")

    def check(self) -> None:
        """Check that a mixture has at least one edge set."""
        if self.mixture and not self.edge_sets:
            raise ApcInputError(
                f"expected a non-empty subset of {EDGE_SETS}, got {self.edge_sets!r}",
                field="edge_sets",
            )


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
    **params
        Fields of :class:`MarkovConfig` as keywords (``order=2, mixture=True`` ...).

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
    config_class = MarkovConfig

    def _validate(self, train: Playlists) -> None:
        if self.mixture and len(train) < 2:
            raise ApcInputError("mixture=True needs at least 2 training playlists", field="mixture")

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

    def next_track_log_proba(self, queries: Queries) -> np.ndarray:
        r"""Return :math:`\log P(j \mid h)` of each query's first target ``j``.

        :math:`P` is the scoring distribution above, a proper distribution over the
        catalogue: smoothing is the popularity interpolation :math:`\lambda`
        (``popularity_weight``), the additive :math:`\alpha` and the back-off, or the
        learned mixture. A transition gets probability 0 (log ``-inf``) only when
        :math:`\lambda = \alpha = 0` and it was never seen.

        Parameters
        ----------
        queries : Queries
            Queries with at least one target each.

        Returns
        -------
        np.ndarray
            float64 ``(Q,)``.
        """
        from apc.models._loglik import first_targets
        from apc.models.base import check_is_fitted

        check_is_fitted(self)
        tgt = first_targets(queries)
        out = np.empty(len(queries), dtype=np.float64)
        for start in range(0, len(queries), 20_000):
            rows = np.arange(start, min(len(queries), start + 20_000))
            s, w, c = self._sparse_parts(queries.subset(rows))
            p = (csr_lookup(_canonical(s), np.arange(len(rows)), tgt[rows])
                 + w.astype(np.float64) * self.prior_[tgt[rows]] + c)
            with np.errstate(divide="ignore"):
                out[rows] = np.log(p)
        return out


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
