"""Item co-occurrence: tracks that share playlists with the seed tracks come first."""

import numpy as np

from apc.models.base import ScoringRecommender


class CoOccurrence(ScoringRecommender):
    """Score of track j = number of (seed track, training playlist) pairs holding both it and j.

    Ties (and empty seeds) are broken by ``alpha`` times the track's popularity.
    """

    name = "cooccur"

    def __init__(self, *, alpha: float = 1e-3) -> None:
        self.alpha = alpha

    def _fit(self, train, features=None) -> None:
        x = train.to_csr()  # playlists x tracks, 1 where a track occurs
        self.cooccurrence_ = (x.T @ x).tocsr()  # tracks x tracks
        self.popularity_ = np.asarray(x.sum(axis=0)).ravel().astype(np.float32)

    def _score(self, queries) -> np.ndarray:
        scores = (queries.seeds_csr() @ self.cooccurrence_).toarray()  # (B, n_tracks)
        return scores.astype(np.float32) + self.alpha * self.popularity_
