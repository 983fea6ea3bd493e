"""The Vall et al. (2018) analyses in a run's report: order, playlist length, rank.

A run gets the section "Order, length and rank (Vall et al. 2018)" in ``summary.md``
and ``report.html`` (with the figure ``order_length_<dataset>.png``) when its suite asks
for a model-level metric (``rank``, ``rank_pct``, ``loglik``) or its protocol shuffles
the training order (``shuffle_order``). The section holds

- the order-ablation setting of the split (compare a shuffled run with the unshuffled one
  by ``apc bench compare``);
- the rank of the next song: mean and median ``rank`` and ``rank_pct`` per model, and by
  target popularity (the long-tail buckets of :func:`~apc.evaluation.breakdown.longtail_table`);
- the first list metric (and ``rank_pct``, ``loglik`` where present) by target position
  and by held-out playlist length (:func:`~apc.evaluation.breakdown.length_position_table`).

References
----------
A. Vall, M. Quadrana, M. Schedl and G. Widmer, "Order, context and popularity bias in
next-song recommendations", IJMIR 8, 2019 (preprint 2018).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from apc.evaluation.breakdown import (
    LENGTH_EDGES,
    POSITION_EDGES,
    bucket_labels,
    length_position_table,
)
from apc.evaluation.metrics import parse_label
from apc.evaluation.metrics.rank import MODEL_LEVEL

TITLE = "Order, length and rank (Vall et al. 2018)"


def wanted(run: dict[str, Any]) -> bool:
    """Tell whether the run asked for the analyses (see the module docstring)."""
    suite = run["suite"]
    if "shuffle_order" in (suite.protocol_options or {}):
        return True
    return any(parse_label(m)[0] in MODEL_LEVEL for m in suite.metrics)


def _labels(run: dict[str, Any]) -> list[str]:
    """Return the labels broken down: the first list metric, then rank_pct and loglik."""
    from apc.evaluation.metrics import METRICS

    suite = run["suite"]
    out = []
    for lab in suite.metrics:
        m = METRICS.get(parse_label(lab)[0])
        if m is not None and not m.descriptive and not m.set_level and m.name not in MODEL_LEVEL:
            out.append(lab)
            break
    return out + [lab for lab in ("rank_pct", "loglik") if lab in suite.metrics]


def _fmt(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        return "—" if np.isnan(v) else f"{v:.4g}"
    return "—" if v is None else str(v)


def _md_table(frame: pd.DataFrame) -> list[str]:
    cols = list(frame.columns)
    lines = ["| " + " | ".join(str(c) for c in cols) + " |", "|" + "---|" * len(cols)]
    for _, r in frame.iterrows():
        lines.append("| " + " | ".join(_fmt(r[c]) for c in cols) + " |")
    return lines + [""]


def analyses_markdown(run: dict[str, Any]) -> str:
    """Return the markdown of the section ('' when the run did not ask for it).

    Parameters
    ----------
    run : dict
        A run as returned by :func:`apc.bench.report.load_run`.

    Returns
    -------
    str
    """
    if not wanted(run):
        return ""
    suite = run["suite"]
    results = run["results"]
    parts = ["", f"## {TITLE}", ""]
    shuffle = (suite.protocol_options or {}).get("shuffle_order", "none")
    parts += [f"Order ablation: `shuffle_order = {shuffle}`"
              + (" — tracks of every training playlist were shuffled (seeded), so compare "
                 "with the unshuffled run (`apc bench compare`) to see how much each model "
                 "relies on song order." if shuffle != "none" else
                 " (set `[protocol.options] shuffle_order = \"train\"` for the ablation)."), ""]
    if results is None or results.empty:
        return "\n".join(parts)
    for d in suite.datasets:
        res = results[results["dataset"] == d.name]
        if res.empty:
            continue
        parts += [f"### {d.name}", ""]
        ranks = res[res["label"].isin(["rank", "rank_pct", "loglik"])]
        if not ranks.empty:
            t = ranks.groupby(["model", "label"], sort=False)["value"].agg(
                mean="mean", median="median").unstack("label")
            t.columns = [f"{stat} {lab}" for stat, lab in t.columns]
            parts += ["Rank of the next song in the full ranking (lower is better) and "
                      "log-likelihood per transition (nats, higher is better):", ""]
            parts += _md_table(t.reset_index())
        lt = run.get("longtail")
        if lt is not None and not lt.empty and "mean_rank" in lt:
            sub = lt[lt["dataset"] == d.name]
            t = sub.groupby(["model", "bucket"], sort=False)["median_rank"].mean().unstack(
                "bucket")
            parts += ["Median rank of the next song by its training occurrences "
                      "(popularity bias):", ""]
            parts += _md_table(t.reset_index())
        table = length_position_table(res, _labels(run))
        for by, head in (("position", "target position (tracks before the target)"),
                         ("length", "held-out playlist length")):
            sub = table[table["by"] == by]
            for lab in sub["label"].unique():
                t = sub[sub["label"] == lab].pivot_table(
                    index="model", columns="bucket", values="mean", sort=False)
                t = t.reindex([m.name for m in suite.models if m.name in t.index])
                parts += [f"Mean `{lab}` by {head}:", ""] + _md_table(t.reset_index())
    return "\n".join(parts)


def analyses_plots(run: dict[str, Any]) -> list[Path]:
    """Draw ``plots/order_length_<dataset>.png`` for each dataset ([] when not asked for).

    Parameters
    ----------
    run : dict
        A run as returned by :func:`apc.bench.report.load_run`.

    Returns
    -------
    list of Path
        The PNG files written.
    """
    if not wanted(run) or run["results"] is None or run["results"].empty:
        return []
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    from apc.bench.figstyle import legend_outside, model_styles, save_figure

    suite = run["suite"]
    labels = _labels(run)
    lt = run.get("longtail")
    styles = model_styles([m.name for m in suite.models])  # the colours of every figure
    paths = []
    for d in suite.datasets:
        res = run["results"][run["results"]["dataset"] == d.name]
        table = length_position_table(res, labels[:1] + [x for x in labels if x == "rank_pct"])
        if table.empty:
            continue
        has_rank = lt is not None and not lt.empty and "mean_rank" in lt
        panels = [("position", "target position"), ("length", "playlist length")]
        fig, axes = plt.subplots(1, len(panels) + has_rank, figsize=(4.2 * (2 + has_rank), 3.4))
        for ax, (by, xlabel) in zip(axes, panels, strict=False):
            sub = table[(table["by"] == by) & (table["label"] == labels[0])]
            order = bucket_labels(POSITION_EDGES if by == "position" else LENGTH_EDGES)
            for m in suite.models:
                s = sub[sub["model"] == m.name].set_index("bucket").reindex(order)
                ax.plot(range(len(order)), s["mean"].to_numpy(), marker=styles[m.name]["marker"],
                        color=styles[m.name]["color"], label=m.name)
            ax.set_xticks(range(len(order)), order, rotation=30)
            ax.set_xlabel(xlabel)
            ax.set_ylabel(labels[0])
        if has_rank:
            ax = axes[-1]
            sub = lt[lt["dataset"] == d.name]
            buckets = list(dict.fromkeys(sub["bucket"]))
            for m in suite.models:
                s = sub[sub["model"] == m.name].groupby("bucket", sort=False)["median_rank"].mean()
                ax.plot(range(len(buckets)), s.reindex(buckets).to_numpy(),
                        marker=styles[m.name]["marker"], color=styles[m.name]["color"],
                        label=m.name)
            ax.set_yscale("log")
            ax.set_xticks(range(len(buckets)), buckets)
            ax.set_xlabel("training playlists holding the target")
            ax.set_ylabel("median rank of the next song")
        handles, names = axes[0].get_legend_handles_labels()
        legend_outside(fig, handles, names, below=True, ncol=min(len(names), 5))
        fig.suptitle(f"{d.name}: {TITLE}", fontsize=9)
        fig.tight_layout()
        path = Path(run["out"]) / "plots" / f"order_length_{d.name.replace('/', '_')}.png"
        paths.append(save_figure(fig, path)[0])  # PNG (200 dpi), SVG and PDF
        plt.close(fig)
    return paths
