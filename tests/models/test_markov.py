from fractions import Fraction as F

import numpy as np
import pytest

import apc.models._topk as _topk
from apc.data import Playlists
from apc.errors import ApcInputError
from apc.models.fallback import TitleFallback
from apc.models.markov import MarkovChain, transition_counts
from apc.models.popularity import Popularity
from apc.testing import RecommenderContract, checkerboard, cycles, queries_from


class TestMarkovContract(RecommenderContract):
    def make_model(self):
        return MarkovChain()


class TestMarkovOrder3Contract(RecommenderContract):
    def make_model(self):
        return MarkovChain(order=3, alpha=0.5)


class TestMarkovMixtureContract(RecommenderContract):
    def make_model(self):
        return MarkovChain(mixture=True, validation_fraction=0.3, seed=1)


def _ids(pl, names):
    index = {t: i for i, t in enumerate(pl.tracks["track_id"])}
    return [index[t] for t in names]


def _cycle_queries(pl, n=12):
    return queries_from(pl, [[i] for i in range(n)], [[(i + 1) % n] for i in range(n)])


def hit_at_1(model, q):
    return float((model.recommend(q, 1).items[:, 0] == q.targets).mean())


# ---------------------------------------------------------------- known answers
def test_first_order_probabilities_as_fractions():
    # a->b twice, a->c once, b->c twice; c is never followed by anything
    pl = Playlists.from_sequences([["a", "b", "c"], ["a", "b"], ["a", "c"], ["b", "c"], ["c"]])
    a, b, c = _ids(pl, "abc")
    lam = F(1, 10)
    model = MarkovChain(popularity_weight=float(lam)).fit(pl)
    np.testing.assert_array_equal(model.counts_[0].toarray(), [[0, 2, 1], [0, 0, 2], [0, 0, 0]])
    pop = {a: F(3, 10), b: F(3, 10), c: F(4, 10)}  # playlists holding the track / 10
    q = queries_from(pl, [[a], [c]], [[b], [a]])
    scores = model._score(q)
    expected_a = [
        (1 - lam) * F(0),
        (1 - lam) * F(2, 3) + lam * pop[b],
        (1 - lam) * F(1, 3) + lam * pop[c],
    ]
    expected_a[0] += lam * pop[a]
    np.testing.assert_allclose(scores[0], [float(x) for x in expected_a], rtol=1e-6)
    # c has no successor: unseen context backs off to popularity alone
    np.testing.assert_allclose(scores[1], [float(pop[t]) for t in (a, b, c)], rtol=1e-6)
    recs = model.recommend(q, 3)
    # the seed is excluded; a and b tie on popularity after c, the lower index wins
    assert recs.items.tolist() == [[b, c, -1], [a, b, -1]]
    np.testing.assert_allclose(
        recs.scores[0, :2], [float(expected_a[1]), float(expected_a[2])], rtol=1e-6
    )


def test_additive_smoothing_gives_proper_distributions():
    pl = Playlists.from_sequences([["a", "b", "c"], ["a", "b"], ["a", "c", "d"], ["d"]])
    a, b, c, d = _ids(pl, "abcd")
    for order in (1, 2, 3):
        model = MarkovChain(order=order, alpha=0.5, popularity_weight=0.2).fit(pl)
        q = queries_from(pl, [[a], [a, b], [d], [b, a, c]], [[b], [c], [a], [d]])
        s = model._score(q).astype(np.float64)
        np.testing.assert_allclose(s.sum(axis=1), 1.0, rtol=1e-6)
    # alpha = 1/2 over 4 tracks: P(b | a) = (2 + 1/2) / (3 + 2) with lambda = 0
    model = MarkovChain(alpha=0.5, popularity_weight=0.0).fit(pl)
    s = model._score(queries_from(pl, [[a]], [[b]]))[0]
    np.testing.assert_allclose(
        s,
        [float(F(1, 2) / 5), float(F(5, 2) / 5), float(F(3, 2) / 5), float(F(1, 2) / 5)],
        rtol=1e-6,
    )


