r"""Family base of the order-aware count models: scores ``S + w * prior + c``.

:class:`SparsePriorRecommender` is the base of the Markov chains
(:mod:`apc.models.markov`) and of the sequential and association rules
(:mod:`apc.models.rules`). Their scores have the shape

.. math::  s_b(j) = S_{bj} + w_b\, p(j) + c_b

with ``S`` a sparse (queries x tracks) matrix, ``p`` a fixed popularity prior and
``w_b, c_b`` per-query scalars. For such scores the exact top-k lies among the
non-zeros of row ``b`` of ``S`` plus the first ``k + |seed| + nnz_b`` tracks in
popularity order, so no dense queries x catalogue block is ever built: at MPD scale
(2M tracks) this is the difference between minutes and hours. The module also holds
the sparse helpers these models share.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from apc.data.queries import Queries
from apc.models._topk import Prior, PriorScores, _canonical
from apc.models.base import ScoringRecommender


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

    A bisection of every row segment at once: ``ceil(log2(longest row + 1))``
    vectorised steps over the N lookups, so memory is O(N) and time O(N log(row
    length)) whatever the size of ``m`` (no key per stored entry, no dense row).
    ``m`` must have no duplicate entries; its indices are sorted in place if they are
    not.

    Returns
    -------
    np.ndarray
        float64, same length as ``rows``.

    Examples
    --------
    >>> m = sp.csr_array(np.array([[0, 2, 0], [3, 0, 4]], dtype=np.float32))
    >>> csr_lookup(m, np.array([0, 1, 1, 0]), np.array([1, 2, 1, 0])).tolist()
    [2.0, 4.0, 0.0, 0.0]
    """
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=m.indices.dtype)
    out = np.zeros(len(rows), dtype=np.float64)
    if len(rows) == 0 or m.nnz == 0:
        return out
    if not m.has_sorted_indices:
        m.sort_indices()
    lo = m.indptr[rows].astype(np.int64)
    end = m.indptr[rows + 1].astype(np.int64)
    hi = end.copy()
    indices = m.indices
    for _ in range(int(np.ceil(np.log2(int((hi - lo).max()) + 1)))):
        open_ = lo < hi
        mid = (lo + hi) >> 1
        right = open_ & (indices[np.minimum(mid, len(indices) - 1)] < cols)
        lo = np.where(right, mid + 1, lo)
        hi = np.where(open_ & ~right, mid, hi)
    at = np.minimum(lo, len(indices) - 1)
    hit = (lo < end) & (indices[at] == cols)
    out[hit] = m.data[at[hit]]
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
        """Return the block's scores as :class:`~apc.models._topk.PriorScores` (no dense block).

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
