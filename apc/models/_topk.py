"""The one top-k of apc: blocked selection with seed exclusion and a fixed tie rule.

:func:`top_k` turns a block of scores into the best ``k`` items per row, best first,
for every model. The rule is the one of a full stable sort: items are ordered by score
(descending), and equal scores by the lower track index. Items scored ``-inf`` or NaN
(excluded seeds, impossible items) are never recommended: their slots are padded with
``-1`` (and ``-inf`` scores) at the end of the row; ``+inf`` counts as the largest
float32.

Three kinds of score blocks are accepted, so that no model has to build a dense
queries x catalogue block it does not need:

* dense ``(B, n)`` arrays (numpy or torch): each score and its column are folded
  into one distinct uint64 key (the score's order-preserving bits, then the column),
  so one ``np.argpartition`` finds exactly the ``k`` winners in O(n) per row, ties
  included, and only those ``k`` keys are sorted;
* sparse CSR blocks: the dense row is the stored values with 0 elsewhere. Only the
  stored values are ranked; a row with fewer than ``k`` positive stored values is
  padded with the lowest-index zero-scored tracks, exactly as the dense rule would;
* :class:`PriorScores`, ``(w_b p_j + S_bj) + c_b``: a sparse part plus a per-row
  multiple of a fixed popularity prior (the Markov and rules family). Outside its
  support a row is padded from the prior's order; ties are broken by the prior's rank
  (prior value descending, then index), the family's documented rule.

The same function settles every case, so a model's list never depends on how its
scores happened to be stored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

#: Upper bound on the number of float32 cells in one dense score block (~128 MB).
BLOCK_CELLS = 1 << 25

_RANK_LIMIT = 1 << 22  # largest catalogue for packed sparse sort keys (else lexsort)
_FMAX = np.finfo(np.float32).max
_KEY_CELLS = 1 << 20  # uint64 keys per chunk of a dense block (8 MB)


def block_rows(n_tracks: int, batch_size: int) -> int:
    """Return the queries per block: at most ``batch_size``, ``rows x n_tracks <= BLOCK_CELLS``.

    Always at least 1, so a catalogue wider than ``BLOCK_CELLS`` is scored one query at a time.
    """
    return int(max(1, min(batch_size, BLOCK_CELLS // max(1, n_tracks))))


@dataclass(frozen=True, eq=False)
class Prior:
    """A fixed per-track prior with its order, for :class:`PriorScores`.

    Parameters
    ----------
    values : np.ndarray
        float32 (n,), non-negative (e.g. normalised popularity).

    Attributes
    ----------
    order : np.ndarray
        int32 (n,): tracks by value descending, then index ascending.
    rank : np.ndarray
        int32 (n,): the inverse permutation of ``order``.
    """

    values: np.ndarray
    order: np.ndarray
    rank: np.ndarray

    @classmethod
    def of(cls, values) -> Prior:
        """Build the prior, its order and its rank from per-track values."""
        values = np.ascontiguousarray(values, dtype=np.float32)
        order = np.argsort(-values, kind="stable").astype(np.int32)
        rank = np.empty(len(values), dtype=np.int32)
        rank[order] = np.arange(len(values), dtype=np.int32)
        return cls(values, order, rank)


@dataclass(frozen=True, eq=False)
class PriorScores:
    """Scores ``(w_b * p_j + S_bj) + c_b`` of a block, held without a dense block.

    The float32 operations are those of the dense form ``out = w p; out += S; out += c``.

    Parameters
    ----------
    sparse : scipy sparse
        (B, n) the sparse part ``S``.
    weight : np.ndarray
        float32 (B,) ``w_b >= 0``.
    offset : np.ndarray
        float32 (B,) ``c_b``.
    prior : Prior
        The prior ``p`` (n,).
    """

    sparse: sp.csr_array
    weight: np.ndarray
    offset: np.ndarray
    prior: Prior

    def dense(self) -> np.ndarray:
        """Return the (B, n) float32 block these scores stand for (tests, small blocks)."""
        w = np.asarray(self.weight, np.float32)
        out = w[:, None] * self.prior.values[None, :]
        out += sp.csr_array(self.sparse).toarray()
        out += np.asarray(self.offset, np.float32)[:, None]
        return out


def top_k(scores, k: int, *, exclude=None) -> tuple[np.ndarray, np.ndarray]:
    """Select the best ``k`` items per row, best first (ties: lower track index).

    Parameters
    ----------
    scores : np.ndarray, torch.Tensor, scipy sparse or PriorScores
        (B, n_items) scores; higher is better. NaN counts as ``-inf``, ``+inf`` as the
        largest float32. A sparse block scores 0 where nothing is stored.
    k : int
        List length (may exceed ``n_items``; the rest is padded).
    exclude : scipy sparse, optional
        (B, n_items); items stored in row ``b`` are never returned for row ``b``.

    Returns
    -------
    items : np.ndarray
        int32 (B, k), ``-1`` where padded.
    scores : np.ndarray
        float32 (B, k), ``-inf`` where padded.

    Notes
    -----
    The result equals, row by row, ``np.argsort(-s, kind="stable")[:k]`` of the dense
    float32 scores ``s`` with excluded items set to ``-inf``, with non-finite entries
    turned into padding (``PriorScores`` ties follow the prior's rank instead of the
    index). A dense block costs one ``argpartition`` of uint64 keys and a sort of
    ``k`` per row, however many ties; a sparse block costs a sort of its stored values
    (at most ``k`` per row after a linear-time pruning) and, for rows short of ``k``
    positive values, of their excluded items.

    Examples
    --------
    >>> items, s = top_k(np.array([[0.1, 0.9, 0.9, 0.5]]), 3)
    >>> items.tolist()
    [[1, 2, 3]]
    >>> top_k(sp.csr_array(np.array([[0.0, 0.0, 2.0, 0.0]])), 3)[0].tolist()
    [[2, 0, 1]]
    """
    k = int(k)
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    if exclude is not None:
        exclude = sp.csr_array(exclude)
    if isinstance(scores, PriorScores):
        return _sparse_top_k(scores.sparse, k, exclude, scores.prior,
                             np.asarray(scores.weight, np.float32),
                             np.asarray(scores.offset, np.float32))
    if sp.issparse(scores):
        return _sparse_top_k(scores, k, exclude, None, None, None)
    return _dense_top_k(_to_dense(scores), k, exclude)


# ---------------------------------------------------------------------------- dense
def _to_dense(scores) -> np.ndarray:
    if not isinstance(scores, np.ndarray) and hasattr(scores, "detach"):  # torch.Tensor
        scores = scores.detach().float().cpu().numpy()
    s = np.array(scores, dtype=np.float32, copy=True)
    if s.ndim != 2:
        raise ValueError(f"scores must be 2-D (B, n_items), got shape {s.shape}")
    return s


def _dense_top_k(s: np.ndarray, k: int, exclude) -> tuple[np.ndarray, np.ndarray]:
    b, n = s.shape
    s[np.isnan(s)] = -np.inf
    s[s == np.inf] = _FMAX
    s += np.float32(0.0)  # -0.0 -> 0.0: equal scores must have equal keys
    if exclude is not None and exclude.nnz:
        rows = np.repeat(np.arange(b), np.diff(exclude.indptr))
        s[rows, exclude.indices] = -np.inf
    kk = min(k, n)
    out_items = np.full((b, k), -1, dtype=np.int32)
    out_scores = np.full((b, k), -np.inf, dtype=np.float32)
    if kk == 0 or b == 0:
        return out_items, out_scores
    col = np.arange(n, dtype=np.uint64)
    step = max(1, _KEY_CELLS // n)  # a few MB of keys at a time: cache-friendly, bounded memory
    for lo in range(0, b, step):
        blk = s[lo : lo + step]
        key = _dense_keys(blk, col)
        if kk < n:
            key = np.take_along_axis(key, np.argpartition(key, kk - 1, axis=1)[:, :kk], axis=1)
        key.sort(axis=1)
        cols = (key & np.uint64(0xFFFFFFFF)).astype(np.int64)
        vals = np.take_along_axis(blk, cols, axis=1)
        valid = np.isfinite(vals)
        out_items[lo : lo + step, :kk] = np.where(valid, cols, -1)
        out_scores[lo : lo + step, :kk] = np.where(valid, vals, -np.inf)
    return out_items, out_scores


def _dense_keys(s: np.ndarray, col: np.ndarray) -> np.ndarray:
    """uint64 ``(descending score code << 32) | column``: ascending key = the tie rule.

    Folding the column into the key makes every key distinct, so one ``argpartition``
    selects exactly the ``k`` first items of the stable order, whatever the ties.
    """
    u = np.ascontiguousarray(s).view(np.uint32)
    code = u >> np.uint32(31)  # 1 for negative floats
    code *= np.uint32(0x7FFFFFFF)
    code |= np.uint32(0x80000000)  # negative: flip all bits; positive: flip the sign bit
    code ^= u  # ascending order of code == ascending order of the floats
    np.invert(code, out=code)  # descending
    key = code.astype(np.uint64)
    key <<= np.uint64(32)
    key |= col
    return key


# ---------------------------------------------------------------------------- sparse
def _segment_arange(lengths: np.ndarray) -> np.ndarray:
    """``concatenate([arange(l) for l in lengths])`` without a Python loop."""
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.arange(total, dtype=np.int64) - starts


def expand_ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenate the index ranges ``starts[s] .. starts[s] + lengths[s] - 1`` (int64).

    Parameters
    ----------
    starts, lengths : np.ndarray
        First index and length of each segment (same length).

    Returns
    -------
    np.ndarray
        int64 (``lengths.sum()``,): the indices of every segment, in order.

    Examples
    --------
    >>> expand_ranges(np.array([10, 3]), np.array([2, 3])).tolist()
    [10, 11, 3, 4, 5]
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    return np.repeat(np.asarray(starts, dtype=np.int64), lengths) + _segment_arange(lengths)


def _canonical(m) -> sp.csr_array:
    m = sp.csr_array(m, dtype=np.float32)
    if not m.has_canonical_format:
        m.sum_duplicates()
        m.sort_indices()
    return m


def topn_mask(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, n: int) -> np.ndarray:
    """Select the ``n`` largest entries of every CSR row, as a boolean mask over ``data``.

    Ties are broken by the lower value of ``indices`` (the column, or any tie key), so
    the result is exactly "sort each row by (value descending, key ascending) and keep
    the first ``n``". Rows with at most ``n`` entries are kept whole.

    Rows longer than ``n`` are cut into ``m >= n`` contiguous chunks; the n-th largest
    chunk maximum ``tau`` is a lower bound of the n-th largest value (n chunks each
    hold a value >= tau), and values above ``tau`` can only lie in the (< n) chunks
    whose maximum exceeds it. Only those candidates (and the ties at ``tau`` when fewer
    than ``n`` values exceed it) are sorted.

    Parameters
    ----------
    indptr, indices, data : np.ndarray
        The CSR arrays (row pointers, column indices or tie keys, values; no NaN).
    n : int
        Entries kept per row (``n <= 0`` keeps none).

    Returns
    -------
    np.ndarray
        bool, same length as ``data``.
    """
    indptr = np.asarray(indptr, dtype=np.int64)
    lengths = np.diff(indptr)
    keep = np.ones(len(data), dtype=bool)
    long_rows = np.flatnonzero(lengths > n)
    if len(long_rows) == 0:
        return keep
    keep[expand_ranges(indptr[long_rows], lengths[long_rows])] = False
    if n <= 0:
        return keep
    data = np.asarray(data)
    indices = np.asarray(indices)
    # rows up to 64 n long would get chunks of one or two entries (no pruning): one sort
    # of packed (row | descending value | tie key) uint64 keys ranks them all at once
    sortable = (data.dtype == np.float32 and len(indices) and indices.dtype.kind in "iu"
                and int(indices.min()) >= 0)
    if sortable:
        short = lengths[long_rows] <= 64 * n
        tb = max(1, int(indices.max())).bit_length()
        rb = max(1, int(short.sum()) - 1).bit_length()
        if short.any() and rb + 32 + tb <= 64:
            rows_s = long_rows[short]
            entry = expand_ranges(indptr[rows_s], lengths[rows_s])
            row = np.repeat(np.arange(len(rows_s), dtype=np.uint64), lengths[rows_s])
            tb64 = np.uint64(tb)
            code = _descending_bits(data[entry] + np.float32(0.0))  # -0.0 ties with 0.0
            key = ((row << (tb64 + np.uint64(32))) | (code.astype(np.uint64) << tb64)
                   | indices[entry].astype(np.uint64))
            order = np.argsort(key)
            row = row[order]
            rank = np.arange(len(row)) - np.searchsorted(row, row)
            keep[entry[order[rank < n]]] = True
            long_rows = long_rows[~short]
            if len(long_rows) == 0:
                return keep
    lens = lengths[long_rows]
    # work on the long rows' entries, compacted so that their chunks are contiguous
    entry = expand_ranges(indptr[long_rows], lens)  # positions in ``data``
    d = data[entry]
    row_start = np.cumsum(lens) - lens  # in compacted coordinates
    # chunks: m_r = min(len_r, 32 n) per long row, chunk c starts at floor(c * len / m)
    m = np.minimum(lens, 32 * n)
    row_of_chunk = np.repeat(np.arange(len(long_rows)), m)
    c = _segment_arange(m)
    chunk_start = row_start[row_of_chunk] + (c * lens[row_of_chunk]) // m[row_of_chunk]
    chunk_len = np.diff(np.append(chunk_start, len(d)))
    chunk_max = np.maximum.reduceat(d, chunk_start)
    # tau_r = n-th largest chunk maximum of row r
    first_chunk = np.cumsum(m) - m
    order = np.lexsort((-chunk_max, row_of_chunk))
    tau = chunk_max[order[first_chunk + n - 1]]
    # values strictly above tau can only sit in chunks whose maximum exceeds tau
    big = chunk_max > tau[row_of_chunk]
    cand = expand_ranges(chunk_start[big], chunk_len[big])
    cand_row = np.repeat(row_of_chunk[big], chunk_len[big])
    above = d[cand] > tau[cand_row]
    cand, cand_row = cand[above], cand_row[above]
    n_gt = np.bincount(cand_row, minlength=len(long_rows))
    # rows with fewer than n values above tau: their n-th largest value is tau itself,
    # so every tie at tau is a candidate (the sort below keeps the lowest keys)
    short = np.flatnonzero(n_gt < n)
    if len(short):
        idx = expand_ranges(row_start[short], lens[short])
        idx_row = np.repeat(short, lens[short])
        tie = d[idx] == tau[idx_row]
        cand = np.concatenate([cand, idx[tie]])
        cand_row = np.concatenate([cand_row, idx_row[tie]])
    cols = indices[entry[cand]]
    order = np.lexsort((cols, -d[cand], cand_row))
    cand, cand_row = cand[order], cand_row[order]
    rank = np.arange(len(cand)) - np.searchsorted(cand_row, np.arange(len(long_rows)))[cand_row]
    keep[entry[cand[rank < n]]] = True
    return keep


def _sorted_member(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """bool: which ``keys`` occur in the sorted array ``sorted_keys``."""
    if len(sorted_keys) == 0:
        return np.zeros(len(keys), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[pos] == keys


def _descending_bits(v: np.ndarray) -> np.ndarray:
    """uint32 codes of float32 ``v`` whose ascending order is ``v``'s descending order."""
    u = np.ascontiguousarray(v, dtype=np.float32).view(np.uint32)
    asc = np.where(u & np.uint32(0x80000000), ~u, u | np.uint32(0x80000000))
    return ~asc


