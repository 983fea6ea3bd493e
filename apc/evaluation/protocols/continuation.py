"""The continuation protocol: the first tracks of held-out playlists given, the rest the target."""

from __future__ import annotations

import numpy as np

from apc.data.playlists import Playlists
from apc.errors import ApcInputError
from apc.evaluation.protocols.base import Split, SplitProtocol
from apc.evaluation.protocols.splitters import (
    csr_indptr,
    entries,
    make_queries,
    playlist_ids_of,
    playlist_titles,
    train_corpus,
)


class Continuation(SplitProtocol):
    r"""Continue held-out playlists: the first tracks are given, the rest is the target.

    ::

        held-out playlist   t0  t1  t2 | t3  t4  t5  t6
                            seed (n=3) | targets (ordered)

    The seed is the first ``n_seed`` tracks, or the first ``ceil(seed_fraction * L)``
    (Bonnin & Jannach 2014; Vall et al. 2019). With ``generalisation="weak"`` the seed
    part of every held-out playlist is also a training playlist (Vall et al.'s weak
    generalisation: the playlists being continued are known at training time).

    Parameters
    ----------
    n_seed : int
        Seed length (default 5) unless ``seed_fraction`` is given.
    seed_fraction : float, optional
        Seed as a share of each playlist's length (at least one track).
    min_targets : int
        Held-out playlists must keep at least this many target tracks (default 1).
    generalisation : {"strong", "weak"}
        Strong (default): held-out playlists are unseen in training.
    test_fraction, n_test, split_by
        Held-out playlists, see :class:`SplitProtocol`.
    """

    name = "continuation"

    def __init__(self, *, n_seed: int = 5, seed_fraction: float | None = None,
                 min_targets: int = 1, generalisation: str = "strong",
                 test_fraction: float = 0.1, n_test: int | None = None,
                 split_by: str = "random") -> None:
        super().__init__(test_fraction=test_fraction, n_test=n_test, split_by=split_by)
        self.n_seed = n_seed
        self.seed_fraction = seed_fraction
        self.min_targets = min_targets
        self.generalisation = generalisation

    def _check(self) -> None:
        super()._check()
        if self.seed_fraction is None and int(self.n_seed) < 0:
            raise ApcInputError("n_seed must be >= 0", field="n_seed")
        if self.seed_fraction is not None and not (0.0 < float(self.seed_fraction) < 1.0):
            raise ApcInputError("seed_fraction must lie in (0, 1)", field="seed_fraction")
        if int(self.min_targets) < 1:
            raise ApcInputError("min_targets must be >= 1", field="min_targets")
        if self.generalisation not in ("strong", "weak"):
            raise ApcInputError("generalisation must be 'strong' or 'weak'", field="generalisation")
        if self.generalisation == "weak" and self.seed_fraction is None and int(self.n_seed) == 0:
            raise ApcInputError("weak generalisation needs a non-empty seed", field="n_seed")

    def _seed_lengths(self, lengths: np.ndarray) -> np.ndarray:
        if self.seed_fraction is not None:
            return np.maximum(1, np.ceil(float(self.seed_fraction) * lengths)).astype(np.int64)
        return np.full(len(lengths), int(self.n_seed), dtype=np.int64)

    def _eligible(self, data: Playlists) -> np.ndarray:
        lengths = data.lengths
        return lengths >= self._seed_lengths(lengths) + int(self.min_targets)

    @property
    def min_length(self) -> int:  # type: ignore[override]
        """Shortest playlist that can be held out: seed length plus ``min_targets``."""
        return (1 if self.seed_fraction is not None else int(self.n_seed)) + int(self.min_targets)

    def _build(self, data, test, train_rows, rng, counts) -> Split:
        r, pos, items = entries(data, test)
        n_seed = self._seed_lengths(data.lengths[test])
        is_seed = pos < n_seed[r]
        extra = None
        if self.generalisation == "weak":
            s_len = n_seed
            extra = (csr_indptr(s_len), items[is_seed].astype(np.int32),
                     data.meta.iloc[test].reset_index(drop=True))
        train, remap = train_corpus(data, train_rows, extra)
        counts["train_playlists"] = len(train)
        counts["test_playlists"] = len(test)
        queries = make_queries(
            len(test), r[is_seed], items[is_seed], r[~is_seed], items[~is_seed], remap,
            train.n_tracks, counts, playlist_ids=playlist_ids_of(data, test),
            titles=playlist_titles(data, test), category=n_seed, seed_positions=n_seed,
        )
        return Split(train, queries, None)
