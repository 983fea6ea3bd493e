"""Summary statistics of a benchmark run: per (dataset, model, metric) means, intervals, tests.

:func:`summary_table` gives, for every dataset, model and metric label, the mean over
replicate seeds of the per-query mean, a stratified percentile bootstrap interval, and
paired tests of each model against the best model and against the suite's baseline,
corrected for multiple comparisons within each (dataset, metric) family.
:func:`cost_table` tabulates fit and recommend times and peak memory.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from apc.bench import stats
from apc.bench.suite import Suite, parse_label
from apc.evaluation.metrics import direction as _metric_direction
from apc.evaluation.metrics import is_set_level

#: Significance level of the markers in the tables.
ALPHA = 0.05


# ---------------------------------------------------------------------- statistics
def _direction(metric: str) -> int:
    """+1 higher is better, -1 lower is better, 0 descriptive (asks the metric registry)."""
    return _metric_direction(metric)


def summary_table(
    results: pd.DataFrame, suite: Suite, models: list[str] | None = None
) -> pd.DataFrame:
    """Summarise per-query results: mean, CI and tests against best and baseline.

    Parameters
    ----------
    results : pd.DataFrame
        Long-form per-query results (``dataset, model, label, seed, query, value``).
    suite : Suite
        Gives the statistics settings, the baseline and the model order.
    models : list of str, optional
        Model order (default: the suite's).

    Returns
    -------
    pd.DataFrame
        One row per (dataset, model, label). Columns: ``dataset, model, label,
        metric, k, mean, low, high, n, best, p_best, p_best_adj, p_base,
        p_base_adj``; ``k`` is a nullable integer, missing for metrics without a
        cut-off (as in the per-query rows). p-values are NaN where a test does not
        apply (the best model itself, the baseline itself, descriptive and set-level
        metrics).
    """
    rows = []
    if results is None or results.empty:
        return pd.DataFrame(
            columns=[
                "dataset",
                "model",
                "label",
                "metric",
                "k",
                "mean",
                "low",
                "high",
                "n",
                "best",
                "p_best",
                "p_best_adj",
                "p_base",
                "p_base_adj",
            ]
        )
    from apc.progress import progress

    order = models or [m.name for m in suite.models]
    groups = results.groupby(["dataset", "label"], sort=False)
    jobs: list[tuple[pd.DataFrame, str, dict[str, float], tuple]] = []
    families: list[tuple[dict[str, float], dict[str, float], list[dict[str, Any]]]] = []
    for (dataset, label), group in progress(
        groups, "statistics: means and bootstrap intervals", total=groups.ngroups, unit="metric"
    ):
        metric, k = parse_label(label)
        direction = _direction(metric)
        wide = group.pivot(index=["seed", "query"], columns="model", values="value")
        present = [m for m in order if m in wide.columns]
        wide = wide[present]
        intervals = _intervals(wide, metric, suite, (dataset, label))
        means = {m: intervals[m].mean for m in present}
        best = None
        tied: set[str] = set()
        if direction != 0 and present:
            score = {m: direction * (v if not math.isnan(v) else -np.inf) for m, v in means.items()}
            best = max(present, key=score.get)
            tied = {m for m in present if abs(score[m] - score[best]) <= 1e-12}
        p_best = {m: float("nan") for m in present}
        p_base = {m: float("nan") for m in present}
        if direction != 0 and not is_set_level(metric) and best is not None:
            jobs.append((wide, best, p_best, (dataset, label, "best")))
            if suite.baseline in wide.columns:
                jobs.append((wide, suite.baseline, p_base, (dataset, label, "base")))
        families.append((p_best, p_base, []))
        for m in present:
            iv = intervals[m]
            families[-1][2].append(
                {
                    "dataset": dataset,
                    "model": m,
                    "label": label,
                    "metric": metric,
                    "k": k,
                    "mean": iv.mean,
                    "low": iv.low,
                    "high": iv.high,
                    "n": iv.n,
                    "best": m in tied,
                }
            )
    _run_tests(jobs, suite)  # fills p_best and p_base of every family
    for p_best, p_base, family in families:
        adj_best = _adjust_dict(p_best, suite.correction)
        adj_base = _adjust_dict(p_base, suite.correction)
        for row in family:
            m = row["model"]
            row.update(p_best=p_best[m], p_best_adj=adj_best[m])
            row.update(p_base=p_base[m], p_base_adj=adj_base[m])
            rows.append(row)
    table = pd.DataFrame(rows)
    table["k"] = table["k"].astype("Int64")  # missing for metrics without a cut-off
    return table


def _intervals(wide: pd.DataFrame, metric: str, suite: Suite, key: tuple) -> dict[str, Any]:
    """Mean and bootstrap interval per model column (shared resamples where rows align)."""
    seeds = wide.index.get_level_values("seed").to_numpy()
    out: dict[str, Any] = {}
    complete = [m for m in wide.columns if wide[m].notna().all()]
    if is_set_level(metric):
        for m in wide.columns:
            ok = wide[m].notna().to_numpy()
            mean = stats.group_mean(wide[m].to_numpy()[ok], seeds[ok])
            out[m] = stats.Interval(mean, float("nan"), float("nan"), int(ok.sum()))
        return out
    if complete:
        cis = stats.bootstrap_cis(
            wide[complete].to_numpy(),
            seeds,
            n_boot=suite.n_boot,
            confidence=suite.confidence,
            seed=_stable_seed(*key),
        )
        out.update(zip(complete, cis, strict=True))
    for m in wide.columns:
        if m not in out:  # rows missing for this model: its own resamples
            ok = wide[m].notna().to_numpy()
            out[m] = stats.bootstrap_ci(
                wide[m].to_numpy()[ok],
                seeds[ok],
                n_boot=suite.n_boot,
                confidence=suite.confidence,
                seed=_stable_seed(*key, m),
            )
    return out


def _run_tests(jobs: list[tuple[pd.DataFrame, str, dict[str, float], tuple]], suite: Suite) -> None:
    """Test every other model against each job's reference; write the p-values into its dict.

    Each job is ``(wide, ref, out, key)``: per-query values (one column per model), the
    reference model, the dict to fill and the (dataset, label, role) key. Models that
    answered every (seed, query) row are tested with the randomisation test in one call
    per dataset and row set, all comparisons sharing the sign flips (seeded by the
    dataset), so the run's dozens of comparisons cost about one; the others, and the
    Wilcoxon test, one at a time on the rows both models answered.
    """
    batches: dict[tuple, list[tuple[pd.Series, dict[str, float], str]]] = {}
    index_of: dict[tuple, pd.Index] = {}
    for wide, ref, out, key in jobs:
        diffs = wide[[m for m in wide.columns if m != ref]].sub(wide[ref], axis=0)
        for m in diffs.columns:
            col = diffs[m]
            if suite.test == "randomization" and col.notna().all():
                dataset = key[0]
                bkey = next(
                    (b for b in batches if b[0] == dataset and index_of[b].equals(col.index)),
                    (dataset, len(batches)),
                )
                index_of.setdefault(bkey, col.index)
                batches.setdefault(bkey, []).append((col, out, m))
            else:
                d = col.dropna().to_numpy()
                out[m] = stats.paired_test(
                    d, suite.test, n_perm=suite.n_perm, seed=_stable_seed(*key)
                )
    for (dataset, _), batch in batches.items():
        p = stats.randomization_tests(
            np.column_stack([col.to_numpy() for col, _, _ in batch]),
            n_perm=suite.n_perm,
            seed=_stable_seed(dataset, "randomization"),
            description=f"{dataset}: paired tests ({len(batch)})",
        )
        for (_, out, m), pv in zip(batch, p.tolist(), strict=True):
            out[m] = pv


def _stable_seed(*keys: Any) -> int:
    from apc.random import derive_seed

    return derive_seed(0, *keys)


def _adjust_dict(p: dict[str, float], correction: str) -> dict[str, float]:
    keys = [m for m, v in p.items() if not math.isnan(v)]
    out = {m: float("nan") for m in p}
    if keys:
        adj = stats.adjust(np.array([p[m] for m in keys]), correction)
        out.update(dict(zip(keys, adj.tolist(), strict=True)))
    return out


def cost_table(cells: list[dict[str, Any]]) -> pd.DataFrame:
    """Tabulate the cost of each (dataset, model) over the successful cells.

    Parameters
    ----------
    cells : list of dict
        Cell records of a run (``status``, ``dataset``, ``model``, ``fit_seconds``,
        ``recommend_seconds``, ``fit_peak_bytes``, ``recommend_peak_bytes``).

    Returns
    -------
    pd.DataFrame
        Columns ``dataset, model, fit_s, recommend_s, fit_peak_mb, rec_peak_mb``:
        mean seconds and maximum sampled peak memory (MiB) over seeds.
    """
    ok = [c for c in cells if c.get("status") == "ok"]
    if not ok:
        return pd.DataFrame(
            columns=["dataset", "model", "fit_s", "recommend_s", "fit_peak_mb", "rec_peak_mb"]
        )
    f = pd.DataFrame(ok)
    for col in ("fit_seconds", "recommend_seconds", "fit_peak_bytes", "recommend_peak_bytes"):
        if col not in f:
            f[col] = np.nan
        f[col] = pd.to_numeric(f[col], errors="coerce")
    g = f.groupby(["dataset", "model"], sort=False).agg(
        fit_s=("fit_seconds", "mean"),
        recommend_s=("recommend_seconds", "mean"),
        fit_peak_mb=("fit_peak_bytes", "max"),
        rec_peak_mb=("recommend_peak_bytes", "max"),
    )
    g["fit_peak_mb"] /= 2**20
    g["rec_peak_mb"] /= 2**20
    return g.reset_index()
