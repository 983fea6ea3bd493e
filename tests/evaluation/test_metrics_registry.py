"""The metric registry: every reader (report, suite checks, driver) asks the Metric object."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apc.data import Queries
from apc.errors import ApcInputError
from apc.evaluation import metrics as M
from apc.evaluation.metrics import METRICS, Metric, compute_metrics, register
from apc.evaluation.metrics._core import first_occurrence


@pytest.fixture
def first_miss():
    """A lower-is-better metric registered for one test: 0-based rank of the first miss."""

    def fn(recs, targets, k, *, hits=None):
        h = M.Hits(recs, targets) if hits is None else hits
        miss = ~h.dense()[:, :k]
        return np.where(miss.any(axis=1), miss.argmax(axis=1), k).astype(np.float64)

    m = register(Metric("first_miss", fn, "0-based rank of the first non-target",
                        higher_is_better=False))
    yield m
    del METRICS["first_miss"]


def test_every_metric_states_its_meaning():
    for name, m in METRICS.items():
        assert m.name == name and len(m.description) > 20, name
        assert set(m.needs) <= set(M.NEEDS)
        assert M.describe(name).startswith(m.label(10 if m.takes_k else None).replace("10", "k"))
    assert METRICS["clicks_mpd"].direction == -1 and not METRICS["clicks_mpd"].takes_k
    assert METRICS["coverage"].set_level and METRICS["coverage"].direction == 0
    assert METRICS["popularity"].descriptive and METRICS["popularity"].needs_train
    assert METRICS["rprec_mpd"].needs == ("targets", "track_artists")
    assert METRICS["recall"].label(10) == "recall@10" and METRICS["rprec"].label(10) == "rprec"
    # the description says which reading a column is, with its source
    assert "irhete/recsys-challenge-2018" in METRICS["rprec_mpd"].description
    assert "layer6ai-labs/RecSys2018" in METRICS["rprec_mpd_vl6"].description
    assert "rules page" in METRICS["ndcg_mpd_rules"].description


def test_module_helpers_read_the_registry():
    assert M.takes_k("recall") and not M.takes_k("rprec_mpd")
    assert not M.higher_is_better("clicks_mpd") and M.direction("artist_diversity") == 0
    assert M.is_set_level("coverage") and not M.is_set_level("recall")
    assert M.label("ndcg", 10) == "ndcg@10" and M.label("rprec", 10) == "rprec"
    with pytest.raises(ApcInputError, match="unknown metric 'nope'"):
        M.get_metric("nope")
    with pytest.raises(ValueError, match="already registered"):
        register(Metric("recall", M.recall_at_k, "again"))


def test_a_new_lower_is_better_metric_gets_the_best_marker_without_touching_report(first_miss):
    from apc.bench.suite import DatasetSpec, ModelEntry, Suite
    from apc.bench.tables import summary_table

    suite = Suite(name="t", datasets=[DatasetSpec("d", "synth:tiny")], protocol="next-track",
                  protocol_options={}, models=[ModelEntry(m, m) for m in "abc"],
                  metrics=["first_miss@10"], seeds=[0], cutoff=10, baseline="a",
                  n_boot=50, n_perm=99)
    rows = [pd.DataFrame({"model": m, "dataset": "d", "seed": 0, "query": np.arange(8),
                          "label": "first_miss@10", "value": v})
            for m, v in {"a": 3.0, "b": 1.0, "c": 2.0}.items()]
    table = summary_table(pd.concat(rows, ignore_index=True), suite).set_index("model")
    assert table["best"].to_dict() == {"a": False, "b": True, "c": False}


def test_a_new_metric_runs_through_compute_metrics_and_suite_checks(first_miss):
    from apc.bench.suite import _check_metrics

    q = Queries.from_lists([[], []], [[0], [2]], n_tracks=4)
    out = compute_metrics(np.array([[0, 1, 2], [2, 3, 0]]), q, metrics=["first_miss"], ks=[3])
    assert out["first_miss@3"].tolist() == [1.0, 1.0]
    _check_metrics(["first_miss@3"], 10, "<suite>")
    with pytest.raises(ApcInputError, match="needs a cut-off"):
        _check_metrics(["first_miss"], 10, "<suite>")
    with pytest.raises(ApcInputError, match="takes no cut-off"):
        _check_metrics(["rprec_mpd@10"], 10, "<suite>")


def test_report_states_each_column_reading():
    from apc.evaluation.evaluate import METRIC_VARIANTS, metric_variants

    builtin = {"recall", "ndcg", "rprec", "rprec_mpd", "rprec_mpd_paper", "ndcg_mpd_rules"}
    assert builtin <= set(METRIC_VARIANTS)
    assert all(METRIC_VARIANTS[n] == METRICS[n].description for n in builtin)
    got = metric_variants(["rprec_mpd", "ndcg_mpd_rules", "nope"])
    assert list(got) == ["rprec_mpd", "ndcg_mpd_rules"]
    assert got["rprec_mpd"] == METRICS["rprec_mpd"].description


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 20), st.integers(1, 60), st.integers(1, 9), st.integers(0, 10_000))
def test_first_occurrence_equals_a_per_row_scan(q, w, n, seed):
    rng = np.random.default_rng(seed)
    v = rng.integers(0, n + 1, size=(q, w))  # n is the sentinel
    expected = np.zeros((q, w), dtype=bool)
    for i in range(q):
        seen = set()
        for j in range(w):
            if v[i, j] != n and v[i, j] not in seen:
                expected[i, j] = True
                seen.add(v[i, j])
    np.testing.assert_array_equal(first_occurrence(v, n), expected)
