r"""Feature Markov chain: McFee & Lanckriet's mixture of feature-defined edge sets.

McFee & Lanckriet (2011) treat playlists as sentences of a language and model the next
song as one step of a random walk whose edges are drawn from a weighted mixture of
edge sets. Each edge set joins songs that share a feature value (the same artist, a
tag, an audio-timbre cluster, a familiarity bin, an era); the mixture weights are the
only learned parameters and maximise the likelihood of the training transitions, a
convex problem solved here by EM over the simplex.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from apc.data.playlists import Playlists
from apc.data.queries import Queries
from apc.errors import ApcInputError
from apc.models._loglik import first_targets
from apc.models._sparse_prior import csr_lookup, entry_mask
from apc.models.base import ScoringRecommender, check_is_fitted
from apc.models.markov import _em_weights
from apc.models.params import param

#: Every edge set, in the order of ``weights_``.
EDGE_SETS = ("uniform", "popularity", "artist", "tags", "audio", "era", "transitions")
#: The feature-only edge sets used by default (``transitions`` adds the bigram counts).
FEATURE_SETS = ("uniform", "popularity", "artist", "tags", "audio", "era")
#: Numeric track columns used as audio descriptors when no ``features`` are given.
AUDIO_COLUMNS = ("tempo_bpm", "pitch_hz", "brightness", "percussiveness", "timbre")


@dataclass(frozen=True)
class FeatureMarkovConfig:
    """Hyper-parameters of :class:`FeatureMarkov`."""

    edge_sets: tuple[str, ...] | str = param(
        FEATURE_SETS, choices=EDGE_SETS, doc="Edge sets of the mixture; those the corpus "
        "cannot define (no artists, tags, audio or years) are dropped and listed in "
        "dropped_edge_sets_.",
    )
    popularity_bins: int = param(
        10, ge=1, doc="Familiarity bins: equal-mass quantile bins of training popularity."
    )
    audio_clusters: int = param(
        16, ge=2, doc="k of the k-means clustering of the standardised audio descriptors."
    )
    kmeans_iterations: int = param(25, ge=1, doc="Lloyd iterations of that k-means.")
    tag_column: str = param(
        "tags", doc="Track column with a list of tags per track (falls back to 'genre')."
    )
    em_iterations: int = param(
        500, ge=1, doc="Maximum EM iterations (stops when the mean log-likelihood per "
        "transition improves by less than 1e-7).",
    )
    max_transitions: int = param(
        500_000, ge=1, doc="Transitions used to learn the weights (a seeded sample when more)."
    )
    validation_fraction: float = param(
        0.1, gt=0, lt=1, doc="Share of playlists held out to learn the weights when the "
        "'transitions' edge set is used (its counts would otherwise explain themselves).",
    )
    seed: int = param(0, ge=0, doc="Seed of k-means, the transition sample and the split.")

    def check(self) -> None:
        """Check that at least one edge set is chosen."""
        if not self.edge_sets:
            raise ApcInputError(f"expected a non-empty subset of {EDGE_SETS}, got ()",
                                field="edge_sets")


class FeatureMarkov(ScoringRecommender):
    r"""Markov chain over tracks whose transitions are a learned mixture of edge sets.

    An edge set :math:`E` groups the tracks by one feature (McFee & Lanckriet 2011,
    Section 3): a track :math:`i` belongs to the groups :math:`G_E(i)` (its artist, each
    of its tags, its audio cluster, its familiarity bin, its decade). A step from
    :math:`i` picks one of its groups uniformly and then a track of that group uniformly,

    .. math::

        P_E(j \mid i) = \frac{1}{|G_E(i)|} \sum_{g \in G_E(i)} \frac{[j \in g]}{|g|},

    which for a partition is the uniform walk inside :math:`i`'s cluster. A track with no
    group in :math:`E` (unknown artist, no tags, a group of one) steps uniformly over the
    catalogue, so every :math:`P_E(\cdot \mid i)` is a distribution. The ``uniform`` set
    is :math:`1/n`; ``transitions`` (off by default) is the first-order bigram estimate
    :math:`c(i, j) / c(i)`. The model (their Eq. 2) is

    .. math::

        P(x_{t+1} = j \mid x_t = i) = \sum_E \mu_E\, P_E(j \mid i), \qquad
        \mu \ge 0,\ \textstyle\sum_E \mu_E = 1,

    and :math:`\mu` maximises :math:`\frac{1}{T}\sum_t \log P(x_{t+1} \mid x_t)` over
    the training transitions (their Eq. 3, concave in :math:`\mu`): EM for mixture
    proportions reaches the global maximum, and weights of unhelpful sets go to ~0.
    With ``transitions`` the weights are learned on a seeded ``validation_fraction`` of
    the playlists with counts from the others, then the counts are refitted on all.

    Queries are scored by their last seed track; an empty seed gets the training
    popularity distribution. The likelihood needs no extra smoothing as long as
    ``uniform`` is in the mixture (every track then has probability at least
    :math:`\mu_{\text{uniform}}/n`).

    Parameters
    ----------
    **params
        Fields of :class:`FeatureMarkovConfig` as keywords.

    Attributes
    ----------
    weights_ : dict
        Edge set -> learned weight :math:`\mu_E`.
    dropped_edge_sets_ : tuple of str
        Requested edge sets that the corpus could not define.
    train_log_likelihood_ : float
        Mean log-likelihood per transition at the learned weights (held-out transitions
        when ``transitions`` is used).
    n_groups_ : dict
        Edge set -> number of groups.

    Notes
    -----
    Fit is :math:`O(N + n\,k\,I)` (one sparse membership matrix per set, k-means with
    ``k`` clusters for ``I`` iterations) plus :math:`O(T\,E)` per EM iteration; memory is
    one sparse ``n x groups`` matrix per set. Scoring is dense, :math:`O(B\,n\,E)` per
    block of ``B`` queries.

    References
    ----------
    .. [1] B. McFee and G. R. G. Lanckriet. "The natural language of playlists".
       In Proc. ISMIR 2011, pp. 537-542.
    .. [2] A. P. Dempster, N. M. Laird and D. B. Rubin. "Maximum likelihood from
       incomplete data via the EM algorithm". JRSS B 39(1), 1977.

    Examples
    --------
    >>> from apc.testing import checkerboard, queries_from
    >>> pl = checkerboard()
    >>> model = FeatureMarkov(edge_sets=("uniform", "artist")).fit(pl)
    >>> model.weights_["artist"] > 0.9
    True
    """

    name = "feature-markov"
    config_class = FeatureMarkovConfig

    def _sets(self) -> tuple[str, ...]:
        sets = (self.edge_sets,) if isinstance(self.edge_sets, str) else tuple(self.edge_sets)
        return tuple(e for e in EDGE_SETS if e in sets)

    # ------------------------------------------------------------------ fitting
    def _fit(self, train: Playlists, features) -> None:
        n = train.n_tracks
        rng = np.random.default_rng(self.seed)
        pop = train.item_popularity().astype(np.float64)
        self.popularity_ = pop / pop.sum() if pop.sum() > 0 else np.full(n, 1.0 / n)
        wanted = self._sets()
        use_counts = "transitions" in wanted
        if use_counts and len(train) < 2:
            raise ApcInputError("the 'transitions' edge set needs at least 2 training "
                                "playlists", field="edge_sets")
        groups: dict[str, sp.csr_array] = {}
        for name in wanted:
            if name in ("uniform", "transitions"):
                continue
            m = self._membership(name, train, features, rng)
            if m is not None:
                groups[name] = m
        self.dropped_edge_sets_ = tuple(
            e for e in wanted if e not in groups and e not in ("uniform", "transitions"))
        self.sets_ = tuple(e for e in wanted if e in groups or e in ("uniform", "transitions"))
        self.n_groups_ = {e: int(m.shape[1]) for e, m in groups.items()}
        self.from_, self.to_ = {}, {}
        for name, m in groups.items():
            self.from_[name], self.to_[name] = _walk(m)
        if use_counts:
            perm = rng.permutation(len(train))
            n_val = min(len(train) - 1, max(1, int(round(self.validation_fraction * len(train)))))
            self._fit_transitions(train.subset(np.sort(perm[n_val:])))
            cur, nxt = _pairs(train.subset(np.sort(perm[:n_val])))
        else:
            cur, nxt = _pairs(train)
        if len(cur) > self.max_transitions:
            pick = np.sort(rng.choice(len(cur), int(self.max_transitions), replace=False))
            cur, nxt = cur[pick], nxt[pick]
        self.n_tracks_ = n
        if len(cur) == 0:
            self.weights_ = {e: 1.0 / len(self.sets_) for e in self.sets_}
            self.train_log_likelihood_ = float("nan")
        else:
            f = np.column_stack([self._pair_proba(e, cur, nxt) for e in self.sets_])
            mu, ll = _em_weights(f, int(self.em_iterations))
            self.weights_ = dict(zip(self.sets_, mu.tolist(), strict=True))
            self.train_log_likelihood_ = ll
        if use_counts:
            self._fit_transitions(train)

    def _fit_transitions(self, train: Playlists) -> None:
        cur, nxt = _pairs(train)
        n = train.n_tracks
        c = sp.csr_array((np.ones(len(cur)), (cur, nxt)), shape=(n, n), dtype=np.float64)
        c.sum_duplicates()
        tot = np.asarray(c.sum(axis=1)).ravel()
        self.from_["transitions"] = sp.csr_array(
            sp.diags_array(np.where(tot > 0, 1.0 / np.maximum(tot, 1), 0.0)) @ c)
        self.to_["transitions"] = None

    def _membership(self, name: str, train: Playlists, features, rng) -> sp.csr_array | None:
        """bool-like (n, groups) membership of edge set ``name``; None if undefined."""
        n = train.n_tracks
        tracks = train.tracks
        if name == "popularity":
            counts = train.item_popularity().astype(np.float64)
            bins = min(int(self.popularity_bins), n)
            order = np.argsort(counts, kind="stable")
            label = np.empty(n, np.int64)
            label[order] = np.arange(n) * bins // n  # equal-size quantile bins by rank
            return _partition(label, bins)
        if name == "artist":
            art = train.track_artists
            if (art < 0).all():
                return None
            return _partition(art, int(art.max()) + 1)
        if name == "era":
            if "release_year" not in tracks:
                return None
            year = pd.to_numeric(tracks["release_year"], errors="coerce").to_numpy(float)
            ok = np.isfinite(year) & (year > 0)
            if not ok.any():
                return None
            dec = np.where(ok, np.floor(np.where(ok, year, 0) / 10).astype(np.int64), -1)
            uniq, lab = np.unique(dec[ok], return_inverse=True)
            label = np.full(n, -1, np.int64)
            label[ok] = lab
            return _partition(label, len(uniq))
        if name == "tags":
            return _tag_membership(tracks, self.tag_column)
        x, ok = _audio_matrix(tracks, features)
        if x is None or ok.sum() < 2:
            return None
        label = np.full(n, -1, np.int64)
        label[ok] = kmeans(x[ok], int(self.audio_clusters), int(self.kmeans_iterations), rng)
        return _partition(label, int(label.max()) + 1)

    # ------------------------------------------------------------------ probabilities
    def _pair_proba(self, name: str, cur: np.ndarray, nxt: np.ndarray) -> np.ndarray:
        """float64 (T,): ``P_E(nxt | cur)`` of edge set ``name``."""
        n = self.n_tracks_
        if name == "uniform":
            return np.full(len(cur), 1.0 / n)
        f, t = self.from_[name], self.to_[name]
        fc = sp.csr_array(f[cur])
        fc.sum_duplicates()  # canonical: sorted indices, as csr_lookup needs
        has = np.diff(fc.indptr) > 0
        if t is None:
            val = csr_lookup(fc, np.arange(len(cur)), nxt)
        else:
            val = np.asarray(fc.multiply(t[nxt]).sum(axis=1), dtype=np.float64).ravel()
        return np.where(has, val, 1.0 / n)

    def _component_block(self, name: str, last: np.ndarray) -> np.ndarray:
        """float64 (B, n): ``P_E(. | last)`` for each query's last seed track."""
        n = self.n_tracks_
        if name == "uniform":
            return np.full((len(last), n), 1.0 / n)
        f, t = self.from_[name], self.to_[name]
        fc = f[last]
        block = (fc if t is None else fc @ t.T).toarray()
        block[np.diff(fc.indptr) == 0] = 1.0 / n
        return block

    def _score(self, queries: Queries) -> np.ndarray:
        last = queries.last_seed()
        known = last >= 0
        out = np.empty((len(queries), self.n_tracks_), np.float64)
        out[~known] = self.popularity_
        if known.any():
            lk = last[known]
            acc = np.zeros((len(lk), self.n_tracks_))
            for name, w in self.weights_.items():
                if w > 0:
                    acc += w * self._component_block(name, lk)
            out[known] = acc
        return out.astype(np.float32)

    def next_track_log_proba(self, queries: Queries) -> np.ndarray:
        """Return ``log P(first target | last seed track)`` for each query.

        Parameters
        ----------
        queries : Queries
            Queries with at least one target each.

        Returns
        -------
        np.ndarray
            float64 ``(Q,)``; an empty seed is scored by the popularity distribution.
        """
        check_is_fitted(self)
        nxt = first_targets(queries)
        last = queries.last_seed()
        known = last >= 0
        p = self.popularity_[nxt].copy()
        if known.any():
            cur, tgt = last[known].astype(np.int64), nxt[known]
            p[known] = sum(w * self._pair_proba(e, cur, tgt)
                           for e, w in self.weights_.items() if w > 0)
        with np.errstate(divide="ignore"):
            return np.log(p)


