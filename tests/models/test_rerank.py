"""Two-stage model (issue 14): leak test, LightGBM and fallback rankers, features, params."""

import sys
import types

import numpy as np
import pytest

from apc.errors import ApcInputError
from apc.evaluation.protocols import make_protocol
from apc.models.ensemble import rerank as rerank_mod
from apc.models.ensemble._components import Pairs
from apc.models.ensemble.rank_features import CorpusStats, FeatureContext, artist, cooccurrence
from apc.models.ensemble.rerank import Rerank, lightgbm_available
from apc.testing import RecommenderContract, checkerboard, queries_from

SMALL = {"candidates": [{"model": "item-knn", "n": 8}, {"model": "popularity", "n": 4}],
         "n_estimators": 5, "val_params": {"n_seed": 2, "test_fraction": 0.3}}


def small(**kw):
    return Rerank(**{**SMALL, **kw})


class TestRerankContract(RecommenderContract):
    def make_model(self):
        return small()

    def make_corpus(self):
        return checkerboard(n_playlists=60)


class TestRerankFallbackContract(RecommenderContract):
    def make_model(self):
        return small(ranker="hist-gbm")

    def make_corpus(self):
        return checkerboard(n_playlists=60)


def _queries(pl):
    return queries_from(pl, [[0, 1], [7], [3, 4, 5], [11]], [[2], [8], [0], [6]],
                        titles=np.array(["rock", None, "", "jazz"], dtype=object))


def test_the_ranker_never_sees_a_test_query(monkeypatch):
    data = checkerboard(n_playlists=80)
    split = make_protocol("continuation", n_seed=2, test_fraction=0.25).split(data, seed=1)
    seen = {}
    real_carve, real_fit = rerank_mod.carve_validation, rerank_mod._Ranker.fit

    def carve(train, *a, **k):
        seen["corpus"] = train
        sub, val = real_carve(train, *a, **k)
        seen["val"] = val
        return sub, val

    def fit(self, x, y, groups):
        seen["rows"] = len(x)
        seen["groups"] = groups
        return real_fit(self, x, y, groups)

    monkeypatch.setattr(rerank_mod, "carve_validation", carve)
    monkeypatch.setattr(rerank_mod._Ranker, "fit", fit)
    model = small().fit(split.train)
    assert seen["corpus"] is split.train  # validation queries come from training only
    train_ids = set(split.train.meta["playlist_id"].tolist())
    test_ids = set(np.asarray(split.queries.playlist_ids).tolist())
    val_ids = set(model.val_playlist_ids_.tolist())
    assert val_ids and val_ids <= train_ids and not val_ids & test_ids
    # every row the ranker learnt from is a candidate of a validation query
    assert seen["rows"] == int(seen["groups"].sum())
    assert len(seen["groups"]) <= len(seen["val"])
    recs = model.recommend(split.queries, 5)
    assert recs.items.shape == (len(split.queries), 5)


@pytest.mark.skipif(not lightgbm_available(), reason="LightGBM not installed (the rank extra)")
def test_lightgbm_lambdarank_is_the_default():
    model = small().fit(checkerboard(n_playlists=60))
    assert model.ranker_kind_ == "lightgbm"
    assert type(model.ranker_.model).__name__ == "LGBMRanker"
    imp = model.feature_importances()
    assert set(imp) == set(model.feature_names_)


def test_fallback_without_lightgbm(monkeypatch):
    monkeypatch.setitem(sys.modules, "lightgbm", None)  # import lightgbm -> ImportError
    assert not lightgbm_available()
    pl = checkerboard(n_playlists=60)
    model = small().fit(pl)
    assert model.ranker_kind_ == "hist-gbm"
    assert type(model.ranker_.model).__name__ == "HistGradientBoostingClassifier"
    recs = model.recommend(_queries(pl), 3)
    # the checkerboard's genres never mix: a rock seed is continued with rock tracks
    assert set(recs.items[0].tolist()) <= set(range(6))
    with pytest.raises(ApcInputError) as e:
        small(ranker="lightgbm").fit(pl)
    assert e.value.field == "ranker"


