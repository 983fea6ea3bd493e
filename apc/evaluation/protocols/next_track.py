"""The next-track protocol: predict each next track of held-out playlists from its prefix."""

from __future__ import annotations

import numpy as np

from apc.errors import ApcInputError
from apc.evaluation.protocols.base import Split, SplitProtocol
from apc.evaluation.protocols.splitters import make_queries, offsets, playlist_ids_of, train_corpus


class NextTrack(SplitProtocol):
    r"""Predict each next track of held-out playlists from its prefix.

    ::

        held-out playlist   t0  t1  t2  t3  t4
        query 1             [t0] -> t1
        query 2             [t0  t1] -> t2
        ...                 (mode="last": only [t0 .. t3] -> t4)

    One query per position :math:`t \ge 1` (``mode="all"``, Vall et al. 2018; Ludewig &
    Jannach 2018) or only the last one (``mode="last"``). The target is the single next
    track; a query whose target is unseen in training, or repeats a track of its own
    prefix, is dropped and counted.

    Parameters
    ----------
    mode : {"all", "last"}
        Every position or only the last.
    max_seed_length : int, optional
        Keep only the last ``max_seed_length`` tracks of each prefix.
    test_fraction, n_test, split_by
        Held-out playlists, see :class:`SplitProtocol`.
    """

    name = "next-track"

    def __init__(self, *, mode: str = "all", max_seed_length: int | None = None,
                 test_fraction: float = 0.1, n_test: int | None = None,
                 split_by: str = "random") -> None:
        super().__init__(test_fraction=test_fraction, n_test=n_test, split_by=split_by)
        self.mode = mode
        self.max_seed_length = max_seed_length

    def _check(self) -> None:
        super()._check()
        if self.mode not in ("all", "last"):
            raise ApcInputError(f"mode must be 'all' or 'last', got {self.mode!r}", field="mode")
        if self.max_seed_length is not None and int(self.max_seed_length) < 1:
            raise ApcInputError("max_seed_length must be >= 1", field="max_seed_length")

    def _build(self, data, test, train_rows, rng, counts) -> Split:
        train, remap = train_corpus(data, train_rows)
        lengths = data.lengths[test]
        if self.mode == "all":
            n_per = lengths - 1
            q_row = np.repeat(np.arange(len(test)), n_per)
            t_pos = offsets(n_per) + 1  # target position in its playlist
        else:
            q_row = np.arange(len(test))
            t_pos = lengths - 1
        start = data.indptr[test][q_row]
        n_q = len(q_row)
        seed_len = (
            t_pos
            if self.max_seed_length is None
            else np.minimum(t_pos, int(self.max_seed_length))
        )
        seed_q = np.repeat(np.arange(n_q), seed_len)
        seed_idx = np.repeat(start + t_pos - seed_len, seed_len) + offsets(seed_len)
        seed_items = data.items[seed_idx].astype(np.int64)
        target_items = data.items[start + t_pos].astype(np.int64)
        counts["train_playlists"] = len(train)
        counts["test_playlists"] = len(test)
        rows = test[q_row]
        queries = make_queries(
            n_q, seed_q, seed_items, np.arange(n_q), target_items, remap, train.n_tracks,
            counts, playlist_ids=playlist_ids_of(data, rows), seed_positions=t_pos,
            category=np.minimum(t_pos, 10).astype(np.int64),
            drop_queries_with_oov_target=True,
        )
        return Split(train, queries, None)
