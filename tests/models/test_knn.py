"""Playlist k-NN (SKNN, V-SKNN, STAN), item k-NN and the sparse similarity helpers."""

import math
import warnings
from collections import Counter

import numpy as np
import pytest
import scipy.sparse as sp

from apc.data import Playlists
from apc.errors import ApcInputError, DataWarning, ParameterWarning
from apc.models._similarity import cooccurrence_topn, topn_per_row
from apc.models.fallback import TitleFallback
from apc.models.knn import ItemKNN, PlaylistKNN, match_decay, position_decay
from apc.models.registry import create_model
from apc.testing import RecommenderContract, checkerboard, queries_from


def letters(pl: Playlists) -> dict[str, int]:
    """Track id -> index."""
    return {t: i for i, t in enumerate(pl.tracks["track_id"])}


def with_meta(pl: Playlists, **columns) -> Playlists:
    return Playlists(pl.indptr, pl.items, pl.tracks, pl.artists, pl.meta.assign(**columns))


def scores_of(model, pl, seeds) -> np.ndarray:
    """Dense (Q, n_tracks) raw scores of ``model._score`` for index seeds."""
    q = queries_from(pl, seeds, [[] for _ in seeds])
    s = model._score(q)
    return s.toarray() if sp.issparse(s) else np.asarray(s)


# --------------------------------------------------------------------------- contracts
class TestPlaylistKNNContract(RecommenderContract):
    def make_model(self):
        return PlaylistKNN(n_neighbors=5)


class TestVSKNNContract(RecommenderContract):
    def make_model(self):
        return PlaylistKNN(n_neighbors=5, weighting="vsknn", idf_weight=0.5, similarity="dot")


class TestSTANContract(RecommenderContract):
    def make_model(self):
        return PlaylistKNN(n_neighbors=4, weighting="stan", sample_size=6, sampling="random",
                           seed=3)


class TestItemKNNContract(RecommenderContract):
    def make_model(self):
        return ItemKNN(n_neighbors=3)


def test_registry_names():
    assert isinstance(create_model("knn"), PlaylistKNN)
    assert isinstance(create_model("item-knn", {"n_neighbors": 5}), ItemKNN)
    assert PlaylistKNN.name == "knn" and ItemKNN.name == "item-knn"


# --------------------------------------------------------------------------- playlist k-NN
@pytest.fixture
def abcd():
    # p0 = abc, p1 = abd, p2 = ae, p3 = fg; seed "ab"
    return Playlists.from_sequences([list("abc"), list("abd"), list("ae"), list("fg")])


@pytest.mark.parametrize(
    "similarity, expected",
    [
        # |h & p| / sqrt(|h| |p|): p0 = p1 = 2/sqrt(6), p2 = 1/2
        ("cosine", {"c": 2 / math.sqrt(6), "d": 2 / math.sqrt(6), "e": 1 / 2}),
        # |h & p| / (|h| + |p| - |h & p|): 2/3, 2/3, 1/3
        ("jaccard", {"c": 2 / 3, "d": 2 / 3, "e": 1 / 3}),
        # |h & p| / min(|h|, |p|): 1, 1, 1/2
        ("overlap", {"c": 1.0, "d": 1.0, "e": 1 / 2}),
        # |h & p| / |h|: 1, 1, 1/2
        ("dot", {"c": 1.0, "d": 1.0, "e": 1 / 2}),
    ],
)
def test_knn_similarities_known_answer(abcd, similarity, expected):
    ix = letters(abcd)
    model = PlaylistKNN(n_neighbors=3, similarity=similarity).fit(abcd)
    recs = model.recommend(queries_from(abcd, [[ix["a"], ix["b"]]], [[ix["c"]]]), 3)
    assert recs.items[0].tolist() == [ix["c"], ix["d"], ix["e"]]  # c, d tie: lower index first
    np.testing.assert_allclose(recs.scores[0], [expected[t] for t in "cde"], rtol=1e-6)


def test_knn_keeps_only_n_neighbors(abcd):
    ix = letters(abcd)
    model = PlaylistKNN(n_neighbors=2).fit(abcd)
    s = scores_of(model, abcd, [[ix["a"], ix["b"]]])[0]
    # p2 (sim 1/2) is not among the 2 nearest, so e gets nothing
    assert s[ix["e"]] == 0.0
    assert s[ix["c"]] == pytest.approx(2 / math.sqrt(6))


