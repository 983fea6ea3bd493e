"""Non-personalised baselines: uniformly random tracks and global most-popular."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from apc.data.playlists import Playlists
from apc.data.queries import Queries
from apc.models._topk import Prior, PriorScores
from apc.models.base import ScoringRecommender
from apc.models.params import param


@dataclass(frozen=True)
class RandomConfig:
    """Hyper-parameters of :class:`RandomRecommender`."""

    seed: int = param(0, ge=0, doc="Seed of the random rankings.")


@dataclass(frozen=True)
class PopularityConfig:
    """Hyper-parameters of :class:`Popularity`."""

    distinct: bool = param(True, doc="Count each playlist once per track, or every occurrence.")


class RandomRecommender(ScoringRecommender):
    """Uniformly random tracks from the train catalogue — the floor of every table.

    Each query gets its own random ranking drawn from a generator seeded by
    ``(seed, playlist_id)``, so results do not depend on batching or query order.

    Parameters
    ----------
    **params
        Fields of :class:`RandomConfig` (``seed``).
    """

    name = "random"
    empty_seed_fallback = False

    config_class = RandomConfig

    def _fit(self, train: Playlists, features) -> None:
        self.n_items_ = train.n_tracks

    def _score(self, queries: Queries) -> np.ndarray:
        out = np.empty((len(queries), self.n_items_), dtype=np.float32)
        for row, pid in enumerate(queries.playlist_ids):  # one generator per query, not per item
            key = zlib.crc32(str(pid).encode())
            out[row] = np.random.default_rng([int(self.seed), key]).random(self.n_items_)
        return out


class Popularity(ScoringRecommender):
    """Most popular tracks: score = number of training playlists containing the track.

    The classic non-personalised baseline of playlist continuation (Bonnin & Jannach
    2014, "MostPopular"); seed tracks are excluded, so each query gets the most popular
    tracks it does not already hold.

    Parameters
    ----------
    **params
        Fields of :class:`PopularityConfig` (``distinct``).
    """

    name = "popularity"
    empty_seed_fallback = False  # already answers empty seeds sensibly

    @property
    def sparse_scores(self) -> bool:
        """True unless a subclass scores its own way: _block_scores builds no dense block."""
        return type(self)._score is Popularity._score

    config_class = PopularityConfig

    def _fit(self, train: Playlists, features) -> None:
        self.popularity_ = train.item_popularity(distinct=self.distinct).astype(np.float32)
        self.prior_ = Prior.of(self.popularity_)

    def _score(self, queries: Queries) -> np.ndarray:
        return np.broadcast_to(self.popularity_, (len(queries), len(self.popularity_)))

    def _block_scores(self, queries: Queries, k: int) -> PriorScores:
        # the same scores as _score, as "1 x popularity + nothing": top_k then reads only
        # the first k + |seed| tracks of the popularity order instead of every row
        # (ties: popularity order is by index among equal counts, the documented rule)
        if not self.sparse_scores:  # a subclass scores its own way
            return self._score(queries)
        n, b = len(self.popularity_), len(queries)
        return PriorScores(sp.csr_array((b, n), dtype=np.float32), np.ones(b, np.float32),
                           np.zeros(b, np.float32), self.prior_)
