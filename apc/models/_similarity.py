"""Sparse co-occurrence and similarity helpers shared by the neighbourhood models.

Three pieces:

* :func:`topn_per_row` keeps the ``n`` largest entries of every row of a CSR matrix,
  exactly (ties go to the lower column index), without a Python loop over rows; the
  selection is :func:`apc.models._topk.topn_mask`, the one top-k of the package.
* :func:`cooccurrence_topn` computes the pruned, normalised co-occurrence similarity
  ``sim(i, j) = c_ij / (pop_i**alpha * pop_j**(1 - alpha) + shrink)`` of the columns
  of a binary matrix (tracks of a playlist x track matrix, artists of a playlist x
  artist matrix), keeping the top ``n`` neighbours per row. The full ``X^T X`` is never
  held in memory: rows are processed in blocks and pruned at once.
* :class:`SimilarityRecommender`, the family base class whose score is
  ``seeds @ similarity_``; an item-kNN variant only writes ``_similarity(train)``.

The co-occurrence step costs ``sum_p len(p)**2`` multiply-adds (about 7e9 for the
Million Playlist Dataset). Two engines give the same matrix: a fused numba kernel
(accumulate one row, normalise, select its top ``n``, never write the unpruned row;
used when numba is importable, about three times faster than scipy and parallel over
rows) and a pure scipy/numpy one (blocked ``X_blk^T @ X`` then :func:`topn_per_row`),
which is the fallback and the reference the tests compare the kernel against.
"""

from __future__ import annotations

import os
from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from apc.data.playlists import Playlists
from apc.data.queries import Queries
from apc.models._topk import expand_ranges, topn_mask
from apc.models.base import ScoringRecommender
from apc.progress import task

#: Target number of multiply-adds per block of rows in the co-occurrence step.
WORK_PER_BLOCK = 1 << 26