def test_knn_batch_rows_are_independent(abcd):
    ix = letters(abcd)
    model = PlaylistKNN(n_neighbors=2).fit(abcd)
    both = scores_of(model, abcd, [[ix["a"], ix["b"]], [ix["f"]]])
    # f is only in p3 = fg: cos = 1/sqrt(1 * 2)
    assert both[1, ix["g"]] == pytest.approx(1 / math.sqrt(2))
    np.testing.assert_array_equal(both[0], scores_of(model, abcd, [[ix["a"], ix["b"]]])[0])


def test_vsknn_known_answer():
    # seed a -> b (b most recent). linear decay: w(a) = 1/2, w(b) = 1; "dot" sim = sum w / |h|
    # p0 = ac: 1/4, p1 = bd: 1/2, p2 = abe: 3/4; match decay 1/(steps back + 1):
    # p0 matched by a (1 back) -> 1/2, p1 and p2 by b -> 1
    pl = Playlists.from_sequences([list("ac"), list("bd"), list("abe")])
    ix = letters(pl)
    model = PlaylistKNN(n_neighbors=3, weighting="vsknn", similarity="dot").fit(pl)
    recs = model.recommend(queries_from(pl, [[ix["a"], ix["b"]]], [[ix["e"]]]), 3)
    assert recs.items[0].tolist() == [ix["e"], ix["d"], ix["c"]]
    np.testing.assert_allclose(recs.scores[0], [3 / 4, 1 / 2, 1 / 8], rtol=1e-6)
    # the order-blind kNN ranks c before d (they tie; lower index first)
    plain = PlaylistKNN(n_neighbors=3).fit(pl).recommend(
        queries_from(pl, [[ix["a"], ix["b"]]], [[ix["e"]]]), 3)
    assert plain.items[0].tolist() == [ix["e"], ix["c"], ix["d"]]


def test_idf_weight_favours_rare_tracks():
    # seed a; p0 = ac, p1 = ad, p2 = cx: c and d tie (cos 1/sqrt 2) but c is more popular
    pl = Playlists.from_sequences([list("ac"), list("ad"), list("cx")])
    ix = letters(pl)
    q = queries_from(pl, [[ix["a"]]], [[ix["d"]]])
    assert PlaylistKNN(n_neighbors=3).fit(pl).recommend(q, 2).items[0].tolist() == [
        ix["c"], ix["d"]]
    recs = PlaylistKNN(n_neighbors=3, idf_weight=1.0).fit(pl).recommend(q, 2)
    assert recs.items[0].tolist() == [ix["d"], ix["c"]]
    base = 1 / math.sqrt(2)
    np.testing.assert_allclose(
        recs.scores[0], [base * (1 + math.log(3 / 1)), base * (1 + math.log(3 / 2))], rtol=1e-6)


def test_stan_known_answer():
    # seed a -> b. p0 = c a d e shares a (position 1), p1 = b f g shares b (position 0)
    pl = Playlists.from_sequences([list("cade"), list("bfg")])
    ix = letters(pl)
    spw, inh = 2.0, 1.5
    model = PlaylistKNN(n_neighbors=5, weighting="stan", lambda_spw=spw, lambda_inh=inh)
    model.fit(pl)
    s = scores_of(model, pl, [[ix["a"], ix["b"]]])[0]
    w_a, w_b = math.exp(-1 / spw), 1.0  # seed position weights
    norm = math.sqrt(w_a**2 + w_b**2)
    s0, s1 = w_a / (norm * math.sqrt(4)), w_b / (norm * math.sqrt(3))
    near, far = math.exp(-1 / inh), math.exp(-2 / inh)  # 1 and 2 steps from the anchor
    expected = {"c": s0 * near, "d": s0 * near, "e": s0 * far, "f": s1 * near, "g": s1 * far,
                "a": s0, "b": s1}
    for t, v in expected.items():
        assert s[ix[t]] == pytest.approx(v, rel=1e-6), t


