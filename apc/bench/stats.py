"""Statistics over per-query metric values: bootstrap CIs, paired tests, Holm correction.

Every function takes the per-query arrays written by the runner (one value per query
and replicate seed), so means, intervals and tests all come from the same numbers.

References
----------
.. [1] B. Efron and R. J. Tibshirani, *An Introduction to the Bootstrap*, Chapman &
   Hall, 1993 (percentile interval, ch. 13).
.. [2] M. D. Smucker, J. Allan and B. Carterette, "A comparison of statistical
   significance tests for information retrieval evaluation", CIKM 2007 (paired
   randomisation test).
.. [3] F. Wilcoxon, "Individual comparisons by ranking methods", *Biometrics Bulletin*
   1(6), 1945.
.. [4] S. Holm, "A simple sequentially rejective multiple test procedure",
   *Scandinavian Journal of Statistics* 6(2), 65-70, 1979.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Paired tests the runner knows; the name is printed in every report.
TESTS = {
    "randomization": "paired randomisation (sign-flip) test, two-sided (Smucker et al. 2007)",
    "wilcoxon": "Wilcoxon signed-rank test, two-sided, zero differences dropped (Wilcoxon 1945)",
}
#: Multiple-comparison corrections the runner knows.
CORRECTIONS = {
    "holm": "Holm-Bonferroni step-down (Holm 1979)",
    "bonferroni": "Bonferroni",
    "none": "no correction",
}

_CHUNK_CELLS = 1 << 24  # resample in blocks of ~16M cells to bound memory
_SIGN_BLOCK_CELLS = 1 << 22  # sign vectors per block: ~4M cells (32 MB) bound memory


@dataclass(frozen=True)
class Interval:
    """A mean and its bootstrap confidence interval.

    Parameters
    ----------
    mean : float
        The statistic (mean of the per-group means).
    low, high : float
        Interval bounds (NaN where no interval is computed).
    n : int
        Number of values.
    """

    mean: float
    low: float
    high: float
    n: int


def _group_index(groups: np.ndarray | None, n: int) -> tuple[np.ndarray, np.ndarray]:
    if groups is None:
        return np.zeros(n, dtype=np.int64), np.array([n])
    _, inverse, counts = np.unique(np.asarray(groups), return_inverse=True, return_counts=True)
    return inverse.astype(np.int64), counts


def group_mean(values: np.ndarray, groups: np.ndarray | None = None) -> float:
    """Average the per-group means (each replicate seed weighs the same).

    Parameters
    ----------
    values : np.ndarray
        float (n,), one value per query.
    groups : np.ndarray, optional
        (n,) group of each value (the replicate seed); one group when None.

    Returns
    -------
    float
        NaN when ``values`` is empty.
    """
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0:
        return float("nan")
    inv, counts = _group_index(groups, len(values))
    return float((np.bincount(inv, weights=values) / counts).mean())


def bootstrap_ci(
    values: np.ndarray,
    groups: np.ndarray | None = None,
    *,
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Compute the percentile bootstrap interval of the mean of per-query values [1]_.

    With ``groups`` (the replicate seed of each value) queries are resampled within
    each group (a stratified bootstrap) and the statistic is the mean of the group
    means, the same statistic as :func:`group_mean`.

    Parameters
    ----------
    values : np.ndarray
        float (n,), one metric value per query.
    groups : np.ndarray, optional
        (n,) stratum of each value (the replicate seed).
    n_boot : int
        Number of bootstrap resamples.
    confidence : float
        Coverage of the interval, e.g. 0.95.
    seed : int
        Seed of the resampling generator.

    Returns
    -------
    Interval
        The mean (as :func:`group_mean`), the interval bounds and the number of values.

    Examples
    --------
    >>> ci = bootstrap_ci(np.array([0.0, 1.0] * 50), seed=0)
    >>> ci.mean, ci.low < 0.5 < ci.high
    (0.5, True)
    """
    values = np.asarray(values, dtype=np.float64)
    return bootstrap_cis(values[:, None], groups, n_boot=n_boot, confidence=confidence, seed=seed)[
        0
    ]


