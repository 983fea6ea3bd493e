import numpy as np

from apc.data import Playlists
from apc.models.popularity import Popularity, RandomRecommender
from apc.testing import RecommenderContract, queries_from


class TestPopularityContract(RecommenderContract):
    def make_model(self):
        return Popularity()


class TestRandomContract(RecommenderContract):
    def make_model(self):
        return RandomRecommender(seed=3)


def test_popularity_known_answer():
    # a in 3 playlists, b in 2, c in 1 (repeats inside a playlist count once)
    pl = Playlists.from_sequences([["a", "b", "a"], ["a", "b"], ["a", "c"]])
    model = Popularity().fit(pl)
    np.testing.assert_array_equal(model.popularity_, [3, 2, 1])
    recs = model.recommend(queries_from(pl, [[0], []], [[1], [0]]), 3)
    assert recs.items.tolist() == [[1, 2, -1], [0, 1, 2]]
    assert recs.scores[0].tolist()[:2] == [2.0, 1.0]


def test_random_depends_on_seed_not_batch():
    pl = Playlists.from_sequences([[f"t{i}" for i in range(50)]])
    q = queries_from(pl, [[], []], [[0], [1]], playlist_ids=np.array([10, 11]))
    a = RandomRecommender(seed=1).fit(pl).recommend(q, 10).items
    b = RandomRecommender(seed=2).fit(pl).recommend(q, 10).items
    assert not np.array_equal(a, b)
    assert not np.array_equal(a[0], a[1])