def test_stan_neighbour_recency_uses_timestamps():
    pl = Playlists.from_sequences([list("ac"), list("ad")])
    pl = with_meta(pl, timestamp=[0.0, 10 * 86400.0])  # p1 is 10 days newer
    ix = letters(pl)
    q = queries_from(pl, [[ix["a"]]], [[ix["d"]]])
    off = PlaylistKNN(weighting="stan", lambda_inh=None).fit(pl).recommend(q, 2)
    assert off.items[0].tolist() == [ix["c"], ix["d"]]  # tie: lower index first
    on = PlaylistKNN(weighting="stan", lambda_inh=None, lambda_snh=5.0).fit(pl).recommend(q, 2)
    assert on.items[0].tolist() == [ix["d"], ix["c"]]
    np.testing.assert_allclose(on.scores[0], [1 / math.sqrt(2), math.exp(-2) / math.sqrt(2)],
                               rtol=1e-6)


def test_stan_recency_without_timestamps_warns(abcd):
    with pytest.warns(ParameterWarning, match="timestamps"):
        model = PlaylistKNN(weighting="stan", lambda_snh=5.0).fit(abcd)
    assert model.recency_ is None


def test_sampling_recent_keeps_the_newest_candidates():
    pl = Playlists.from_sequences([list("ac"), list("ad"), list("ae")])
    pl = with_meta(pl, timestamp=[1, 3, 2])
    ix = letters(pl)
    model = PlaylistKNN(sample_size=1, sampling="recent").fit(pl)
    s = scores_of(model, pl, [[ix["a"]]])[0]
    assert s[ix["d"]] == pytest.approx(1 / math.sqrt(2))
    assert s[ix["c"]] == 0 and s[ix["e"]] == 0
    # without timestamps the corpus order stands in for recency (and says so)
    with pytest.warns(DataWarning):
        model = PlaylistKNN(sample_size=1, sampling="recent").fit(
            Playlists.from_sequences([list("ac"), list("ad"), list("ae")]))
    assert scores_of(model, pl, [[ix["a"]]])[0][ix["e"]] > 0


def test_sampling_popular_and_random():
    pl = Playlists.from_sequences([list("ac"), list("ad"), list("ae")])
    ix = letters(pl)
    with pytest.raises(ApcInputError, match="num_followers"):
        PlaylistKNN(sample_size=1, sampling="popular").fit(pl)
    model = PlaylistKNN(sample_size=1, sampling="popular").fit(
        with_meta(pl, num_followers=[5, 1, 9]))
    s = scores_of(model, pl, [[ix["a"]]])[0]
    assert s[ix["e"]] > 0 and s[ix["c"]] == 0 and s[ix["d"]] == 0
    # random: exactly sample_size neighbours, reproducible for a seed
    picks = set()
    for seed in range(12):
        s = scores_of(PlaylistKNN(sample_size=1, sampling="random", seed=seed).fit(pl), pl,
                      [[ix["a"]]])[0]
        assert (s[[ix["c"], ix["d"], ix["e"]]] > 0).sum() == 1
        again = scores_of(PlaylistKNN(sample_size=1, sampling="random", seed=seed).fit(pl), pl,
                          [[ix["a"]]])[0]
        np.testing.assert_array_equal(s, again)
        picks.add(int(np.argmax(s[[ix["c"], ix["d"], ix["e"]]])))
    assert len(picks) > 1  # different seeds draw different candidates


# session-rec's V-SKNN vote decays (vsknn.py, *_score) of step = steps back + 1
SESSION_REC_MATCH = {
    "harmonic": lambda step: 1 / step,
    "log": lambda step: 1 / math.log10(step + 1.7),
    "linear": lambda step: 1 - 0.1 * step if step <= 100 else 0,
    "quadratic": lambda step: 1 / (step * step),
}


