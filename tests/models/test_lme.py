import numpy as np
import pytest

from apc.data import Playlists
from apc.errors import ApcInputError
from apc.models.fallback import TitleFallback
from apc.models.lme import LogisticMarkovEmbedding as LME
from apc.models.lme import transitions
from apc.models.popularity import Popularity
from apc.testing import RecommenderContract, checkerboard, cycles, queries_from


class TestLMEContract(RecommenderContract):
    def make_model(self):
        return LME(n_dims=4, epochs=2, seed=3)


class TestLMESampledSingleContract(RecommenderContract):
    def make_model(self):
        return LME(
            n_dims=4, epochs=1, model="single", softmax="sampled", n_negatives=4, context="mean"
        )


def one_step(pl, n=12):
    return queries_from(pl, [[i] for i in range(n)], [[(i + 1) % n] for i in range(n)])


def two_step(pl, n=12):
    return queries_from(pl, [[i, (i + 1) % n] for i in range(n)], [[(i + 2) % n] for i in range(n)])


def hit_at_1(model, q):
    return float((model.recommend(q, 1).items[:, 0] == q.targets).mean())


FAST = dict(n_dims=4, epochs=60, learning_rate=0.05, seed=0)


def test_transitions_skip_playlist_boundaries():
    pl = Playlists.from_sequences([["a", "b", "c"], ["d"], ["c", "a"]])
    cur, nxt = transitions(pl)
    assert list(zip(cur.tolist(), nxt.tolist(), strict=True)) == [(0, 1), (1, 2), (2, 0)]


@pytest.mark.parametrize("softmax", ["full", "sampled"])
def test_dual_point_learns_the_cycle_direction(softmax):
    pl = cycles()
    model = LME(model="dual", softmax=softmax, n_negatives=8, **FAST).fit(pl)
    assert model.softmax_ == softmax
    assert hit_at_1(model, one_step(pl)) == 1.0
    assert hit_at_1(Popularity().fit(pl), one_step(pl)) < 0.5


def test_single_point_is_symmetric_but_wins_with_two_seed_tracks():
    pl = cycles()
    model = LME(model="single", **FAST).fit(pl)
    assert model.U_ is model.V_
    # from i the nearest points are i - 1 and i + 1 (distance is symmetric) ...
    top2 = model.recommend(one_step(pl), 2).items
    assert all(set(row) == {(i - 1) % 12, (i + 1) % 12} for i, row in enumerate(top2.tolist()))
    # ... and once i - 1 is in the seed (excluded), the next track is first
    assert hit_at_1(model, two_step(pl)) == 1.0


def test_scores_are_log_probabilities_of_the_paper_model():
    pl = cycles()
    model = LME(n_dims=3, epochs=2, seed=1).fit(pl)
    q = queries_from(pl, [[0], [4, 5, 7]], [[1], [8]])
    s = model._score(q).numpy().astype(np.float64)
    np.testing.assert_allclose(np.exp(s).sum(axis=1), 1.0, rtol=1e-5)
    u, v, b = model.U_.astype(np.float64), model.V_.astype(np.float64), model.b_.astype(np.float64)
    logits = -((u[7][None, :] - v) ** 2).sum(1) + b
    np.testing.assert_allclose(s[1], logits - np.log(np.exp(logits).sum()), atol=1e-5)


def test_mean_context_ranks_by_average_squared_distance():
    pl = cycles()
    model = LME(n_dims=3, epochs=3, context="mean", seed=2).fit(pl)
    seed = [1, 5, 6]
    q = queries_from(pl, [seed], [[7]])
    s = model._score(q).numpy()[0]
    u, v, b = model.U_.astype(np.float64), model.V_.astype(np.float64), model.b_
    avg = np.mean([((u[i][None, :] - v) ** 2).sum(1) for i in seed], axis=0)
    ref = b - avg
    others = np.setdiff1d(np.arange(12), seed)
    assert np.argsort(-s[others]).tolist() == np.argsort(-ref[others]).tolist()
    np.testing.assert_allclose(s - s.max(), ref - ref.max(), atol=1e-4)


def test_same_seed_same_model_other_seed_other_model():
    pl = cycles()
    a = LME(n_dims=4, epochs=2, seed=5).fit(pl)
    b = LME(n_dims=4, epochs=2, seed=5).fit(pl)
    c = LME(n_dims=4, epochs=2, seed=6).fit(pl)
    np.testing.assert_array_equal(a.U_, b.U_)
    assert not np.allclose(a.U_, c.U_)
    s1 = LME(n_dims=4, epochs=2, seed=5, softmax="sampled", n_negatives=4).fit(pl)
    s2 = LME(n_dims=4, epochs=2, seed=5, softmax="sampled", n_negatives=4).fit(pl)
    np.testing.assert_array_equal(s1.V_, s2.V_)


def test_popularity_bias_is_optional():
    pl = cycles()
    model = LME(n_dims=3, epochs=2, popularity_bias=False).fit(pl)
    assert (model.b_ == 0).all()
    assert (LME(n_dims=3, epochs=2).fit(pl).b_ != 0).any()


def test_auto_softmax_switches_on_catalogue_size():
    pl = cycles()
    assert LME(n_dims=2, epochs=1).fit(pl).softmax_ == "full"
    assert LME(n_dims=2, epochs=1, full_softmax_max_tracks=5).fit(pl).softmax_ == "sampled"


def test_sgd_also_learns_the_cycle():
    pl = cycles()
    model = LME(n_dims=4, epochs=60, optimizer="sgd", learning_rate=0.5, seed=0).fit(pl)
    assert hit_at_1(model, one_step(pl)) == 1.0


def test_early_stopping_keeps_the_best_epoch():
    pl = cycles(n_playlists=80)
    model = LME(
        n_dims=4, epochs=40, learning_rate=0.3, validation_fraction=0.25, patience=1, seed=0
    ).fit(pl)
    hist = model.history_
    assert all("val_loglik" in row for row in hist)
    assert len(hist) < 40  # a learning rate this large overshoots, and training stops
    _, (cur, nxt) = model._split(pl)
    best = max(row["val_loglik"] for row in hist)
    assert model._loglik(cur, nxt) == pytest.approx(best, rel=1e-5)


def test_title_only_queries_use_the_title_model():
    pl = checkerboard()
    model = TitleFallback(LME(n_dims=2, epochs=1)).fit(pl)
    q = queries_from(pl, [[], []], [[0], [6]], titles=np.array(["rock", "jazz"], dtype=object))
    names = pl.tracks["track_id"].to_numpy()[model.recommend(q, 6).items]
    assert all(t.startswith("a") for t in names[0]) and all(t.startswith("b") for t in names[1])


@pytest.mark.parametrize(
    "kw, field",
    [
        ({"n_dims": 0}, "n_dims"),
        ({"epochs": 0}, "epochs"),
        ({"batch_size": -1}, "batch_size"),
        ({"n_negatives": 0}, "n_negatives"),
        ({"model": "triple"}, "model"),
        ({"softmax": "hierarchical"}, "softmax"),
        ({"negative_sampling": "zipf"}, "negative_sampling"),
        ({"optimizer": "lbfgs"}, "optimizer"),
        ({"context": "first"}, "context"),
        ({"learning_rate": 0}, "learning_rate"),
        ({"l2": -1.0}, "l2"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"popularity_bias": "yes"}, "popularity_bias"),
    ],
)
def test_bad_parameters_raise(kw, field):
    with pytest.raises(ApcInputError) as e:
        LME(**kw).fit(cycles())
    assert e.value.field == field