# ---------------------------------------------------------------------------- helpers
def _pairs(train: Playlists) -> tuple[np.ndarray, np.ndarray]:
    mask = entry_mask(train.indptr, train.n_entries, 1)[1:]
    return train.items[:-1][mask].astype(np.int64), train.items[1:][mask].astype(np.int64)


def _partition(label: np.ndarray, n_groups: int) -> sp.csr_array:
    """(n, n_groups) membership of a labelling (``-1``: no group)."""
    ok = label >= 0
    return sp.csr_array(
        (np.ones(int(ok.sum())), (np.flatnonzero(ok), label[ok])),
        shape=(len(label), max(1, n_groups)), dtype=np.float64)


def _walk(m: sp.csr_array) -> tuple[sp.csr_array, sp.csr_array]:
    """``(F, T)`` with ``P(j | i) = F[i] . T[j]``; groups of fewer than 2 tracks dropped."""
    m = sp.csr_array(m, dtype=np.float64)
    m.data[:] = 1.0
    m.sum_duplicates()
    size = np.asarray(m.sum(axis=0)).ravel()
    keep = sp.diags_array((size >= 2).astype(np.float64))
    m = sp.csr_array(m @ keep)
    m.eliminate_zeros()
    per_track = np.diff(m.indptr).astype(np.float64)
    f = sp.csr_array(sp.diags_array(1.0 / np.maximum(per_track, 1)) @ m)
    t = sp.csr_array(m @ sp.diags_array(1.0 / np.maximum(size, 1)))
    return f, t