def test_deterministic_with_a_seed():
    pl = checkerboard(n_playlists=60)
    q = _queries(pl)
    a = small(seed=7).fit(pl).recommend(q, 5)
    b = small(seed=7).fit(pl).recommend(q, 5)
    np.testing.assert_array_equal(a.items, b.items)
    np.testing.assert_array_equal(a.scores, b.scores)


def test_extra_feature_hook(monkeypatch):
    mod = types.ModuleType("h14_extra_features")

    def seed_mean_pop(ctx):
        pop = ctx.stats.popularity
        mean = np.bincount(ctx.seed_query, pop[ctx.seed_track], ctx.n_queries)
        return {"pop_vs_seed": pop[ctx.pairs.track] / (1 + mean[ctx.pairs.query])}

    mod.seed_mean_pop = seed_mean_pop
    mod.bad = lambda ctx: np.zeros(3)
    monkeypatch.setitem(sys.modules, "h14_extra_features", mod)
    pl = checkerboard(n_playlists=60)
    model = small(extra_features=["h14_extra_features:seed_mean_pop"]).fit(pl)
    assert model.feature_names_[-1] == "pop_vs_seed"
    with pytest.raises(ApcInputError, match="one value per candidate pair"):
        small(extra_features=["h14_extra_features:bad"]).fit(pl)


def _ctx():
    # 2 queries: seed [0, 1] and [2]; candidates (0, 2), (0, 3), (1, 0)
    from apc.data.queries import Queries

    q = Queries.from_lists([[0, 1], [2]], [[2], [0]], n_tracks=4)
    pairs = Pairs(np.array([0, 0, 1]), np.array([2, 3, 0], np.int32),
                  np.zeros((3, 0), np.float32), np.zeros((3, 0), np.float32), 2)
    import scipy.sparse as sp

    sim = sp.csr_array(np.array([[0, .5, .2, 0], [.5, 0, .4, .1], [.2, .4, 0, 0],
                                 [0, .1, 0, 0]], np.float32))
    stats = CorpusStats(np.ones(4, np.float32), np.array([0, 0, 0, 1]), None,
                        np.array([3, 1, 0], np.float32), sim)
    return FeatureContext(stats, q, pairs, [])


def test_features_known_answers():
    ctx = _ctx()
    co = cooccurrence(ctx)
    np.testing.assert_allclose(co["cooc_max"], [0.4, 0.1, 0.2])
    np.testing.assert_allclose(co["cooc_mean"], [0.3, 0.05, 0.2])
    art = artist(ctx)
    np.testing.assert_allclose(art["artist_share"], [1.0, 0.0, 1.0])
    assert np.isnan(art["album_share"]).all()


def test_params_are_validated_before_any_work(monkeypatch):
    def boom(*a, **k):  # pragma: no cover - must not be reached
        raise AssertionError("work started before the parameters were checked")

    monkeypatch.setattr(rerank_mod, "fit_components", boom)
    monkeypatch.setattr(rerank_mod, "carve_validation", boom)
    pl = checkerboard()
    for params, field in [({"candidates": [{"model": "nope"}]}, "candidates[0].model"),
                          ({"features": ["colour"]}, "features"),
                          ({"extra_features": ["no.such.module:f"]}, "extra_features"),
                          ({"n_estimators": 0}, "n_estimators"),
                          ({"ranker": "xgboost"}, "ranker")]:
        with pytest.raises(ApcInputError) as e:
            small(**params).fit(pl)
        assert e.value.field == field, params


def test_the_pipeline_is_config_as_data(tmp_path):
    # a params file for `apc evaluate --params-file` (its top-level table) ...
    from pathlib import Path

    from apc.bench.suite import load_suite
    from apc.models.registry import create_model
    from apc.parsing import parse_params

    f = tmp_path / "rerank.toml"
    f.write_text('candidates = [{ model = "knn", n = 50, params = { n_neighbors = 20 } },\n'
                 '              { model = "apc.models.artists:CollocatedArtistsGreatestHits" }]\n'
                 'val_protocol = "mpd-challenge"\nval_params = { n_test = 100 }\n'
                 'extra_features = []\n')
    model = create_model("rerank", parse_params(None, f))
    model.validate_params()
    assert model.candidates[1]["model"].endswith(":CollocatedArtistsGreatestHits")
    # ... and the benchmark suite: every model entry validates without data
    root = Path(__file__).resolve().parents[2]
    suite = load_suite(root / "benchmarks" / "suites" / "mpd-rerank.toml")
    for entry in suite.models:
        create_model(entry.model, entry.params).validate_params()


