"""PNG plots of a benchmark run (matplotlib, Agg backend).

* ``recall_curve_<dataset>.png`` — recall@k for k = 1..cutoff (Bonnin & Jannach 2014,
  Fig. 4 style), computed exactly per cell from the top-``cutoff`` lists at run time
  and stored in ``curves.parquet`` (so the lists themselves need not be stored);
* ``by_group_<dataset>.png`` — accuracy by MPD challenge category, or by seed length
  when the queries have no category;
* ``longtail_<dataset>.png`` — recall@``longtail_k`` by how often the target track
  occurs in the training playlists: 0, 1, 2, 3, 4, 5+ (Vall et al. 2019, Fig. 7a).

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

import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from apc._atomic import atomic_write_bytes
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
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    atomic_write_bytes(path, buf.getvalue())
    return path


def plot_recall_curves(curves: pd.DataFrame, dataset: str, path: Path) -> Path | None:
    """Plot recall@k (k = 1..cutoff) per model, mean over seeds, log-scaled k.

    Parameters
    ----------
    curves : pd.DataFrame
        A run's ``curves`` (``dataset, model, k, recall``, ...).
    dataset : str
        Dataset to plot.
    path : Path
        PNG file to write.

    Returns
    -------
    Path or None
        ``path``, or None when there is no curve for ``dataset``.
    """
    c = curves[curves["dataset"] == dataset]
    if c.empty:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for model, g in c.groupby("model", sort=False):
        m = g.groupby("k")["recall"].mean()
        ax.plot(m.index, m.values, label=model, lw=1.5)
    ax.set_xscale("log")
    ax.set_xlabel("k (list length)")
    ax.set_ylabel("recall@k")
    ax.set_title(f"recall@k — {dataset}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
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
    """Assign every row a group: MPD category when present, else binned seed length.

    Parameters
    ----------
    frame : pd.DataFrame
        Per-query rows with ``category`` and ``seed_length``.

    Returns
    -------
    groups : pd.Series
        Group label of each row.
    order : list of str
        Labels present, in display order.
    what : str
        ``"category"`` or ``"seed length"``.
    """
    from apc.datasets.mpd_categories import CATEGORIES

    cat = frame["category"].astype(str)
    if (cat != "").any() and (cat != "None").any():
        present = list(dict.fromkeys(cat))
        order = [c for c in CATEGORIES if c in present] + sorted(
            c for c in present if c not in CATEGORIES
        )
        return cat, order, "category"
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


def plot_by_group(results: pd.DataFrame, suite: Suite, dataset: str, path: Path) -> Path | None:
    """Plot the mean metric per group (MPD category or seed length), a panel per metric.

    Parameters
    ----------
    results : pd.DataFrame
        Long-form per-query results of the run.
    suite : Suite
        Gives the metrics (see :func:`by_group_metrics`) and the model order.
    dataset : str
        Dataset to plot.
    path : Path
        PNG file to write.

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
    order_models = [m.name for m in suite.models if m.name in set(r["model"])]
    for ax, label in zip(axes[0], labels, strict=True):
        sub = r[r["label"] == label]
        groups, order, what = group_labels(sub)
        means = (
            sub.assign(group=groups.values)
            .groupby(["group", "model"])["value"]
            .mean()
            .unstack("model")
        )
        means = means.reindex(index=order, columns=order_models)
        x = np.arange(len(order))
        width = 0.8 / max(1, len(order_models))
        for i, m in enumerate(order_models):
            ax.bar(x + i * width - 0.4 + width / 2, means[m].to_numpy(), width, label=m)
        counts = groups[sub["model"] == order_models[0]].value_counts()
        ax.set_xticks(
            x, [f"{g} (n={counts.get(g, 0)})" for g in order], rotation=45, ha="right", fontsize=8
        )
        ax.set_xlabel(what)
        ax.set_title(label)
        ax.grid(True, axis="y", alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"mean per query by {what} — {dataset}")
    fig.tight_layout()
    out = _save(fig, path)
    plt.close(fig)
    return out


def plot_longtail(longtail: pd.DataFrame, suite: Suite, dataset: str, path: Path) -> Path | None:
    """Plot recall@longtail_k by target-track training occurrences (0, 1, 2, 3, 4, 5+).

    Parameters
    ----------
    longtail : pd.DataFrame
        A run's long-tail table (``dataset, model, bucket, hits, n_targets``, ...).
    suite : Suite
        Gives the model order and ``longtail_k``.
    dataset : str
        Dataset to plot.
    path : Path
        PNG file to write.

    Returns
    -------
    Path or None
        ``path``, or None when there are no rows for ``dataset``.
    """
    lt = longtail[longtail["dataset"] == dataset]
    if lt.empty:
        return None
    plt = _plt()
    agg = lt.groupby(["model", "bucket"], sort=False)[["hits", "n_targets"]].sum()
    recall = (agg["hits"] / agg["n_targets"].where(agg["n_targets"] > 0)).unstack("bucket")
    models = [m.name for m in suite.models if m.name in recall.index]
    recall = recall.reindex(index=models, columns=list(LONGTAIL_BUCKETS))
    share = (
        lt[lt["model"] == models[0]]
        .groupby("bucket")["n_targets"]
        .sum()
        .reindex(list(LONGTAIL_BUCKETS))
        .fillna(0)
    )
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    x = np.arange(len(LONGTAIL_BUCKETS))
    width = 0.8 / max(1, len(models))
    for i, m in enumerate(models):
        ax.bar(x + i * width - 0.4 + width / 2, recall.loc[m].to_numpy(dtype=float), width, label=m)
    total = max(1.0, share.sum())
    ax.set_xticks(x, [f"{b}\n({100 * share[b] / total:.0f}%)" for b in LONGTAIL_BUCKETS])
    ax.set_xlabel("training occurrences of the target track (share of targets)")
    ax.set_ylabel(f"recall@{suite.longtail_k}")
    ax.set_title(f"long tail — {dataset}")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    out = _save(fig, path)
    plt.close(fig)
    return out


def make_plots(run: dict[str, Any]) -> list[Path]:
    """Draw all PNG plots of a run under ``<out>/plots``.

    Parameters
    ----------
    run : dict
        A run as returned by :func:`load_run`.

    Returns
    -------
    list of Path
        The plots written (recall curves, by-group and long-tail, per dataset).
    """
    out: Path = run["out"]
    suite: Suite = run["suite"]
    paths = []
    for d in suite.datasets:
        name = d.name.replace("/", "_")
        if run["curves"] is not None and not run["curves"].empty:
            paths.append(
                plot_recall_curves(
                    run["curves"], d.name, out / "plots" / f"recall_curve_{name}.png"
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