def randomization_test(diff: np.ndarray, *, n_perm: int = 10000, seed: int = 0) -> float:
    """Run a two-sided paired randomisation test on per-query differences [2]_.

    Under the null hypothesis the two systems are exchangeable on every query, so
    each difference's sign is flipped at random; the p-value is the share of flips
    whose mean difference is at least as extreme as the observed one, counting the
    observed assignment: ``p = (1 + #{|mean(s * d)| >= |mean(d)|}) / (1 + n_perm)``.

    Parameters
    ----------
    diff : np.ndarray
        float (n,), paired differences ``a - b`` per query.
    n_perm : int
        Number of random sign assignments.
    seed : int
        Seed of the sign generator.

    Returns
    -------
    float
        The p-value; 1.0 when every difference is zero.

    Examples
    --------
    >>> randomization_test(np.zeros(10))
    1.0
    >>> randomization_test(np.ones(30), n_perm=999) <= 0.002
    True
    """
    diff = np.asarray(diff, dtype=np.float64)
    return float(randomization_tests(diff[:, None], n_perm=n_perm, seed=seed)[0])


def wilcoxon_test(diff: np.ndarray) -> float:
    """Compute the two-sided Wilcoxon signed-rank p-value [3]_ (zero differences dropped).

    Parameters
    ----------
    diff : np.ndarray
        float (n,), paired differences per query.

    Returns
    -------
    float
        The p-value; 1.0 when ``diff`` is empty or all zero.
    """
    from scipy.stats import wilcoxon

    diff = np.asarray(diff, dtype=np.float64)
    if len(diff) == 0 or not np.any(diff):
        return 1.0
    return float(wilcoxon(diff, zero_method="wilcox", alternative="two-sided").pvalue)


def paired_test(
    diff: np.ndarray, test: str = "randomization", *, n_perm: int = 10000, seed: int = 0
) -> float:
    """Run the named paired test (see :data:`TESTS`) on per-query differences.

    Parameters
    ----------
    diff : np.ndarray
        float (n,), paired differences per query.
    test : {"randomization", "wilcoxon"}
        The test.
    n_perm : int
        Sign flips of the randomisation test.
    seed : int
        Seed of the randomisation test.

    Returns
    -------
    float
        The two-sided p-value.

    Raises
    ------
    ValueError
        If the test is unknown.
    """
    if test == "randomization":
        return randomization_test(diff, n_perm=n_perm, seed=seed)
    if test == "wilcoxon":
        return wilcoxon_test(diff)
    raise ValueError(f"unknown test {test!r}; known: {', '.join(TESTS)}")