def reference_knn(pl, seeds, *, k, similarity="cosine", weighting="none", decay="linear",
                  match_decay="harmonic", idf_weight=0.0, idf_count="playlists",
                  lambda_spw=1.02, lambda_inh=None, lambda_ipw=None):
    """Per-query, per-playlist loops over the documented formulas (float64)."""
    sets = [set(pl[p].tolist()) for p in range(len(pl))]
    last = [{t: i for i, t in enumerate(pl[p].tolist())} for p in range(len(pl))]
    if idf_count == "entries":  # session-rec: rows per item
        pop = Counter(pl.items.tolist())
    else:
        pop = Counter(t for s in sets for t in s)
    out = np.zeros((len(seeds), pl.n_tracks))
    for q, seed in enumerate(seeds):
        L = len(seed)
        spos = {t: i for i, t in enumerate(seed)}  # last occurrence
        if weighting == "vsknn":
            w = {t: float(position_decay(decay, np.array([L - 1 - i]), np.array([L]))[0])
                 for t, i in spos.items()}
        elif weighting == "stan":
            w = {t: math.exp(-(L - 1 - i) / lambda_spw) for t, i in spos.items()}
        else:
            w = {t: 1.0 for t in spos}
        cands = []
        for p, s in enumerate(sets):
            c = sum(w[t] for t in spos if t in s)
            if c == 0:
                continue
            if similarity == "cosine":
                sim = c / (math.sqrt(sum(v * v for v in w.values())) * math.sqrt(len(s)))
            elif similarity == "jaccard":
                sim = c / (sum(v * v for v in w.values()) + len(s) - c)
            elif similarity == "overlap":
                sim = c / min(sum(w.values()), len(s))
            else:
                sim = c / len(spos)
            cands.append((sim if weighting == "stan" else np.float32(sim), p))  # STAN: float64
        cands.sort(key=lambda x: (-x[0], x[1]))
        for sim, p in cands[:k]:
            sim = float(sim)
            shared = [t for t in spos if t in sets[p]]
            r = L - 1 - max(spos[t] for t in shared)
            if weighting == "vsknn" and match_decay.startswith("seed-"):
                sim *= float(position_decay(match_decay[5:], np.array([r]), np.array([L]))[0])
            elif weighting == "vsknn" and match_decay != "none":
                sim *= SESSION_REC_MATCH[match_decay](r + 1)
            if weighting == "stan" and lambda_ipw is not None:
                sim *= math.exp(-r / lambda_ipw)
            anchor = max(last[p][t] for t in shared)
            for t in sets[p]:
                v = sim
                if weighting == "stan" and lambda_inh is not None:
                    v *= math.exp(-abs(last[p][t] - anchor) / lambda_inh)
                if idf_weight:
                    v *= 1 + idf_weight * math.log(len(pl) / pop[t])
                out[q, t] += v
    return out


@pytest.mark.parametrize(
    "params",
    [
        {"k": 4},
        {"k": 3, "similarity": "jaccard"},
        {"k": 5, "similarity": "overlap", "idf_weight": 0.7},
        {"k": 100, "weighting": "vsknn", "decay": "log", "similarity": "dot"},
        {"k": 100, "weighting": "vsknn", "decay": "quadratic", "match_decay": "linear"},
        {"k": 100, "weighting": "stan", "lambda_spw": 1.5, "lambda_inh": 2.0},
        {"k": 100, "weighting": "stan", "lambda_inh": None, "idf_weight": 0.3},
        {"k": 100, "weighting": "vsknn", "match_decay": "log", "idf_weight": 0.5,
         "idf_count": "entries"},
        {"k": 100, "weighting": "vsknn", "match_decay": "quadratic"},
        {"k": 100, "weighting": "vsknn", "match_decay": "seed-log"},
        {"k": 5, "weighting": "stan", "lambda_inh": 2.05, "lambda_ipw": 1.5,  # VSTAN
         "idf_weight": 0.3},
        {"k": 100, "weighting": "stan", "lambda_inh": None, "lambda_ipw": 2.0,
         "idf_count": "entries", "idf_weight": 1.0},
    ],
)
def test_knn_matches_loop_reference(rng, params):
    # random playlists with repeats; every variant must equal the per-query loops
    seqs = [rng.integers(0, 25, rng.integers(1, 9)).tolist() for _ in range(40)]
    pl = Playlists.from_sequences(seqs)
    seeds = [rng.integers(0, pl.n_tracks, rng.integers(1, 7)).tolist() for _ in range(12)]
    p = dict(params)
    k = p.pop("k")
    model = PlaylistKNN(n_neighbors=k, **p).fit(pl)
    ref = reference_knn(pl, seeds, k=k, **p)
    np.testing.assert_allclose(scores_of(model, pl, seeds), ref, rtol=2e-5, atol=1e-6)


