"""Queries (seeds + held-out targets) and Recommendations over the train catalogue.

Both are CSR-shaped: ragged rows of track indices stored as ``indptr`` + values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from apc.errors import ApcInputError


def _indptr(lengths) -> np.ndarray:
    out = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=out[1:])
    return out


def _take_rows(indptr: np.ndarray, values: np.ndarray, rows: np.ndarray):
    lengths = np.diff(indptr)[rows]
    new_indptr = _indptr(lengths)
    starts = np.repeat(indptr[rows], lengths)
    offsets = np.arange(new_indptr[-1], dtype=np.int64) - np.repeat(new_indptr[:-1], lengths)
    return new_indptr, values[starts + offsets]


@dataclass(frozen=True, eq=False)
class Queries:
    """A batch of recommendation requests with their held-out answers.

    Seeds and targets are ragged int32 arrays in CSR form over the *train* track
    catalogue (indices into ``train.tracks``), each in playlist order.

    Parameters
    ----------
    seeds_indptr : np.ndarray
        int64 (Q + 1,).
    seeds : np.ndarray
        int32, the ordered seed tracks of all queries, concatenated.
    targets_indptr : np.ndarray
        int64 (Q + 1,).
    targets : np.ndarray
        int32, the ordered held-out tracks of all queries, concatenated.
    n_tracks : int
        Size of the catalogue the indices refer to.
    playlist_ids : np.ndarray, optional
        External id of the playlist each query comes from (default 0..Q-1).
    titles : np.ndarray, optional
        object (Q,): playlist title or None — the seed metadata.
    category : np.ndarray, optional
        Query group, e.g. the MPD challenge category or the seed length.
    seed_positions : np.ndarray, optional
        int64 (Q,): index in the source playlist of the first target (NextTrack).
    extra : dict, optional
        Free-form information carried along (copied by :meth:`subset`).

    Examples
    --------
    >>> q = Queries.from_lists([[0, 1], []], [[2], [0, 3]], n_tracks=4)
    >>> len(q), q.seed(0).tolist(), q.target(1).tolist()
    (2, [0, 1], [0, 3])
    """

    seeds_indptr: np.ndarray
    seeds: np.ndarray
    targets_indptr: np.ndarray
    targets: np.ndarray
    n_tracks: int
    playlist_ids: np.ndarray | None = None
    titles: np.ndarray | None = None
    category: np.ndarray | None = None
    seed_positions: np.ndarray | None = None
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        si = np.ascontiguousarray(self.seeds_indptr, dtype=np.int64)
        ti = np.ascontiguousarray(self.targets_indptr, dtype=np.int64)
        s = np.ascontiguousarray(self.seeds, dtype=np.int32)
        t = np.ascontiguousarray(self.targets, dtype=np.int32)
        if len(si) != len(ti):
            raise ApcInputError("seeds and targets describe different numbers of queries")
        if si[-1] != len(s) or ti[-1] != len(t):
            raise ApcInputError("indptr does not match the number of seed/target items")
        for name, arr in (("seeds", s), ("targets", t)):
            if len(arr) and (arr.min() < 0 or arr.max() >= self.n_tracks):
                raise ApcInputError(
                    f"{name} must be track indices in [0, {self.n_tracks})", field=name
                )
        q = len(si) - 1
        pids = np.arange(q) if self.playlist_ids is None else np.asarray(self.playlist_ids)
        object.__setattr__(self, "seeds_indptr", si)
        object.__setattr__(self, "targets_indptr", ti)
        object.__setattr__(self, "seeds", s)
        object.__setattr__(self, "targets", t)
        object.__setattr__(self, "playlist_ids", pids)
        for name in ("titles", "category", "seed_positions"):
            v = getattr(self, name)
            if v is not None:
                v = np.asarray(v)
                if len(v) != q:
                    raise ApcInputError(f"{name} has {len(v)} entries for {q} queries")
                object.__setattr__(self, name, v)

    @classmethod
    def from_lists(cls, seeds, targets, *, n_tracks: int, **kwargs) -> Queries:
        """Build queries from Python lists of seed and target index lists.

        Parameters
        ----------
        seeds : sequence of sequences of int
            Ordered seed track indices, one list per query.
        targets : sequence of sequences of int
            Ordered target track indices, one list per query (same length as
            ``seeds``).
        n_tracks : int
            Size of the catalogue the indices refer to.
        **kwargs
            Other fields of :class:`Queries` (``playlist_ids``, ``titles``,
            ``category``, ``seed_positions``, ``extra``).

        Returns
        -------
        Queries
        """
        seeds = [np.asarray(s, dtype=np.int32) for s in seeds]
        targets = [np.asarray(t, dtype=np.int32) for t in targets]
        cat = lambda xs: np.concatenate(xs) if xs else np.empty(0, np.int32)  # noqa: E731
        return cls(
            _indptr([len(s) for s in seeds]),
            cat(seeds),
            _indptr([len(t) for t in targets]),
            cat(targets),
            n_tracks,
            **kwargs,
        )

    def __len__(self) -> int:
        return len(self.seeds_indptr) - 1

    def seed(self, q: int) -> np.ndarray:
        """Return the ordered seed tracks of one query.

        Parameters
        ----------
        q : int
            Query index.

        Returns
        -------
        np.ndarray
            int32 track indices (a view, no copy).
        """
        return self.seeds[self.seeds_indptr[q] : self.seeds_indptr[q + 1]]

    def target(self, q: int) -> np.ndarray:
        """Return the ordered target tracks of one query.

        Parameters
        ----------
        q : int
            Query index.

        Returns
        -------
        np.ndarray
            int32 track indices (a view, no copy).
        """
        return self.targets[self.targets_indptr[q] : self.targets_indptr[q + 1]]

    @property
    def seed_lengths(self) -> np.ndarray:
        """int64 (Q,): number of seed tracks per query."""
        return np.diff(self.seeds_indptr)

    @property
    def target_lengths(self) -> np.ndarray:
        """int64 (Q,): number of target tracks per query."""
        return np.diff(self.targets_indptr)

    def seeds_csr(self, *, binary: bool = True) -> sp.csr_array:
        """Return the query x track matrix of seeds (float32).

        Parameters
        ----------
        binary : bool, default True
            If True, entries are 1 where a track is in the seed; otherwise they count
            occurrences.

        Returns
        -------
        scipy.sparse.csr_array
            Shape (Q, n_tracks).
        """
        return _csr(self.seeds_indptr, self.seeds, self.n_tracks, binary)

    def targets_csr(self, *, binary: bool = True) -> sp.csr_array:
        """Return the query x track matrix of targets (float32).

        Parameters
        ----------
        binary : bool, default True
            If True, entries are 1 where a track is a target; otherwise they count
            occurrences.

        Returns
        -------
        scipy.sparse.csr_array
            Shape (Q, n_tracks).
        """
        return _csr(self.targets_indptr, self.targets, self.n_tracks, binary)

    def last_seed(self) -> np.ndarray:
        """Return the last seed track of each query.

        Returns
        -------
        np.ndarray
            int32 (Q,): track index, -1 where the seed is empty.
        """
        lengths = self.seed_lengths
        out = np.full(len(self), -1, dtype=np.int32)
        has = lengths > 0
        out[has] = self.seeds[self.seeds_indptr[1:][has] - 1]
        return out

    def subset(self, rows) -> Queries:
        """Select queries, in the order given.

        Parameters
        ----------
        rows : array-like of int or bool mask
            Queries to keep.

        Returns
        -------
        Queries
            The selected queries with their metadata and a copy of ``extra``.
        """
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        si, s = _take_rows(self.seeds_indptr, self.seeds, rows)
        ti, t = _take_rows(self.targets_indptr, self.targets, rows)
        pick = lambda v: None if v is None else v[rows]  # noqa: E731
        return Queries(
            si, s, ti, t, self.n_tracks, self.playlist_ids[rows], pick(self.titles),
            pick(self.category), pick(self.seed_positions), dict(self.extra),
        )


def _csr(indptr, values, n_cols, binary) -> sp.csr_array:
    m = sp.csr_array(
        (np.ones(len(values), dtype=np.float32), values, indptr.copy()),
        shape=(len(indptr) - 1, n_cols),
    )
    m.sum_duplicates()
    if binary:
        m.data[:] = 1.0
    return m


@dataclass(frozen=True, eq=False)
class Recommendations:
    """Top-k lists for a batch of queries, best first.

    Parameters
    ----------
    items : np.ndarray
        int32 (Q, k): track indices; ``-1`` pads the end of a row when fewer than ``k``
        tracks could be recommended.
    scores : np.ndarray
        float32 (Q, k): the model's scores, non-increasing along a row; ``-inf`` where
        padded.
    """

    items: np.ndarray
    scores: np.ndarray

    def __post_init__(self) -> None:
        items = np.ascontiguousarray(self.items, dtype=np.int32)
        scores = np.ascontiguousarray(self.scores, dtype=np.float32)
        if items.ndim != 2 or items.shape != scores.shape:
            raise ValueError(f"items {items.shape} and scores {scores.shape} must be (Q, k)")
        object.__setattr__(self, "items", items)
        object.__setattr__(self, "scores", scores)

    def __len__(self) -> int:
        return self.items.shape[0]

    @property
    def k(self) -> int:
        """List length."""
        return self.items.shape[1]
