"""Compare two benchmark runs: same models and metrics, before and after a change.

For every (dataset, model, metric) present in both runs the comparison lists both
means and their difference. Where both runs evaluated the *same split* (same split
hash for that dataset and seed) the per-query values are paired on (seed, query) and
tested with the suite's paired test, corrected within each (dataset, metric) family;
otherwise the runs are not paired and only the means are compared. Differences in the
configuration and provenance (protocol, options, git commit, package versions) are
listed first, because they are usually the explanation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from apc.bench import stats
from apc.bench.report import load_run
from apc.bench.suite import parse_label
from apc.bench.tables import ALPHA
from apc.evaluation.metrics import is_set_level
from apc.random import derive_seed


@dataclass
class Comparison:
    """The comparison table and its markdown rendering.

    Parameters
    ----------
    table : pd.DataFrame
        One row per (dataset, model, label) present in both runs (see
        :func:`compare_runs`).
    markdown : str
        The table and notes as markdown.
    notes : list of str
        Differences between the runs' configurations and provenance.
    """

    table: pd.DataFrame
    markdown: str
    notes: list[str]


def _split_hashes(run: dict) -> dict[tuple[str, int], str]:
    return {(r["dataset"], int(r["seed"])): r.get("hash", "") for r in run["splits"].values()}


def _config_notes(ra: dict, rb: dict) -> list[str]:
    notes = []
    sa, sb = ra["suite"], rb["suite"]
    if (sa.protocol, sa.protocol_options) != (sb.protocol, sb.protocol_options):
        notes.append(
            f"protocol differs: `{sa.protocol} {sa.protocol_options}` vs "
            f"`{sb.protocol} {sb.protocol_options}`"
        )
    if sa.cutoff != sb.cutoff:
        notes.append(f"cutoff differs: {sa.cutoff} vs {sb.cutoff}")
    pa, pb = ra["provenance"] or {}, rb["provenance"] or {}
    ga, gb = pa.get("git", {}).get("sha"), pb.get("git", {}).get("sha")
    if ga != gb:
        notes.append(f"git commit differs: `{ga}` vs `{gb}`")
    va, vb = pa.get("packages", {}), pb.get("packages", {})
    changed = [
        f"{k} {va.get(k)} → {vb.get(k)}"
        for k in sorted(set(va) | set(vb))
        if va.get(k) != vb.get(k)
    ]
    if changed:
        notes.append("package versions differ: " + ", ".join(changed))
    return notes


def compare_runs(a: str | Path, b: str | Path) -> Comparison:
    """Compare run folder ``a`` (reference) with run folder ``b``.

    Parameters
    ----------
    a : str or Path
        The reference run folder.
    b : str or Path
        The run folder compared with it.

    Returns
    -------
    Comparison
        ``table`` columns: ``dataset, model, label, mean_a, mean_b, diff, paired, p, p_adj``.
    """
    ra, rb = load_run(a), load_run(b)
    notes = _config_notes(ra, rb)
    res_a, res_b = ra["results"], rb["results"]
    ha, hb = _split_hashes(ra), _split_hashes(rb)
    suite = rb["suite"]
    from apc.progress import progress

    rows = []
    pending: list[tuple[int, str, pd.Index, np.ndarray]] = []  # randomisation tests to batch
    if res_a is not None and res_b is not None and not res_a.empty and not res_b.empty:
        keys = ["dataset", "model", "label"]
        ga = dict(tuple(res_a.groupby(keys, sort=False)))
        gb = dict(tuple(res_b.groupby(keys, sort=False)))
        common = [k for k in ga if k in gb]
        for key in progress(common, "comparing means (dataset, model, metric)"):
            dataset, model, label = key
            fa = ga[key].set_index(["seed", "query"])["value"]
            fb = gb[key].set_index(["seed", "query"])["value"]
            mean_a = stats.group_mean(fa.to_numpy(), fa.index.get_level_values("seed").to_numpy())
            mean_b = stats.group_mean(fb.to_numpy(), fb.index.get_level_values("seed").to_numpy())
            seeds = sorted(
                set(fa.index.get_level_values("seed")) & set(fb.index.get_level_values("seed"))
            )
            paired = (
                not is_set_level(parse_label(label)[0])
                and bool(seeds)
                and all(
                    ha.get((dataset, int(s))) == hb.get((dataset, int(s)))
                    and ha.get((dataset, int(s))) not in (None, "", "unknown")
                    for s in seeds
                )
            )
            p = float("nan")
            if paired:
                joined = pd.concat([fa.rename("a"), fb.rename("b")], axis=1, join="inner")
            if paired and suite.test == "randomization":
                diff = (joined["b"] - joined["a"]).to_numpy()
                pending.append((len(rows), dataset, joined.index, diff))
            elif paired:
                p = stats.paired_test(
                    (joined["b"] - joined["a"]).to_numpy(),
                    suite.test,
                    n_perm=suite.n_perm,
                    seed=derive_seed(0, "compare", *key),
                )
            rows.append(
                {
                    "dataset": dataset,
                    "model": model,
                    "label": label,
                    "mean_a": mean_a,
                    "mean_b": mean_b,
                    "diff": mean_b - mean_a,
                    "paired": paired,
                    "p": p,
                }
            )
    _batched_randomization(rows, pending, suite)
    table = pd.DataFrame(
        rows, columns=["dataset", "model", "label", "mean_a", "mean_b", "diff", "paired", "p"]
    )
    table["p_adj"] = np.nan
    for _, idx in table.groupby(["dataset", "label"]).groups.items():
        sub = table.loc[idx, "p"]
        ok = sub.notna()
        if ok.any():
            table.loc[sub[ok].index, "p_adj"] = stats.adjust(sub[ok].to_numpy(), suite.correction)
    return Comparison(table, _markdown(table, notes, a, b, suite), notes)


def _batched_randomization(rows: list[dict], pending: list, suite) -> None:
    """Fill ``p`` of the pending rows: one randomisation call per dataset and row set.

    Comparisons on the same (seed, query) rows share the sign flips (seeded by the
    dataset), as in :func:`apc.bench.tables.summary_table`; each stays an exact
    Monte-Carlo test.
    """
    batches: list[tuple[str, pd.Index, list[tuple[int, np.ndarray]]]] = []
    for i, dataset, index, diff in pending:
        batch = next((b for b in batches if b[0] == dataset and b[1].equals(index)), None)
        if batch is None:
            batch = (dataset, index, [])
            batches.append(batch)
        batch[2].append((i, diff))
    for dataset, _, items in batches:
        p = stats.randomization_tests(
            np.column_stack([d for _, d in items]),
            n_perm=suite.n_perm,
            seed=derive_seed(0, "compare", dataset),
            description=f"{dataset}: paired tests ({len(items)})",
        )
        for (i, _), pv in zip(items, p.tolist(), strict=True):
            rows[i]["p"] = pv


def _markdown(table: pd.DataFrame, notes: list[str], a, b, suite) -> str:
    lines = [f"# Comparison: `{a}` (A) vs `{b}` (B)", ""]
    if notes:
        lines += ["## Differences in setup", ""] + [f"- {n}" for n in notes] + [""]
    lines += [
        f"Test: {stats.TESTS[suite.test]}, on (seed, query) pairs where both runs used the "
        f"same split; {stats.CORRECTIONS[suite.correction]} within each (dataset, metric); "
        f"* = adjusted p < {ALPHA}.",
        "",
    ]
    if table.empty:
        return "\n".join(lines + ["_No (dataset, model, metric) in common._", ""])
    for dataset, t in table.groupby("dataset", sort=False):
        lines += [
            f"## {dataset}",
            "",
            "| model | metric | A | B | B − A | p (adj.) |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for _, r in t.iterrows():
            if r["paired"] and not math.isnan(r["p_adj"]):
                star = " *" if r["p_adj"] < ALPHA else ""
                p = f"{r['p_adj']:.4f}{star}"
            else:
                p = "not paired"
            means = f"{_f(r['mean_a'])} | {_f(r['mean_b'])} | {r['diff']:+.4f}"
            lines.append(f"| {r['model']} | {r['label']} | {means} | {p} |")
        lines.append("")
    return "\n".join(lines)


def _f(v: float) -> str:
    return "—" if v is None or math.isnan(v) else f"{v:.4f}"
