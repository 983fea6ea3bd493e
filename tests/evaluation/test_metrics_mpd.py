"""Golden tests for every RecSys Challenge 2018 (MPD) reading, hand-computed, plus
per-query references transcribed from the published loops (issue 12, item 3)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apc.data import Queries
from apc.errors import ApcInputError
from apc.evaluation import metrics as M
from apc.evaluation.metrics import compute_metrics

# catalogue t0..t9; artists A0 (t0 t1 t9), A1 (t2 t3), A2 (t4 t7), A3 (t5), A4 (t8), t6 unknown
ART = np.array([0, 0, 1, 1, 2, 3, -1, 2, 4, 0])
READINGS = ["rprec_mpd", "rprec_mpd_paper", "rprec_mpd_strict", "rprec_mpd_vl6",
            "ndcg_mpd", "ndcg_mpd_rules", "clicks_mpd"]
L2, L3, L4, L5 = math.log2(2), math.log2(3), math.log2(4), math.log2(5)
NAN = float("nan")

# name: (recs, targets, {metric: expected}); every value worked out by hand in the comment
CASES = {
    # G = {t0 A0, t2 A1}; prefix (first |G| = 2) t8 A4, t5 A3: nothing
    "no hit": ([8, 5, 6], [0, 2], dict(
        rprec_mpd=0, rprec_mpd_paper=0, rprec_mpd_strict=0, rprec_mpd_vl6=0,
        ndcg_mpd=0, ndcg_mpd_rules=0, clicks_mpd=51)),
    # prefix t0 (hit, A0), t8 (A4): 1 track; the paper also credits A0, the hit's own artist
    "hit at rank 1": ([0, 8, 5], [0, 2], dict(
        rprec_mpd=1 / 2, rprec_mpd_paper=1.25 / 2, rprec_mpd_strict=1 / 2, rprec_mpd_vl6=1 / 2,
        ndcg_mpd=1 / (1 + 1 / L3), ndcg_mpd_rules=1.0, clicks_mpd=0)),
    # G = {t0, t2, t4}; prefix t8 t5 t4: hit t4 at rank |G| = 3; t0 a hit at rank 4
    "hit at rank |G|": ([8, 5, 4, 0], [0, 2, 4], dict(
        rprec_mpd=1 / 3, rprec_mpd_paper=1.25 / 3, rprec_mpd_strict=1 / 3, rprec_mpd_vl6=1 / 3,
        ndcg_mpd=(1 / L4 + 1 / L5) / (1 + 1 / L3 + 1 / L4),
        ndcg_mpd_rules=(1 / L3 + 1 / L4) / (1 + 1 / L2), clicks_mpd=0)),
    # t0 twice: a hit once, at rank 1 (rank 3 keeps its place); the Java loop counts it twice
    "duplicates in the list": ([0, 0, 2], [0, 2], dict(
        rprec_mpd=1 / 2, rprec_mpd_paper=1.25 / 2, rprec_mpd_strict=1 / 2, rprec_mpd_vl6=2 / 2,
        ndcg_mpd=(1 + 1 / L4) / (1 + 1 / L3), ndcg_mpd_rules=(1 + 1 / L3) / (1 + 1 / L2),
        clicks_mpd=0)),
    # |G| = 5 > K = 3: t2 hit (A1), t9 misses but A0 is a target artist, t6 unknown artist;
    # the winners' evaluator divides by min(|G|, |R|) = 3; the ideal DCG holds min(|G|, K) = 3
    "more targets than K": ([2, 9, 6], [0, 2, 4, 5, 8], dict(
        rprec_mpd=1.25 / 5, rprec_mpd_paper=1.5 / 5, rprec_mpd_strict=1.25 / 5,
        rprec_mpd_vl6=1.25 / 3, ndcg_mpd=1 / (1 + 1 / L3 + 1 / L4), ndcg_mpd_rules=1.0,
        clicks_mpd=0)),
    # prefix t1 (A0), t3 (A1): no track, both target artists; t9 (A0) is outside the prefix
    "artist-only matches": ([1, 3, 9], [0, 2], dict(
        rprec_mpd=0.5 / 2, rprec_mpd_paper=0.5 / 2, rprec_mpd_strict=0.5 / 2,
        rprec_mpd_vl6=0.5 / 2, ndcg_mpd=0, ndcg_mpd_rules=0, clicks_mpd=51)),
    # prefix t0 (hit, A0), t1 (miss, A0): the organisers credit A0 through t1, strict does not
    "a hit's artist": ([0, 1, 5], [0, 2], dict(
        rprec_mpd=1.25 / 2, rprec_mpd_paper=1.25 / 2, rprec_mpd_strict=1 / 2,
        rprec_mpd_vl6=1.25 / 2, ndcg_mpd=1 / (1 + 1 / L3), ndcg_mpd_rules=1.0, clicks_mpd=0)),
    # targets t0 t0 t2: G = {t0, t2}, |G| = 2; prefix t2 (hit, A1), t5 (A3); t0 hit at rank 3
    "repeated targets": ([2, 5, 0], [0, 0, 2], dict(
        rprec_mpd=1 / 2, rprec_mpd_paper=1.25 / 2, rprec_mpd_strict=1 / 2, rprec_mpd_vl6=1 / 2,
        ndcg_mpd=(1 + 1 / L4) / (1 + 1 / L3), ndcg_mpd_rules=(1 + 1 / L3) / (1 + 1 / L2),
        clicks_mpd=0)),
    # every target first: the paper's literal formula adds 0.25 per artist on top -> 1.25
    "perfect list": ([2, 0, 5], [0, 2], dict(
        rprec_mpd=1.0, rprec_mpd_paper=1.25, rprec_mpd_strict=1.0, rprec_mpd_vl6=1.0,
        ndcg_mpd=1.0, ndcg_mpd_rules=1.0, clicks_mpd=0)),
    "empty targets": ([0, 1, 2], [], {m: NAN for m in READINGS}),
}


def _one(recs, targets, n_tracks=10):
    return np.array([recs]), Queries.from_lists([[]], [targets], n_tracks=n_tracks)


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("name", READINGS)
def test_golden(case, name):
    recs, targets, expected = CASES[case]
    r, q = _one(recs, targets)
    fn = M.METRICS[name]
    args = (r, q, ART) if "track_artists" in fn.needs else (r, q)
    assert fn(*args)[0] == pytest.approx(expected[name], nan_ok=True, abs=1e-12)


def test_golden_cases_together_equal_one_by_one():
    """Batched over queries (one shared hit computation) gives the per-query values."""
    w = max(len(c[0]) for c in CASES.values())
    recs = np.array([c[0] + [-1] * (w - len(c[0])) for c in CASES.values()])
    q = Queries.from_lists([[] for _ in CASES], [c[1] for c in CASES.values()], n_tracks=10)
    hits = M.Hits(recs, q)
    for name in READINGS:
        fn = M.METRICS[name]
        extra = {"track_artists": ART} if "track_artists" in fn.needs else {}
        got = fn(recs, q, hits=hits, **extra)
        for i, (case, (_, _, expected)) in enumerate(CASES.items()):
            if case == "more targets than K" and name == "ndcg_mpd":
                continue  # its K is the matrix width here (4), not its own list's (3)
            assert got[i] == pytest.approx(expected[name], nan_ok=True, abs=1e-12), (case, name)


def test_clicks_pages_and_the_500_cap():
    recs = np.arange(600)[None, :]
    assert M.clicks_mpd(recs, Queries.from_lists([[]], [[10]], n_tracks=600))[0] == 1  # rank 11
    assert M.clicks_mpd(recs, Queries.from_lists([[]], [[499]], n_tracks=600))[0] == 49
    # a first hit past the challenge's 500 tracks is no hit
    assert M.clicks_mpd(recs, Queries.from_lists([[]], [[550]], n_tracks=600))[0] == 51


def test_ids_outside_the_catalogue_are_misses_not_errors():
    # issue 12: rprec_mpd raised IndexError on a recommended id >= catalogue size
    q = Queries.from_lists([[]], [[0, 2]], n_tracks=10)
    recs = np.array([[0, 99, 12, 2]])
    out = compute_metrics(recs, q, _train(), metrics=READINGS + ["recall"], ks=[4])
    assert out["rprec_mpd"][0] == pytest.approx(1 / 2)
    assert out["rprec_mpd_vl6"][0] == pytest.approx(1 / 2)
    assert out["recall@4"][0] == 1.0


def test_lists_of_width_zero():
    # issue 12: mrr and clicks_mpd raised on h.argmax of a (Q, 0) matrix
    q = Queries.from_lists([[], []], [[1], []], n_tracks=4)
    recs = np.zeros((2, 0), dtype=np.int32)
    out = compute_metrics(recs, q, _train(4), metrics=["mrr", "hit", "ndcg"] + READINGS, ks=[5])
    assert out["mrr@5"].tolist()[0] == 0 and math.isnan(out["mrr@5"][1])
    assert out["clicks_mpd"][0] == 51
    assert out["ndcg_mpd"][0] == 0 and out["rprec_mpd"][0] == 0 and out["rprec_mpd_vl6"][0] == 0


def test_artist_credit_needs_the_training_corpus():
    # issue 12: without train the artist credit was silently dropped
    q = Queries.from_lists([[]], [[0]], n_tracks=10)
    for name in ["rprec_mpd", "rprec_mpd_paper", "artist_diversity", "popularity"]:
        with pytest.raises(ApcInputError, match="training corpus"):
            compute_metrics(np.array([[1]]), q, metrics=[name], ks=[1])
    # metrics that need only the targets still work without it
    assert compute_metrics(np.array([[0]]), q, metrics=["ndcg_mpd"])["ndcg_mpd"][0] == 1.0


def test_strict_is_at_most_default_at_most_paper():
    rng = np.random.default_rng(3)
    recs = rng.integers(0, 10, size=(200, 8))
    targets = [rng.choice(10, size=rng.integers(1, 6), replace=False) for _ in range(200)]
    q = Queries.from_lists([[] for _ in targets], targets, n_tracks=10)
    out = compute_metrics(recs, q, _train(), metrics=READINGS)
    assert np.all(out["rprec_mpd_strict"] <= out["rprec_mpd"] + 1e-12)
    assert np.all(out["rprec_mpd"] <= out["rprec_mpd_paper"] + 1e-12)
    assert np.all((out["rprec_mpd"] >= 0) & (out["rprec_mpd"] <= 1))
    assert np.all(out["rprec_mpd_paper"] <= 1.25)


def _train(n=10):
    import pandas as pd

    from apc.data import Playlists

    art = ART[:n] if n <= len(ART) else np.r_[ART, -np.ones(n - len(ART), int)]
    tracks = pd.DataFrame({"track_id": [f"t{i}" for i in range(n)], "artist": art.astype(np.int32)})
    artists = pd.DataFrame({"artist_id": [f"A{i}" for i in range(5)]})
    return Playlists(np.array([0, 1]), np.array([0], dtype=np.int32), tracks, artists)


# ------------------------------------------------------------ references from the loops
def ref_gist(targets, preds, art):
    """The organisers' artist-fallback loop: distinct prefix tracks, artists once."""
    g = set(targets)
    g_art = {art[t] for t in g if art[t] >= 0}
    credited, tp = set(), 0.0
    for t in set(preds[: len(g)]):
        if t in g:
            tp += 1
        else:
            a = art[t] if 0 <= t < len(art) else -1
            if a >= 0 and a in g_art and a not in credited:
                credited.add(a)
                tp += 0.25
    return tp / len(g)


