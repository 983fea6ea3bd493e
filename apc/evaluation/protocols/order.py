"""Order ablation (Vall et al. 2018): shuffle the order of the training playlists.

``make_protocol(name, shuffle_order="train")`` wraps any protocol in
:class:`OrderAblation`: it splits as the wrapped protocol does, then permutes the tracks
*within* each training playlist (and, with ``"train+seeds"``, within each query's seed)
with a seeded random permutation. The set of tracks of every playlist, the queries and
the targets are unchanged, so a model that ignores order (popularity, playlist k-NN)
scores exactly the same, and the drop of an order-aware model (Markov chain, GRU4Rec)
measures how much it relies on song order.

References
----------
A. Vall, M. Quadrana, M. Schedl and G. Widmer, "Order, context and popularity bias in
next-song recommendations", International Journal of Multimedia Information Retrieval
8, 101-113, 2019 (doi:10.1007/s13735-019-00169-8; preprint 2018), Section 5.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from apc.errors import ApcInputError
from apc.evaluation.protocols.base import Split, SplitReport

#: Values of the ``shuffle_order`` option.
SHUFFLE_ORDER = ("none", "train", "train+seeds")


def shuffle_within(indptr: np.ndarray, items: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Permute ``items`` uniformly at random within each CSR row (vectorised).

    Parameters
    ----------
    indptr : np.ndarray
        int64 ``(R + 1,)`` row pointers.
    items : np.ndarray
        ``(N,)`` values in row order.
    rng : np.random.Generator
        Source of the permutations.

    Returns
    -------
    np.ndarray
        A new array: every row holds the same values in a uniformly random order.

    Examples
    --------
    >>> out = shuffle_within(np.array([0, 3, 5]), np.arange(5), np.random.default_rng(0))
    >>> sorted(out[:3].tolist()), sorted(out[3:].tolist())
    ([0, 1, 2], [3, 4])
    """
    row = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    order = np.lexsort((rng.random(len(items)), row))  # by row, then by a random key
    return np.asarray(items)[order]


class OrderAblation:
    """A protocol whose training playlists (and optionally seeds) are shuffled.

    Parameters
    ----------
    protocol : SplitProtocol
        The protocol that draws the split.
    shuffle_order : {"train", "train+seeds"}
        Shuffle the tracks of every training playlist, or those and each query's seed.
    """

    def __init__(self, protocol, *, shuffle_order: str = "train") -> None:
        self.protocol = protocol
        self.shuffle_order = shuffle_order
        self.name = protocol.name

    def _option_names(self) -> list[str]:
        return [*self.protocol._option_names(), "shuffle_order"]

    def options(self) -> dict[str, Any]:
        """Return the wrapped protocol's options plus ``shuffle_order``."""
        return {**self.protocol.options(), "shuffle_order": self.shuffle_order}

    def __repr__(self) -> str:
        return f"OrderAblation({self.protocol!r}, shuffle_order={self.shuffle_order!r})"

    def check(self) -> None:
        """Validate the options of both."""
        if self.shuffle_order not in SHUFFLE_ORDER[1:]:
            raise ApcInputError(f"shuffle_order must be one of {SHUFFLE_ORDER}, got "
                                f"{self.shuffle_order!r}", field="shuffle_order")
        self.protocol.check()

    def split(self, data, *, seed: int = 0) -> Split:
        """Split as the wrapped protocol does, then shuffle (seeded by ``seed``).

        Parameters
        ----------
        data : Playlists
            The corpus.
        seed : int, default 0
            Seed of the split; the permutations use a stream derived from it.

        Returns
        -------
        Split
            Same held-out playlists, queries and targets as the unshuffled split.
        """
        self.check()
        split = self.protocol.split(data, seed=seed)
        rng = np.random.default_rng([int(seed), 0x5EED0])  # independent of the split draws
        train = split.train
        train = train.with_items(train.indptr, shuffle_within(train.indptr, train.items, rng),
                                 train.meta)
        queries = split.queries
        if self.shuffle_order == "train+seeds":
            queries = replace(queries, seeds=shuffle_within(queries.seeds_indptr, queries.seeds,
                                                            rng))
        r = split.report
        what = "training playlist" + (" and seed" if queries is not split.queries else "")
        notes = [*r.notes, f"order ablation: tracks shuffled within each {what}"]
        report = SplitReport(r.protocol, self.options(), r.seed, dict(r.counts), notes)
        return Split(train, queries, report)
