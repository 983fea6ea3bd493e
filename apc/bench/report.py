"""Summaries, tables, plots and the HTML page of a benchmark run.

:func:`write_summary` turns ``results.parquet`` into ``summary.json`` and ``summary.md``:
for every dataset, model and metric the mean over replicate seeds of the per-query
mean, a stratified percentile bootstrap interval, and paired tests of each model
against the best model and against the suite's baseline, corrected for multiple
comparisons within each (dataset, metric) family. :func:`write_report` draws the
PNG plots (matplotlib, Agg backend) and writes ``report.html`` with the table and
plots embedded:

* ``recall_curve_<dataset>.png`` — recall@k for k = 1..cutoff (Bonnin & Jannach 2014,
  Fig. 4 style), computed exactly per cell from the top-``cutoff`` lists at run time
  and stored in ``curves.parquet`` (so the lists themselves need not be stored);
* ``by_group_<dataset>.png`` — accuracy by MPD challenge category, or by seed length
  when the queries have no category;
* ``longtail_<dataset>.png`` — recall@``longtail_k`` by how often the target track
  occurs in the training playlists: 0, 1, 2, 3, 4, 5+ (Vall et al. 2019, Fig. 7a).

Every summary states the protocol, its options and split hashes, the metric
variants, the evaluation policies, the seeds, package versions and the git commit.

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

import base64
import html
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from apc.bench import stats
from apc.bench.cache import atomic_write_bytes
from apc.bench.suite import Suite, parse_label

#: Metric names where lower values are better.
LOWER_IS_BETTER = {"clicks_mpd"}
#: Descriptive (beyond-accuracy) metrics: reported with intervals, never ranked or tested.
DESCRIPTIVE = {"coverage", "popularity", "artist_diversity"}
#: Metrics computed over the whole set of lists, one value per cell (no per-query spread).
SET_LEVEL = {"coverage"}

#: What each metric variant means (stated in every report).
METRIC_NOTES = {
    "hit": "hit@k: 1 if any target is in the top k (HR)",
    "recall": "recall@k: distinct targets in the top k / distinct targets",
    "precision": "precision@k: distinct targets in the top k / k",
    "mrr": "mrr@k: 1 / rank of the first target in the top k, else 0",
    "ndcg": "ndcg@k: binary-gain DCG with 1/log2(rank+1), ideal DCG over min(k, |targets|)",
    "map": "map@k: mean of precision at each hit rank, normalised by min(k, |targets|)",
    "rprec": "rprec: R-precision, targets in the top R / R with R = |targets| (tracks only)",
    "rprec_mpd": "rprec_mpd: RecSys Challenge 2018 R-precision (artist matches weigh 0.25)",
    "ndcg_mpd": "ndcg_mpd: RecSys Challenge 2018 NDCG (ideal DCG over the relevant retrieved)",
    "clicks_mpd": "clicks_mpd: RecSys Challenge 2018 clicks, floor((rank of first hit - 1) / 10), "
    "51 if none; lower is better",
    "coverage": "coverage@k: share of the catalogue in any top-k list (one value per cell)",
    "popularity": "popularity@k: mean training popularity of recommended tracks (descriptive)",
    "artist_diversity": "artist_diversity@k: distinct artists / list length in the top k",
}

ALPHA = 0.05


# ---------------------------------------------------------------------- loading
def _read_json(path: Path, default: Any = None) -> Any:
    return json.loads(path.read_text()) if path.is_file() else default


def load_run(out: str | Path) -> dict[str, Any]:
    """Read a run folder: suite, results, curves, long-tail table, cells, splits, provenance.

    Parameters
    ----------
    out : str or Path
        A run folder written by the benchmark runner.

    Returns
    -------
    dict
        ``out``, ``suite`` (:class:`Suite`), ``config``, ``results``, ``curves`` and
        ``longtail`` (DataFrames, None where the file is missing), ``cells``,
        ``splits`` and ``provenance``.

    Raises
    ------
    ApcInputError
        If the folder has no ``config.json``.
    """
    from apc.errors import ApcInputError

    out = Path(out)
    config = _read_json(out / "config.json")
    if config is None:
        raise ApcInputError("not a benchmark run folder (no config.json)", file=str(out))
    suite = suite_from_dict_resolved(config["suite"])
    run = {
        "out": out,
        "suite": suite,
        "config": config,
        "results": pd.read_parquet(out / "results.parquet")
        if (out / "results.parquet").is_file()
        else None,
        "curves": pd.read_parquet(out / "curves.parquet")
        if (out / "curves.parquet").is_file()
        else None,
        "longtail": pd.read_parquet(out / "longtail.parquet")
        if (out / "longtail.parquet").is_file()
        else None,
        "cells": _read_json(out / "cells.json", []),
        "splits": _read_json(out / "splits.json", {}),
        "provenance": _read_json(out / "provenance.json", {}),
    }
    return run


def suite_from_dict_resolved(d: dict[str, Any]) -> Suite:
    """Rebuild a :class:`Suite` from :meth:`Suite.to_dict` output (already resolved).

    Parameters
    ----------
    d : dict
        The suite as stored in a run's ``config.json``; missing optional keys take
        their defaults.

    Returns
    -------
    Suite
    """
    from apc.bench.suite import DatasetSpec, ModelEntry

    return Suite(
        name=d["name"],
        datasets=[DatasetSpec(**x) for x in d["datasets"]],
        protocol=d["protocol"],
        protocol_options=d["protocol_options"],
        models=[ModelEntry(**x) for x in d["models"]],
        metrics=list(d["metrics"]),
        seeds=list(d["seeds"]),
        cutoff=d["cutoff"],
        baseline=d.get("baseline"),
        test=d.get("test", "randomization"),
        correction=d.get("correction", "holm"),
        n_boot=d.get("n_boot", 1000),
        n_perm=d.get("n_perm", 10000),
        confidence=d.get("confidence", 0.95),
        longtail_k=d.get("longtail_k", 100),
        description=d.get("description", ""),
    )


# ---------------------------------------------------------------------- statistics
def _direction(metric: str) -> int:
    """+1 higher is better, -1 lower is better, 0 descriptive."""
    if metric in DESCRIPTIVE:
        return 0
    return -1 if metric in LOWER_IS_BETTER else 1


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
        p_base_adj``; ``k`` is -1 for metrics without a cut-off. p-values are NaN
        where a test does not apply (the best model itself, the baseline itself,
        descriptive and set-level metrics).
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
    order = models or [m.name for m in suite.models]
    for (dataset, label), group in results.groupby(["dataset", "label"], sort=False):
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
        if direction != 0 and metric not in SET_LEVEL and best is not None:
            p_best.update(_tests(wide, best, suite, (dataset, label, "best")))
            if suite.baseline in wide.columns:
                p_base.update(_tests(wide, suite.baseline, suite, (dataset, label, "base")))
        adj_best = _adjust_dict(p_best, suite.correction)
        adj_base = _adjust_dict(p_base, suite.correction)
        for m in present:
            iv = intervals[m]
            rows.append(
                {
                    "dataset": dataset,
                    "model": m,
                    "label": label,
                    "metric": metric,
                    "k": -1 if k is None else k,
                    "mean": iv.mean,
                    "low": iv.low,
                    "high": iv.high,
                    "n": iv.n,
                    "best": m in tied,
                    "p_best": p_best[m],
                    "p_best_adj": adj_best[m],
                    "p_base": p_base[m],
                    "p_base_adj": adj_base[m],
                }
            )
    return pd.DataFrame(rows)


def _intervals(wide: pd.DataFrame, metric: str, suite: Suite, key: tuple) -> dict[str, Any]:
    """Mean and bootstrap interval per model column (shared resamples where rows align)."""
    seeds = wide.index.get_level_values("seed").to_numpy()
    out: dict[str, Any] = {}
    complete = [m for m in wide.columns if wide[m].notna().all()]
    if metric in SET_LEVEL:
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


def _tests(wide: pd.DataFrame, ref: str, suite: Suite, key: tuple) -> dict[str, float]:
    """p-value of every other model against ``ref`` on the (seed, query) pairs both answered."""
    others = [m for m in wide.columns if m != ref]
    if not others:
        return {}
    diffs = wide[others].sub(wide[ref], axis=0)
    complete = [m for m in others if diffs[m].notna().all()]
    out: dict[str, float] = {}
    if complete and suite.test == "randomization":
        p = stats.randomization_tests(
            diffs[complete].to_numpy(), n_perm=suite.n_perm, seed=_stable_seed(*key)
        )
        out.update(zip(complete, p.tolist(), strict=True))
    for m in others:
        if m not in out:
            d = diffs[m].dropna().to_numpy()
            out[m] = stats.paired_test(d, suite.test, n_perm=suite.n_perm, seed=_stable_seed(*key))
    return out


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


# ---------------------------------------------------------------------- markdown
def _fmt(v: float, digits: int = 4) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    return f"{v:.{digits}f}"


def _cell_text(row: pd.Series, baseline: str | None) -> str:
    text = _fmt(row["mean"])
    if not math.isnan(row["low"]):
        text += f" [{_fmt(row['low'])}, {_fmt(row['high'])}]"
    if row["best"]:
        text = f"**{text}**"
    elif not math.isnan(row["p_best_adj"]) and row["p_best_adj"] >= ALPHA:
        text += " †"
    if (
        baseline
        and row["model"] != baseline
        and not math.isnan(row["p_base_adj"])
        and row["p_base_adj"] < ALPHA
    ):
        direction = _direction(row["metric"])
        better = (
            (row["mean"] > row["base_mean"]) if direction > 0 else (row["mean"] < row["base_mean"])
        )
        text += " ▲" if better else " ▼"
    return text


def _bytes(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    return f"{float(v) / 2**20:.1f}"


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


def markdown_tables(table: pd.DataFrame, cells: list[dict[str, Any]], suite: Suite) -> str:
    """Render one markdown table per dataset: models x metrics (+ cost columns).

    Parameters
    ----------
    table : pd.DataFrame
        Output of :func:`summary_table`.
    cells : list of dict
        Cell records of the run (for the cost columns).
    suite : Suite
        Gives the datasets, model and metric order and the baseline.

    Returns
    -------
    str
        Markdown text.
    """
    if table.empty:
        return "_No successful cells._\n"
    costs = cost_table(cells)
    parts = []
    labels = [label for label in suite.metrics if label in set(table["label"])]
    order = [m.name for m in suite.models]
    for dataset in [d.name for d in suite.datasets]:
        t = table[table["dataset"] == dataset].copy()
        if t.empty:
            continue
        base = (
            t[t["model"] == suite.baseline].set_index("label")["mean"]
            if suite.baseline
            else pd.Series(dtype=float)
        )
        t["base_mean"] = t["label"].map(base) if len(base) else np.nan
        head = ["model", *labels, "fit s", "rec s", "peak MB"]
        lines = [
            f"### {dataset}",
            "",
            "| " + " | ".join(head) + " |",
            "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|",
        ]
        for m in order:
            tm = t[t["model"] == m].set_index("label")
            if tm.empty:
                continue
            cells_text = [
                _cell_text(_row_with_model(tm.loc[lab], m), suite.baseline)
                if lab in tm.index
                else "—"
                for lab in labels
            ]
            c = costs[(costs["dataset"] == dataset) & (costs["model"] == m)]
            if len(c):
                c = c.iloc[0]
                peak = (
                    max(c["fit_peak_mb"], c["rec_peak_mb"])
                    if not (math.isnan(c["fit_peak_mb"]) and math.isnan(c["rec_peak_mb"]))
                    else float("nan")
                )
                cost = [_fmt(c["fit_s"], 2), _fmt(c["recommend_s"], 2), _fmt(peak, 1)]
            else:
                cost = ["—", "—", "—"]
            lines.append("| " + " | ".join([m, *cells_text, *cost]) + " |")
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


def _row_with_model(row: pd.Series, model: str) -> pd.Series:
    row = row.copy()
    row["model"] = model
    return row


def _protocol_lines(run: dict[str, Any]) -> list[str]:
    suite: Suite = run["suite"]
    options = json.dumps(suite.protocol_options, sort_keys=True)
    lines = [f"- **Protocol**: `{suite.protocol}` with options `{options}`"]
    for rec in run["splits"].values():
        report = rec.get("report") or {}
        brief = ", ".join(
            f"{k}={v}" for k, v in list(report.items())[:8] if not isinstance(v, (dict, list))
        )
        digest = str(rec.get("hash", "unknown"))[:16]
        lines.append(
            f"  - split `{rec['dataset']}` seed {rec['seed']} (split seed {rec['split_seed']}): "
            f"hash `{digest}`, {rec.get('n_train', '?')} train playlists, "
            f"{rec.get('n_queries', '?')} queries" + (f"; {brief}" if brief else "")
        )
    return lines


def provenance_lines(run: dict[str, Any]) -> list[str]:
    """Render markdown bullet lines: seeds, statistics, policies, metric variants, versions.

    Parameters
    ----------
    run : dict
        A run as returned by :func:`load_run`.

    Returns
    -------
    list of str
        Lines for datasets, protocol and splits, seeds, statistics, markers, metric
        variants, policies, costs, software (with the git commit) and machine.
    """
    from apc.bench.runner import POLICIES

    suite: Suite = run["suite"]
    prov = run["provenance"] or {}
    names = sorted({parse_label(label)[0] for label in suite.metrics})
    git = prov.get("git", {})
    pk = prov.get("packages", {})
    flips = f" with {suite.n_perm} sign flips" if suite.test == "randomization" else ""
    versions = ", ".join(
        f"{k} {v}" for k, v in pk.items() if k != "apc-playlists" and v != "not installed"
    )
    dirty = " (uncommitted changes)" if git.get("dirty") else ""
    datasets = "; ".join(f"`{d.name}` = `{d.source}`" for d in suite.datasets)
    return [
        f"- **Datasets**: {datasets}",
        *_protocol_lines(run),
        f"- **Seeds**: {suite.seeds} (split seed = derive_seed(seed, 'split', dataset); "
        f"model seed = derive_seed(seed, 'model', dataset, model)); "
        f"lists of {suite.cutoff} tracks",
        f"- **Statistics**: mean over seeds of the per-query mean; {suite.confidence:.0%} "
        f"percentile bootstrap interval ({suite.n_boot} resamples of queries, stratified by "
        f"seed); {stats.TESTS[suite.test]}{flips}, of every model against the best and "
        f"against the baseline `{suite.baseline}`; {stats.CORRECTIONS[suite.correction]} "
        f"correction within each (dataset, metric) family, alpha = {ALPHA}",
        "- **Markers**: **bold** = best; † = not significantly different from the best; "
        "▲ / ▼ = significantly better / worse than the baseline",
        "- **Metric variants**: " + "; ".join(METRIC_NOTES.get(n, n) for n in names),
        "- **Evaluation policies**: " + "; ".join(f"{k}: {v}" for k, v in POLICIES.items()),
        "- **Costs**: fit and recommend wall-clock seconds (mean over seeds; cached fits "
        "report the original fit time); peak MB = highest sampled RSS increase during fit or "
        "recommend (a lower bound)",
        f"- **Software**: apc {pk.get('apc-playlists', '?')}, git "
        f"`{git.get('sha', 'unknown')}`{dirty}; Python {prov.get('python', '?')}; {versions}",
        f"- **Machine**: {prov.get('platform', '?')}, {prov.get('cpus', '?')} CPUs, "
        f"executor `{prov.get('executor', '?')}`",
    ]


def render_markdown(run: dict[str, Any], table: pd.DataFrame) -> str:
    """Render the full ``summary.md`` text.

    Parameters
    ----------
    run : dict
        A run as returned by :func:`load_run`.
    table : pd.DataFrame
        Output of :func:`summary_table`.

    Returns
    -------
    str
    """
    suite: Suite = run["suite"]
    cells = run["cells"]
    failed = [c for c in cells if c.get("status") == "error"]
    missing = [c for c in cells if c.get("status") == "missing"]
    parts = [f"# Benchmark `{suite.name}`", ""]
    if suite.description:
        parts += [suite.description, ""]
    parts += provenance_lines(run) + ["", "## Results", "", markdown_tables(table, cells, suite)]
    if failed or missing:
        parts += ["## Failed cells", ""]
        for c in failed:
            parts.append(f"- `{c['cell']}` ({c.get('phase', '?')}): {c.get('error', '')}")
        for c in missing:
            parts.append(f"- `{c['cell']}`: not run (interrupted; rerun with --resume)")
        parts.append("")
    return "\n".join(parts)


def write_summary(out: str | Path, suite: Suite | None = None) -> dict[str, Any]:
    """Compute the summary of a run folder and write ``summary.json`` and ``summary.md``.

    Parameters
    ----------
    out : str or Path
        The run folder.
    suite : Suite, optional
        Replaces the suite stored in the run's ``config.json``.

    Returns
    -------
    dict
        The content of ``summary.json``.
    """
    out = Path(out)
    run = load_run(out)
    if suite is not None:
        run["suite"] = suite
    table = summary_table(run["results"], run["suite"])
    md = render_markdown(run, table)
    summary = {
        "suite": run["suite"].name,
        "config_hash": run["config"].get("config_hash"),
        "protocol": {"name": run["suite"].protocol, "options": run["suite"].protocol_options},
        "splits": run["splits"],
        "metrics": run["suite"].metrics,
        "seeds": run["suite"].seeds,
        "test": run["suite"].test,
        "correction": run["suite"].correction,
        "baseline": run["suite"].baseline,
        "table": json.loads(table.to_json(orient="records")),
        "costs": json.loads(cost_table(run["cells"]).to_json(orient="records")),
        "cells": [{k: v for k, v in c.items() if k != "traceback"} for c in run["cells"]],
        "failed": [c for c in run["cells"] if c.get("status") == "error"],
        "provenance": run["provenance"],
    }
    from apc.bench.runner import POLICIES

    summary["policies"] = POLICIES
    atomic_write_bytes(out / "summary.json", json.dumps(summary, indent=2, default=str).encode())
    atomic_write_bytes(out / "summary.md", md.encode())
    return summary


# ---------------------------------------------------------------------- plots
def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    tmp.replace(path)
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
    from apc.mpd.challenge import CATEGORIES

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
    from apc.bench.runner import LONGTAIL_BUCKETS

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


# ---------------------------------------------------------------------- html
def _md_inline(text: str) -> str:
    import re

    text = html.escape(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    text = re.sub(r"`(.+?)`", r"<code>\1</code>", text)
    return text


def markdown_to_html(md: str) -> str:
    """Render the summary's own markdown as HTML (a minimal renderer).

    Parameters
    ----------
    md : str
        Markdown with headings, bullets, pipe tables, paragraphs, ``**bold**`` and
        ``code`` spans only.

    Returns
    -------
    str
        HTML fragment; text is escaped.
    """
    out, in_table, in_list = [], False, False
    for line in md.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if all(set(c) <= set("-:") for c in cells):
                continue
            if not in_table:
                out.append(
                    "<table><thead><tr>"
                    + "".join(f"<th>{_md_inline(c)}</th>" for c in cells)
                    + "</tr></thead><tbody>"
                )
                in_table = True
            else:
                out.append("<tr>" + "".join(f"<td>{_md_inline(c)}</td>" for c in cells) + "</tr>")
            continue
        if in_table:
            out.append("</tbody></table>")
            in_table = False
        if line.startswith("- ") or line.startswith("  - "):
            if not in_list:
                out.append("<ul>")
                in_list = True
            out.append(f"<li>{_md_inline(line.strip()[2:])}</li>")
            continue
        if in_list:
            out.append("</ul>")
            in_list = False
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level}>{_md_inline(line[level:].strip())}</h{level}>")
        elif line.strip():
            out.append(f"<p>{_md_inline(line)}</p>")
    if in_table:
        out.append("</tbody></table>")
    if in_list:
        out.append("</ul>")
    return "\n".join(out)


_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;"
    "color:#222}table{border-collapse:collapse;margin:1em 0;font-size:0.9em}"
    "th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}"
    "th:first-child,td:first-child{text-align:left}code{background:#f3f3f3;padding:0 3px}"
    "img{max-width:100%;margin:1em 0}"
)


def write_html(run: dict[str, Any], md: str, plots: list[Path]) -> Path:
    """Write ``report.html``: the summary and every plot embedded (one self-contained file).

    Parameters
    ----------
    run : dict
        A run as returned by :func:`load_run`.
    md : str
        The summary markdown.
    plots : list of Path
        PNG files, embedded as base64 data URIs.

    Returns
    -------
    Path
        ``<out>/report.html``.
    """
    out: Path = run["out"]
    body = [markdown_to_html(md), "<h2>Plots</h2>"]
    for p in plots:
        data = base64.b64encode(p.read_bytes()).decode()
        body.append(
            f'<figure><img alt="{html.escape(p.stem)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(p.name)}</figcaption></figure>"
        )
    title = html.escape(run["suite"].name)
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
        f"<style>{_CSS}</style></head><body>{''.join(body)}</body></html>"
    )
    path = out / "report.html"
    atomic_write_bytes(path, page.encode())
    return path


def write_report(out: str | Path, *, quiet: bool = False) -> dict[str, Any]:
    """Recompute the summary of a run folder and write plots and ``report.html``.

    Parameters
    ----------
    out : str or Path
        The run folder.
    quiet : bool, default False
        Currently unused.

    Returns
    -------
    dict
        ``markdown`` (the summary text), ``plots`` (paths), ``html`` (path of
        ``report.html``) and ``summary`` (the content of ``summary.json``).
    """
    out = Path(out)
    summary = write_summary(out)
    run = load_run(out)
    md = (out / "summary.md").read_text()
    plots = make_plots(run)
    page = write_html(run, md, plots)
    return {"markdown": md, "plots": plots, "html": page, "summary": summary}