def test_knn_title_fallback_for_empty_seed():
    pl = checkerboard()  # rock playlists hold the a-tracks
    model = TitleFallback(PlaylistKNN()).fit(pl)
    recs = model.recommend(queries_from(pl, [[]], [[0]], titles=np.array(["rock"], object)), 6)
    a_tracks = set(pl.tracks.index[pl.tracks["track_id"].str.startswith("a")])
    assert set(recs.items[0].tolist()) == a_tracks


@pytest.mark.parametrize(
    "params, field",
    [
        ({"n_neighbors": 0}, "n_neighbors"),
        ({"n_neighbors": 2.5}, "n_neighbors"),
        ({"similarity": "euclid"}, "similarity"),
        ({"sample_size": 0}, "sample_size"),
        ({"sampling": "oldest"}, "sampling"),
        ({"weighting": "gru"}, "weighting"),
        ({"decay": "cubic"}, "decay"),
        ({"match_decay": "cubic"}, "match_decay"),
        ({"idf_weight": -1}, "idf_weight"),
        ({"lambda_spw": 0}, "lambda_spw"),
        ({"lambda_snh": -2}, "lambda_snh"),
        ({"lambda_inh": float("nan")}, "lambda_inh"),
        ({"seed": -1}, "seed"),
    ],
)
def test_knn_parameter_validation(abcd, params, field):
    with pytest.raises(ApcInputError) as err:
        PlaylistKNN(**params).fit(abcd)
    assert err.value.field == field


def test_stan_save_load_identical(tmp_path, abcd):
    pl = with_meta(abcd, timestamp=[1e9, 1.1e9, 1.2e9, 1.3e9])
    model = PlaylistKNN(weighting="stan", lambda_snh=300.0, sample_size=2).fit(pl)
    q = queries_from(pl, [[0, 1], [4], []], [[2], [0], [1]])
    before = model.recommend(q, 4)
    after = PlaylistKNN.load(model.save(tmp_path / "stan.pkl")).recommend(q, 4)
    np.testing.assert_array_equal(before.items, after.items)
    np.testing.assert_array_equal(before.scores, after.scores)


# --------------------------------------------------------------------------- item k-NN
@pytest.fixture
def cooc():
    # pops a=3, b=2, c=2, d=1; co-occurrences ab=2, ac=2, bc=1
    return Playlists.from_sequences([list("ab"), list("abc"), list("ac"), list("d")])


def test_item_knn_cosine_known_answer(cooc):
    ix = letters(cooc)
    model = ItemKNN(n_neighbors=None).fit(cooc)
    sim = model.similarity_.toarray()
    assert sim[ix["b"], ix["a"]] == pytest.approx(2 / math.sqrt(6))
    assert sim[ix["b"], ix["c"]] == pytest.approx(1 / 2)
    assert np.diag(sim).sum() == 0 and (sim[ix["d"]] == 0).all()
    recs = model.recommend(queries_from(cooc, [[ix["b"]], [ix["b"], ix["c"]]], [[0], [0]]), 2)
    assert recs.items[0].tolist() == [ix["a"], ix["c"]]
    np.testing.assert_allclose(recs.scores[0], [2 / math.sqrt(6), 1 / 2], rtol=1e-6)
    assert recs.items[1, 0] == ix["a"] and recs.scores[1, 0] == pytest.approx(4 / math.sqrt(6))


def test_item_knn_alpha_and_shrink(cooc):
    ix = letters(cooc)
    q = queries_from(cooc, [[ix["b"]]], [[0]])
    # alpha = 1: c_ij / n_i = P(j | i): a = 2/2, c = 1/2
    recs = ItemKNN(alpha=1.0).fit(cooc).recommend(q, 2)
    np.testing.assert_allclose(recs.scores[0], [1.0, 1 / 2], rtol=1e-6)
    # shrink 1: c_ij / (sqrt(n_i n_j) + 1)
    recs = ItemKNN(shrink=1.0).fit(cooc).recommend(q, 2)
    np.testing.assert_allclose(recs.scores[0], [2 / (math.sqrt(6) + 1), 1 / 3], rtol=1e-6)


def test_item_knn_prunes_per_item(cooc):
    ix = letters(cooc)
    model = ItemKNN(n_neighbors=1).fit(cooc)
    assert np.diff(model.similarity_.indptr).max() == 1
    s = scores_of(model, cooc, [[ix["b"]]])[0]
    assert s[ix["a"]] == pytest.approx(2 / math.sqrt(6)) and s[ix["c"]] == 0


