from fractions import Fraction

import numpy as np
import pytest

from apc.bench import stats


def test_group_mean_weighs_each_seed_equally():
    values = np.array([1.0, 1.0, 1.0, 0.0])  # seed 0: mean 1; seed 1: mean 0
    groups = np.array([0, 0, 0, 1])
    assert stats.group_mean(values, groups) == pytest.approx(0.5)
    assert stats.group_mean(values) == pytest.approx(0.75)


def test_bootstrap_ci_brackets_mean_and_is_deterministic():
    rng = np.random.default_rng(0)
    x = rng.random(400)
    a = stats.bootstrap_ci(x, n_boot=500, seed=3)
    b = stats.bootstrap_ci(x, n_boot=500, seed=3)
    assert a == b
    assert a.low < a.mean < a.high
    # width close to the normal approximation 2 * 1.96 * sd / sqrt(n)
    expected = 2 * 1.96 * x.std(ddof=1) / np.sqrt(len(x))
    assert (a.high - a.low) == pytest.approx(expected, rel=0.2)


def test_bootstrap_ci_constant_values_has_zero_width():
    ci = stats.bootstrap_ci(np.full(50, 0.25), n_boot=100)
    assert (ci.mean, ci.low, ci.high) == (0.25, 0.25, 0.25)


def test_bootstrap_ci_stratified_keeps_group_sizes():
    # group 0 all ones, group 1 all zeros: every stratified resample has mean exactly 1/2
    values = np.array([1.0] * 10 + [0.0] * 30)
    groups = np.array([0] * 10 + [1] * 30)
    ci = stats.bootstrap_ci(values, groups, n_boot=200)
    assert ci.low == pytest.approx(0.5) and ci.high == pytest.approx(0.5)


def test_randomization_test_exact_small_case():
    # differences (1, 1, 1): of the 8 sign patterns only (+++) and (---) reach |mean| = 1,
    # so the exact two-sided p-value is 2/8; the Monte-Carlo estimate converges to it.
    p = stats.randomization_test(np.ones(3), n_perm=20000, seed=1)
    assert p == pytest.approx(float(Fraction(2, 8)), abs=0.01)


def test_randomization_test_detects_a_clear_difference():
    rng = np.random.default_rng(2)
    diff = rng.normal(0.3, 1.0, 500)
    assert stats.randomization_test(diff, n_perm=2000, seed=0) < 0.01
    assert stats.randomization_test(np.zeros(20)) == 1.0


def test_wilcoxon_agrees_with_scipy():
    from scipy.stats import wilcoxon

    rng = np.random.default_rng(3)
    d = rng.normal(0.1, 1, 60)
    assert stats.paired_test(d, "wilcoxon") == pytest.approx(wilcoxon(d).pvalue)


def test_holm_by_hand():
    # sorted p: 0.01 (x3 = 0.03), 0.03 (x2 = 0.06), 0.04 (x1 = 0.04 -> monotone 0.06)
    adj = stats.holm(np.array([0.04, 0.01, 0.03]))
    np.testing.assert_allclose(adj, [0.06, 0.03, 0.06])
    assert stats.adjust(np.array([0.2, 0.6]), "bonferroni").tolist() == [0.4, 1.0]
    assert stats.adjust(np.array([0.2]), "none").tolist() == [0.2]
    with pytest.raises(ValueError):
        stats.adjust(np.array([0.1]), "bh")


# ---------------------------------------------------------------- agreement with scipy
def _mc_close(p: float, q: float, n: int, *, doubled: bool = False) -> bool:
    """Two Monte-Carlo p-values from ``n`` resamples each agree within 5 standard errors.

    ``doubled``: ``q`` is scipy's two-sided ``2 min(P(T <= t), P(T >= t))``, whose
    Monte-Carlo variance is ``p (2 - p) / n`` rather than ``p (1 - p) / n``.
    """
    pbar = min(max((p + q) / 2, 1.0 / n), 1 - 1.0 / n)
    var_q = pbar * (2 - pbar) if doubled else pbar * (1 - pbar)
    return abs(p - q) <= 5 * np.sqrt((pbar * (1 - pbar) + var_q) / n) + 2.0 / n


@pytest.mark.parametrize(
    ("n", "shift", "kind"),
    [(12, 0.3, "real"), (400, 0.05, "real"), (1500, 0.02, "hits"), (1500, 0.0, "hits")],
)
def test_randomization_test_agrees_with_scipy_permutation_test(n, shift, kind):
    from scipy.stats import permutation_test

    rng = np.random.default_rng(n)
    if kind == "real":
        diff = rng.normal(shift, 1.0, n)
    else:  # differences of two hit indicators: -1, 0, +1, many zeros and ties
        diff = (rng.random(n) < 0.2 + shift).astype(float) - (rng.random(n) < 0.2).astype(float)
    n_perm = 10000
    ours = stats.randomization_test(diff, n_perm=n_perm, seed=1)
    ref = permutation_test(
        (diff,),
        np.mean,
        permutation_type="samples",
        alternative="two-sided",
        n_resamples=n_perm,
        random_state=2,
    ).pvalue
    assert _mc_close(ours, ref, n_perm, doubled=True), (ours, ref)