def ref_vl6(targets, preds, art):
    """The winners' Java loop: positions of the first min(|G|, |R|), hits counted each time."""
    g = set(targets)
    g_art = {art[t] for t in g if art[t] >= 0}
    m = min(len(g), len(preds))
    if m == 0:
        return 0.0
    credited, tp = set(), 0.0
    for t in preds[:m]:
        if t in g:
            tp += 1
        else:
            a = art[t] if 0 <= t < len(art) else -1
            if a >= 0 and a in g_art and a not in credited:
                credited.add(a)
                tp += 0.25
    return tp / m


def ref_paper(targets, preds, art):
    g = set(targets)
    g_art = {art[t] for t in g if art[t] >= 0}
    prefix = preds[: len(g)]
    s_art = {art[t] for t in prefix if 0 <= t < len(art) and art[t] >= 0}
    return (len(set(prefix) & g) + 0.25 * len(s_art & g_art)) / len(g)


def ref_strict(targets, preds, art):
    g = set(targets)
    g_art = {art[t] for t in g if art[t] >= 0}
    prefix = preds[: len(g)]
    hit_art = {art[t] for t in prefix if t in g and art[t] >= 0}
    miss_art = {art[t] for t in prefix if t not in g and 0 <= t < len(art) and art[t] >= 0}
    return (len(set(prefix) & g) + 0.25 * len((miss_art & g_art) - hit_art)) / len(g)