TITLED = {"n_seed": 0, "test_fraction": 0.3}  # validation queries with titles, no seeds


def test_title_only_queries_get_the_title_models_list():
    pl = checkerboard(n_playlists=60)
    q = queries_from(pl, [[], [0, 1], []], [[2], [2], [3]],
                     titles=np.array(["rock", "jazz", "jazz"], dtype=object))
    model = small().fit(pl)
    recs = model.recommend(q, 5)
    direct = model.title_.recommend(q.subset(np.array([0, 2])), 5)
    np.testing.assert_array_equal(recs.items[[0, 2]], direct.items)
    np.testing.assert_array_equal(recs.scores[[0, 2]], direct.scores)
    # the seeded query is re-ranked as it is on its own
    alone = model.recommend(q.subset(np.array([1])), 5)
    np.testing.assert_array_equal(recs.items[1], alone.items[0])
    # title_only = "rerank" sends empty seeds through the ranker instead
    reranked = small(title_only="rerank").fit(pl).recommend(q, 5)
    assert reranked.items.shape == (3, 5) and (reranked.items[[0, 2]] >= 0).all()


def test_the_ranker_does_not_learn_from_title_only_validation_queries():
    pl = checkerboard(n_playlists=60)
    with pytest.raises(ApcInputError, match="empty seed") as err:
        small(val_params=TITLED).fit(pl)
    assert err.value.field == "val_protocol"
    report = small(val_params=TITLED, title_only="rerank").fit(pl).train_report_
    assert report["title_only_queries"] == 0 and report["val_queries"] > 0
    report = small().fit(pl).train_report_
    assert report["title_only_queries"] == 0  # n_seed = 2: every query has a seed


def test_one_title_model_per_corpus(monkeypatch):
    from apc.models.title import TitleModel

    fitted = []
    real = TitleModel.fit

    def fit(self, train, *a, **k):
        fitted.append(len(train))
        return real(self, train, *a, **k)

    monkeypatch.setattr(TitleModel, "fit", fit)
    pl = checkerboard(n_playlists=60)
    model = small(candidates=["item-knn", "knn"], val_params=TITLED,
                  title_only="rerank").fit(pl)
    model.recommend(queries_from(pl, [[], []], [[2], [3]],
                                 titles=np.array(["rock", "jazz"], dtype=object)), 5)
    # once on the training corpus minus the validation split, once on all of it;
    # the components' empty-seed answers and the title feature share them
    assert fitted == [42, 60]


def test_title_feature_known_answers():
    from apc.models.ensemble.rank_features import title
    from apc.models.title import TitleModel

    pl = checkerboard(n_playlists=40)
    pl.meta["name"] = np.where(np.arange(40) % 2 == 0, "rock", "jazz")
    model = TitleModel().fit(pl)
    q = queries_from(pl, [[0], [1], [2]], [[3], [3], [3]],
                     titles=np.array(["Rock", None, "polka"], dtype=object))
    pairs = Pairs(np.array([0, 0, 1, 2]), np.array([0, 5, 0, 0], np.int32),
                  np.zeros((4, 0), np.float32), np.zeros((4, 0), np.float32), 3)
    stats = CorpusStats(np.ones(pl.n_tracks, np.float32), np.zeros(pl.n_tracks, np.int64),
                        None, np.ones(1, np.float32), None, model)
    got = title(FeatureContext(stats, q, pairs, []))
    s = model.title_similarity_at(q.titles, np.array([0, 0]), np.array([0, 5]))
    np.testing.assert_allclose(got["title_sum"][:2], s)
    np.testing.assert_allclose(got["title_score"][:2], s / s.max())
    assert np.isnan(got["title_score"][2]) and np.isnan(got["title_sum"][2])  # no title
    assert got["title_score"][3] == 0 and got["title_sum"][3] == 0  # no known token
