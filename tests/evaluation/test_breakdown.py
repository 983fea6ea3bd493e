import numpy as np
import pytest

from apc.data.playlists import Playlists
from apc.data.queries import Queries, Recommendations
from apc.evaluation.breakdown import LONGTAIL_BUCKETS, longtail_table, recall_curve


def _toy():
    pl = Playlists.from_sequences(
        [["a", "b"], ["a", "c"], ["a", "b", "d"], ["e"]]
    )  # a:3 b:2 c:1 d:1 e:1
    q = Queries.from_lists([[0], [1]], [[1, 2], [3]], n_tracks=pl.n_tracks)  # targets b,c | d
    items = np.array([[2, 1, 4], [3, -1, -1]], dtype=np.int32)  # c, b, e | d
    return pl, q, items


def test_recall_curve_by_hand():
    pl, q, items = _toy()
    curve = recall_curve(items, q, 5)
    # query 0: recall 1/2, 2/2, 2/2 ...; query 1: 1, 1, ...
    np.testing.assert_allclose(curve, [(0.5 + 1) / 2, 1, 1, 1, 1])


def test_recall_curve_counts_a_repeated_track_once():
    pl, q, _ = _toy()
    items = np.array([[1, 1, 2], [3, 3, -1]], dtype=np.int32)  # b twice, then c | d twice
    np.testing.assert_allclose(recall_curve(items, q, 3), [(0.5 + 1) / 2, (0.5 + 1) / 2, 1])


def test_recall_curve_matches_metric_recall():
    from apc.evaluation.metrics import compute_metrics

    pl, q, items = _toy()
    recs = Recommendations(items, np.where(items >= 0, -np.arange(3, dtype=np.float32), -np.inf))
    curve = recall_curve(items, q, 3)
    for k in (1, 2, 3):
        m = compute_metrics(recs, q, pl, metrics=["recall"], ks=[k])
        assert curve[k - 1] == pytest.approx(float(np.mean(m[f"recall@{k}"])))


def test_longtail_table_by_hand():
    pl, q, items = _toy()
    train = pl.subset([0, 1, 2])  # popularity: a 3, b 2, c 1, d 1, e 0
    t = longtail_table(items, q, train, k=1).set_index("bucket")
    assert list(t.index) == list(LONGTAIL_BUCKETS)
    # targets: b (2 playlists) missed at k=1; c (1) hit; d (1) hit
    assert t.loc["1", "n_targets"] == 2 and t.loc["1", "hits"] == 2
    assert t.loc["2", "n_targets"] == 1 and t.loc["2", "hits"] == 0
    assert t.loc["0", "n_targets"] == 0 and np.isnan(t.loc["0", "recall"])
