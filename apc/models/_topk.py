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
    """Return the queries per block: at most ``batch_size``, ``rows x n_tracks <= BLOCK_CELLS``.

    Always at least 1, so a catalogue wider than ``BLOCK_CELLS`` is scored one query at a time.
    """
    return int(max(1, min(batch_size, BLOCK_CELLS // max(1, n_tracks))))


def _to_dense(scores) -> np.ndarray:
    if sp.issparse(scores):
        scores = scores.toarray()
    elif not isinstance(scores, np.ndarray):  # torch.Tensor and friends
        scores = scores.detach().float().cpu().numpy()
    return np.array(scores, dtype=np.float32, copy=True)


def top_k(scores, k: int, *, exclude: sp.csr_array | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Select the best ``k`` items per row, best first.

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

    Notes
    -----
    Wide rows (``n_items`` much larger than ``k``) avoid a full ``argpartition``: the
    row is cut into ``m >= k`` equal chunks and the k-th largest chunk maximum ``tau`` is
    a lower bound of the k-th largest score (k chunks each hold a score >= tau). Only scores
    ``> tau`` are candidates (a few times ``k`` per row on real score vectors), plus, when
    fewer than ``k`` scores exceed ``tau``, the lowest-index scores equal to ``tau``.
    Rows where the bound is loose fall back to an exact ``np.partition``. The result is
    the same as sorting each row by (score descending, index ascending).

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
    s[np.isnan(s)] = -np.inf
    s[s == np.inf] = np.finfo(np.float32).max
    if exclude is not None and exclude.nnz:
        ex = sp.csr_array(exclude)
        rows = np.repeat(np.arange(b), np.diff(ex.indptr))
        s[rows, ex.indices] = -np.inf
    kk = min(k, n)
    out_items = np.full((b, k), -1, dtype=np.int32)
    out_scores = np.full((b, k), -np.inf, dtype=np.float32)
    if kk == 0 or b == 0:
        return out_items, out_scores
    if n <= max(4 * kk, 4096):
        # narrow rows: a full stable sort is cheap (ties stay by index)
        cols = np.argsort(-s, axis=1, kind="stable")[:, :kk]
    else:
        cols = _wide_top_k(s, kk)
    vals = s[np.arange(b)[:, None], cols]
    valid = np.isfinite(vals)
    out_items[:, :kk] = np.where(valid, cols, -1)
    out_scores[:, :kk] = np.where(valid, vals, -np.inf)
    return out_items, out_scores


def _wide_top_k(s: np.ndarray, kk: int) -> np.ndarray:
    """(B, kk) column indices of the best ``kk`` scores per row of ``s``, best first.

    Ordering is (score descending, column ascending); ``-inf`` scores may fill the tail.
    """
    b, n = s.shape
    # Cut each row into m >= kk disjoint chunks; the kk-th largest chunk maximum is a
    # lower bound ``tau`` of the kk-th largest score (kk chunks each hold a score >= tau),
    # and scores > tau can only sit in the (< kk) chunks whose maximum exceeds tau.
    m = min(n // 2, 32 * kk)
    width = n // m
    chunk_max = s[:, : m * width].reshape(b, m, width).max(axis=2)
    tau = np.partition(chunk_max, m - kk, axis=1)[:, m - kk]
    cr, cc = np.nonzero(chunk_max > tau[:, None])
    cols = (cc * width)[:, None] + np.arange(width)
    hit = s[cr[:, None], cols] > tau[cr, None]
    r_gt, c_gt = np.repeat(cr, hit.sum(axis=1)), cols[hit]
    if m * width < n:  # the last few columns belong to no chunk
        tail = s[:, m * width :] > tau[:, None]
        tr, tc = np.nonzero(tail)
        r_gt, c_gt = np.concatenate([r_gt, tr]), np.concatenate([c_gt, tc + m * width])
    n_gt = np.bincount(r_gt, minlength=b)
    loose = np.flatnonzero(n_gt > 4 * kk + 1024)
    if len(loose):  # bound too weak for these rows: use the exact k-th largest value
        tau[loose] = np.partition(s[loose], n - kk, axis=1)[:, n - kk]
        keep = ~np.isin(r_gt, loose)
        lr, lc = np.nonzero(s[loose] > tau[loose, None])
        r_gt = np.concatenate([r_gt[keep], loose[lr]])
        c_gt = np.concatenate([c_gt[keep], lc])
        n_gt = np.bincount(r_gt, minlength=b)
    parts_r, parts_c = [r_gt], [c_gt]
    short = np.flatnonzero(n_gt < kk)  # here the k-th largest == tau: add lowest-index ties
    if len(short):
        need = kk - n_gt[short]
        w = int(min(n, max(2 * kk, 1024)))
        while True:
            eq = s[short, :w] == tau[short, None]
            if (eq.sum(axis=1) >= need).all() or w == n:
                break
            w = int(min(n, 4 * w))
        rank = np.cumsum(eq, axis=1, dtype=np.int32)
        r_eq, c_eq = np.nonzero(eq & (rank <= need[:, None]))
        parts_r.append(short[r_eq])
        parts_c.append(c_eq)
    r = np.concatenate(parts_r)
    c = np.concatenate(parts_c)
    v = s[r, c]
    order = np.lexsort((c, -v, r))
    r, c = r[order], c[order]
    starts = np.searchsorted(r, np.arange(b))
    pos = np.arange(len(r)) - starts[r]
    keep = pos < kk
    out = np.empty((b, kk), dtype=np.int64)
    out[r[keep], pos[keep]] = c[keep]
    return out
