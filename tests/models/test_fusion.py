"""Score fusion (issue 14): one model fused equals that model, weights, plug-ins, params."""

import numpy as np
import pytest

from apc.errors import ApcInputError
from apc.models.ensemble import fusion as fusion_mod
from apc.models.ensemble.fusion import ScoreFusion, normalise_lists
from apc.models.knn import ItemKNN
from apc.models.registry import create_model
from apc.testing import RecommenderContract, checkerboard, queries_from

VAL = {"n_seed": 2}


class TestFusionContract(RecommenderContract):
    def make_model(self):
        return ScoreFusion(components=[{"model": "item-knn"}, {"model": "popularity"}],
                           val_params=VAL, weight_grid=[0.0, 1.0, 2.0])


def _queries(pl):
    return queries_from(pl, [[0, 1], [7], [3, 4, 5], [11]], [[2], [8], [0], [6]])


@pytest.mark.parametrize("how", ["minmax", "rank"])
def test_fusion_of_one_model_equals_that_model(how):
    pl = checkerboard()
    q = _queries(pl)
    fused = ScoreFusion(components=[{"model": "item-knn"}], normalise=how).fit(pl)
    alone = ItemKNN().fit(pl)
    np.testing.assert_array_equal(fused.recommend(q, 6).items, alone.recommend(q, 6).items)


def test_plugin_by_import_path_and_registry_name():
    pl = checkerboard()
    q = _queries(pl)
    model = create_model("fusion", {"components": [
        {"model": "apc.models.popularity:Popularity"}], "fit_weights": False})
    np.testing.assert_array_equal(model.fit(pl).recommend(q, 4).items,
                                  create_model("popularity").fit(pl).recommend(q, 4).items)


def test_fitted_weights_prefer_the_informative_model_and_are_deterministic():
    # item-knn continues a genre perfectly on the checkerboard; random tracks do not
    pl = checkerboard(n_playlists=40)
    make = lambda: ScoreFusion(  # noqa: E731
        components=[{"model": "item-knn"}, {"model": "random", "params": {"seed": 3}}],
        val_params={"n_seed": 2, "test_fraction": 0.3}, fit_metric="rprec", seed=5)
    a, b = make().fit(pl), make().fit(pl)
    assert a.weights_[0] > a.weights_[1]
    assert len(a.search_) > 1 and a.val_score_ >= a.search_[0]["score"]
    np.testing.assert_array_equal(a.weights_, b.weights_)
    q = _queries(pl)
    np.testing.assert_array_equal(a.recommend(q, 5).items, b.recommend(q, 5).items)


def test_given_weights_are_used_when_not_fitted():
    pl = checkerboard()
    m = ScoreFusion(components=[{"model": "item-knn", "weight": 3},
                                {"model": "popularity", "weight": 0.5}],
                    fit_weights=False).fit(pl)
    np.testing.assert_array_equal(m.weights_, [3.0, 0.5])


def test_normalise_lists():
    from apc.data.queries import Recommendations

    recs = Recommendations(np.array([[4, 2, 9, -1], [1, 0, -1, -1]], np.int32),
                           np.array([[3, 2, 1, -np.inf], [5, 5, -np.inf, -np.inf]], np.float32))
    mm = normalise_lists(recs, "minmax", 4).scores
    np.testing.assert_allclose(mm[0, :3], [1, 1 / 2, 0])
    np.testing.assert_allclose(mm[1, :2], [1, 1])  # a constant row maps to 1
    assert np.isnan(mm[0, 3])
    rk = normalise_lists(recs, "rank", 4).scores
    np.testing.assert_allclose(rk[0, :3], [1, 3 / 4, 2 / 4])


@pytest.mark.parametrize("params, field", [
    ({"components": [{"model": "no-such-model"}]}, "components[0].model"),
    ({"components": [{"model": "knn", "n": 0}]}, "components[0].n"),
    ({"components": [{"model": "knn", "colour": 1}]}, "components[0]"),
    ({"components": [{"model": "knn", "params": {"n_neighbors": -1}}]},
     "components[0].params.n_neighbors"),
    ({"components": []}, "components"),
    ({"normalise": "zscore"}, "normalise"),
    ({"weight_grid": [-1.0]}, "weight_grid"),
])
def test_params_are_validated_before_any_work(params, field, monkeypatch):
    def boom(*a, **k):  # pragma: no cover - must not be reached
        raise AssertionError("a component was fitted before the parameters were checked")

    monkeypatch.setattr(fusion_mod, "fit_components", boom)
    with pytest.raises(ApcInputError) as e:
        ScoreFusion(**params).fit(checkerboard())
    assert e.value.field == field
