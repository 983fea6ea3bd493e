"""Vall et al. 2018 analyses: rank of the next song, order ablation, length/position."""

import numpy as np
import pandas as pd
import pytest

from apc.data import Playlists, Queries
from apc.errors import ApcInputError
from apc.evaluation.breakdown import (
    bucketize,
    length_position_table,
    playlist_lengths,
    rank_by_popularity,
)
from apc.evaluation.metrics import METRICS, compute_metrics, direction
from apc.evaluation.model_metrics import model_metric_rows, model_metric_values, split_labels
from apc.evaluation.protocols import make_protocol
from apc.evaluation.protocols.order import OrderAblation, shuffle_within
from apc.models.knn import PlaylistKNN
from apc.models.markov import MarkovChain
from apc.models.popularity import Popularity
from apc.testing import cycles


# ------------------------------------------------------------------ rank metric
def test_rank_metrics_are_registered_lower_is_better():
    assert direction("rank") == -1 and direction("rank_pct") == -1
    assert not METRICS["rank"].takes_k and direction("loglik") == 1


def test_rank_by_hand_full_and_short_lists():
    q = Queries.from_lists([[0], [0], [0], [1]], [[3], [2, 4], [4], []], n_tracks=5)
    full = np.array([[1, 2, 3, 4], [1, 4, 3, 2], [4, 3, 2, 1], [0, 2, 3, 4]])
    out = compute_metrics(full, q, metrics=["rank", "rank_pct"])
    assert out["rank"][:3].tolist() == [3.0, 2.0, 1.0] and np.isnan(out["rank"][3])
    assert out["rank_pct"][:3].tolist() == [75.0, 50.0, 25.0]  # 4 candidates (seed excluded)
    # a list of 2: the target past the end sits at the mean unlisted position (2+1+4)/2
    short = compute_metrics(full[:1, :2], q.subset(np.array([0])), metrics=["rank"])
    assert short["rank"].tolist() == [3.5]


def test_loglik_from_a_list_is_nan_not_invented():
    q = Queries.from_lists([[0]], [[1]], n_tracks=3)
    assert np.isnan(compute_metrics(np.array([[1, 2]]), q, metrics=["loglik"])["loglik"]).all()


def test_model_metric_rank_is_exact_full_ranking():
    train = cycles()
    m = MarkovChain().fit(train)
    seeds = [[i] for i in range(12)]
    q = Queries.from_lists(seeds, [[(i + 1) % 12] for i in range(12)], n_tracks=12)
    vals, notes = model_metric_values(m, q, train, ["rank", "rank_pct", "loglik"], batch_size=5)
    assert vals["rank"].tolist() == [1.0] * 12 and notes == []
    q2 = Queries.from_lists(seeds, [[(i + 5) % 12] for i in range(12)], n_tracks=12)
    recs = m.recommend(q2, 11).items
    want = [float(np.flatnonzero(recs[i] == (i + 5) % 12)[0] + 1) for i in range(12)]
    assert model_metric_values(m, q2, train, ["rank"])[0]["rank"].tolist() == want
    rows, notes = model_metric_rows(Popularity().fit(train), q, train, ["loglik", "rank"],
                                    model_name="pop", dataset="d", protocol="p", seed=0)
    assert rows["value"][rows.label == "loglik"].isna().all() and "loglik" in notes[0]
    from apc.evaluation.evaluate import RESULT_COLUMNS

    assert list(rows.columns) == RESULT_COLUMNS
    assert split_labels(["hit@1", "rank"]) == (["hit@1"], ["rank"])


# ------------------------------------------------------------------ order ablation
def test_shuffle_within_keeps_each_row_multiset():
    rng = np.random.default_rng(0)
    indptr = np.array([0, 5, 5, 12])
    items = rng.integers(0, 50, 12)
    out = shuffle_within(indptr, items, rng)
    for a, b in zip(indptr[:-1], indptr[1:], strict=True):
        assert sorted(out[a:b]) == sorted(items[a:b])
    assert not np.array_equal(out, items)


def test_ablation_split_keeps_queries_and_track_sets():
    data = cycles(n_playlists=80)
    plain = make_protocol("next-track").split(data, seed=3)
    shuf = make_protocol("next-track", shuffle_order="train").split(data, seed=3)
    assert isinstance(make_protocol("next-track", shuffle_order="train"), OrderAblation)
    assert np.array_equal(plain.queries.seeds, shuf.queries.seeds)
    assert np.array_equal(plain.queries.targets, shuf.queries.targets)
    assert np.array_equal(plain.train.to_csr().toarray(), shuf.train.to_csr().toarray())
    assert not np.array_equal(plain.train.items, shuf.train.items)
    assert shuf.report.options["shuffle_order"] == "train"
    both = make_protocol("next-track", shuffle_order="train+seeds").split(data, seed=3)
    assert np.array_equal(both.queries.targets, plain.queries.targets)
    assert np.array_equal(np.sort(both.queries.seeds_csr().toarray(), axis=None),
                          np.sort(plain.queries.seeds_csr().toarray(), axis=None))
    with pytest.raises(ApcInputError):
        make_protocol("next-track", shuffle_order="sideways")


