"""Sequential rules (SR) and association rules (AR) for next-track recommendation.

Both count pairs of tracks inside training playlists and keep, per track, its
``pruning`` strongest rules (Ludewig & Jannach 2018; Kamehkhosh, Jannach & Ludewig
2017). AR ignores order, SR only counts a track followed by another within ``steps``
positions, weighted by their distance. The counts are built with array shifts over the
CSR items (SR) or a sparse product (AR), in blocks of source tracks so that memory
stays bounded by the pruned rule set, never by all pairs at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from apc.data.playlists import Playlists
from apc.data.queries import Queries
from apc.models._sparse_prior import SparsePriorRecommender, row_selector
from apc.models._topk import _descending_bits
from apc.models.params import param

#: Weight of a pair at distance ``d`` (1 = adjacent), as in session-rec's SR.
WEIGHTINGS: dict[str, Callable[[int], float]] = {
    "div": lambda d: 1.0 / d,
    "linear": lambda d: max(0.0, 1.0 - 0.1 * d),
    "log": lambda d: 1.0 / np.log10(d + 1.7),
    "quadratic": lambda d: 1.0 / (d * d),
    "same": lambda d: 1.0,
}

#: Pairs (SR) or multiply-adds (AR) handled per block while building the rules.
BLOCK_WORK = 1 << 24


def prune_rows(m: sp.csr_array, top: int) -> sp.csr_array:
    """Keep the ``top`` largest entries of every row of canonical ``m``.

    Ties at the cut keep the lower track index. Rows with at most ``top`` entries are
    left alone, so only the heavy rows are sorted.

    Parameters
    ----------
    m : scipy.sparse.csr_array
        Canonical (sorted indices, no duplicates).
    top : int
        Entries kept per row; ``top <= 0`` returns ``m`` unchanged.

    Returns
    -------
    scipy.sparse.csr_array
        Same shape, at most ``top`` entries per row, still canonical.
    """
    nnz = np.diff(m.indptr)
    heavy = nnz > top
    if top <= 0 or not heavy.any():
        return m
    row = np.repeat(np.arange(m.shape[0]), nnz)
    in_heavy = heavy[row]
    idx = np.flatnonzero(in_heavy)
    # one stable sort of (row, descending value) packed in uint64; canonical rows list
    # their indices in ascending order, so stability breaks ties by the lower index
    vals = np.ascontiguousarray(m.data[idx], dtype=np.float32)
    if (vals >= 0).all():  # rules: the bits of non-negative floats sort like the floats
        desc = np.uint32(0xFFFFFFFF) - (vals + np.float32(0)).view(np.uint32)
    else:
        desc = _descending_bits(vals)
    key = (row[idx].astype(np.uint64) << np.uint64(32)) | desc.astype(np.uint64)
    srt = idx[np.argsort(key, kind="stable")]
    heavy_nnz = np.where(heavy, nnz, 0)
    first = np.cumsum(heavy_nnz) - heavy_nnz  # where each heavy row starts in ``srt``
    within = np.arange(len(srt)) - first[row[srt]]
    keep = np.concatenate([np.flatnonzero(~in_heavy), srt[within < top]])
    keep.sort()
    new_nnz = np.bincount(row[keep], minlength=m.shape[0])
    indptr = np.zeros(m.shape[0] + 1, dtype=np.int64)
    np.cumsum(new_nnz, out=indptr[1:])
    return sp.csr_array((m.data[keep], m.indices[keep], indptr), shape=m.shape)


def _blocks(cum_work: np.ndarray, budget: int) -> np.ndarray:
    """Row cut points ``0 = c_0 < ... < c_m = n`` so each block does about ``budget`` work.

    ``cum_work`` is int64 (n + 1,): work done before row ``i`` (cumulative).
    """
    n = len(cum_work) - 1
    targets = np.arange(1, int(cum_work[-1] // max(1, budget)) + 1, dtype=np.int64) * budget
    cuts = np.searchsorted(cum_work, targets, side="left")
    return np.unique(np.concatenate([[0], np.clip(cuts, 1, n), [n]])).astype(np.int64)


def _stack(pieces: list[sp.csr_array], n: int) -> sp.csr_array:
    if not pieces:
        return sp.csr_array((n, n), dtype=np.float32)
    indptr = [np.zeros(1, dtype=np.int64)]
    offset = 0
    for p in pieces:
        indptr.append(p.indptr[1:].astype(np.int64) + offset)
        offset += p.nnz
    out = sp.csr_array(
        (
            np.concatenate([p.data for p in pieces]).astype(np.float32),
            np.concatenate([p.indices for p in pieces]).astype(np.int32),
            np.concatenate(indptr),
        ),
        shape=(n, n),
    )
    return out


def sequential_pair_weights(
    train: Playlists, steps: int, weight: Callable[[int], float], pruning: int
) -> sp.csr_array:
    """Build the SR rules ``R[a, b]``: ``weight(d)`` summed over ``b`` occurring ``d`` after ``a``.

    Only distances ``1 <= d <= steps`` inside one playlist count. Entries are grouped
    by source track (one stable argsort); for each block of source tracks and each
    distance ``d`` the pairs are ``(items[g], items[g + d])`` for the entries ``g`` with
    at least ``d`` tracks after them in their playlist. Each block is summed and pruned
    before the next one is built.

    Parameters
    ----------
    train : Playlists
        The training corpus.
    steps : int
        Largest distance counted.
    weight : callable
        ``weight(d)`` of a pair at distance ``d`` (see :data:`WEIGHTINGS`).
    pruning : int
        Rules kept per source track (0 keeps all).

    Returns
    -------
    csr_array
        float32 (n_tracks, n_tracks), canonical.
    """
    n = train.n_tracks
    items = train.items
    # tracks after each entry in its playlist, capped at ``steps`` (small int)
    after = np.repeat(train.indptr[1:], train.lengths) - np.arange(len(items), dtype=np.int64) - 1
    after = np.minimum(after, steps).astype(np.int16 if steps < 2**15 else np.int64)
    by_source = np.argsort(items, kind="stable")
    per_track = np.bincount(items, weights=after, minlength=n).astype(np.int64)
    cum = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(per_track, out=cum[1:])
    entry_start = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(items, minlength=n), out=entry_start[1:])
    weights = np.array([weight(d) for d in range(1, steps + 1)], dtype=np.float32)
    pieces = []
    cuts = _blocks(cum, BLOCK_WORK)
    for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):
        src = by_source[entry_start[lo] : entry_start[hi]]
        rem = after[src]
        rows, cols, data = [], [], []
        for d in range(1, steps + 1):
            g = src[rem >= d]
            if len(g) == 0:
                break
            rows.append(items[g] - lo)
            cols.append(items[g + d])
            data.append(np.full(len(g), weights[d - 1], dtype=np.float32))
        if rows:
            block = sp.csr_array(
                (np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))),
                shape=(hi - lo, n),
                dtype=np.float32,
            )
        else:
            block = sp.csr_array((hi - lo, n), dtype=np.float32)
        block.sum_duplicates()
        block.sort_indices()
        block.eliminate_zeros()  # e.g. linear weighting at d = 10
        pieces.append(prune_rows(block, pruning))
    return _stack(pieces, n)


def cooccurrence_counts(train: Playlists, pruning: int) -> sp.csr_array:
    """Build the AR rules: ``R[a, b]`` counts position pairs holding ``a`` and ``b`` in a playlist.

    With ``X`` the playlist x track count matrix this is ``X^T X`` without its
    diagonal; it is computed in blocks of source tracks, each pruned before the next.

    Parameters
    ----------
    train : Playlists
        The training corpus.
    pruning : int
        Rules kept per source track (0 keeps all).

    Returns
    -------
    csr_array
        float32 (n_tracks, n_tracks), canonical, zero diagonal.
    """
    n = train.n_tracks
    x = train.to_csr(binary=False).astype(np.float32)
    xt = sp.csr_array(x.T)
    work = xt @ train.lengths.astype(np.float64)  # multiply-adds per source track
    cum = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.asarray(work, dtype=np.int64), out=cum[1:])
    pieces = []
    cuts = _blocks(cum, BLOCK_WORK)
    for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):
        block = sp.csr_array(xt[lo:hi] @ x, dtype=np.float32)
        block.sum_duplicates()
        block.sort_indices()
        row = np.repeat(np.arange(hi - lo), np.diff(block.indptr))
        block.data[block.indices == row + lo] = 0.0  # a track is not its own rule
        block.eliminate_zeros()
        pieces.append(prune_rows(block, pruning))
    return _stack(pieces, n)


class _RulesBase(SparsePriorRecommender):
    """Shared parameter checks and popularity tie-breaking of SR and AR."""

    def _set_popularity(self, train: Playlists) -> None:
        # only breaks ties and fills the list after the rules (w = 0 in _sparse_parts)
        self._set_prior(train.item_popularity().astype(np.float32))


@dataclass(frozen=True)
class SRConfig:
    """Hyper-parameters of :class:`SequentialRules`."""

    steps: int = param(10, ge=1, doc="Largest distance counted (10, as in session-rec).")
    weighting: str = param(
        "div", choices=tuple(WEIGHTINGS), doc="w(d): 1/d (div), max(0, 1 - d/10), "
        "1/log10(d + 1.7), 1/d^2 or 1.",
    )
    pruning: int = param(
        20, ge=0, doc="Rules kept per source track (20, as in session-rec; 0 keeps all)."
    )


class SequentialRules(_RulesBase):
    r"""Sequential rules (SR): what followed the last seed track within a few positions.

    A rule :math:`a \to b` gains weight :math:`w(d)` each time ``b`` occurs ``d``
    positions after ``a`` (:math:`1 \le d \le` ``steps``) in a training playlist:

    .. math::

        R(a, b) = \sum_{p} \sum_{\substack{i < j \le i + \text{steps} \\ p_i = a,\ p_j = b}}
        w(j - i), \qquad \text{score}(b \mid s) = R(s_{|s|}, b).

    Only each track's ``pruning`` strongest rules are kept. Tracks without a rule from
    the last seed track score 0 and follow in popularity order (ties are broken by
    popularity throughout).

    Parameters
    ----------
    **params
        Fields of :class:`SRConfig` as keywords.

    Attributes
    ----------
    rules_ : scipy.sparse.csr_array
        float32 (n_tracks, n_tracks): :math:`R(a, b)` after pruning.

    Notes
    -----
    Fit is :math:`O(N \cdot \text{steps})` for ``N`` playlist entries plus a sort of
    each source track's candidate rules; memory is bounded by one block of pairs
    (:data:`BLOCK_WORK`) plus the pruned rules (at most ``pruning`` per track).
    Scoring costs :math:`O(\text{pruning} + k)` per query.

    References
    ----------
    .. [1] M. Ludewig and D. Jannach. "Evaluation of session-based recommendation
       algorithms". User Modeling and User-Adapted Interaction 28(4-5):331-390, 2018.
    .. [2] I. Kamehkhosh, D. Jannach and M. Ludewig. "A comparison of frequent pattern
       techniques and a deep learning method for session-based recommendation".
       TempRec workshop at ACM RecSys 2017, CEUR-WS vol. 1922.

    Examples
    --------
    >>> from apc.data import Playlists
    >>> from apc.testing import queries_from
    >>> pl = Playlists.from_sequences([["a", "b", "c"], ["a", "c"]])
    >>> model = SequentialRules().fit(pl)
    >>> model.rules_.toarray()[0].tolist()  # a->b: 1, a->c: 1/2 + 1
    [0.0, 1.0, 1.5]
    """

    name = "sr"
    config_class = SRConfig

    def _fit(self, train: Playlists, features) -> None:
        self._set_popularity(train)
        self.rules_ = sequential_pair_weights(
            train, int(self.steps), WEIGHTINGS[self.weighting], int(self.pruning)
        )
        self._index_rows()

    def _last_track_only(self) -> bool:
        return True

    def _sparse_parts(self, queries: Queries):
        b, n = len(queries), self.rules_.shape[0]
        last = queries.last_seed()
        rows = np.flatnonzero(last >= 0)
        s = row_selector(rows, last[rows], np.ones(len(rows)), (b, n)) @ self.rules_
        return s, np.zeros(b, np.float32), np.zeros(b, np.float32)


@dataclass(frozen=True)
class ARConfig:
    """Hyper-parameters of :class:`AssociationRules`."""

    pruning: int = param(
        20, ge=0, doc="Rules kept per track (20, as in session-rec; 0 keeps all)."
    )
    context: str = param(
        "seed", choices=("seed", "last"),
        doc="Sum the rules of every distinct seed track, or use the last one.",
    )


class AssociationRules(_RulesBase):
    r"""Association rules (AR): tracks that co-occur with the seed in training playlists.

    A rule :math:`a \leftrightarrow b` counts the pairs of positions of one playlist
    holding ``a`` and ``b``, in any order (session-rec's AR; a playlist with ``a``
    twice and ``b`` once adds 2):

    .. math::

        R(a, b) = \sum_p c_p(a)\, c_p(b) \quad (a \ne b), \qquad
        \text{score}(b \mid s) = \sum_{a \in \text{set}(s)} R(a, b)

    with :math:`c_p(a)` the number of times ``a`` occurs in playlist ``p``
    (``context="seed"``), or :math:`R(s_{|s|}, b)` from the last seed track only
    (``context="last"``, as in session-rec). Each track keeps its ``pruning`` strongest
    rules; tracks without a rule follow in popularity order.

    Parameters
    ----------
    **params
        Fields of :class:`ARConfig` as keywords.

    Attributes
    ----------
    rules_ : scipy.sparse.csr_array
        float32 (n_tracks, n_tracks): :math:`R(a, b)` after pruning (rows pruned, so
        it need not stay symmetric).

    Notes
    -----
    Fit costs :math:`O(\sum_p |p|^2)` multiply-adds (``X^T X`` in blocks of source
    tracks, each pruned at once); memory is one block plus the pruned rules. Scoring
    costs :math:`O(|s| \cdot \text{pruning} + k)` per query.

    References
    ----------
    .. [1] R. Agrawal, T. Imielinski and A. Swami. "Mining association rules between
       sets of items in large databases". In Proc. ACM SIGMOD 1993, pp. 207-216.
    .. [2] M. Ludewig and D. Jannach. "Evaluation of session-based recommendation
       algorithms". User Modeling and User-Adapted Interaction 28(4-5):331-390, 2018.

    Examples
    --------
    >>> from apc.data import Playlists
    >>> pl = Playlists.from_sequences([["a", "b", "a"], ["b", "c"]])
    >>> AssociationRules().fit(pl).rules_.toarray().tolist()
    [[0.0, 2.0, 0.0], [2.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    """

    name = "ar"
    config_class = ARConfig

    def _fit(self, train: Playlists, features) -> None:
        self._set_popularity(train)
        self.rules_ = cooccurrence_counts(train, int(self.pruning))
        self._index_rows()

    def _last_track_only(self) -> bool:
        return self.context == "last"

    def _sparse_parts(self, queries: Queries):
        b, n = len(queries), self.rules_.shape[0]
        if self.context == "last":
            last = queries.last_seed()
            rows = np.flatnonzero(last >= 0)
            seeds = row_selector(rows, last[rows], np.ones(len(rows)), (b, n))
        else:
            seeds = queries.seeds_csr()
        return seeds @ self.rules_, np.zeros(b, np.float32), np.zeros(b, np.float32)
