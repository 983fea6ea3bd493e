"""Shared inputs of the metrics: clean item ids, the hit positions, blocked bitmap lookups.

Every metric is a reduction of one :class:`Hits` object, built once per
:func:`~apc.evaluation.metrics.compute_metrics` call: the hits are found by a blocked
bitmap gather (no Python loop over queries, no sort of the ``Q x w`` cells) and kept as
row-major ``(row, column)`` positions, so a metric at a cut-off ``k`` is one
``np.bincount`` over the hits left of ``k`` rather than a pass over the whole matrix.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

#: A blocked membership bitmap (bool) holds at most this many cells.
BITMAP_CELLS = 1 << 23
#: A blocked first-occurrence scratch table (int16) holds at most this many cells: small
#: enough to stay in cache, which matters more than the number of blocks.
SCRATCH_CELLS = 1 << 20


def _items(recs) -> np.ndarray:
    items = np.asarray(getattr(recs, "items", recs))
    if items.ndim != 2:
        raise ValueError(f"recommendations must be 2-D (Q, k), got shape {items.shape}")
    if items.dtype.kind not in "iu":
        items = items.astype(np.int64)
    return items


def _targets(targets) -> tuple[np.ndarray, np.ndarray, int]:
    """Return ``(indptr, indices, n_ids)`` of the targets (repeats may remain)."""
    if hasattr(targets, "targets_indptr"):  # Queries: read its CSR fields, no copy or sort
        return (np.asarray(targets.targets_indptr, dtype=np.int64),
                np.asarray(targets.targets), int(targets.n_tracks))
    if hasattr(targets, "targets_csr"):
        targets = targets.targets_csr()
    t = sp.csr_array(targets, copy=True)
    t.eliminate_zeros()  # an explicit zero (e.g. from multiply()) is not a target
    return t.indptr.astype(np.int64), t.indices, int(t.shape[1])


def clean_ids(items: np.ndarray, n: int) -> np.ndarray:
    """Map padding (``-1``) and ids outside ``[0, n)`` to the sentinel ``n``.

    Parameters
    ----------
    items : np.ndarray
        int ``(Q, w)``.
    n : int
        Number of valid ids.

    Returns
    -------
    np.ndarray
        int32 (int64 when ``n`` does not fit) ``(Q, w)`` with values in ``[0, n]``.
    """
    if n < np.iinfo(np.int32).max and items.dtype.itemsize <= 4:
        # negative ids wrap to huge unsigned values, so one minimum maps padding too
        u = items.astype(np.int32, copy=False).view(np.uint32)
        return np.minimum(u, np.uint32(n)).view(np.int32)
    ok = (items >= 0) & (items < n)
    out = np.where(ok, items, n)
    return out.astype(np.int32) if n < np.iinfo(np.int32).max else out


def _block_rows(n_values: int, cells: int | None = None) -> int:
    return max(1, (BITMAP_CELLS if cells is None else cells) // max(1, n_values + 1))


def member(values: np.ndarray, indptr: np.ndarray, indices: np.ndarray, n_values: int,
           *, distinct: np.ndarray | None = None, positions: bool = False):
    """Tell, cell by cell, whether ``values[q, j]`` is in row ``q``'s set.

    Parameters
    ----------
    values : np.ndarray
        int ``(Q, W)`` in ``[0, n_values]``; ``n_values`` is a sentinel never in a set.
    indptr, indices : np.ndarray
        The sets in CSR form: row ``q`` holds ``indices[indptr[q]:indptr[q + 1]]``,
        values in ``[0, n_values)``; repeats are allowed.
    n_values : int
        Size of the value domain.
    distinct : np.ndarray, optional
        int64 ``(Q,)`` filled with the number of distinct values in each row's set.
    positions : bool, default False
        Return the row-major ``(rows, cols, first)`` of the member cells instead of a
        matrix; ``first`` marks the leftmost cell of each value in its row.

    Returns
    -------
    np.ndarray or tuple of np.ndarray
        bool ``(Q, W)``, or int64 ``rows``, ``cols`` and bool ``first`` when
        ``positions``.
    """
    q, w = values.shape
    out = None if positions else np.zeros((q, w), dtype=bool)
    found_rows, found_cols, found_first = [], [], []
    if distinct is not None:
        distinct[:] = 0
    if q and len(indices):
        width = n_values + 1  # one spare column for the sentinel, never set
        step = _block_rows(n_values)
        flat = np.zeros(step * width, dtype=bool)
        where = np.zeros(step * width, dtype=np.int64) if distinct is not None else None
        seen = np.zeros(step * width, dtype=np.int32) if positions else None
        small = values.dtype.itemsize <= 4 and step * width < np.iinfo(np.int32).max
        offsets = np.arange(step, dtype=np.int32 if small else np.int64) * width
        set_rows = np.repeat(np.arange(q, dtype=np.int64), np.diff(indptr))  # once, not per block
        for start in range(0, q, step):  # blocks of queries, never one query at a time
            stop = min(q, start + step)
            lo, hi = indptr[start], indptr[stop]
            rows = set_rows[lo:hi] - start
            set_cells = rows * width + indices[lo:hi]
            flat[set_cells] = True
            if w:
                block = flat[values[start:stop] + offsets[: stop - start, None]]
                if positions:
                    r, c = np.nonzero(block)
                    # leftmost cell of a repeated value: write right to left (contiguous
                    # operands, so in order) and keep the cells that read themselves back
                    cell = r.astype(np.int64) * width + values[start + r, c]
                    order = np.arange(len(r), dtype=np.int32)
                    seen[np.ascontiguousarray(cell[::-1])] = np.ascontiguousarray(order[::-1])
                    found_first.append(seen[cell] == order)
                    found_rows.append(r + start)
                    found_cols.append(c)
                else:
                    out[start:stop] = block
            flat[set_cells] = False
            if where is not None:  # exactly one entry of a repeated value reads itself back
                order = np.arange(len(set_cells))
                where[set_cells] = order
                first = where[set_cells] == order
                distinct[start:stop] = np.bincount(rows[first], minlength=stop - start)
    if not positions:
        return out
    if not found_rows:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, bool)
    return (np.concatenate(found_rows).astype(np.int64, copy=False),
            np.concatenate(found_cols).astype(np.int64, copy=False),
            np.concatenate(found_first))


def first_occurrence(values: np.ndarray, n_values: int) -> np.ndarray:
    """Mark the first cell of each distinct value in each row (the sentinel never counts).

    Parameters
    ----------
    values : np.ndarray
        int ``(Q, W)`` in ``[0, n_values]``; ``n_values`` is the sentinel.
    n_values : int
        Size of the value domain.

    Returns
    -------
    np.ndarray
        bool ``(Q, W)``: True where the value has not occurred earlier in its row.

    Notes
    -----
    Each block writes the column of every cell into a scratch table, right to left, and
    reads it back: the cell that finds its own column is the leftmost of its value. This
    relies on a repeated index keeping the last value written by a 1-D fancy assignment,
    which NumPy does (tested against a per-row reference in ``tests/evaluation``).
    """
    q, w = values.shape
    out = np.zeros((q, w), dtype=bool)
    if q == 0 or w == 0:
        return out
    width = n_values + 1
    # bounded by the scratch table and by the block's own cells (a small domain would
    # otherwise make one block of every row)
    step = min(_block_rows(n_values, SCRATCH_CELLS), max(1, SCRATCH_CELLS // w))
    col_dtype = np.int16 if w < np.iinfo(np.int16).max else np.int32
    cols = np.arange(w, dtype=col_dtype)
    scratch = np.zeros(step * width, dtype=col_dtype)
    offsets = np.arange(step, dtype=np.int64 if values.dtype == np.int64 else np.int32) * width
    rev = np.tile(cols[::-1], step)
    for start in range(0, q, step):
        stop = min(q, start + step)
        # ravel() gives a contiguous right-to-left index, and the values are contiguous:
        # NumPy then assigns in order (a strided or broadcast operand may be walked in
        # memory order instead)
        idx_rev = values[start:stop, ::-1] + offsets[: stop - start, None]
        scratch[idx_rev.ravel()] = rev[: (stop - start) * w]
        out[start:stop] = scratch[idx_rev[:, ::-1]] == cols
    out &= values != n_values
    return out


class Hits:
    """The recommendations of one evaluation and their hits, computed once and shared.

    Parameters
    ----------
    recs : np.ndarray or Recommendations
        int ``(Q, w)`` recommended track indices, best first, ``-1`` padded.
    targets : scipy.sparse matrix or Queries, optional
        ``(Q, n_tracks)``: non-zero where a track is a target. Without it only the
        beyond-accuracy metrics can use this object.
    n_tracks : int, optional
        Catalogue size (default: the targets' width).

    Attributes
    ----------
    items : np.ndarray
        int ``(Q, w)`` as given.
    ids : np.ndarray
        int32 ``(Q, w)``: the items with padding and out-of-catalogue ids mapped to
        ``n_tracks`` (never a hit, no artist, no popularity).
    n_targets : np.ndarray
        int64 ``(Q,)``: :math:`|G|`, distinct targets per query.
    target_indptr, target_indices : np.ndarray
        The targets in CSR form over ``n_target_ids`` track ids (repeats possible).
    rows, cols : np.ndarray
        int64 ``(H,)``: the hits in row-major order; a track recommended twice is a hit
        only at its first rank.
    repeat_rows, repeat_cols : np.ndarray
        int64: later ranks of an already-hit track (only the winners' evaluator counts
        them).
    """

    def __init__(self, recs, targets=None, *, n_tracks: int | None = None) -> None:
        self.items = _items(recs)
        q, w = self.items.shape
        if n_tracks is None:
            n_tracks = _targets(targets)[2] if targets is not None else (
                int(self.items.max()) + 1 if self.items.size else 0)
        self.n_tracks = int(n_tracks)
        self.ids = clean_ids(self.items, self.n_tracks)
        self.cache: dict[Any, Any] = {}
        empty = np.zeros(0, dtype=np.int64)
        self.rows = self.cols = self.repeat_rows = self.repeat_cols = empty
        self.n_targets = np.zeros(q, dtype=np.int64)
        #: The targets in CSR form (repeats possible) over ``n_target_ids`` track ids.
        self.target_indptr = np.zeros(q + 1, dtype=np.int64)
        self.target_indices = empty
        self.n_target_ids = self.n_tracks
        self.has_targets = targets is not None
        if targets is None:
            return
        indptr, indices, n_t = _targets(targets)
        if len(indptr) != q + 1:
            raise ValueError(f"{q} recommendation lists for {len(indptr) - 1} target rows")
        self.target_indptr, self.target_indices, self.n_target_ids = indptr, indices, n_t
        ids = self.ids if n_t == self.n_tracks else clean_ids(self.items, n_t)
        r, c, first = member(ids, indptr, indices.astype(ids.dtype, copy=False), n_t,
                             distinct=self.n_targets, positions=True)
        self.rows, self.cols = r[first], c[first]
        self.repeat_rows, self.repeat_cols = r[~first], c[~first]

    @classmethod
    def from_dense(cls, hits: np.ndarray, n_targets: np.ndarray, recs) -> Hits:
        """Wrap a ``(hits, n_targets)`` pair as returned by :func:`hit_matrix`.

        Parameters
        ----------
        hits : np.ndarray
            bool ``(Q, w)``.
        n_targets : np.ndarray
            int ``(Q,)``.
        recs : np.ndarray or Recommendations
            The recommendations the hits were computed from.

        Returns
        -------
        Hits
        """
        self = cls.__new__(cls)
        self.items = _items(recs)
        q = self.items.shape[0]
        self.has_targets = False  # the readings that need the target sets rebuild from recs
        self.target_indptr = np.zeros(q + 1, dtype=np.int64)
        self.target_indices = np.zeros(0, dtype=np.int64)
        self.n_tracks = int(self.items.max()) + 1 if self.items.size else 0
        self.n_target_ids = self.n_tracks
        self.ids = clean_ids(self.items, self.n_tracks)
        self.cache = {}
        self.n_targets = np.asarray(n_targets, dtype=np.int64)
        r, c = np.nonzero(np.asarray(hits, dtype=bool))
        self.rows, self.cols = r.astype(np.int64), c.astype(np.int64)
        self.repeat_rows = self.repeat_cols = np.zeros(0, dtype=np.int64)
        return self

    @property
    def shape(self) -> tuple[int, int]:
        """``(Q, w)``."""
        return self.items.shape

    def dense(self) -> np.ndarray:
        """Return the hits as a bool ``(Q, w)`` matrix."""
        out = np.zeros(self.shape, dtype=bool)
        out[self.rows, self.cols] = True
        return out

    def count(self, limit) -> np.ndarray:
        """Count each query's hits left of ``limit`` (a cut-off, or one per query).

        Parameters
        ----------
        limit : int or np.ndarray
            Columns ``< limit`` count; an int64 ``(Q,)`` array gives one limit per query.

        Returns
        -------
        np.ndarray
            int64 ``(Q,)``.
        """
        keep = self.cols < (limit if np.isscalar(limit) else np.asarray(limit)[self.rows])
        return np.bincount(self.rows[keep], minlength=self.shape[0])

    def weighted(self, weight_of_col: np.ndarray, limit=None) -> np.ndarray:
        """Sum a per-rank weight over each query's hits (left of ``limit`` when given).

        Parameters
        ----------
        weight_of_col : np.ndarray
            float64 ``(w,)``: weight of a hit at each 0-based column.
        limit : int, optional
            Cut-off.

        Returns
        -------
        np.ndarray
            float64 ``(Q,)``.
        """
        rows, cols = self.rows, self.cols
        if limit is not None:
            keep = cols < limit
            rows, cols = rows[keep], cols[keep]
        return np.bincount(rows, weights=weight_of_col[cols], minlength=self.shape[0])

    def first(self) -> np.ndarray:
        """Return each query's 0-based column of its first hit, ``-1`` without one."""
        if "first" not in self.cache:
            out = np.full(self.shape[0], -1, dtype=np.int64)
            if len(self.rows):
                starts = np.flatnonzero(np.r_[True, self.rows[1:] != self.rows[:-1]])
                out[self.rows[starts]] = self.cols[starts]
            self.cache["first"] = out
        return self.cache["first"]

    def rank_among_hits(self) -> np.ndarray:
        """Return, for each hit, its 1-based rank among its query's hits (row-major)."""
        if "rank_among_hits" not in self.cache:
            counts = np.bincount(self.rows, minlength=self.shape[0])
            starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
            self.cache["rank_among_hits"] = np.arange(len(self.rows)) - starts[self.rows] + 1
        return self.cache["rank_among_hits"]


def as_hits(recs, targets, hits) -> Hits:
    """Return ``hits`` as a :class:`Hits` (building it from ``recs`` and ``targets`` if None).

    Parameters
    ----------
    recs, targets
        As for :class:`Hits`.
    hits : Hits, tuple or None
        A shared :class:`Hits`, or a ``(hits, n_targets)`` pair from :func:`hit_matrix`.

    Returns
    -------
    Hits
    """
    if isinstance(hits, Hits):
        return hits
    if hits is not None and targets is None:
        return Hits.from_dense(hits[0], hits[1], recs)
    return Hits(recs, targets)  # a (hits, n_targets) pair came from these very inputs


def hit_matrix(recs, targets) -> tuple[np.ndarray, np.ndarray]:
    """Compute the boolean ``(Q, w)`` hit matrix and the number of distinct targets per query.

    Parameters
    ----------
    recs : np.ndarray or Recommendations
        int ``(Q, w)`` recommended track indices, ``-1`` padded.
    targets : scipy.sparse matrix or Queries
        ``(Q, n_tracks)``: non-zero where a track is a target.

    Returns
    -------
    hits : np.ndarray
        bool ``(Q, w)``; a track recommended twice is a hit only at its first rank.
    n_targets : np.ndarray
        int64 ``(Q,)``: :math:`|G|`.
    """
    h = Hits(recs, targets)
    return h.dense(), h.n_targets


def with_nan(values: np.ndarray, n_targets: np.ndarray) -> np.ndarray:
    """Return ``values`` as float64 with NaN where a query has no target."""
    out = np.asarray(values, dtype=np.float64).copy()
    out[n_targets == 0] = np.nan
    return out


def check_k(k: int) -> int:
    """Return ``k`` as an int, raising ValueError when it is below 1."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    return int(k)