def _hit1(model, split):
    recs = model.recommend(split.queries, 10)
    return compute_metrics(recs, split.queries, metrics=["hit", "mrr"], ks=[1, 10])


def test_order_ablation_leaves_order_free_models_and_hurts_markov():
    data = cycles(n_playlists=120)
    plain = make_protocol("next-track").split(data, seed=1)
    shuf = make_protocol("next-track", shuffle_order="train").split(data, seed=1)
    for make in (Popularity, PlaylistKNN):
        a, b = _hit1(make().fit(plain.train), plain), _hit1(make().fit(shuf.train), shuf)
        for lab in a:
            assert np.array_equal(a[lab], b[lab]), (make.__name__, lab)
    a = _hit1(MarkovChain().fit(plain.train), plain)
    b = _hit1(MarkovChain().fit(shuf.train), shuf)
    assert a["hit@1"].mean() > 0.95 and b["hit@1"].mean() < a["hit@1"].mean() - 0.3


# ------------------------------------------------------------------ breakdowns
def test_bucketize_and_lengths():
    assert bucketize([0, 1, 4, 5, 9, 10, 25], (1, 2, 3, 4, 5, 10, 20)).tolist() == [
        None, "1", "4", "5-9", "5-9", "10-19", "20+"]
    rows = pd.DataFrame({"model": "m", "dataset": "d", "seed": 0,
                         "playlist_id": ["a", "a", "a", "b"], "seed_length": [1, 2, 3, 1],
                         "n_targets": 1})
    assert playlist_lengths(rows).tolist() == [4, 4, 4, 2]


def test_length_position_table_means():
    rows = pd.DataFrame({"model": "m", "dataset": "d", "seed": 0,
                         "playlist_id": ["a", "a", "a", "b"], "seed_length": [1, 2, 3, 1],
                         "n_targets": 1, "label": "hit@1", "value": [1.0, 0.0, 1.0, 0.0]})
    t = length_position_table(rows).set_index(["by", "bucket"])
    assert t.loc[("position", "1"), "mean"] == 0.5 and t.loc[("position", "1"), "n"] == 2
    assert t.loc[("length", "3-4"), "mean"] == pytest.approx(2 / 3)
    assert t.loc[("length", "2"), "mean"] == 0.0


def test_rank_by_popularity_buckets():
    train = Playlists.from_sequences([["a", "b"], ["a", "c"], ["a"]])  # a 3, b 1, c 1
    q = Queries.from_lists([[1], [0], [0]], [[0], [1], [2]], n_tracks=3)
    t = rank_by_popularity(np.array([1.0, 4.0, 2.0]), q, train).set_index("bucket")
    assert t.loc["3", "mean_rank"] == 1.0 and t.loc["1", "n_queries"] == 2
    assert t.loc["1", "median_rank"] == 3.0 and np.isnan(t.loc["0", "mean_rank"])


@pytest.mark.parametrize("name,params", [
    ("popularity", {}), ("markov", {}), ("markov", {"order": 2, "alpha": 0.5}),
    ("sr", {}), ("knn", {}), ("feature-markov", {}), ("lme", {"n_dims": 4, "epochs": 2}),
])
def test_counted_ranks_equal_full_ranking_ranks(name, params):
    from apc.evaluation import model_metrics as mm
    from apc.models.registry import create_model

    data = cycles(n_tracks=30, n_playlists=80, length=6)
    split = make_protocol("continuation", n_seed=2).split(data, seed=0)
    model = create_model(name, params).fit(split.train)
    q = split.queries
    fast = mm._score_ranks(model, q, 7)
    if fast is None:  # e.g. sparse blocks: only the full-ranking path applies
        pytest.skip(f"{name}: no counted ranks")
    slow = compute_metrics(model.recommend(q, q.n_tracks), q, split.train,
                           metrics=["rank", "rank_pct"])
    assert np.array_equal(fast[0], slow["rank"], equal_nan=True)
    assert np.allclose(100 * fast[0] / fast[1], slow["rank_pct"], equal_nan=True)


def test_ranks_with_empty_seeds_mix_counted_and_listed():
    train = cycles()
    m = MarkovChain().fit(train)
    q = Queries.from_lists([[], [3], [], [5, 6]], [[2], [4], [7], [1]], n_tracks=12)
    vals, _ = model_metric_values(m, q, train, ["rank", "rank_pct"], batch_size=2)
    slow = compute_metrics(m.recommend(q, 12), q, train, metrics=["rank", "rank_pct"])
    assert np.array_equal(vals["rank"], slow["rank"])
    assert np.allclose(vals["rank_pct"], slow["rank_pct"])