def bootstrap_cis(
    values: np.ndarray,
    groups: np.ndarray | None = None,
    *,
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> list[Interval]:
    """Run :func:`bootstrap_ci` for several columns at once, with shared resamples.

    Every column (a model) is resampled with the same query draws — a paired bootstrap
    — by turning each draw into a weight vector and taking one matrix product, so the
    cost barely grows with the number of models.

    Parameters
    ----------
    values : np.ndarray
        float (n, m): one row per query, one column per model; no NaN.
    groups : np.ndarray, optional
        (n,) stratum (replicate seed) of each row.
    n_boot, confidence, seed
        As for :func:`bootstrap_ci`.

    Returns
    -------
    list of Interval
        One per column.
    """
    values = np.asarray(values, dtype=np.float64)
    n, m = values.shape
    if n == 0:
        return [Interval(float("nan"), float("nan"), float("nan"), 0) for _ in range(m)]
    inv, counts = _group_index(groups, n)
    means = (
        np.stack([np.bincount(inv, weights=values[:, j]) for j in range(m)], 1) / counts[:, None]
    ).mean(0)
    if n == 1 or n_boot < 1:
        return [Interval(float(means[j]), float(means[j]), float(means[j]), n) for j in range(m)]
    rng = np.random.default_rng(seed)
    order = np.argsort(inv, kind="stable")
    sorted_values = values[order]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    boot = np.zeros((n_boot, m))
    for start, count in zip(starts, counts, strict=True):
        block = sorted_values[start : start + count]
        per = max(1, _CHUNK_CELLS // max(1, count))
        for b0 in range(0, n_boot, per):
            b1 = min(n_boot, b0 + per)
            idx = rng.integers(0, count, size=(b1 - b0, count))
            flat = (np.arange(b1 - b0)[:, None] * count + idx).ravel()
            weights = np.bincount(flat, minlength=(b1 - b0) * count).reshape(b1 - b0, count)
            boot[b0:b1] += (weights @ block) / count
    boot /= len(counts)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(boot, [alpha, 1.0 - alpha], axis=0)
    return [Interval(float(means[j]), float(low[j]), float(high[j]), n) for j in range(m)]


def randomization_tests(
    diffs: np.ndarray, *, n_perm: int = 10000, seed: int = 0, description: str | None = None
) -> np.ndarray:
    """Run :func:`randomization_test` for several columns of paired differences at once.

    The same random sign vectors serve every column (each test on its own remains an
    exact Monte-Carlo randomisation test), so one call for all the comparisons of a run
    costs little more than one for a single comparison. A sign vector ``s = 2b - 1``
    (``b`` a random 0/1 vector) gives ``|sum(s * d)| = |2 b.d - sum(d)|``: one matrix
    product of the 0/1 matrix with the differences per block of a few hundred sign
    vectors, nothing of size ``n_perm x n`` ever held at once.

    Parameters
    ----------
    diffs : np.ndarray
        float (n, m): per-query differences, one column per comparison; no NaN.
    n_perm : int
        Number of random sign assignments.
    seed : int
        Seed of the sign generator.
    description : str, optional
        Text of the progress bar (default: what is being computed).

    Returns
    -------
    np.ndarray
        float (m,) two-sided p-values.
    """
    from apc.progress import task

    diffs = np.asarray(diffs, dtype=np.float64)
    n, m = diffs.shape
    out = np.ones(m)
    active = np.flatnonzero(np.any(diffs != 0, axis=0)) if n else np.array([], dtype=np.int64)
    if len(active) == 0 or n_perm < 1:
        return out
    d = diffs[:, active]
    total = d.sum(axis=0)
    observed = np.abs(total)
    tol = 1e-12 * np.maximum(1.0, observed)
    rng = np.random.default_rng(seed)
    per = max(1, _SIGN_BLOCK_CELLS // n)
    extreme = np.zeros(len(active), dtype=np.int64)
    n_bytes = (n + 7) // 8
    text = description or (
        f"paired randomisation test: {len(active)} comparison(s) x {n_perm:,} sign flips"
    )
    with task(text, total=n_perm) as bar:
        for b0 in range(0, n_perm, per):
            b1 = min(n_perm, b0 + per)
            raw = rng.integers(0, 256, size=(b1 - b0, n_bytes), dtype=np.uint8)
            bits = np.unpackbits(raw, axis=1, count=n).astype(np.float64)
            stat = np.abs(2.0 * (bits @ d) - total)
            extreme += (stat >= observed - tol).sum(axis=0)
            bar.advance(b1 - b0)
    out[active] = (1 + extreme) / (1 + n_perm)
    return out


def holm(pvalues: np.ndarray) -> np.ndarray:
    """Adjust p-values with the Holm-Bonferroni method [4]_ (step-down, monotone, capped at 1).

    Reject hypothesis ``i`` at level alpha when its adjusted p-value is <= alpha.

    Parameters
    ----------
    pvalues : np.ndarray
        float (m,), one family of p-values.

    Returns
    -------
    np.ndarray
        float (m,) adjusted p-values, in the input order.

    Examples
    --------
    >>> holm(np.array([0.01, 0.04, 0.03])).round(3).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(pvalues, dtype=np.float64)
    m = len(p)
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    scaled = p[order] * (m - np.arange(m))
    adjusted = np.minimum(1.0, np.maximum.accumulate(scaled))
    out = np.empty(m)
    out[order] = adjusted
    return out


def adjust(pvalues: np.ndarray, correction: str = "holm") -> np.ndarray:
    """Adjust a family of p-values with the named correction (see :data:`CORRECTIONS`).

    Parameters
    ----------
    pvalues : np.ndarray
        float (m,), one family of p-values.
    correction : {"holm", "bonferroni", "none"}
        The correction.

    Returns
    -------
    np.ndarray
        float (m,) adjusted p-values (a copy for ``"none"``).

    Raises
    ------
    ValueError
        If the correction is unknown.
    """
    p = np.asarray(pvalues, dtype=np.float64)
    if correction == "holm":
        return holm(p)
    if correction == "bonferroni":
        return np.minimum(1.0, p * len(p))
    if correction == "none":
        return p.copy()
    raise ValueError(f"unknown correction {correction!r}; known: {', '.join(CORRECTIONS)}")