def test_second_order_resolves_what_first_order_cannot():
    # after "a" comes "b" or "c" (1/2 each); the track before "a" decides which
    seqs = [["x", "a", "b"], ["y", "a", "c"]] * 3
    pl = Playlists.from_sequences(seqs)
    x, a, b, y, c = _ids(pl, "xabyc")
    q = queries_from(pl, [[x, a], [y, a]], [[b], [c]])
    first = MarkovChain(order=1, popularity_weight=0.0).fit(pl)
    s1 = first._score(q)
    assert s1[0, b] == s1[0, c] == pytest.approx(0.5)
    second = MarkovChain(order=2, popularity_weight=0.0, higher_order_weight=0.5).fit(pl)
    s2 = second._score(q)
    # Jelinek-Mercer: 1/2 * 1 + 1/2 * 1/2 for the seen continuation, 1/2 * 1/2 for the other
    np.testing.assert_allclose([s2[0, b], s2[0, c], s2[1, c], s2[1, b]], [0.75, 0.25, 0.75, 0.25])
    assert second.recommend(q, 1).items[:, 0].tolist() == [b, c]


def test_unseen_higher_context_backs_off_to_lower_order():
    seqs = [["w", "x", "a", "b"], ["v", "x", "a", "c"], ["x", "a", "c"]]
    pl = Playlists.from_sequences(seqs)
    w, x, a, b, v, c = _ids(pl, "wxabvc")
    model = MarkovChain(order=3, popularity_weight=0.0, higher_order_weight=0.5).fit(pl)
    q = queries_from(pl, [[w, x, a], [v, x, a], [c, x, a], [b, a]], [[b], [c], [c], [c]])
    s = model._score(q)
    # order-1 P(.|a) = (b 1/3, c 2/3); order 2 (x, a): same; order 3 decides for (w,x,a), (v,x,a)
    m1 = {b: F(1, 3), c: F(2, 3)}
    m2 = {t: F(1, 2) * m1[t] + F(1, 2) * m1[t] for t in (b, c)}
    m3_w = {b: F(1, 2) + F(1, 2) * m2[b], c: F(1, 2) * m2[c]}
    np.testing.assert_allclose([s[0, b], s[0, c]], [float(m3_w[b]), float(m3_w[c])], rtol=1e-6)
    # (c, x, a) never seen -> order 2 estimate; (b, a) never seen -> order 1 estimate
    np.testing.assert_allclose([s[2, b], s[2, c]], [float(m2[b]), float(m2[c])], rtol=1e-6)
    np.testing.assert_allclose([s[3, b], s[3, c]], [float(m1[b]), float(m1[c])], rtol=1e-6)
    assert model.recommend(q, 1).items[:2, 0].tolist() == [b, c]


def test_transition_counts_keys_are_exact():
    pl = Playlists.from_sequences([["a", "b", "c", "d"], ["b", "c", "d", "a"]])
    keys, counts, totals = transition_counts(pl, 3)
    n = pl.n_tracks
    assert keys[0] is None and counts[0].shape == (n, n)
    a, b, c, d = _ids(pl, "abcd")
    assert keys[1].tolist() == sorted([a * n + b, b * n + c, c * n + d])
    assert len(keys[2]) == 2 and totals[2].tolist() == [1.0, 1.0]
    assert totals[0].sum() == 6


@pytest.mark.parametrize("kw", [{}, {"order": 2}, {"order": 3}, {"mixture": True}])
def test_cycles_hit_at_1_is_perfect_where_popularity_fails(kw):
    pl = cycles()
    q = _cycle_queries(pl)
    assert hit_at_1(MarkovChain(**kw).fit(pl), q) == 1.0
    assert hit_at_1(Popularity().fit(pl), q) < 0.5


def test_mixture_learns_artist_edges():
    # 10 artists x 30 tracks; playlists hop between random tracks of one artist, so
    # transitions rarely repeat while same-artist edges explain every move
    rng = np.random.default_rng(0)
    seqs, artists = [], {}
    for _ in range(300):
        art = rng.integers(0, 10)
        tracks = [f"r{art}_{t}" for t in rng.permutation(30)[:5]]
        seqs.append(tracks)
    for art in range(10):
        for t in range(30):
            artists[f"r{art}_{t}"] = f"A{art}"
    pl = Playlists.from_sequences(seqs, artists=artists)
    model = MarkovChain(mixture=True, seed=0).fit(pl)
    w = model.weights_
    assert set(w) == {"uniform", "popularity", "artist", "markov"}
    assert sum(w.values()) == pytest.approx(1.0)
    assert w["artist"] > 0.5 and w["artist"] > w["markov"]
    assert np.isfinite(model.validation_log_likelihood_)
    # on cycles (no artists) the Markov edges take nearly all the weight
    cyc = MarkovChain(mixture=True).fit(cycles())
    assert "artist" not in cyc.weights_ and cyc.weights_["markov"] > 0.99