@pytest.mark.parametrize(
    "params, field",
    [({"n_neighbors": 0}, "n_neighbors"), ({"alpha": 1.5}, "alpha"), ({"alpha": -0.1}, "alpha"),
     ({"shrink": -1.0}, "shrink")],
)
def test_item_knn_parameter_validation(cooc, params, field):
    with pytest.raises(ApcInputError) as err:
        ItemKNN(**params).fit(cooc)
    assert err.value.field == field


def test_item_knn_title_fallback_for_empty_seed():
    pl = checkerboard()
    recs = TitleFallback(ItemKNN()).fit(pl).recommend(
        queries_from(pl, [[]], [[0]], titles=np.array(["jazz"], object)), 6)
    b_tracks = set(pl.tracks.index[pl.tracks["track_id"].str.startswith("b")])
    assert set(recs.items[0].tolist()) == b_tracks


# --------------------------------------------------------------------------- helpers
def brute_topn(m: sp.csr_array, n: int) -> sp.csr_array:
    rows, cols, vals = [], [], []
    for r in range(m.shape[0]):
        a, b = m.indptr[r], m.indptr[r + 1]
        c, v = m.indices[a:b], m.data[a:b]
        keep = np.lexsort((c, -v))[:n]
        rows += [r] * len(keep)
        cols += c[keep].tolist()
        vals += v[keep].tolist()
    out = sp.csr_array((np.array(vals, m.dtype), (rows, cols)), shape=m.shape)
    out.sort_indices()
    return out


@pytest.mark.parametrize("kind", ["uniform", "ties", "constant", "sorted"])
def test_topn_per_row_matches_sorting(rng, kind):
    for _ in range(15):
        r, c = int(rng.integers(1, 20)), int(rng.integers(1, 2000))
        m = sp.random_array((r, c), density=float(rng.choice([0.005, 0.05, 0.5])),
                            format="csr", rng=rng, dtype=np.float32)
        if kind == "ties":
            m.data = rng.integers(1, 4, m.nnz).astype(np.float32)
        elif kind == "constant":
            m.data[:] = 1.0
        elif kind == "sorted":  # values increasing along the row: the bound is loose
            m.data = np.sort(m.data)
        n = int(rng.choice([1, 3, 40, 500]))
        got, want = topn_per_row(m, n), brute_topn(m, n)
        np.testing.assert_array_equal(got.indptr, want.indptr)
        np.testing.assert_array_equal(got.indices, want.indices)
        np.testing.assert_array_equal(got.data, want.data)


def test_cooccurrence_engines_agree_with_dense_reference(rng):
    for _ in range(12):
        x = sp.random_array((int(rng.integers(5, 120)), int(rng.integers(5, 200))),
                            density=float(rng.choice([0.02, 0.1, 0.3])), format="csr", rng=rng)
        n = int(rng.choice([1, 4, 50]))
        alpha = float(rng.choice([0.5, 0.0, 1.0, 0.25]))
        shrink = float(rng.choice([0.0, 3.0]))
        a = cooccurrence_topn(x, n, alpha=alpha, shrink=shrink, engine="scipy")
        b = cooccurrence_topn(x, n, alpha=alpha, shrink=shrink, engine="numba")
        np.testing.assert_array_equal(a.indptr, b.indptr)
        np.testing.assert_array_equal(a.indices, b.indices)
        np.testing.assert_array_equal(a.data, b.data)
        xb = (x.toarray() > 0).astype(np.float64)
        c = xb.T @ xb
        pop = np.diag(c).copy()
        with np.errstate(divide="ignore", invalid="ignore"):
            full = c / (np.outer(pop**alpha, pop ** (1 - alpha)) + shrink)
        full[c == 0] = 0
        np.fill_diagonal(full, 0)
        want = sp.csr_array(full)
        # compare the values each engine kept against the exact similarities
        rows = np.repeat(np.arange(a.shape[0]), np.diff(a.indptr))
        np.testing.assert_allclose(a.data, full[rows, a.indices], rtol=1e-6)
        kept_rank_ok = np.diff(a.indptr) == np.minimum(np.diff(want.indptr), n)
        assert kept_rank_ok.all()