# --------------------------------------------------------------------------- top-n per row
# the selection itself (topn_mask) is the package's one top-k, in apc.models._topk
def topn_per_row(m, n: int | None) -> sp.csr_array:
    """Keep the ``n`` largest entries of every row of ``m`` (exact; ties: lower column).

    Parameters
    ----------
    m : scipy sparse matrix
        (R, C); converted to CSR.
    n : int or None
        Entries to keep per row; ``None`` keeps everything.

    Returns
    -------
    scipy.sparse.csr_array
        Same shape and dtype, at most ``n`` entries per row, indices sorted.

    Examples
    --------
    >>> m = sp.csr_array(np.array([[0.0, 3.0, 1.0, 3.0], [2.0, 0.0, 0.0, 0.0]]))
    >>> topn_per_row(m, 2).toarray().tolist()
    [[0.0, 3.0, 0.0, 3.0], [2.0, 0.0, 0.0, 0.0]]
    """
    m = sp.csr_array(m)
    if n is None:
        out = m.copy()
    else:
        keep = topn_mask(m.indptr, m.indices, m.data, int(n))
        rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
        counts = np.bincount(rows[keep], minlength=m.shape[0])
        indptr = np.zeros(m.shape[0] + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        out = sp.csr_array((m.data[keep], m.indices[keep], indptr), shape=m.shape)
    out.sort_indices()
    return out


# --------------------------------------------------------------------------- co-occurrence
def _as_binary_csr(x) -> sp.csr_array:
    x = sp.csr_array(x, dtype=np.float32)
    x.sum_duplicates()
    x.data[:] = 1.0
    x.eliminate_zeros()
    return x


def _blocks_by_work(work: np.ndarray, budget: float, max_rows: int | None = None) -> np.ndarray:
    """Row boundaries so that each block's summed ``work`` stays near ``budget``."""
    cw = np.cumsum(work, dtype=np.float64)
    total = cw[-1] if len(cw) else 0.0
    cuts = np.searchsorted(cw, np.arange(budget, total, budget), side="right")
    bounds = np.unique(np.concatenate([[0], cuts, [len(work)]]))
    if max_rows:
        extra = [np.arange(a, b, max_rows) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        bounds = np.unique(np.concatenate(extra + [[len(work)]]))
    return bounds.astype(np.int64)


def _values(counts, rows, cols, left, right, shrink) -> np.ndarray:
    """Similarity values in float32, in the same operation order as the numba kernel."""
    return counts.astype(np.float32) / (left[rows] * right[cols] + np.float32(shrink))


def _cooc_scipy(x, xt, n, left, right, shrink, exclude_diagonal, work, progress) -> sp.csr_array:
    n_items = xt.shape[0]
    parts = []
    bounds = _blocks_by_work(work, WORK_PER_BLOCK)
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        c = sp.csr_array(xt[a:b] @ x)
        rows = np.repeat(np.arange(a, b), np.diff(c.indptr))
        c.data = _values(c.data, rows, c.indices, left, right, shrink)
        if exclude_diagonal:
            c.data[c.indices == rows] = 0.0
            c.eliminate_zeros()
        parts.append(topn_per_row(c, n))
        progress.advance(float(work[a:b].sum()))
    if not parts:
        return sp.csr_array((n_items, n_items), dtype=np.float32)
    return sp.csr_array(sp.vstack(parts, format="csr"), dtype=np.float32)


try:  # numba ships with librosa (a dependency); the scipy engine is the fallback
    import numba
except ImportError:  # pragma: no cover
    numba = None


def _numba_kernel():
    """Return the fused co-occurrence top-n kernel, or None without numba.

    The kernel is compiled on first use and cached on disk; ``APC_NUMBA=0`` disables it.
    """
    if numba is None or os.environ.get("APC_NUMBA", "1") == "0":
        return None
    return _cooc_kernel


def _compile(fn, **options):
    """Compile ``fn`` with ``numba.njit``, cached on disk when a cache folder is writable.

    numba refuses ``cache=True`` (a RuntimeError at decoration, i.e. at import) when
    neither the package folder nor the user's cache folder can be written, e.g. a
    read-only install run by a user without a home folder; apc then compiles on
    first use instead of failing to import.
    """
    try:
        return numba.njit(cache=True, **options)(fn)
    except RuntimeError:
        return numba.njit(**options)(fn)


if numba is not None:
    # the two helpers are inlined into _cooc_kernel (whose cached machine code holds them);
    # they are cached too, so that no numba function of apc compiles at first use
    def _select(keys, k, n):  # pragma: no cover - compiled
        # keep the n largest of keys[:k] (unique) in keys[:n]; return the smallest kept
        if k > n:
            kth = np.partition(keys[:k], k - n)[k - n]
            w = 0
            for t in range(k):
                if keys[t] >= kth:
                    keys[w] = keys[t]
                    w += 1
        return keys[:n].min()

    _select = _compile(_select, inline="always")

    def _offer(keys, k, thr, n, key):  # pragma: no cover - compiled
        # add key to the buffer if it can still make the top n; returns (k, thr)
        if key > thr:
            keys[k] = key
            k += 1
            if k == 2 * n:
                thr = _select(keys, k, n)
                k = n
        return k, thr

    _offer = _compile(_offer, inline="always")

    def _cooc_kernel(xt_ptr, xt_idx, x_ptr, x_idx, orig, chunk_bounds, n, left, right, shrink,
                     exclude_diag, out_idx, out_val, out_len, row0):  # pragma: no cover - compiled
        n_cols = len(orig)
        for ch in numba.prange(len(chunk_bounds) - 1):
            acc = np.zeros(n_cols, np.int32)
            touched = np.empty(n_cols, np.int32)
            vbuf = np.empty(1, np.float32)
            bits = vbuf.view(np.uint32)
            keys = np.empty(2 * n, np.uint64)
            for i in range(chunk_bounds[ch], chunk_bounds[ch + 1]):
                m = 0
                for pp in range(xt_ptr[i], xt_ptr[i + 1]):
                    p = xt_idx[pp]
                    for jj in range(x_ptr[p], x_ptr[p + 1]):
                        j = x_idx[jj]
                        if acc[j] == 0:
                            touched[m] = j
                            m += 1
                        acc[j] += 1
                if exclude_diag:
                    acc[i] = 0
                # Rank by one unique integer key: the (positive) float's bits, then the
                # complemented original column, so "larger key" = larger value, then lower
                # column. Keys above the threshold go to a buffer of 2n that is cut back
                # to its n largest whenever it fills (amortised O(1) per entry).
                k = 0
                thr = np.uint64(0)
                li = left[i]
                for t in range(m):
                    j = touched[t]
                    cnt = acc[j]
                    if cnt:
                        acc[j] = 0
                        vbuf[0] = np.float32(cnt) / (li * right[j] + shrink)
                        key = (np.uint64(bits[0]) << np.uint64(32)) | np.uint64(
                            0xFFFFFFFF - orig[j])
                        k, thr = _offer(keys, k, thr, n, key)
                if k > n:
                    _select(keys, k, n)
                    k = n
                base = (i - row0) * n
                for t in range(k):
                    key = keys[t]
                    bits[0] = np.uint32(key >> np.uint64(32))
                    out_val[base + t] = vbuf[0]
                    out_idx[base + t] = np.int32(0xFFFFFFFF - (key & np.uint64(0xFFFFFFFF)))
                out_len[i - row0] = k

    _cooc_kernel = _compile(_cooc_kernel, parallel=True, nogil=True)


def _cooc_numba(kernel, x, xt, n, left, right, shrink, exclude_diagonal, work, progress):
    n_items = xt.shape[0]
    # Relabel columns by decreasing popularity: most multiply-adds hit popular columns,
    # which then share a few cache lines of the accumulator. Keys carry original ids, so
    # ties are still broken by the original column index.
    pop = np.diff(xt.indptr)
    orig = np.argsort(-pop, kind="stable").astype(np.int32)  # new label -> original id
    new = np.empty(n_items, dtype=np.int32)
    new[orig] = np.arange(n_items, dtype=np.int32)
    x_ptr, x_idx = x.indptr.astype(np.int64), new[x.indices]
    xt_p = xt[orig]  # rows in the new order
    xt_ptr, xt_idx = xt_p.indptr.astype(np.int64), xt_p.indices.astype(np.int32)
    work = work[orig]
    left, right = left[orig], right[orig]
    data, indices, lengths = [], [], []
    # super-blocks bound the (rows x n) output buffers; chunks inside balance the threads
    bounds = _blocks_by_work(work, 16 * WORK_PER_BLOCK, max_rows=max(1, (1 << 24) // max(1, n)))
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        chunk_bounds = a + _blocks_by_work(work[a:b], max(1.0, work[a:b].sum() / 64))
        out_idx = np.empty((b - a) * n, np.int32)
        out_val = np.empty((b - a) * n, np.float32)
        out_len = np.zeros(b - a, np.int64)
        # fixed argument types: one compiled (and disk-cached) signature
        kernel(xt_ptr, xt_idx, x_ptr, x_idx, orig, chunk_bounds.astype(np.int64), np.int64(n),
               left.astype(np.float32), right.astype(np.float32), np.float32(shrink),
               np.bool_(exclude_diagonal), out_idx, out_val, out_len, np.int64(a))
        sel = expand_ranges(np.arange(b - a) * n, out_len)
        data.append(out_val[sel])
        indices.append(out_idx[sel])
        lengths.append(out_len)
        progress.advance(float(work[a:b].sum()))
    lengths = np.concatenate(lengths) if lengths else np.zeros(n_items, np.int64)
    indptr = np.zeros(n_items + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    out = sp.csr_array(
        (np.concatenate(data) if data else np.empty(0, np.float32),
         np.concatenate(indices) if indices else np.empty(0, np.int32), indptr),
        shape=(n_items, n_items),
    )
    out = sp.csr_array(out[new])  # rows back to the original order
    out.sort_indices()
    return out


def cooccurrence_topn(
    x,
    n_neighbors: int | None,
    *,
    alpha: float = 0.5,
    shrink: float = 0.0,
    exclude_diagonal: bool = True,
    engine: str = "auto",
    description: str = "co-occurrence",
) -> sp.csr_array:
    r"""Compute the pruned normalised co-occurrence similarity of a binary matrix's columns.

    .. math::

        \mathrm{sim}(i, j) = \frac{c_{ij}}{n_i^{\alpha}\, n_j^{1-\alpha} + \lambda},
        \qquad c_{ij} = \sum_p x_{pi}\, x_{pj},\quad n_i = c_{ii}

    (cosine for ``alpha = 0.5, shrink = 0``; the asymmetric cosine of Aiolli 2013
    otherwise), keeping the ``n_neighbors`` largest values of every row ``i``.

    Parameters
    ----------
    x : scipy sparse matrix
        (P, m); non-zeros are treated as 1 (a playlist contains the column).
    n_neighbors : int or None
        Neighbours kept per row (ties: lower column index); ``None`` keeps all, which
        is only sensible for small catalogues.
    alpha : float
        Asymmetry exponent in [0, 1] (default 0.5).
    shrink : float
        Shrinkage ``lambda`` >= 0 added to the denominator (default 0).
    exclude_diagonal : bool
        Drop ``sim(i, i)`` before pruning (default True).
    engine : {"auto", "numba", "scipy"}
        ``auto`` uses the numba kernel when numba is importable and ``n_neighbors`` is
        set; both engines return the same matrix.
    description : str
        Label of the progress bar.

    Returns
    -------
    scipy.sparse.csr_array
        float32 (m, m), sorted indices.
    """
    x = _as_binary_csr(x)
    xt = sp.csr_array(x.T)  # (m, P): the playlists of each column
    pop = np.diff(xt.indptr).astype(np.float32)
    left = np.power(pop, np.float32(alpha), dtype=np.float32)
    right = np.power(pop, np.float32(1.0 - alpha), dtype=np.float32)
    # work of row i: sum over the playlists holding i of their lengths
    work = xt @ np.diff(x.indptr).astype(np.float64)
    kernel = None
    if engine not in ("auto", "numba", "scipy"):
        raise ValueError(f"unknown engine {engine!r}")
    if engine != "scipy" and n_neighbors is not None:
        kernel = _numba_kernel()
        if kernel is None and engine == "numba":
            raise RuntimeError("engine='numba' needs numba")
    with task(description, total=float(work.sum())) as progress:
        if kernel is not None and n_neighbors is not None:
            return _cooc_numba(kernel, x, xt, int(n_neighbors), left, right, shrink,
                               exclude_diagonal, work, progress)
        return _cooc_scipy(x, xt, n_neighbors, left, right, shrink, exclude_diagonal, work,
                           progress)


# --------------------------------------------------------------------------- family base
class SimilarityRecommender(ScoringRecommender):
    r"""Base of item-similarity models: ``score = seeds @ similarity_``.

    .. math:: \hat{r}_{h,t} = \sum_{i \in h} S_{i,t}

    A subclass implements :meth:`_similarity` (an ``(n_tracks, n_tracks)`` sparse
    matrix, row = seed track, column = candidate) and may override :meth:`_seed_matrix`
    to weight the seed tracks (e.g. by position).
    """

    similarity_: sp.csr_array
    allows_repeats: ClassVar[bool] = False
    sparse_scores: ClassVar[bool] = True  # seeds @ similarity_ is a CSR block

    def _similarity(self, train: Playlists) -> sp.csr_array:
        raise NotImplementedError

    def _fit(self, train: Playlists, features) -> None:
        self.similarity_ = sp.csr_array(self._similarity(train), dtype=np.float32)

    def _seed_matrix(self, queries: Queries) -> sp.csr_array:
        """(B, n_tracks) float32 seed weights; binary by default."""
        return queries.seeds_csr()

    def _score(self, queries: Queries) -> sp.csr_array:
        return sp.csr_array(self._seed_matrix(queries) @ self.similarity_)