def ref_ndcg(targets, preds, *, rules):
    g = set(targets)
    seen, dcg, n_hits = set(), 0.0, 0
    for i, t in enumerate(preds, start=1):
        if t in g and t not in seen:
            n_hits += 1
            dcg += (1.0 if i == 1 else 1 / math.log2(i)) if rules else 1 / math.log2(i + 1)
        seen.add(t)
    if rules:
        ideal = sum(1.0 if i == 1 else 1 / math.log2(i) for i in range(1, n_hits + 1))
    else:
        ideal = sum(1 / math.log2(i + 1) for i in range(1, min(len(g), len(preds)) + 1))
    return dcg / ideal if ideal else 0.0


@st.composite
def lists(draw):
    n = draw(st.integers(3, 14))
    art = np.array(draw(st.lists(st.integers(-1, 4), min_size=n, max_size=n)))
    q = draw(st.integers(1, 5))
    w = draw(st.integers(1, 10))
    recs = [draw(st.lists(st.integers(0, n + 2), min_size=w, max_size=w)) for _ in range(q)]
    targets = [draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n)) for _ in range(q)]
    return n, art, recs, targets


@settings(max_examples=80, deadline=None)
@given(lists())
def test_readings_equal_the_published_loops(case):
    n, art, recs, targets = case
    q = Queries.from_lists([[] for _ in targets], targets, n_tracks=n)
    r = np.array(recs)
    hits = M.Hits(r, q)
    for i, (t, p) in enumerate(zip(targets, recs, strict=True)):
        assert M.rprec_mpd(r, q, art, hits=hits)[i] == pytest.approx(ref_gist(t, p, art))
        assert M.rprec_mpd_vl6(r, q, art, hits=hits)[i] == pytest.approx(ref_vl6(t, p, art))
        assert M.rprec_mpd_paper(r, q, art, hits=hits)[i] == pytest.approx(ref_paper(t, p, art))
        assert M.rprec_mpd_strict(r, q, art, hits=hits)[i] == pytest.approx(ref_strict(t, p, art))
        assert M.ndcg_mpd(r, q, hits=hits)[i] == pytest.approx(ref_ndcg(t, p, rules=False))
        assert M.ndcg_mpd_rules(r, q, hits=hits)[i] == pytest.approx(ref_ndcg(t, p, rules=True))


