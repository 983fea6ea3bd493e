from fractions import Fraction as F

import numpy as np
import pytest

import apc.models.rules as rules
from apc.data import Playlists
from apc.errors import ApcInputError
from apc.models.base import ScoringRecommender
from apc.models.fallback import TitleFallback
from apc.models.popularity import Popularity
from apc.models.rules import WEIGHTINGS, AssociationRules, SequentialRules, prune_rows
from apc.testing import RecommenderContract, checkerboard, cycles, queries_from


class TestSequentialRulesContract(RecommenderContract):
    def make_model(self):
        return SequentialRules()


class TestAssociationRulesContract(RecommenderContract):
    def make_model(self):
        return AssociationRules()


class TestAssociationRulesLastContract(RecommenderContract):
    def make_model(self):
        return AssociationRules(context="last", pruning=0)


def toy():
    """Four tracks: a b c d / a c / b d / d (d is the most popular)."""
    return Playlists.from_sequences([["a", "b", "c", "d"], ["a", "c"], ["b", "d"], ["d"]])


def test_sr_rules_as_fractions():
    pl = toy()  # a, b, c, d = 0, 1, 2, 3
    model = SequentialRules(steps=2, weighting="div", pruning=0).fit(pl)
    half = F(1, 2)
    expected = [
        [0, 1, 1 + half, 0],  # a->b (d=1), a->c (d=2 in p0, d=1 in p1); a->d is 3 apart
        [0, 0, 1, 1 + half],  # b->c, b->d (d=2 in p0, d=1 in p2)
        [0, 0, 0, 1],
        [0, 0, 0, 0],
    ]
    np.testing.assert_allclose(model.rules_.toarray(), np.array(expected, dtype=float))
    q = queries_from(pl, [[0], [1], [2, 1]], [[2], [3], [3]])
    recs = model.recommend(q, 3)
    # after the rules, the rest in popularity order (d: 3 playlists, a/b/c: 2 each)
    assert recs.items.tolist() == [[2, 1, 3], [3, 2, 0], [3, 0, -1]]
    np.testing.assert_allclose(recs.scores[0], [1.5, 1.0, 0.0])
    np.testing.assert_allclose(recs.scores[1], [1.5, 1.0, 0.0])


def test_sr_weightings_and_steps():
    pl = toy()
    model = SequentialRules(steps=3, weighting="quadratic", pruning=0).fit(pl)
    r = model.rules_.toarray()
    assert r[0, 3] == pytest.approx(float(F(1, 9)))  # a ... d at distance 3
    assert r[0, 2] == pytest.approx(float(F(1, 4) + 1))
    linear = SequentialRules(steps=12, weighting="linear", pruning=0).fit(
        Playlists.from_sequences([[f"t{i}" for i in range(12)]])
    )
    # 1 - d/10 vanishes from d = 10 on: t0 -> t9 kept, t0 -> t10, t11 dropped
    row = linear.rules_.toarray()[0]
    assert row[9] == pytest.approx(0.1) and row[10] == 0 and row[11] == 0


def test_ar_rules_as_fractions_and_seed_context():
    pl = toy()
    model = AssociationRules(pruning=0).fit(pl)
    expected = [[0, 1, 2, 1], [1, 0, 1, 2], [2, 1, 0, 1], [1, 2, 1, 0]]
    np.testing.assert_array_equal(model.rules_.toarray(), expected)
    q = queries_from(pl, [[0, 1], [0, 1]], [[2], [3]])
    recs = model.recommend(q, 2)
    # c: 2 + 1 = 3, d: 1 + 2 = 3 -> tie broken by popularity: d (3 playlists) first
    assert recs.items[0].tolist() == [3, 2]
    np.testing.assert_allclose(recs.scores[0], [3.0, 3.0])
    last = AssociationRules(pruning=0, context="last").fit(pl).recommend(q, 2)
    assert last.items[0].tolist() == [3, 2]
    np.testing.assert_allclose(last.scores[0], [2.0, 1.0])


def test_ar_counts_position_pairs_like_session_rec():
    pl = Playlists.from_sequences([["a", "b", "a"], ["b", "c"]])
    np.testing.assert_array_equal(
        AssociationRules(pruning=0).fit(pl).rules_.toarray(), [[0, 2, 0], [2, 0, 1], [0, 1, 0]]
    )


def test_pruning_keeps_strongest_rules():
    pl = toy()
    r = AssociationRules(pruning=1).fit(pl).rules_.toarray()
    # a: c (2); b: d (2); c: a (2); d: b (2)
    np.testing.assert_array_equal(r, [[0, 0, 2, 0], [0, 0, 0, 2], [2, 0, 0, 0], [0, 2, 0, 0]])
    r2 = SequentialRules(steps=2, pruning=1).fit(pl).rules_.toarray()
    assert (r2 > 0).sum(axis=1).tolist() == [1, 1, 1, 0] and r2[0, 2] == 1.5