def _from_descending_bits(code: np.ndarray) -> np.ndarray:
    asc = ~code
    u = np.where(asc & np.uint32(0x80000000), asc & np.uint32(0x7FFFFFFF), ~asc)
    return u.astype(np.uint32).view(np.float32)


def _sparse_top_k(s, k: int, exclude, prior: Prior | None, w, c):
    """Top-k of a sparse block, in chunks of rows small enough for packed sort keys."""
    s = _canonical(s)
    b, n = s.shape
    rows = 1 << max(0, 32 - max(1, n - 1).bit_length())
    if b <= rows or n > _RANK_LIMIT:
        return _sparse_top_k_rows(s, k, exclude, prior, w, c)
    out_items = np.full((b, k), -1, dtype=np.int32)
    out_scores = np.full((b, k), -np.inf, dtype=np.float32)
    for lo in range(0, b, rows):
        hi = min(b, lo + rows)
        out_items[lo:hi], out_scores[lo:hi] = _sparse_top_k_rows(
            s[lo:hi], k, None if exclude is None else exclude[lo:hi], prior,
            None if w is None else w[lo:hi], None if c is None else c[lo:hi])
    return out_items, out_scores


def _sparse_top_k_rows(s, k: int, exclude, prior: Prior | None, w, c):
    """Top-k of a sparse block (``prior is None``) or of ``(w p + S) + c``.

    Outside its support row ``b`` scores ``f_b(j) = fl(fl(w_b p_j) + c_b)`` (0 for a
    plain sparse block), which does not increase along the prior order (the index order
    without a prior), so the best ``k`` of those are the first ``k`` tracks in that
    order that are neither stored nor excluded ("members"); fewer when ``beat`` stored
    values exceed ``f_b`` of the first track (they outrank every padding track), so a row
    needs ``need = k - beat`` of them. With the members' ranks sorted,
    ``r_(0) < r_(1) < ...``, the prefix holding them has length ``need + t`` where
    ``t = #{i : r_(i) - i < need}`` (``r_(i) - i`` never decreases).
    """
    b, n = s.shape
    out_items = np.full((b, k), -1, dtype=np.int32)
    out_scores = np.full((b, k), -np.inf, dtype=np.float32)
    if b == 0 or n == 0 or k == 0:
        return out_items, out_scores
    if prior is not None and (w < 0).any():
        raise ValueError("PriorScores weights must be >= 0")
    rank = None if prior is None else prior.rank
    r_s = np.repeat(np.arange(b, dtype=np.int64), np.diff(s.indptr))
    j_s = s.indices.astype(np.int64)
    data = s.data
    if exclude is not None and exclude.nnz:
        ex = _canonical(exclude)
        r_e = np.repeat(np.arange(b, dtype=np.int64), np.diff(ex.indptr))
        ex_keys = r_e * n + ex.indices  # sorted and unique (canonical)
        j_e = ex.indices.astype(np.int64)
        n_ex = int(np.diff(ex.indptr).max())
        if n_ex > k:  # selecting k + n_ex would sort whole rows: drop excluded items first
            # the stored keys are sorted too (canonical): search the few excluded keys
            # among them rather than every stored key among the excluded ones
            stored = r_s * n + j_s
            hit = np.zeros(len(stored), dtype=bool)
            if len(stored):
                at = np.minimum(np.searchsorted(stored, ex_keys), len(stored) - 1)
                hit[at[stored[at] == ex_keys]] = True
            r_s, j_s, data = r_s[~hit], j_s[~hit], data[~hit]
            n_ex = 0
    else:
        r_e = j_e = ex_keys = np.empty(0, np.int64)
        n_ex = 0
    # stored entries: the same float32 operations as the dense form
    if prior is None:
        v_s = data + np.float32(0.0)  # -0.0 -> 0.0
        bound = np.zeros(b, np.float32)
    else:
        v_s = (w[r_s] * prior.values[j_s] + data) + c[r_s] + np.float32(0.0)
        first = prior.order[0] if n else 0
        bound = (w * prior.values[first] + np.float32(0.0)) + c
    v_s = v_s.astype(np.float32, copy=False)
    all_finite = bool(np.isfinite(v_s).all())  # the common case: no pass below
    if not all_finite:
        v_s[np.isnan(v_s)] = -np.inf
        v_s[v_s == np.inf] = _FMAX
    tie_s = j_s if rank is None else rank[j_s].astype(np.int64)
    # candidates among the stored entries: the k best of each row that are not excluded
    # (finite only) lie among its k + n_ex best, so only those are tested for exclusion
    if all_finite:
        cr, cv, ct, cj = r_s, v_s, tie_s, j_s
    else:
        finite = np.isfinite(v_s)
        cr, cv, ct, cj = r_s[finite], v_s[finite], tie_s[finite], j_s[finite]
    ptr = np.zeros(b + 1, dtype=np.int64)
    np.cumsum(np.bincount(cr, minlength=b), out=ptr[1:])
    top = topn_mask(ptr, ct, cv, k + n_ex)
    cr, cv, ct, cj = cr[top], cv[top], ct[top], cj[top]
    if n_ex:
        keep = ~_sorted_member(ex_keys, cr * n + cj)
        cr, cv, ct = cr[keep], cv[keep], ct[keep]
    # rows whose k best stored values all beat every fallback value need no padding
    beat = np.bincount(cr[cv > bound[cr]], minlength=b)
    pad = beat < k
    parts_r, parts_v, parts_t = [cr], [cv], [ct]
    if pad.any():
        # members (stored but not excluded, + excluded; distinct per row) by rank
        sel = pad[r_s]
        r_m, j_m = r_s[sel], j_s[sel]
        if n_ex:  # (else excluded items were dropped from the stored entries already)
            keep = ~_sorted_member(ex_keys, r_m * n + j_m)
            r_m, j_m = r_m[keep], j_m[keep]
        sel = pad[r_e]
        mem_row = np.concatenate([r_m, r_e[sel]])
        mem_j = np.concatenate([j_m, j_e[sel]])
        mem_rank = mem_j if rank is None else rank[mem_j].astype(np.int64)
        srt = np.sort(mem_row * n + mem_rank)
        mem_row, mem_rank = srt // n, srt % n
        pos = np.arange(len(srt), dtype=np.int64) - np.searchsorted(mem_row, np.arange(b))[mem_row]
        # stored values above the bound beat every padding track: only k - beat are needed
        need = k - beat
        t = np.bincount(mem_row[mem_rank - pos < need[mem_row]], minlength=b)
        m = np.where(pad, np.minimum(n, need + t), 0)
        inside = mem_rank < m[mem_row]
        # the prefix of each padded row, minus its members (flagged by a scatter)
        start = np.cumsum(m) - m
        r_p = np.repeat(np.arange(b, dtype=np.int64), m)
        rk = np.arange(len(r_p), dtype=np.int64) - np.repeat(start, m)
        flag = np.zeros(len(r_p), dtype=bool)
        flag[start[mem_row[inside]] + mem_rank[inside]] = True
        r_p, rk = r_p[~flag], rk[~flag]
        if prior is None:
            v_p = np.zeros(len(r_p), np.float32)
        else:
            j_p = prior.order[rk]
            v_p = ((w[r_p] * prior.values[j_p] + np.float32(0.0)) + c[r_p]).astype(np.float32)
            v_p = v_p + np.float32(0.0)
            v_p[np.isnan(v_p)] = -np.inf
        parts_r.append(r_p)
        parts_v.append(v_p)
        parts_t.append(rk)
    rows = np.concatenate(parts_r)
    vals = np.concatenate(parts_v).astype(np.float32, copy=False)
    ties = np.concatenate(parts_t).astype(np.int64, copy=False)
    tb = max(1, n - 1).bit_length()
    if n <= _RANK_LIMIT and max(1, b - 1).bit_length() + tb <= 32:
        # one sort of packed uint64 keys (row | descending score | tie rank)
        tb64 = np.uint64(tb)
        key = np.sort(
            (rows.astype(np.uint64) << (tb64 + np.uint64(32)))
            | (_descending_bits(vals).astype(np.uint64) << tb64)
            | ties.astype(np.uint64)
        )
        rows = (key >> (tb64 + np.uint64(32))).astype(np.int64)
        ties = (key & np.uint64((1 << tb) - 1)).astype(np.int64)
        vals = _from_descending_bits(((key >> tb64) & np.uint64(0xFFFFFFFF)).astype(np.uint32))
    else:
        srt = np.lexsort((ties, -vals, rows))
        rows, vals, ties = rows[srt], vals[srt], ties[srt]
    pos = np.arange(len(rows)) - np.searchsorted(rows, np.arange(b))[rows]
    ok = (pos < k) & np.isfinite(vals)
    items = ties[ok] if prior is None else prior.order[ties[ok]]
    out_items[rows[ok], pos[ok]] = items
    out_scores[rows[ok], pos[ok]] = vals[ok]
    return out_items, out_scores