def test_mpd_score_names_each_reading_and_can_show_them_all():
    from apc.mpd.score import ALL_READINGS, Truth, score_rows

    truth = Truth([1, 2], {1: ["a", "b"], 2: ["c"]}, {1: "x", 2: "x"},
                  {"a": "X", "b": "Y", "c": "Z"})
    rows = {1: ["a", "d"], 2: ["e", "c"]}
    # pid 1: prefix a (hit, X), d (miss, artist Y of target b); pid 2: prefix e (unknown)
    score = score_rows(rows, truth, artists={"d": "Y"}, metrics=ALL_READINGS)
    got = score.per_playlist.set_index("pid")
    assert got["rprec_mpd"].tolist() == pytest.approx([1.25 / 2, 0])
    assert got["rprec_mpd_strict"].tolist() == pytest.approx([1.25 / 2, 0])
    assert got["rprec_mpd_paper"].tolist() == pytest.approx([1.5 / 2, 0])
    assert got["ndcg_mpd"].tolist() == pytest.approx([1 / (1 + 1 / L3), 1 / L3])
    assert got["ndcg_mpd_rules"].tolist() == pytest.approx([1.0, 1.0])
    assert got["clicks_mpd"].tolist() == [0, 0]
    md = score.to_markdown()
    assert "Readings:" in md and M.METRICS["rprec_mpd"].description in md
    assert "| x | 2 |" in md and "rprec_mpd_vl6" in md
    default = score_rows(rows, truth, artists={"d": "Y"})
    assert default.metrics == ("rprec_mpd", "ndcg_mpd", "clicks_mpd")
    assert "ndcg_mpd_rules" not in default.to_markdown()
