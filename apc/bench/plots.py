"""Plots of a benchmark run (matplotlib, Agg backend), each as PNG, SVG and PDF.

* ``recall_curve_<dataset>`` — recall@k for k = 1..cutoff (Bonnin & Jannach 2014,
  Fig. 4 style), computed exactly per cell from the top-``cutoff`` lists at run time
  and stored in ``curves.parquet`` (so the lists themselves need not be stored); the
  shaded band and bars are the summary's bootstrap intervals of recall at the cut-offs
  the suite measures per query (``recall@K`` labels), joined by straight lines;
* ``by_group_<dataset>`` — accuracy by query group: MPD challenge category, target
  position (next-track) or number of seed tracks, in numeric order, with stratified
  bootstrap intervals of each bar (:func:`apc.bench.stats.bootstrap_cis`);
* ``longtail_<dataset>`` — recall@``longtail_k`` by how often the target track
  occurs in the training playlists: 0, 1, 2, 3, 4, 5+ (Vall et al. 2019, Fig. 7a),
  with Wilson score intervals over the (query, target) cases.

Colours, markers, legend placement and file formats follow :mod:`apc.bench.figstyle`.

References
----------
G. Bonnin and D. Jannach, "Automated generation of music playlists: Survey and
experiments", *ACM Computing Surveys* 47(2), 2014, doi:10.1145/2652481.

A. Vall, M. Dorfer, H. Eghbal-zadeh, M. Schedl, K. Burjorjee and G. Widmer,
"Feature-combination hybrid recommender systems for automated music playlist
continuation", *User Modeling and User-Adapted Interaction* 29, 527-572, 2019,
doi:10.1007/s11257-018-9215-8.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from apc.bench import stats
from apc.bench.figstyle import (
    group_axis_name,
    group_sort_key,
    legend_outside,
    model_styles,
    save_figure,
)
from apc.bench.suite import Suite, parse_label
from apc.bench.tables import _direction
from apc.evaluation.breakdown import LONGTAIL_BUCKETS


# ---------------------------------------------------------------------- plots
def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    """Write PNG, SVG and PDF; return the PNG's path."""
    return save_figure(fig, path)[0]


def _recall_intervals(table: pd.DataFrame | None, dataset: str) -> pd.DataFrame:
    """Rows of the summary table holding recall@K intervals for ``dataset``."""
    if table is None or table.empty:
        return pd.DataFrame(columns=["model", "k", "mean", "low", "high"])
    t = table[(table["dataset"] == dataset) & (table["metric"] == "recall")]
    t = t[t["k"].notna() & t["low"].notna()]
    return t.assign(k=t["k"].astype(int))[["model", "k", "mean", "low", "high"]]


