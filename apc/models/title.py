"""Title model: playlist names -> tracks, for MPD "title only" queries and as a fallback.

Training playlist names are normalised (lower case, accents and punctuation removed)
and split into tokens; the whole normalised name is one more token, so an exact name
match counts most. A query title is matched to training playlists by TF-IDF cosine
and each track scores the summed similarity of the playlists holding it (a title
k-NN, as in several RecSys Challenge 2018 solutions, e.g. Zamani et al. 2019). A small
popularity prior breaks ties and answers queries without a usable title.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import scipy.sparse as sp

from apc.data.playlists import Playlists
from apc.data.queries import Queries
from apc.models.base import ScoringRecommender, check_is_fitted

_NON_WORD = re.compile(r"[^a-z0-9 ]+")


def normalize_name(name: object) -> str:
    """Lower-case, strip accents, emoji and punctuation, collapse spaces.

    Examples
    --------
    >>> normalize_name("  Chill Vibes!! 🌴 ")
    'chill vibes'
    """
    if not isinstance(name, str):
        return ""
    s = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return " ".join(_NON_WORD.sub(" ", s).split())


def _tokens(name: str) -> list[str]:
    norm = normalize_name(name)
    if not norm:
        return []
    return norm.split() + ["=" + norm]


class TitleModel(ScoringRecommender):
    r"""Title k-NN: score(t) = sum over training playlists p of cos(title, name_p) * [t in p].

    A name's tokens are its normalised words (:func:`normalize_name`) plus the whole
    normalised name as one more token, weighted by the smoothed inverse document
    frequency :math:`\mathrm{idf}(w) = \log\frac{1 + P}{1 + \mathrm{df}(w)} + 1` over
    the ``P`` training playlist names, and L2-normalised. With :math:`v_q` and
    :math:`v_p` the TF-IDF vectors of the query title and of playlist ``p``'s name,

    .. math::

        s_q(t) = \sum_{p \ni t} v_q^\top v_p, \qquad
        \mathrm{score}(q, t) = \frac{s_q(t)}{\max_{t'} s_q(t')}
        + \lambda \frac{\mathrm{pop}(t)}{\max_{t'} \mathrm{pop}(t')}

    (the first term is 0 when no title token is known), with :math:`\lambda` =
    ``popularity_weight`` and ``pop`` the number of training playlists holding the
    track. It answers the MPD "title only" queries, alone or as the empty-seed answer
    of :class:`~apc.models.fallback.TitleFallback`.

    Parameters
    ----------
    popularity_weight : float
        Weight of the popularity prior (track popularity / max popularity) added to the
        row-normalised title scores; small, so it only breaks ties (default 1e-3).

    References
    ----------
    H. Zamani, M. Schedl, P. Lamere and C.-W. Chen. An analysis of approaches taken in
    the ACM RecSys Challenge 2018 for automatic music playlist continuation. ACM
    Transactions on Intelligent Systems and Technology 10(5), 2019.

    Examples
    --------
    >>> from apc.testing import checkerboard, queries_from
    >>> pl = checkerboard()
    >>> q = queries_from(pl, [[]], [[0]], titles=np.array(["Rock!"], dtype=object))
    >>> sorted(set(TitleModel().fit(pl).recommend(q, 6).items[0].tolist()))
    [0, 1, 2, 3, 4, 5]
    """

    name = "title"
    empty_seed_fallback = False

    def __init__(self, *, popularity_weight: float = 1e-3) -> None:
        self.popularity_weight = popularity_weight

    def _fit(self, train: Playlists, features) -> None:
        pop = train.item_popularity().astype(np.float32)
        self.prior_ = self.popularity_weight * pop / max(1.0, float(pop.max()))
        names = train.meta["name"].to_numpy() if "name" in train.meta.columns else None
        self.vocab_: dict[str, int] = {}
        if names is None:
            self.title_tracks_ = None
            return
        rows, cols = [], []
        for p, name in enumerate(names):
            for tok in _tokens(name):
                rows.append(p)
                cols.append(self.vocab_.setdefault(tok, len(self.vocab_)))
        if not self.vocab_:
            self.title_tracks_ = None
            return
        names_x = sp.csr_array(
            (np.ones(len(rows), np.float32), (rows, cols)), shape=(len(train), len(self.vocab_))
        )
        names_x.sum_duplicates()
        df = np.bincount(names_x.indices, minlength=len(self.vocab_))
        self.idf_ = np.log((1 + len(train)) / (1 + df)).astype(np.float32) + 1.0
        names_x = names_x @ sp.diags_array(self.idf_)
        norms = np.sqrt(np.asarray(names_x.multiply(names_x).sum(axis=1))).ravel()
        names_x = sp.diags_array(1.0 / np.maximum(norms, 1e-12)) @ names_x
        # token x track: how strongly each title token points at each track
        self.title_tracks_ = sp.csr_array(names_x.T @ train.to_csr()).astype(np.float32)
        self.title_tracks_.sort_indices()

    def _query_matrix(self, titles) -> sp.csr_array:
        rows, cols = [], []
        for q, title in enumerate(titles):
            for tok in _tokens(title):
                j = self.vocab_.get(tok)
                if j is not None:
                    rows.append(q)
                    cols.append(j)
        m = sp.csr_array(
            (np.ones(len(rows), np.float32), (rows, cols)), shape=(len(titles), len(self.vocab_))
        )
        m.sum_duplicates()
        m = m @ sp.diags_array(self.idf_)
        norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1))).ravel()
        return sp.diags_array(1.0 / np.maximum(norms, 1e-12)) @ m

    def title_similarity_at(self, titles, rows: np.ndarray, tracks: np.ndarray) -> np.ndarray:
        r"""Return :math:`s_q(t)`, the first term before row normalisation, at given pairs.

        For re-rankers that need the title match of a few hundred candidates per query:
        nothing of size ``queries x catalogue`` is built (each pair reads the query's
        title tokens' rows of the token-track matrix).

        Parameters
        ----------
        titles : sequence of str or None
            The queries' titles (``B``).
        rows : np.ndarray
            int (N,): query of each pair, indexing ``titles``.
        tracks : np.ndarray
            int (N,): track of each pair.

        Returns
        -------
        np.ndarray
            float32 (N,): summed TF-IDF cosine of the query title with the names of the
            training playlists holding the track; 0 without a known title token.
        """
        from apc.models._sparse_prior import csr_lookup
        from apc.models._topk import expand_ranges

        check_is_fitted(self)
        rows = np.asarray(rows, dtype=np.int64)
        if self.title_tracks_ is None or len(rows) == 0:
            return np.zeros(len(rows), dtype=np.float32)
        qm = self._query_matrix(titles)
        per = np.diff(qm.indptr)[rows]  # known title tokens of each pair's query
        at = expand_ranges(qm.indptr[rows].astype(np.int64), per)
        got = csr_lookup(self.title_tracks_, qm.indices[at],
                         np.repeat(np.asarray(tracks), per)) * qm.data[at]
        pair = np.repeat(np.arange(len(rows)), per)
        return np.bincount(pair, weights=got, minlength=len(rows)).astype(np.float32)

    def _score(self, queries: Queries) -> np.ndarray:
        out = np.broadcast_to(self.prior_, (len(queries), len(self.prior_))).copy()
        if self.title_tracks_ is None or queries.titles is None or len(queries) == 0:
            return out
        s = (self._query_matrix(queries.titles) @ self.title_tracks_).toarray()
        row_max = s.max(axis=1, keepdims=True)
        out += s / np.where(row_max > 0, row_max, 1.0)
        return out