def test_mixture_likelihood_beats_its_single_components():
    rng = np.random.default_rng(1)
    seqs = [
        [f"t{(s + j) % 20}" if rng.random() < 0.7 else f"t{rng.integers(20)}" for j in range(10)]
        for s in rng.integers(0, 20, 200)
    ]
    pl = Playlists.from_sequences(seqs)
    full = MarkovChain(mixture=True, seed=0).fit(pl)
    for only in (("markov",), ("popularity",)):
        single = MarkovChain(mixture=True, edge_sets=only, seed=0).fit(pl)
        assert full.validation_log_likelihood_ >= single.validation_log_likelihood_ - 1e-9


# ---------------------------------------------------------------- fast top-k path
@pytest.mark.parametrize("packed", [True, False])
@pytest.mark.parametrize("kw", [{}, {"order": 2}, {"order": 3, "popularity_weight": 0.3}])
def test_sparse_topk_equals_dense_scoring(kw, packed, monkeypatch):
    if not packed:  # the lexsort path used for catalogues above 2**22 tracks
        monkeypatch.setattr(_topk, "_RANK_LIMIT", 1)
    rng = np.random.default_rng(5)
    seqs = [[f"t{x}" for x in rng.integers(0, 60, rng.integers(2, 15))] for _ in range(150)]
    pl = Playlists.from_sequences(seqs)
    model = MarkovChain(**kw).fit(pl)
    seeds = [list(rng.integers(0, pl.n_tracks, rng.integers(1, 5))) for _ in range(40)]
    q = queries_from(pl, seeds, [[0]] * len(seeds))
    dense = model._score(q)  # the dense block the sparse path stands for
    dense[q.seeds_csr().toarray() > 0] = -np.inf
    for k in (1, 7, pl.n_tracks):
        fast = model.recommend(q, k)
        for row in range(len(q)):
            # reference: full sort by score, ties by popularity rank
            order = np.lexsort((model.prior_rank_, -dense[row]))[:k]
            order = order[np.isfinite(dense[row, order])]
            np.testing.assert_array_equal(fast.items[row, : len(order)], order)
            assert (fast.items[row, len(order):] == -1).all()
            np.testing.assert_allclose(fast.scores[row, : len(order)], dense[row, order],
                                       rtol=1e-6)


def test_title_only_queries_use_the_title_model():
    pl = checkerboard()
    model = TitleFallback(MarkovChain()).fit(pl)
    q = queries_from(pl, [[], []], [[0], [6]], titles=np.array(["rock", "jazz"], dtype=object))
    names = pl.tracks["track_id"].to_numpy()[model.recommend(q, 6).items]
    assert all(t.startswith("a") for t in names[0]) and all(t.startswith("b") for t in names[1])


# ---------------------------------------------------------------- parameters
@pytest.mark.parametrize(
    "kw, field",
    [
        ({"order": 0}, "order"),
        ({"order": 4}, "order"),
        ({"order": 1.5}, "order"),
        ({"alpha": -1}, "alpha"),
        ({"alpha": float("nan")}, "alpha"),
        ({"popularity_weight": 1.5}, "popularity_weight"),
        ({"higher_order_weight": -0.1}, "higher_order_weight"),
        ({"mixture": "yes"}, "mixture"),
        ({"mixture": True, "edge_sets": ("uniform", "genre")}, "edge_sets"),
        ({"mixture": True, "validation_fraction": 0.0}, "validation_fraction"),
        ({"mixture": True, "em_iterations": 0}, "em_iterations"),
    ],
)
def test_bad_parameters_raise(kw, field):
    with pytest.raises(ApcInputError) as e:
        MarkovChain(**kw).fit(cycles())
    assert e.value.field == field


def test_row_index_only_where_scores_depend_on_the_last_track():
    pl = cycles()
    first = MarkovChain().fit(pl)
    assert first.rows_ is not None and first.rows_.nnz == first.counts_[0].nnz
    # each stored row is ordered best first: the cycle successor leads every row
    assert first.rows_.indices[first.rows_.indptr[:-1]].tolist() == [(i + 1) % 12 for i in range(12)]
    assert MarkovChain(order=2).fit(pl).rows_ is None
    assert MarkovChain(mixture=True).fit(pl).rows_ is None