def test_cooccurrence_unpruned_is_full_matrix(cooc):
    s = cooccurrence_topn(cooc.to_csr(), None, exclude_diagonal=False).toarray()
    x = cooc.to_csr().toarray()
    c = x.T @ x
    pop = np.diag(c)
    np.testing.assert_allclose(s, c / np.sqrt(np.outer(pop, pop)), rtol=1e-6)


def test_position_decay_values():
    r, L = np.array([0, 1, 3]), np.array([4, 4, 4])
    np.testing.assert_allclose(position_decay("linear", r, L), [1, 3 / 4, 1 / 4])
    np.testing.assert_allclose(position_decay("quadratic", r, L), [1, 9 / 16, 1 / 16])
    np.testing.assert_allclose(position_decay("harmonic", r, L), [1, 1 / 2, 1 / 4])
    np.testing.assert_allclose(position_decay("log", r, L),
                               [1, math.log(1.7) / math.log(2.7), math.log(1.7) / math.log(4.7)],
                               rtol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(position_decay("none", r, L), [1, 1, 1])


def test_match_decay_is_session_rec_exactly():
    # issue 13: session-rec's vsknn.py *_score of step = steps back + 1 (1, 2, 4, 11, 151)
    r, L = np.array([0, 1, 3, 10, 150]), np.full(5, 200)
    np.testing.assert_allclose(match_decay("harmonic", r, L), [1, 1 / 2, 1 / 4, 1 / 11, 1 / 151])
    np.testing.assert_allclose(match_decay("quadratic", r, L),
                               [1, 1 / 4, 1 / 16, 1 / 121, 1 / 22801])
    np.testing.assert_allclose(match_decay("linear", r, L), [0.9, 0.8, 0.6, -0.1, 0.0],
                               atol=1e-7)  # negative from step 11, 0 past step 100
    np.testing.assert_allclose(match_decay("log", r, L),  # 1 / log10(step + 1.7)
                               [2.318229, 1.759938, 1.322970, 0.905958, 0.457909], rtol=1e-6)
    np.testing.assert_allclose(match_decay("none", r, L), np.ones(5))
    # the earlier rescaled forms stay available as the seed decays applied to the match
    np.testing.assert_allclose(match_decay("seed-linear", r, L), 1 - r / 200, rtol=1e-6)


def test_vsknn_match_decay_linear_votes_like_session_rec():
    # seed a b c d e f g h i j k l (12 tracks); p0 = a x shares only a: step 12 ->
    # 1 - 1.2 = -0.2, a negative vote, as in session-rec; p1 = l y: step 1 -> 0.9
    seed = list("abcdefghijkl")
    pl = Playlists.from_sequences([list("ax"), list("ly"), seed])
    ix = letters(pl)
    model = PlaylistKNN(n_neighbors=3, weighting="vsknn", decay="none", similarity="dot",
                        match_decay="linear").fit(pl)
    s = scores_of(model, pl, [[ix[t] for t in seed]])[0]
    # dot sim = shared / |h| = 1/12 for p0 and p1 (p2, the seed itself, votes for seeds only)
    assert s[ix["x"]] == pytest.approx(-0.2 / 12, rel=1e-6)
    assert s[ix["y"]] == pytest.approx(0.9 / 12, rel=1e-6)


def test_idf_count_playlists_default_or_entries():
    # x is in 2 of 3 playlists, 3 times in all: log(3/2) by playlists (default), log(3/3)
    # by entries (session-rec's rows per item)
    pl = Playlists.from_sequences([list("axx"), list("ax"), list("b")])
    ix = letters(pl)
    assert PlaylistKNN().idf_count == "playlists"
    by_pl = PlaylistKNN(idf_weight=1.0).fit(pl)
    by_rows = PlaylistKNN(idf_weight=1.0, idf_count="entries").fit(pl)
    assert by_pl.idf_[ix["x"]] == pytest.approx(math.log(3 / 2))
    assert by_rows.idf_[ix["x"]] == pytest.approx(0.0)
    assert by_rows.idf_[ix["b"]] == pytest.approx(math.log(3))


def test_vstan_lambda_ipw_known_answer():
    # seed a -> b; p0 = a x matches a (1 step back), p1 = b y matches b (0 back). Without
    # lambda_inh the votes are sim * exp(-r / lambda_ipw): x / y = exp(-1/spw - 1/ipw)
    pl = Playlists.from_sequences([list("ax"), list("by")])
    ix = letters(pl)
    q = [[ix["a"], ix["b"]]]
    stan = PlaylistKNN(weighting="stan", lambda_spw=1.0, lambda_inh=None).fit(pl)
    vstan = PlaylistKNN(weighting="stan", lambda_spw=1.0, lambda_inh=None,
                        lambda_ipw=0.5).fit(pl)
    s, v = scores_of(stan, pl, q)[0], scores_of(vstan, pl, q)[0]
    assert s[ix["x"]] / s[ix["y"]] == pytest.approx(math.exp(-1), rel=1e-6)
    assert v[ix["x"]] / v[ix["y"]] == pytest.approx(math.exp(-3), rel=1e-6)
    assert v[ix["y"]] == pytest.approx(s[ix["y"]], rel=1e-6)


def test_stan_old_seed_tracks_keep_their_neighbours():
    # issue 13: exp(-r / lambda_spw) underflowed in float32 from r ~ 107 (lambda_spw 1.02),
    # so p0, which shares only the oldest of 150 seed tracks, left the pool and its track
    # z scored 0 (then ranked by index behind the unvoted tracks)
    seed = [f"s{i:03d}" for i in range(150)]
    pl = Playlists.from_sequences([[f"u{i}" for i in range(30)], seed[1:], ["s000", "z"]])
    ix = letters(pl)
    assert ix["z"] > ix["u0"]  # an index tie-break alone would put u0 first
    model = PlaylistKNN(weighting="stan").fit(pl)
    q = queries_from(pl, [[ix[t] for t in seed]], [[ix["z"]]])
    s = scores_of(model, pl, [[ix[t] for t in seed]])[0]
    assert s[ix["z"]] > 0
    assert model.recommend(q, 1).items[0].tolist() == [ix["z"]]


@pytest.mark.parametrize("params", [
    {"weighting": "vsknn", "match_decay": "log"},
    {"weighting": "vsknn", "match_decay": "seed-linear", "similarity": "dot"},
    {"weighting": "stan", "lambda_inh": None, "lambda_ipw": 1.5},
    {"weighting": "stan", "lambda_spw": 3.0, "lambda_inh": 1.5},
    {"weighting": "stan", "lambda_ipw": 1.0, "idf_weight": 0.5, "idf_count": "entries"},
])
def test_code_products_equal_per_entry_path(rng, params, monkeypatch):
    # the most recent matched seed track and STAN's anchor i* come from products of
    # 4 ** -steps codes; seeds or playlists too long for them take the per-entry path
    # (a membership test of every neighbour entry): both must agree
    import apc.models.knn as knn

    seqs = [rng.integers(0, 30, rng.integers(1, 12)).tolist() for _ in range(60)]
    pl = Playlists.from_sequences(seqs)
    seeds = [rng.integers(0, pl.n_tracks, rng.integers(1, 25)).tolist() for _ in range(20)]
    fast = scores_of(PlaylistKNN(n_neighbors=7, **params).fit(pl), pl, seeds)
    monkeypatch.setattr(knn, "_MATCH_PRODUCT_MAX_SEED", 0)
    monkeypatch.setattr(knn, "_ANCHOR_PRODUCT_MAX_LENGTH", 0)
    slow = PlaylistKNN(n_neighbors=7, **params).fit(pl)
    assert slow.anchor_t_ is None
    np.testing.assert_allclose(scores_of(slow, pl, seeds), fast, rtol=1e-6)


def test_numba_kernel_compiles_without_a_writable_cache_folder(monkeypatch):
    # numba raises at decoration when cache=True finds no writable folder (a read-only
    # install run without a home folder); apc must still import and compile.
    numba = pytest.importorskip("numba")
    from apc.models import _similarity

    real = numba.njit

    def njit(*args, cache=False, **kw):
        if cache:
            raise RuntimeError("cannot cache function '_f': no locator available")
        return real(*args, **kw)

    monkeypatch.setattr(numba, "njit", njit)

    def _f(a):  # pragma: no cover - compiled
        return a + 1

    assert _similarity._compile(_f, nogil=True)(41) == 42
