r"""Content k-NN: cosine between the seed's mean feature vector and every track.

The simplest content-based reference for the hybrid models (and the floor of the
cold-start tables): it uses no playlist co-occurrence at all, only the features.

.. math::

    \mathrm{score}(q, t) = \cos\Big(\frac{1}{|S_q|}\sum_{s \in S_q} \hat{f}_s,\ \hat{f}_t\Big)

where :math:`\hat{f}` are the standardised, L2-normalised feature vectors and
:math:`S_q` the seed tracks that have features.
"""

from __future__ import annotations

import numpy as np

from apc.data.features import ItemFeatures
from apc.data.playlists import Playlists
from apc.data.queries import Queries
from apc.models.base import ScoringRecommender
from apc.models.hybrid import (
    FeatureConfig,
    dot64,
    floor_unavailable,
    preprocess,
    resolve_features,
)


class ContentKNN(ScoringRecommender):
    r"""Cosine similarity of content features to the mean of the seed's features.

    .. math::

        \mathrm{score}(q, t) = \cos\Big(\frac{1}{|S_q|}\sum_{s \in S_q} \hat{f}_s,\ \hat{f}_t\Big)

    with :math:`\hat{f}` the standardised, L2-normalised features and :math:`S_q` the
    seed tracks that have features. Tracks without features score below every other
    track of the row; when no seed track has features, every track with features
    scores 0.

    Parameters
    ----------
    **params
        Fields of :class:`~apc.models.hybrid.FeatureConfig` as keywords.

    Examples
    --------
    >>> from apc.testing import checkerboard, queries_from
    >>> pl = checkerboard()
    >>> m = ContentKNN(features="wmf").fit(pl)
    >>> m.recommend(queries_from(pl, [[0]], [[1]]), 3).items.shape
    (1, 3)
    """

    name = "content-knn"
    config_class = FeatureConfig

    def _fit(self, train: Playlists, features: ItemFeatures | None) -> None:
        feats = resolve_features(self, train, features)
        self.available_ = feats.available.copy()
        self.blocks_ = dict(feats.blocks)
        self.vectors_ = preprocess(feats, np.arange(train.n_tracks), standardize=self.standardize)

    def _score(self, queries: Queries) -> np.ndarray:
        # rows of tracks without features are zero, so they drop out of the sum
        q = np.asarray(queries.seeds_csr() @ self.vectors_, dtype=np.float64)  # (B, d)
        q /= np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
        scores = dot64(q, self.vectors_)  # (B, n_tracks) cosines
        return floor_unavailable(scores, self.available_)
