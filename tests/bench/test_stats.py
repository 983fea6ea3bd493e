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