def _tag_membership(tracks: pd.DataFrame, column: str) -> sp.csr_array | None:
    col = column if column in tracks else ("genre" if "genre" in tracks else None)
    if col is None:
        return None
    values = tracks[col].tolist()
    rows, tags = [], []
    for i, v in enumerate(values):
        if isinstance(v, str):
            v = [v] if v else []
        elif v is None or (isinstance(v, float) and np.isnan(v)):
            v = []
        for tag in v:
            rows.append(i)
            tags.append(str(tag))
    if not rows:
        return None
    uniq, lab = np.unique(np.asarray(tags, dtype=object).astype(str), return_inverse=True)
    return sp.csr_array((np.ones(len(rows)), (np.asarray(rows), lab)),
                        shape=(len(values), len(uniq)), dtype=np.float64)


def _audio_matrix(tracks: pd.DataFrame, features) -> tuple[np.ndarray | None, np.ndarray]:
    """Audio descriptors: ``features`` when given, else the numeric AUDIO_COLUMNS."""
    if features is not None:
        x = np.asarray(features.matrix, dtype=np.float64)
        return x, np.asarray(features.available, bool) & np.isfinite(x).all(axis=1)
    cols = [c for c in AUDIO_COLUMNS if c in tracks]
    if not cols:
        return None, np.zeros(len(tracks), bool)
    x = tracks[cols].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
    return x, np.isfinite(x).all(axis=1)


