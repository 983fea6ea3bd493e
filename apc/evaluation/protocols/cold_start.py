"""The cold-start protocol: continuation where some tracks occur on the test side only."""

from __future__ import annotations

import numpy as np

from apc.data.playlists import Playlists
from apc.errors import ApcInputError
from apc.evaluation.protocols.base import Split
from apc.evaluation.protocols.continuation import Continuation
from apc.evaluation.protocols.splitters import (
    csr_indptr,
    entries,
    make_queries,
    playlist_ids_of,
    playlist_titles,
    train_corpus,
)


class ColdStartTracks(Continuation):
    r"""Continuation where a share of the tracks exists only on the test side.

    ::

        cold tracks C (drawn from the held-out playlists' tracks)
        train playlists:   every occurrence of a track in C removed
        held-out playlist  t0 c1 t2 | c3 t4 t5     (c = cold: in no training playlist)

    A share ``cold_fraction`` of the distinct tracks of the held-out playlists is made
    *cold*: removed from every training playlist but kept in the catalogue (with its
    metadata and audio), so only content-aware models can score them (Vall et al. 2019,
    cold-start song scenario). Seeds and targets may contain cold tracks.

    Parameters
    ----------
    cold_fraction : float
        Share of the held-out playlists' distinct tracks made cold (default 0.2).
    n_seed, seed_fraction, min_targets
        Seed and targets, see :class:`Continuation` (always strong generalisation).
    test_fraction, n_test, split_by
        Held-out playlists, see :class:`SplitProtocol`.
    """

    name = "cold-start"

    def __init__(self, *, cold_fraction: float = 0.2, n_seed: int = 5,
                 seed_fraction: float | None = None, min_targets: int = 1,
                 test_fraction: float = 0.1, n_test: int | None = None,
                 split_by: str = "random") -> None:
        super().__init__(n_seed=n_seed, seed_fraction=seed_fraction, min_targets=min_targets,
                         test_fraction=test_fraction, n_test=n_test, split_by=split_by)
        self.cold_fraction = cold_fraction

    @classmethod
    def _option_names(cls) -> list[str]:
        return [n for n in super()._option_names() if n != "generalisation"]

    def _check(self) -> None:
        super()._check()
        if not (0.0 < float(self.cold_fraction) < 1.0):
            raise ApcInputError("cold_fraction must lie in (0, 1)", field="cold_fraction")

    def _build(self, data, test, train_rows, rng, counts) -> Split:
        r, pos, items = entries(data, test)
        test_tracks = np.unique(items)
        n_cold = max(1, int(round(float(self.cold_fraction) * len(test_tracks))))
        cold = np.zeros(data.n_tracks, dtype=bool)
        cold[rng.choice(test_tracks, size=min(n_cold, len(test_tracks)), replace=False)] = True
        # remove cold tracks from the training playlists
        sub = data.subset(train_rows)
        keep = ~cold[sub.items]
        counts["cold_entries_removed_from_train"] = int((~keep).sum())
        lengths = np.bincount(np.repeat(np.arange(len(sub)), sub.lengths)[keep], minlength=len(sub))
        stripped = sub.with_items(csr_indptr(lengths), sub.items[keep], sub.meta)
        everything = Playlists(
            stripped.indptr, stripped.items, data.tracks, data.artists, stripped.meta, data.info)
        train, remap = train_corpus(everything, np.arange(len(everything)), keep_tracks=cold)
        n_seed = self._seed_lengths(data.lengths[test])
        is_seed = pos < n_seed[r]
        counts["train_playlists"] = len(train)
        counts["test_playlists"] = len(test)
        counts["cold_tracks"] = int(cold.sum())
        counts["cold_targets"] = int(cold[items[~is_seed]].sum())
        queries = make_queries(
            len(test), r[is_seed], items[is_seed], r[~is_seed], items[~is_seed], remap,
            train.n_tracks, counts, playlist_ids=playlist_ids_of(data, test),
            titles=playlist_titles(data, test), category=n_seed, seed_positions=n_seed,
        )
        return Split(train, queries, None)