def test_prune_rows_breaks_ties_by_index():
    import scipy.sparse as sp

    m = sp.csr_array(np.array([[0, 2, 2, 2, 1], [5, 0, 0, 0, 0]], dtype=np.float32))
    out = prune_rows(m, 2).toarray()
    np.testing.assert_array_equal(out, [[0, 2, 2, 0, 0], [5, 0, 0, 0, 0]])


@pytest.mark.parametrize("weighting", sorted(WEIGHTINGS))
def test_sr_matches_a_loop_reference_across_blocks(weighting, monkeypatch):
    monkeypatch.setattr(rules, "BLOCK_WORK", 40)  # force many blocks
    rng = np.random.default_rng(0)
    seqs = [[f"t{x}" for x in rng.integers(0, 25, rng.integers(1, 20))] for _ in range(60)]
    pl = Playlists.from_sequences(seqs)
    ref = np.zeros((pl.n_tracks, pl.n_tracks))
    for p in pl:
        for i in range(len(p)):
            for d in range(1, 6):
                if i + d < len(p):
                    ref[p[i], p[i + d]] += WEIGHTINGS[weighting](d)
    got = SequentialRules(steps=5, weighting=weighting, pruning=0).fit(pl).rules_.toarray()
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)


def test_ar_matches_a_loop_reference_across_blocks(monkeypatch):
    monkeypatch.setattr(rules, "BLOCK_WORK", 40)
    rng = np.random.default_rng(1)
    seqs = [[f"t{x}" for x in rng.integers(0, 25, rng.integers(1, 20))] for _ in range(60)]
    pl = Playlists.from_sequences(seqs)
    ref = np.zeros((pl.n_tracks, pl.n_tracks))
    for p in pl:
        for i in range(len(p)):
            for j in range(i + 1, len(p)):
                ref[p[i], p[j]] += 1
                ref[p[j], p[i]] += 1
    np.fill_diagonal(ref, 0)
    np.testing.assert_array_equal(AssociationRules(pruning=0).fit(pl).rules_.toarray(), ref)


def test_sr_cycles_hit_at_1_is_perfect_where_popularity_fails():
    pl = cycles()
    q = queries_from(pl, [[i] for i in range(12)], [[(i + 1) % 12] for i in range(12)])
    hit = lambda m: float((m.fit(pl).recommend(q, 1).items[:, 0] == q.targets).mean())  # noqa: E731
    assert hit(SequentialRules()) == 1.0
    assert hit(Popularity()) < 0.5
    # association rules ignore order: the track before is as strong as the one after
    assert hit(AssociationRules(context="last")) < 1.0


@pytest.mark.parametrize(
    "model",
    [
        SequentialRules(steps=3),
        SequentialRules(pruning=0),
        AssociationRules(pruning=5),
        AssociationRules(pruning=0, context="last"),
    ],
)
def test_sparse_topk_equals_dense_scoring(model):
    rng = np.random.default_rng(3)
    seqs = [[f"t{x}" for x in rng.integers(0, 50, rng.integers(2, 12))] for _ in range(120)]
    pl = Playlists.from_sequences(seqs)
    model.fit(pl)
    seeds = [list(rng.integers(0, pl.n_tracks, rng.integers(1, 4))) for _ in range(30)]
    q = queries_from(pl, seeds, [[0]] * len(seeds))
    dense = model._score(q)
    dense[q.seeds_csr().toarray() > 0] = -np.inf
    for k in (3, 20):
        fast = model.recommend(q, k)
        for row in range(len(q)):
            # reference: full sort by score, ties by popularity rank
            order = np.lexsort((model.prior_rank_, -dense[row]))[:k]
            np.testing.assert_array_equal(fast.items[row], order)
            np.testing.assert_array_equal(fast.scores[row], dense[row, order])
        base = ScoringRecommender.recommend(model, q, k)  # index tie-breaks: same scores
        np.testing.assert_array_equal(fast.scores, base.scores)


def test_title_only_queries_use_the_title_model():
    pl = checkerboard()
    for model in (TitleFallback(SequentialRules()), TitleFallback(AssociationRules())):
        model.fit(pl)
        q = queries_from(pl, [[], []], [[0], [6]], titles=np.array(["jazz", "rock"], dtype=object))
        names = pl.tracks["track_id"].to_numpy()[model.recommend(q, 6).items]
        assert all(t.startswith("b") for t in names[0]) and all(t.startswith("a") for t in names[1])


@pytest.mark.parametrize(
    "make, field",
    [
        (lambda: SequentialRules(steps=0), "steps"),
        (lambda: SequentialRules(steps=2.5), "steps"),
        (lambda: SequentialRules(weighting="exp"), "weighting"),
        (lambda: SequentialRules(pruning=-1), "pruning"),
        (lambda: AssociationRules(pruning=1.5), "pruning"),
        (lambda: AssociationRules(context="all"), "context"),
    ],
)
def test_bad_parameters_raise(make, field):
    with pytest.raises(ApcInputError) as e:
        make().fit(toy())
    assert e.value.field == field
