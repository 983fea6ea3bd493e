"""Vectorised reads of a CSR matrix at arbitrary ``(row, column)`` positions."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def csr_values_at(m: sp.csr_array, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Return ``m[rows[i], cols[i]]`` for every ``i`` (0 where not stored), without densifying.

    A bisection of every row segment at once: ``ceil(log2(longest row + 1))`` vectorised
    steps over the N lookups, so memory is O(N) and time O(N log(row length)), whatever
    the matrix size (``m[rows, cols]`` in scipy builds an N-row sparse matrix instead).

    Parameters
    ----------
    m : scipy.sparse.csr_array or csr_matrix
        CSR without duplicate entries; its indices are sorted in place if they are not.
    rows, cols : np.ndarray
        int (N,): positions to read.

    Returns
    -------
    np.ndarray
        (N,) of ``m``'s dtype.

    Examples
    --------
    >>> m = sp.csr_array(np.array([[0, 2, 0], [3, 0, 4]], dtype=np.float32))
    >>> csr_values_at(m, np.array([0, 1, 1, 0]), np.array([1, 2, 1, 0])).tolist()
    [2.0, 4.0, 0.0, 0.0]
    """
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=m.indices.dtype)
    out = np.zeros(len(rows), dtype=m.data.dtype)
    if len(rows) == 0 or m.nnz == 0:
        return out
    if not m.has_sorted_indices:
        m.sort_indices()
    lo = m.indptr[rows].astype(np.int64)
    hi = m.indptr[rows + 1].astype(np.int64)
    longest = int((hi - lo).max())
    indices = m.indices
    for _ in range(int(np.ceil(np.log2(longest + 1)))):
        open_ = lo < hi
        mid = (lo + hi) >> 1
        right = open_ & (indices[np.minimum(mid, len(indices) - 1)] < cols)
        lo = np.where(right, mid + 1, lo)
        hi = np.where(open_ & ~right, mid, hi)
    at = np.minimum(lo, len(indices) - 1)
    hit = (lo < m.indptr[rows + 1]) & (indices[at] == cols)
    out[hit] = m.data[at[hit]]
    return out


__all__ = ["csr_values_at"]