def plot_recall_curves(
    curves: pd.DataFrame,
    dataset: str,
    path: Path,
    table: pd.DataFrame | None = None,
    models: list[str] | None = None,
) -> Path | None:
    """Plot recall@k (k = 1..cutoff) per model, mean over seeds, log-scaled k.

    Parameters
    ----------
    curves : pd.DataFrame
        A run's ``curves`` (``dataset, model, k, recall``, ...).
    dataset : str
        Dataset to plot.
    path : Path
        PNG file to write (SVG and PDF are written beside it).
    table : pd.DataFrame, optional
        The run's summary table (:func:`apc.bench.tables.summary_table`): its
        ``recall@K`` intervals are drawn as error bars at each such K and as a band
        joining them.
    models : list of str, optional
        Model order, which fixes the colours (default: as in ``curves``).

    Returns
    -------
    Path or None
        ``path``, or None when there is no curve for ``dataset``.
    """
    c = curves[curves["dataset"] == dataset]
    if c.empty:
        return None
    plt = _plt()
    present = list(dict.fromkeys(c["model"]))
    order = [m for m in (models or present) if m in present] + [
        m for m in present if m not in (models or present)
    ]
    styles = model_styles(models or order)
    cis = _recall_intervals(table, dataset)
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for model in order:
        st = styles.get(model, model_styles([model])[model])
        m = c[c["model"] == model].groupby("k")["recall"].mean()
        ax.plot(m.index, m.values, label=model, lw=1.5, color=st["color"],
                linestyle=st["linestyle"])
        ci = cis[cis["model"] == model].sort_values("k")
        if len(ci):
            ax.errorbar(ci["k"], ci["mean"], yerr=[ci["mean"] - ci["low"], ci["high"] - ci["mean"]],
                        fmt=st["marker"], ms=3.5, color=st["color"], capsize=2.5, lw=1)
        if len(ci) > 1:
            ax.fill_between(ci["k"], ci["low"], ci["high"], color=st["color"], alpha=0.15, lw=0)
    ax.set_xscale("log")
    from matplotlib.ticker import FormatStrFormatter

    ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))  # 1, 10, 100 rather than 10^0
    ax.set_xlabel("k (list length)")
    ax.set_ylabel("recall@k")
    fig.suptitle(f"recall@k — {dataset}")
    if len(cis):  # the note sits above the axes, where it can cover nothing
        ks = ", ".join(str(k) for k in sorted(set(cis["k"])))
        ax.set_title(f"bars and band: bootstrap intervals of recall@k at k = {ks}", fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    legend_outside(ax)
    out = _save(fig, path)
    plt.close(fig)
    return out


_LENGTH_BINS = [
    (0, 0, "0"),
    (1, 1, "1"),
    (2, 2, "2"),
    (3, 4, "3-4"),
    (5, 9, "5-9"),
    (10, 19, "10-19"),
    (20, 49, "20-49"),
    (50, 99, "50-99"),
    (100, 10**12, "100+"),
]


def group_labels(frame: pd.DataFrame) -> tuple[pd.Series, list[str], str]:
    """Assign every row a group: the query category when present, else binned seed length.

    Categories are MPD challenge categories (in the challenge's order), target
    positions (next-track) or seed lengths (continuation, cold start); numeric ones are
    ordered as numbers (``1, 2, …, 10``), not as text.

    Parameters
    ----------
    frame : pd.DataFrame
        Per-query rows with ``category`` and ``seed_length`` (and ``protocol``, which
        names the axis).

    Returns
    -------
    groups : pd.Series
        Group label of each row.
    order : list of str
        Labels present, in display order.
    what : str
        The axis name, e.g. ``"target position in the playlist (10 = 10 or later)"``
        or ``"seed length"``.
    """
    from apc.datasets.mpd_categories import CATEGORIES

    cat = frame["category"].astype(str)
    if (cat != "").any() and (cat != "None").any():
        present = list(dict.fromkeys(cat))
        order = [c for c in CATEGORIES if c in present] + sorted(
            (c for c in present if c not in CATEGORIES), key=group_sort_key
        )
        protocol = str(frame["protocol"].iloc[0]) if "protocol" in frame and len(frame) else None
        return cat, order, group_axis_name(protocol)
    lengths = frame["seed_length"].to_numpy()
    labels = np.empty(len(lengths), dtype=object)
    for lo, hi, name in _LENGTH_BINS:
        labels[(lengths >= lo) & (lengths <= hi)] = name
    present = set(labels)
    return (
        pd.Series(labels, index=frame.index),
        [b[2] for b in _LENGTH_BINS if b[2] in present],
        "seed length",
    )


def by_group_metrics(suite: Suite, labels_available: set[str]) -> list[str]:
    """Choose the accuracy labels to break down by group.

    Parameters
    ----------
    suite : Suite
        Its metric labels are the candidates.
    labels_available : set of str
        Labels present in the results.

    Returns
    -------
    list of str
        Each accuracy (non-descriptive) metric at its largest k; at most 4.
    """
    best: dict[str, tuple[int, str]] = {}
    for label in suite.metrics:
        if label not in labels_available:
            continue
        name, k = parse_label(label)
        if _direction(name) == 0:
            continue
        kk = -1 if k is None else k
        if name not in best or kk > best[name][0]:
            best[name] = (kk, label)
    return [lab for _, lab in best.values()][:4]


def _group_intervals(sub: pd.DataFrame, groups: pd.Series, order: list[str],
                     models: list[str], suite: Suite) -> tuple[pd.DataFrame, pd.DataFrame,
                                                                pd.DataFrame]:
    """Mean and bootstrap interval of each (group, model): shared resamples per group."""
    mean = pd.DataFrame(np.nan, index=order, columns=models)
    low, high = mean.copy(), mean.copy()
    sub = sub.assign(group=groups.values)
    for g, part in sub.groupby("group", sort=False):
        wide = part.pivot_table(index=["seed", "query"], columns="model", values="value",
                                aggfunc="first")
        cols = [m for m in models if m in wide.columns]
        wide = wide[cols].dropna()
        if wide.empty:
            continue
        cis = stats.bootstrap_cis(
            wide.to_numpy(), wide.index.get_level_values("seed").to_numpy(),
            n_boot=min(suite.n_boot, 1000), confidence=suite.confidence, seed=0,
        )
        for m, iv in zip(cols, cis, strict=True):
            mean.loc[g, m], low.loc[g, m], high.loc[g, m] = iv.mean, iv.low, iv.high
    return mean, low, high


def _yerr(mean: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray | None:
    err = np.vstack([mean - low, high - mean])
    if np.isnan(err).all():
        return None
    return np.nan_to_num(np.clip(err, 0, None))


def plot_by_group(results: pd.DataFrame, suite: Suite, dataset: str, path: Path) -> Path | None:
    """Plot the mean metric per query group, a panel per metric, with bootstrap error bars.

    Parameters
    ----------
    results : pd.DataFrame
        Long-form per-query results of the run.
    suite : Suite
        Gives the metrics (see :func:`by_group_metrics`), the model order (and so the
        colours) and the bootstrap settings (``n_boot``, at most 1000 here; ``confidence``).
    dataset : str
        Dataset to plot.
    path : Path
        PNG file to write (SVG and PDF are written beside it).

    Returns
    -------
    Path or None
        ``path``, or None when there are no results or metrics to plot.
    """
    r = results[results["dataset"] == dataset]
    labels = by_group_metrics(suite, set(r["label"]))
    if r.empty or not labels:
        return None
    plt = _plt()
    fig, axes = plt.subplots(1, len(labels), figsize=(4.6 * len(labels), 3.8), squeeze=False)
    all_models = [m.name for m in suite.models]
    styles = model_styles(all_models)
    present = set(r["model"].unique())  # once, not per model: r has a row per query
    order_models = [m for m in all_models if m in present]
    what = "group"
    for ax, label in zip(axes[0], labels, strict=True):
        sub = r[r["label"] == label]
        groups, order, what = group_labels(sub)
        mean, low, high = _group_intervals(sub, groups, order, order_models, suite)
        x = np.arange(len(order))
        width = 0.8 / max(1, len(order_models))
        for i, m in enumerate(order_models):
            mu = mean[m].to_numpy(dtype=float)
            ax.bar(x + i * width - 0.4 + width / 2, mu, width, label=m,
                   color=styles[m]["color"],
                   yerr=_yerr(mu, low[m].to_numpy(dtype=float), high[m].to_numpy(dtype=float)),
                   error_kw={"elinewidth": 0.8, "capsize": 1.5, "ecolor": "#333333"})
        counts = groups[sub["model"] == order_models[0]].value_counts()
        ax.set_xticks(
            x, [f"{g} (n={counts.get(g, 0)})" for g in order], rotation=45, ha="right", fontsize=8
        )
        ax.set_xlabel(what)
        ax.set_ylabel(label)
        ax.set_title(label)
        ax.grid(True, axis="y", alpha=0.3)
    handles, names = axes[0][0].get_legend_handles_labels()
    legend_outside(fig, handles, names, below=True, ncol=min(len(names), 5))
    fig.suptitle(
        f"mean per query by {what} — {dataset}; bars: {suite.confidence:.0%} bootstrap intervals"
    )
    fig.tight_layout()
    out = _save(fig, path)
    plt.close(fig)
    return out


def wilson_interval(hits: np.ndarray, n: np.ndarray, confidence: float = 0.95):
    """Wilson score interval of a proportion ``hits / n`` (Wilson 1927).

    Parameters
    ----------
    hits, n : np.ndarray
        Successes and trials (``n = 0`` gives NaN).
    confidence : float
        Coverage.

    Returns
    -------
    low, high : np.ndarray

    References
    ----------
    E. B. Wilson, "Probable inference, the law of succession, and statistical
    inference", *JASA* 22(158), 209-212, 1927, doi:10.1080/01621459.1927.10502953.

    Examples
    --------
    >>> lo, hi = wilson_interval(np.array([5.0]), np.array([10.0]))
    >>> round(float(lo[0]), 3), round(float(hi[0]), 3)
    (0.237, 0.763)
    """
    from scipy.stats import norm

    hits, n = np.asarray(hits, dtype=float), np.asarray(n, dtype=float)
    z = float(norm.ppf(0.5 + confidence / 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        p = hits / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def plot_longtail(longtail: pd.DataFrame, suite: Suite, dataset: str, path: Path) -> Path | None:
    """Plot recall@longtail_k by target-track training occurrences (0, 1, 2, 3, 4, 5+).

    Parameters
    ----------
    longtail : pd.DataFrame
        A run's long-tail table (``dataset, model, bucket, hits, n_targets``, ...).
    suite : Suite
        Gives the model order (and so the colours), ``longtail_k`` and ``confidence``.
    dataset : str
        Dataset to plot.
    path : Path
        PNG file to write (SVG and PDF are written beside it).

    Returns
    -------
    Path or None
        ``path``, or None when there are no rows for ``dataset``.

    Notes
    -----
    The error bars are Wilson score intervals (:func:`wilson_interval`) over the
    (query, target) cases pooled over seeds; they treat cases as independent, so they
    are somewhat narrow where one query has many targets.
    """
    lt = longtail[longtail["dataset"] == dataset]
    if lt.empty:
        return None
    plt = _plt()
    agg = lt.groupby(["model", "bucket"], sort=False)[["hits", "n_targets"]].sum()
    recall = (agg["hits"] / agg["n_targets"].where(agg["n_targets"] > 0)).unstack("bucket")
    lo, hi = wilson_interval(agg["hits"].to_numpy(), agg["n_targets"].to_numpy(),
                             suite.confidence)
    low = pd.Series(lo, index=agg.index).unstack("bucket")
    high = pd.Series(hi, index=agg.index).unstack("bucket")
    all_models = [m.name for m in suite.models]
    styles = model_styles(all_models)
    models = [m for m in all_models if m in recall.index]
    buckets = list(LONGTAIL_BUCKETS)
    recall = recall.reindex(index=models, columns=buckets)
    low = low.reindex(index=models, columns=buckets)
    high = high.reindex(index=models, columns=buckets)
    share = (
        lt[lt["model"] == models[0]]
        .groupby("bucket")["n_targets"]
        .sum()
        .reindex(buckets)
        .fillna(0)
    )
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    x = np.arange(len(buckets))
    width = 0.8 / max(1, len(models))
    for i, m in enumerate(models):
        mu = recall.loc[m].to_numpy(dtype=float)
        ax.bar(x + i * width - 0.4 + width / 2, mu, width, label=m, color=styles[m]["color"],
               yerr=_yerr(mu, low.loc[m].to_numpy(dtype=float), high.loc[m].to_numpy(dtype=float)),
               error_kw={"elinewidth": 0.8, "capsize": 1.5, "ecolor": "#333333"})
    total = max(1.0, share.sum())
    ax.set_xticks(x, [f"{b}\n({100 * share[b] / total:.0f}%)" for b in buckets])
    ax.set_xlabel("training occurrences of the target track (share of targets)")
    ax.set_ylabel(f"recall@{suite.longtail_k}")
    fig.suptitle(f"long tail — {dataset}")
    ax.set_title(f"bars: {suite.confidence:.0%} Wilson intervals over (query, target) cases",
                 fontsize=8)
    ax.grid(True, axis="y", alpha=0.3)
    legend_outside(ax)
    out = _save(fig, path)
    plt.close(fig)
    return out


def make_plots(run: dict[str, Any], table: pd.DataFrame | None = None) -> list[Path]:
    """Draw all plots of a run under ``<out>/plots`` (PNG, SVG and PDF of each).

    Parameters
    ----------
    run : dict
        A run as returned by :func:`load_run`.
    table : pd.DataFrame, optional
        Its summary table, whose ``recall@K`` intervals the recall curves show.

    Returns
    -------
    list of Path
        The PNG files written (recall curves, by-group and long-tail, per dataset);
        the ``.svg`` and ``.pdf`` of each lie beside it.
    """
    out: Path = run["out"]
    suite: Suite = run["suite"]
    models = [m.name for m in suite.models]
    paths = []
    for d in suite.datasets:
        name = d.name.replace("/", "_")
        if run["curves"] is not None and not run["curves"].empty:
            paths.append(
                plot_recall_curves(
                    run["curves"], d.name, out / "plots" / f"recall_curve_{name}.png",
                    table=table, models=models,
                )
            )
        if run["results"] is not None and not run["results"].empty:
            paths.append(
                plot_by_group(run["results"], suite, d.name, out / "plots" / f"by_group_{name}.png")
            )
        if run["longtail"] is not None and not run["longtail"].empty:
            paths.append(
                plot_longtail(
                    run["longtail"], suite, d.name, out / "plots" / f"longtail_{name}.png"
                )
            )
    return [p for p in paths if p is not None]