def kmeans(x: np.ndarray, k: int, iterations: int, rng: np.random.Generator) -> np.ndarray:
    """Lloyd's k-means on standardised rows of ``x``; returns int64 labels ``0..k'-1``.

    Initialised with k-means++ (Arthur & Vassilvitskii 2007); ``k`` is capped at the
    number of distinct rows; empty clusters are dropped and labels renumbered.

    Examples
    --------
    >>> x = np.r_[np.zeros((5, 2)), np.ones((5, 2)) * 10]
    >>> lab = kmeans(x, 2, 10, np.random.default_rng(0))
    >>> len(set(lab[:5])), len(set(lab[5:])), bool(lab[0] != lab[9])
    (1, 1, True)
    """
    x = np.asarray(x, dtype=np.float64)
    sd = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    k = max(1, min(k, len(np.unique(x, axis=0))))
    centers = [x[rng.integers(len(x))]]
    d2 = ((x - centers[0]) ** 2).sum(1)
    for _ in range(1, k):
        p = d2 / d2.sum() if d2.sum() > 0 else None
        centers.append(x[rng.choice(len(x), p=p)])
        d2 = np.minimum(d2, ((x - centers[-1]) ** 2).sum(1))
    c = np.asarray(centers)
    xx = (x * x).sum(1)[:, None]
    label = np.zeros(len(x), np.int64)
    for it in range(iterations):
        dist = xx - 2 * x @ c.T + (c * c).sum(1)[None, :]
        new = dist.argmin(1)
        if it > 0 and (new == label).all():
            break
        label = new
        sums = np.zeros_like(c)
        np.add.at(sums, label, x)
        cnt = np.bincount(label, minlength=len(c))
        c = np.where(cnt[:, None] > 0, sums / np.maximum(cnt, 1)[:, None], c)
    _, label = np.unique(label, return_inverse=True)
    return label.astype(np.int64)
