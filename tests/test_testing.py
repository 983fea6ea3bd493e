"""apc.testing: the contract checks the bare Recommender protocol and nothing more."""

import numpy as np
import pytest

from apc.data import Recommendations
from apc.errors import ApcInputError
from apc.models.base import ScoringRecommender
from apc.testing import RecommenderContract, check_recommender, checkerboard, queries_from


class BarePopularity:
    """A plug-in that follows the documented protocol only: no base class, no save,
    no NotFittedError, and a list narrower than k when the catalogue runs out."""

    def fit(self, train, features=None):
        self.order_ = np.argsort(-train.item_popularity(), kind="stable").astype(np.int32)
        return self

    def recommend(self, queries, k):
        k = min(k, len(self.order_))
        items = np.full((len(queries), k), -1, np.int32)
        scores = np.full((len(queries), k), -np.inf, np.float32)
        for q in range(len(queries)):
            row = self.order_[~np.isin(self.order_, queries.seed(q))][:k]
            items[q, : len(row)] = row
            scores[q, : len(row)] = -np.arange(len(row), dtype=np.float32)
        return Recommendations(items, scores)


class TestBareProtocolPasses(RecommenderContract):
    def make_model(self):
        return BarePopularity()


def test_bare_model_passes_check_recommender():
    check_recommender(BarePopularity)


def test_optional_checks_are_skipped_for_a_bare_model_and_can_be_forced():
    class Forced(RecommenderContract):
        check_not_fitted = True

        def make_model(self):
            return BarePopularity()

    with pytest.raises(AttributeError):  # the bare model does not promise NotFittedError
        Forced().test_optional_not_fitted_raises()
    with pytest.raises(pytest.skip.Exception):
        TestBareProtocolPasses().test_optional_save_load_roundtrip(None)


def test_contract_catches_a_broken_model():
    class SeedsBack(BarePopularity):
        def recommend(self, queries, k):
            recs = super().recommend(queries, k)
            recs.items[:, 0] = 0  # recommends track 0 even when it is a seed
            return recs

    with pytest.raises(AssertionError):
        check_recommender(SeedsBack)


def test_plug_in_with_wrong_score_shape_gets_the_expected_shape():
    class Plugin(ScoringRecommender):
        def _fit(self, train, features):
            pass

        def _score(self, queries):
            return np.zeros((len(queries), 2), np.float32)  # (B, 2), not (B, n_tracks)

    pl = checkerboard()
    with pytest.raises(ApcInputError, match=r"expected \(B, n_tracks\)"):
        Plugin().fit(pl).recommend(queries_from(pl, [[0]], [[1]]), 3)
