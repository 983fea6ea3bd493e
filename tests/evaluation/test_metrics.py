"""Metrics against hand-computed golden values and a naive per-query reference."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apc.data import Playlists, Queries
from apc.evaluation import metrics as M
from apc.evaluation.metrics import _core as core
from apc.evaluation.metrics import compute_metrics

# catalogue t0..t5; artists A0 (t0, t1), A1 (t2, t4), A2 (t3), unknown (t5)
TRACKS = pd.DataFrame({"track_id": [f"t{i}" for i in range(6)], "artist": [0, 0, 1, 2, 1, -1]})
ARTISTS = pd.DataFrame({"artist_id": ["A0", "A1", "A2"], "name": ["A0", "A1", "A2"]})
# training playlists [t0 t1] [t0 t2] [t3]: popularity t0 2/3, t1 t2 t3 1/3, t4 t5 0
TRAIN = Playlists(np.array([0, 2, 4, 5]), np.array([0, 1, 0, 2, 3]), TRACKS, ARTISTS)
RECS = np.array([[3, 0, 5, 1, 2], [2, 3, -1, -1, -1], [0, 1, 2, 3, 4]])
QUERIES = Queries.from_lists([[], [], []], [[0, 1, 4], [4, 5], []], n_tracks=6)
ALL = list(M.METRICS)  # every registered metric, the MPD readings included


@pytest.fixture(scope="module")
def values():
    return compute_metrics(RECS, QUERIES, TRAIN, metrics=ALL, ks=[1, 2, 5])


def approx(seq):
    return pytest.approx(seq, nan_ok=True)


def test_accuracy_golden(values):
    nan = float("nan")
    # query 0 hits at ranks 2 and 4 of 5, |G| = 3; query 1 no hit; query 2 has no target
    assert values["hit@1"] == approx([0, 0, nan])
    assert values["hit@2"] == approx([1, 0, nan])
    assert values["recall@5"] == approx([2 / 3, 0, nan])
    assert values["precision@5"] == approx([2 / 5, 0, nan])
    assert values["mrr@5"] == approx([1 / 2, 0, nan])
    assert values["mrr@1"] == approx([0, 0, nan])
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 + 1 / math.log2(3) + 1 / 2
    assert values["ndcg@5"] == approx([dcg / idcg, 0, nan])
    # ndcg@2: one hit at rank 2, ideal = two hits (min(|G|, 2))
    assert values["ndcg@2"] == approx([(1 / math.log2(3)) / (1 + 1 / math.log2(3)), 0, nan])
    assert values["map@5"] == approx([(1 / 2 + 2 / 4) / 3, 0, nan])


def test_mpd_variants_golden(values):
    nan = float("nan")
    assert values["rprec"] == approx([1 / 3, 0, nan])
    # query 1: t2 (artist A1) is not a target but A1 is the artist of target t4 -> 0.25
    assert values["rprec_mpd"] == approx([1 / 3, 0.25 / 2, nan])
    # organisers' NDCG is textbook over the whole list: ranks 2 and 4, ideal of min(3, 5) hits
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    assert values["ndcg_mpd"] == approx([dcg / (1 + 1 / math.log2(3) + 1 / 2), 0, nan])
    assert values["ndcg_mpd"] == approx(values["ndcg@5"])
    # rules-page NDCG: ranks 2 and 4 -> 1/log2(2) + 1/log2(4) = 1.5; ideal 1 + 1/log2(2) = 2
    assert values["ndcg_mpd_rules"] == approx([0.75, 0, nan])
    assert values["clicks_mpd"] == approx([0, 51, nan])


def test_beyond_accuracy_golden(values):
    assert values["coverage@2"] == pytest.approx(4 / 6)  # {t3, t0} {t2, t3} {t0, t1}
    assert values["popularity@2"] == approx([(1 / 3 + 2 / 3) / 2, 1 / 3, (2 / 3 + 1 / 3) / 2])
    assert values["artist_diversity@2"] == approx([1, 1, 1 / 2])
    assert values["artist_diversity@5"][1] == pytest.approx(1.0)  # padding ignored


def test_clicks_counts_pages_of_ten():
    recs = np.arange(30)[None, :]
    q = Queries.from_lists([[]], [[25]], n_tracks=30)
    assert M.clicks_mpd(recs, q)[0] == 2  # rank 26 -> floor(25 / 10)


def test_repeated_recommendation_counts_once():
    q = Queries.from_lists([[]], [[0]], n_tracks=3)
    recs = np.array([[0, 0, 1]])
    assert M.recall_at_k(recs, q, 3)[0] == 1.0
    assert M.precision_at_k(recs, q, 3)[0] == pytest.approx(1 / 3)


def test_rprec_mpd_credits_a_hit_artist_through_another_track_strict_does_not():
    art = TRACKS["artist"].to_numpy()
    # targets t0 (A0), t1 (A0); recs t0 (hit, A0), t2 (A1, not a target artist)
    q = Queries.from_lists([[]], [[0, 1]], n_tracks=6)
    assert M.rprec_mpd(np.array([[0, 2]]), q, art)[0] == 0.5
    assert M.rprec_mpd_strict(np.array([[0, 2]]), q, art)[0] == 0.5
    # targets t0 (A0), t4 (A1); recs t0 (hit, A0), t1 (miss, A0): the organisers credit
    # A0 through t1 (0.25); the strict reading does not credit a hit's artist again
    q2 = Queries.from_lists([[]], [[0, 4]], n_tracks=6)
    assert M.rprec_mpd(np.array([[0, 1]]), q2, art)[0] == 1.25 / 2
    assert M.rprec_mpd_strict(np.array([[0, 1]]), q2, art)[0] == 0.5


def test_unknown_metric_and_missing_k_are_input_errors():
    from apc.errors import ApcInputError

    with pytest.raises(ApcInputError, match="unknown metric"):
        compute_metrics(RECS, QUERIES, TRAIN, metrics=["nope"], ks=[5])
    with pytest.raises(ApcInputError, match="cut-off"):
        compute_metrics(RECS, QUERIES, TRAIN, metrics=["recall"], ks=[])


def test_labels_and_flags():
    assert M.takes_k("recall") and not M.takes_k("rprec_mpd")
    assert not M.higher_is_better("clicks_mpd")
    assert M.label("ndcg", 10) == "ndcg@10" and M.label("rprec", 10) == "rprec"


# ---------------------------------------------------------------- naive reference
def naive(recs_row, targets):
    g = set(targets)
    seen, hits = set(), []
    for r in recs_row:
        hits.append(r >= 0 and r in g and r not in seen)
        seen.add(r)
    return hits, g


@st.composite
def cases(draw):
    n = draw(st.integers(3, 25))
    q = draw(st.integers(1, 6))
    k = draw(st.integers(1, 12))
    recs, targets = [], []
    for _ in range(q):
        row = draw(st.lists(st.integers(-1, n - 1), min_size=k, max_size=k))
        recs.append(row)
        targets.append(draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True)))
    return n, np.array(recs), targets


@settings(max_examples=60, deadline=None)
@given(cases())
def test_vectorised_equals_naive(case):
    n, recs, targets = case
    queries = Queries.from_lists([[] for _ in targets], targets, n_tracks=n)
    k = recs.shape[1]
    out = compute_metrics(recs, queries, metrics=["recall", "mrr", "ndcg", "hit", "rprec"], ks=[k])
    for i, t in enumerate(targets):
        hits, g = naive(recs[i].tolist(), t)
        assert out[f"recall@{k}"][i] == pytest.approx(sum(hits) / len(g))
        assert out[f"hit@{k}"][i] == float(any(hits))
        first = next((j for j, h in enumerate(hits) if h), None)
        assert out[f"mrr@{k}"][i] == pytest.approx(0 if first is None else 1 / (first + 1))
        dcg = sum(1 / math.log2(j + 2) for j, h in enumerate(hits) if h)
        idcg = sum(1 / math.log2(j + 2) for j in range(min(len(g), k)))
        assert out[f"ndcg@{k}"][i] == pytest.approx(dcg / idcg)
        assert out["rprec"][i] == pytest.approx(sum(hits[: len(g)]) / len(g))
    for key, v in out.items():
        assert np.all((v >= 0) & (v <= 1)), key


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 40), st.integers(0, 10_000))
def test_perfect_list_scores_one(n, seed):
    rng = np.random.default_rng(seed)
    g = rng.choice(n, size=rng.integers(1, n + 1), replace=False)
    rest = np.setdiff1d(np.arange(n), g)
    recs = np.concatenate([g, rest])[None, :]
    q = Queries.from_lists([[]], [g], n_tracks=n)
    art = np.arange(n)  # every track its own artist
    out = compute_metrics(recs, q, metrics=["rprec", "ndcg_mpd", "clicks_mpd"], ks=[len(g)])
    assert out["rprec"][0] == 1 and out["ndcg_mpd"][0] == pytest.approx(1) and out["clicks_mpd"][0] == 0
    assert M.ndcg_at_k(recs, q, len(g))[0] == pytest.approx(1)
    assert M.rprec_mpd(recs, q, art)[0] == pytest.approx(1)


def test_blocked_bitmap_equals_single_block(monkeypatch):
    rng = np.random.default_rng(0)
    n, q = 500, 300
    recs = rng.integers(-1, n, size=(q, 50))
    targets = [rng.choice(n, size=rng.integers(1, 30), replace=False) for _ in range(q)]
    queries = Queries.from_lists([[] for _ in range(q)], targets, n_tracks=n)
    full, _ = M.hit_matrix(recs, queries)
    monkeypatch.setattr(core, "BITMAP_CELLS", n * 7)  # blocks of about 7 queries
    blocked, _ = M.hit_matrix(recs, queries)
    np.testing.assert_array_equal(full, blocked)


def test_explicit_zeros_in_a_targets_matrix_are_not_targets():
    import scipy.sparse as sp

    recs = np.array([[0, 1, 2]])
    # row 0 targets {0, 3}; track 0 masked out by a product that keeps an explicit zero
    targets = sp.csr_array((np.array([0.0, 1.0]), np.array([0, 3]), np.array([0, 2])), shape=(1, 4))
    assert targets.nnz == 2
    assert M.recall_at_k(recs, targets, 3)[0] == 0.0
    assert M.hit_at_k(recs, targets, 3)[0] == 0.0