def test_randomization_tests_columns_match_single_calls_within_mc_error():
    rng = np.random.default_rng(5)
    diffs = rng.normal(0.0, 1.0, (500, 4)) + np.array([0.0, 0.05, 0.1, 0.2])
    diffs[:, 0] = 0.0  # all-zero column: p = 1 exactly
    batched = stats.randomization_tests(diffs, n_perm=20000, seed=3)
    assert batched[0] == 1.0
    for j in range(1, 4):
        single = stats.randomization_test(diffs[:, j], n_perm=20000, seed=11 + j)
        assert _mc_close(batched[j], single, 20000), (j, batched[j], single)


def test_randomization_test_is_exact_against_full_enumeration():
    # n = 10: all 1024 sign vectors enumerated give the exact p-value
    diff = np.array([0.9, -0.2, 0.4, 0.7, 0.1, 0.3, -0.5, 0.8, 0.6, 0.2])
    signs = ((np.arange(1024)[:, None] >> np.arange(10)) & 1) * 2.0 - 1.0
    exact = np.mean(np.abs(signs @ diff) >= abs(diff.sum()) - 1e-12)
    assert _mc_close(stats.randomization_test(diff, n_perm=40000, seed=0), exact, 40000)


@pytest.mark.parametrize("n", [30, 2000])
def test_bootstrap_ci_agrees_with_scipy_percentile_bootstrap(n):
    from scipy.stats import bootstrap

    rng = np.random.default_rng(n)
    values = (rng.random(n) < 0.3).astype(float) * rng.random(n)
    ours = stats.bootstrap_ci(values, n_boot=4000, seed=0)
    ref = bootstrap(
        (values,), np.mean, n_resamples=4000, method="percentile", random_state=1
    ).confidence_interval
    se = values.std() / np.sqrt(n)
    assert ours.low < ours.mean < ours.high
    # bounds of two 4000-resample percentile intervals agree to a small share of a s.e.
    assert abs(ours.low - ref.low) < 0.15 * se
    assert abs(ours.high - ref.high) < 0.15 * se


def test_randomization_tests_report_progress(monkeypatch):
    from contextlib import contextmanager

    import apc.progress

    seen = []

    class Bar:
        def advance(self, n=1):
            seen[-1][2] += n

    @contextmanager
    def fake_task(description, total=None, *, transient=False):
        seen.append([description, total, 0])
        yield Bar()

    monkeypatch.setattr(apc.progress, "task", fake_task)
    stats.randomization_tests(np.random.default_rng(0).normal(size=(50, 3)), n_perm=999)
    assert seen == [["paired randomisation test: 3 comparison(s) x 999 sign flips", 999, 999]]


def test_summary_table_runs_one_randomisation_call_per_dataset(monkeypatch):
    import pandas as pd

    from apc.bench.suite import ModelEntry, Suite
    from apc.bench.tables import summary_table

    rng = np.random.default_rng(0)
    rows = []
    for model, p in (("a", 0.2), ("b", 0.3), ("c", 0.25)):
        for label in ("hit@1", "hit@5", "mrr@5"):
            for q in range(40):
                rows.append(("d", model, label, 0, q, float(rng.random() < p)))
    results = pd.DataFrame(rows, columns=["dataset", "model", "label", "seed", "query", "value"])
    suite = Suite(
        name="s", datasets=[], protocol="next-track", protocol_options={},
        models=[ModelEntry(name=m, model="popularity") for m in "abc"],
        metrics=["hit@1", "hit@5", "mrr@5"], seeds=[0], cutoff=5, baseline="a", n_perm=999,
    )
    calls = []
    real = stats.randomization_tests
    monkeypatch.setattr(
        stats, "randomization_tests", lambda d, **kw: calls.append(d.shape) or real(d, **kw)
    )
    table = summary_table(results, suite)
    assert calls == [(40, 12)]  # 3 labels x (2 vs best + 2 vs baseline), one call
    assert table["p_base"].notna().sum() == 6 and table["p_best"].notna().sum() == 6


def test_compare_batches_randomisation_tests_per_dataset(monkeypatch):
    import pandas as pd

    from apc.bench import compare
    from apc.bench.suite import ModelEntry, Suite

    suite = Suite(
        name="s", datasets=[], protocol="next-track", protocol_options={},
        models=[ModelEntry(name="a", model="popularity")], metrics=["hit@1"], seeds=[0],
        cutoff=5, n_perm=999,
    )
    rng = np.random.default_rng(1)
    index = pd.MultiIndex.from_product([[0], range(30)], names=["seed", "query"])
    other = pd.MultiIndex.from_product([[0], range(20)], names=["seed", "query"])
    pending = [
        (0, "d1", index, rng.normal(0.5, 1, 30)),
        (1, "d1", index, np.zeros(30)),
        (2, "d2", other, rng.normal(0, 1, 20)),
        (3, "d1", index, rng.normal(0, 1, 30)),
    ]
    rows = [{"p": float("nan")} for _ in range(4)]
    calls = []
    real = stats.randomization_tests
    monkeypatch.setattr(
        stats, "randomization_tests", lambda d, **kw: calls.append(d.shape) or real(d, **kw)
    )
    compare._batched_randomization(rows, pending, suite)
    assert calls == [(30, 3), (20, 1)]
    assert rows[1]["p"] == 1.0 and all(0 < r["p"] <= 1 for r in rows)
    assert rows[0]["p"] < 0.05  # mean 0.5, sd 1, n = 30
