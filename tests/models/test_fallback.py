"""TitleFallback: empty seeds answered by title, outside the model template."""

import numpy as np
import pytest

from apc.errors import NotFittedError
from apc.models.base import load_model
from apc.models.fallback import TitleFallback, unwrap, with_title_fallback
from apc.models.knn import PlaylistKNN
from apc.models.popularity import Popularity
from apc.models.title import TitleModel
from apc.testing import RecommenderContract, checkerboard, queries_from
from apc.workflows import build_model


class TestTitleFallbackContract(RecommenderContract):
    def make_model(self):
        return TitleFallback(PlaylistKNN())


def _a_tracks(pl):
    return set(np.flatnonzero(pl.tracks["track_id"].str.startswith("a")))


def _b_tracks(pl):
    return set(np.flatnonzero(pl.tracks["track_id"].str.startswith("b")))


def test_empty_seeds_by_title_others_by_the_model():
    pl = checkerboard()  # "rock" playlists hold the a-tracks, "jazz" ones the b-tracks
    titles = np.array(["jazz", "rock", "jazz"], dtype=object)
    q = queries_from(pl, [[], [7], []], [[0], [0], [0]], titles=titles)
    recs = TitleFallback(PlaylistKNN()).fit(pl).recommend(q, 6)
    assert set(recs.items[0].tolist()) == _b_tracks(pl)
    assert set(recs.items[2].tolist()) == _b_tracks(pl)
    alone = PlaylistKNN().fit(pl).recommend(q.subset([1]), 6)
    np.testing.assert_array_equal(recs.items[1], alone.items[0])  # the model's own list
    title = TitleModel().fit(pl).recommend(q.subset([0]), 6)
    np.testing.assert_array_equal(recs.items[0], title.items[0])


def test_title_model_is_fitted_only_when_an_empty_seed_comes():
    pl = checkerboard()
    model = TitleFallback(PlaylistKNN()).fit(pl)
    assert model.title_ is None
    model.recommend(queries_from(pl, [[0]], [[1]]), 3)
    assert model.title_ is None
    model.recommend(queries_from(pl, [[]], [[1]], titles=np.array(["rock"], object)), 3)
    assert isinstance(model.title_, TitleModel)


def test_saved_wrapper_keeps_the_title_model_not_the_corpus(tmp_path):
    pl = checkerboard()
    model = TitleFallback(PlaylistKNN()).fit(pl)
    q = queries_from(pl, [[], [2]], [[0], [0]], titles=np.array(["jazz", None], object))
    path = model.save(tmp_path / "m.pkl")  # the title model is fitted for the file
    loaded = load_model(path)
    assert isinstance(loaded, TitleFallback) and "_train" not in vars(loaded)
    np.testing.assert_array_equal(loaded.recommend(q, 5).items, model.recommend(q, 5).items)
    assert TitleFallback.load(path).identifier == model.identifier


def test_reads_through_to_the_wrapped_model():
    pl = checkerboard()
    model = TitleFallback(PlaylistKNN(n_neighbors=3)).fit(pl)
    assert model.name == "knn" and model.get_params()["n_neighbors"] == 3
    assert model.n_tracks_ == 12 and model.fit_time_ >= 0 and unwrap(model).is_fitted_
    with pytest.raises(NotFittedError):
        TitleFallback(PlaylistKNN()).recommend(queries_from(pl, [[0]], [[1]]), 3)


def test_with_title_fallback_wraps_only_models_that_ask_for_it():
    assert isinstance(with_title_fallback(PlaylistKNN()), TitleFallback)
    assert isinstance(with_title_fallback(Popularity()), Popularity)  # answers empty seeds
    assert isinstance(with_title_fallback(TitleModel()), TitleModel)
    wrapped = with_title_fallback(PlaylistKNN())
    assert with_title_fallback(wrapped) is wrapped

    class Bare:
        def fit(self, train, features=None):
            return self

        def recommend(self, queries, k):
            raise AssertionError

    bare = Bare()
    assert with_title_fallback(bare) is bare


def test_a_fitted_model_can_be_wrapped_with_its_corpus():
    pl = checkerboard()
    fitted = PlaylistKNN().fit(pl)  # e.g. loaded from the benchmark cache
    model = with_title_fallback(fitted, train=pl)
    q = queries_from(pl, [[]], [[0]], titles=np.array(["rock"], object))
    assert set(model.recommend(q, 6).items[0].tolist()) == _a_tracks(pl)


def test_front_doors_wrap_models_for_title_only_queries():
    assert isinstance(build_model("knn"), TitleFallback)
    assert isinstance(build_model("popularity"), Popularity)


def test_title_similarity_at_pairs_equals_the_dense_title_scores():
    pl = checkerboard(n_playlists=40)
    pl.meta["name"] = np.where(np.arange(40) % 3 == 0, "Rock Hits", "jazz night")
    model = TitleModel().fit(pl)
    titles = np.array(["rock", "Jazz", None, "unknown words"], dtype=object)
    dense = (model._query_matrix(titles) @ model.title_tracks_).toarray()
    rows = np.repeat(np.arange(4), pl.n_tracks)
    tracks = np.tile(np.arange(pl.n_tracks), 4)
    got = model.title_similarity_at(titles, rows, tracks)
    np.testing.assert_allclose(got, dense[rows, tracks], rtol=1e-6)
    assert (got[rows >= 2] == 0).all() and (got[rows < 2] > 0).any()
