"""Blocked top-k selection with seed exclusion and deterministic tie-breaking.

``top_k`` turns a ``(B, n_tracks)`` block of scores into the best ``k`` items per row
using ``np.argpartition`` (O(n) per row) and sorts only those ``k``. Ties are broken
by the lower track index, so the same scores always give the same list. Items scored
``-inf`` (excluded seeds, impossible items) are never recommended: their slots are
padded with ``-1`` at the end of the row.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

#: Upper bound on the number of float32 cells in one dense score block (~128 MB).
BLOCK_CELLS = 1 << 25


def block_rows(n_tracks: int, batch_size: int) -> int:
    """Number of queries per block so that ``rows x n_tracks`` stays under BLOCK_CELLS."""
    return int(max(1, min(batch_size, BLOCK_CELLS // max(1, n_tracks))))


def _to_dense(scores) -> np.ndarray:
    if sp.issparse(scores):
        scores = scores.toarray()
    elif not isinstance(scores, np.ndarray):  # torch.Tensor and friends
        scores = scores.detach().float().cpu().numpy()
    return np.array(scores, dtype=np.float32, copy=True)


def top_k(scores, k: int, *, exclude: sp.csr_array | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Best ``k`` items per row, best first.

    Parameters
    ----------
    scores : np.ndarray, scipy sparse or torch.Tensor
        (B, n_items) scores; higher is better. NaN counts as ``-inf``.
    k : int
        List length (may exceed ``n_items``; the rest is padded).
    exclude : scipy.sparse csr, optional
        (B, n_items); items stored in row ``b`` are never returned for row ``b``.

    Returns
    -------
    items : np.ndarray
        int32 (B, k), ``-1`` where padded.
    scores : np.ndarray
        float32 (B, k), ``-inf`` where padded.

    Examples
    --------
    >>> items, s = top_k(np.array([[0.1, 0.9, 0.9, 0.5]]), 3)
    >>> items.tolist()
    [[1, 2, 3]]
    """
    s = _to_dense(scores)
    if s.ndim != 2:
        raise ValueError(f"scores must be 2-D (B, n_items), got shape {s.shape}")
    b, n = s.shape
    np.nan_to_num(s, copy=False, nan=-np.inf, posinf=np.finfo(np.float32).max, neginf=-np.inf)
    if exclude is not None and exclude.nnz:
        ex = sp.csr_array(exclude)
        rows = np.repeat(np.arange(b), np.diff(ex.indptr))
        s[rows, ex.indices] = -np.inf
    kk = min(k, n)
    out_items = np.full((b, k), -1, dtype=np.int32)
    out_scores = np.full((b, k), -np.inf, dtype=np.float32)
    if kk == 0 or b == 0:
        return out_items, out_scores
    if kk < n:
        part = np.argpartition(-s, kk - 1, axis=1)[:, :kk]
        kth = s[np.arange(b)[:, None], part].min(axis=1)  # k-th largest value per row
        greater = s > kth[:, None]
        n_greater = greater.sum(axis=1)
        equal = s == kth[:, None]
        # deterministic ties: among items equal to the k-th value keep the lowest indices
        eq_rank = np.cumsum(equal, axis=1)
        chosen = greater | (equal & (eq_rank <= (kk - n_greater)[:, None]))
        cols = np.nonzero(chosen)[1].reshape(b, kk)
    else:
        cols = np.broadcast_to(np.arange(n), (b, n))
    vals = s[np.arange(b)[:, None], cols]
    order = np.argsort(-vals, axis=1, kind="stable")  # stable: ties stay by index
    cols = np.take_along_axis(cols, order, axis=1)
    vals = np.take_along_axis(vals, order, axis=1)
    valid = np.isfinite(vals)
    out_items[:, :kk] = np.where(valid, cols, -1)
    out_scores[:, :kk] = np.where(valid, vals, -np.inf)
    return out_items, out_scores
