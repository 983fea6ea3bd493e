r"""The summary table of a benchmark run as LaTeX, Markdown, CSV and terminal tables.

Each form holds, per dataset, one row per model and one column per metric label: the
mean over seeds with its bootstrap interval, the best model in bold, † where a model is
not significantly different from the best and ▲ / ▼ where it is significantly better /
worse than the baseline (paired tests, corrected within each (dataset, metric) family;
see :mod:`apc.bench.tables`). The caption (LaTeX) or the legend line (Markdown) says so.

* :func:`latex_tables` — booktabs ``table`` environments (needs ``\usepackage{booktabs}``
  and ``amssymb`` for ▲/▼: ``$^{\blacktriangle}$``);
* :func:`markdown_table` — pipe tables with a legend;
* :func:`csv_table` — one tidy row per (dataset, model, label) with the interval,
  p-values and markers as columns;
* :func:`terminal_tables` — rich tables for the terminal whose headers are never cut:
  when the table is wider than the terminal, metric headers become ``M1, M2, …`` with
  a legend, and values wrap rather than being truncated.
"""

from __future__ import annotations

import io
import math
from typing import Any

import pandas as pd

from apc.bench import stats
from apc.bench.render import _fmt, cell_markers, dataset_blocks, markdown_tables
from apc.bench.suite import Suite
from apc.bench.tables import ALPHA

#: The ``--format`` choices of ``apc bench report`` besides the terminal view.
FORMATS = ("latex", "markdown", "csv")
#: Files a report writes beside ``summary.md``, one per format.
FILES = {"latex": "summary_table.tex", "markdown": "summary_table.md", "csv": "summary_table.csv"}


def legend(suite: Suite) -> str:
    """One sentence explaining the intervals and markers (caption of every table form)."""
    base = f"the baseline `{suite.baseline}`" if suite.baseline else "the baseline"
    return (
        f"Mean over seeds [{suite.confidence:.0%} bootstrap interval, {suite.n_boot} resamples]. "
        f"Bold: best; †: not significantly different from the best; ▲ / ▼: significantly "
        f"better / worse than {base} ({stats.TESTS[suite.test]}, "
        f"{stats.CORRECTIONS[suite.correction]} correction, alpha = {ALPHA})."
    )


# ---------------------------------------------------------------------- latex
_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
        "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}"}


def latex_escape(text: str) -> str:
    r"""Escape LaTeX's special characters in plain text.

    Examples
    --------
    >>> latex_escape("recall@10 & 50% of item_knn")
    'recall@10 \\& 50\\% of item\\_knn'
    """
    return "".join(_TEX.get(ch, ch) for ch in str(text))


def _tex_cell(row: pd.Series | None, baseline: str | None) -> str:
    if row is None:
        return "--"
    best, tied, mark = cell_markers(row, baseline)
    mean = _fmt(row["mean"])
    text = rf"\textbf{{{mean}}}" if best else mean
    sup = ("\\dagger" if tied else "") + {"▲": "\\blacktriangle", "▼": "\\blacktriangledown"}.get(
        mark, ""
    )
    if sup:
        text += f"$^{{{sup}}}$"
    if not math.isnan(row["low"]):
        text += rf" {{\scriptsize [{_fmt(row['low'])}, {_fmt(row['high'])}]}}"
    return text


def latex_tables(table: pd.DataFrame, suite: Suite) -> str:
    r"""Render one booktabs ``table`` per dataset: models x metric labels.

    Parameters
    ----------
    table : pd.DataFrame
        Output of :func:`apc.bench.tables.summary_table`.
    suite : Suite
        Gives the datasets, model and label order, the baseline and the statistics.

    Returns
    -------
    str
        LaTeX source (``booktabs``; ``amssymb`` for ▲/▼), a caption explaining the
        markers and a ``\label{tab:<suite>-<dataset>}`` per table.
    """
    base = latex_escape(suite.baseline) if suite.baseline else "the baseline"
    caption = (
        rf"Mean over seeds [{suite.confidence * 100:.0f}\% bootstrap interval, "
        rf"{suite.n_boot} resamples]. \textbf{{Bold}}: best; $^\dagger$: not significantly "
        rf"different from the best; $^{{\blacktriangle}}$ / $^{{\blacktriangledown}}$: "
        rf"significantly better / worse than {base} "
        rf"({latex_escape(stats.TESTS[suite.test])}, "
        rf"{latex_escape(stats.CORRECTIONS[suite.correction])} correction, "
        rf"$\alpha = {ALPHA}$)."
    )
    out = []
    for dataset, labels, models, rows in dataset_blocks(table, suite):
        lines = [
            r"\begin{table}[t]",
            r"\centering",
            rf"\caption{{{latex_escape(suite.name)} on {latex_escape(dataset)}. {caption}}}",
            rf"\label{{tab:{_tex_key(suite.name)}-{_tex_key(dataset)}}}",
            r"\begin{tabular}{l" + "r" * len(labels) + "}",
            r"\toprule",
            "Model & " + " & ".join(latex_escape(lab) for lab in labels) + r" \\",
            r"\midrule",
        ]
        for m in models:
            cells = [_tex_cell(rows.get((m, lab)), suite.baseline) for lab in labels]
            lines.append(latex_escape(m) + " & " + " & ".join(cells) + r" \\")
        lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}", ""]
        out.append("\n".join(lines))
    return "\n".join(out) if out else "% no successful cells\n"


def _tex_key(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in str(text)).strip("-").lower()


# ---------------------------------------------------------------------- markdown / csv
def markdown_table(table: pd.DataFrame, cells: list[dict[str, Any]], suite: Suite) -> str:
    """Render the summary tables as Markdown (as in ``summary.md``) with a legend line.

    Parameters
    ----------
    table : pd.DataFrame
        Output of :func:`apc.bench.tables.summary_table`.
    cells : list of dict
        The run's cell records (fit and recommend costs).
    suite : Suite
        Gives the order, baseline and statistics.

    Returns
    -------
    str
    """
    return markdown_tables(table, cells, suite) + "\n" + legend(suite) + "\n"


def csv_table(table: pd.DataFrame, suite: Suite) -> str:
    """Render the summary as CSV: one row per (dataset, model, label).

    Parameters
    ----------
    table : pd.DataFrame
        Output of :func:`apc.bench.tables.summary_table`.
    suite : Suite
        Gives the order and baseline.

    Returns
    -------
    str
        Columns ``dataset, model, label, metric, k, mean, low, high, n, best,
        p_best_adj, p_base_adj, tied_with_best, vs_baseline`` (``vs_baseline`` is
        ``better``, ``worse`` or empty).
    """
    records = []
    for dataset, labels, models, rows in dataset_blocks(table, suite):
        for m in models:
            for lab in labels:
                r = rows.get((m, lab))
                if r is None:
                    continue
                best, tied, mark = cell_markers(r, suite.baseline)
                records.append({
                    "dataset": dataset, "model": m, "label": lab, "metric": r["metric"],
                    "k": r["k"], "mean": r["mean"], "low": r["low"], "high": r["high"],
                    "n": r["n"], "best": best, "p_best_adj": r["p_best_adj"],
                    "p_base_adj": r["p_base_adj"], "tied_with_best": tied,
                    "vs_baseline": {"▲": "better", "▼": "worse"}.get(mark, ""),
                })
    buf = io.StringIO()
    cols = ["dataset", "model", "label", "metric", "k", "mean", "low", "high", "n", "best",
            "p_best_adj", "p_base_adj", "tied_with_best", "vs_baseline"]
    pd.DataFrame(records, columns=cols).to_csv(buf, index=False, float_format="%.6g")
    return buf.getvalue()


def render_table(fmt: str, table: pd.DataFrame, cells: list[dict[str, Any]], suite: Suite) -> str:
    """Render the summary table in one of :data:`FORMATS`.

    Raises
    ------
    ValueError
        For a format not in :data:`FORMATS`.
    """
    if fmt == "latex":
        return latex_tables(table, suite)
    if fmt == "markdown":
        return markdown_table(table, cells, suite)
    if fmt == "csv":
        return csv_table(table, suite)
    raise ValueError(f"unknown table format {fmt!r}; choose one of {', '.join(FORMATS)}")


# ---------------------------------------------------------------------- terminal
def terminal_tables(table: pd.DataFrame, suite: Suite, width: int) -> list[Any]:
    """Rich tables of the summary for a terminal ``width`` columns wide, headers never cut.

    Each cell shows the mean with its markers on the first line and the interval on the
    second. When the table would not fit, the metric headers are abbreviated ``M1``,
    ``M2``, … and a legend under the table names them; columns fold (wrap) instead of
    ending in an ellipsis.

    Parameters
    ----------
    table : pd.DataFrame
        Output of :func:`apc.bench.tables.summary_table`.
    suite : Suite
        Gives the order, baseline and statistics.
    width : int
        Terminal width in characters.

    Returns
    -------
    list
        Rich renderables (a table and, if abbreviated, its legend per dataset; then the
        marker legend).
    """
    from rich.table import Table
    from rich.text import Text

    out: list[Any] = []
    for dataset, labels, models, rows in dataset_blocks(table, suite):
        texts = {}
        for m in models:
            for lab in labels:
                r = rows.get((m, lab))
                if r is None:
                    texts[m, lab] = "—"
                    continue
                best, tied, mark = cell_markers(r, suite.baseline)
                head = _fmt(r["mean"]) + (" †" if tied else "") + (f" {mark}" if mark else "")
                texts[m, lab] = (head, best, "" if math.isnan(r["low"])
                                 else f"[{_fmt(r['low'])}, {_fmt(r['high'])}]")
        cell_w = max([len(v[2]) if isinstance(v, tuple) else 1 for v in texts.values()] + [8])
        model_w = max([len(m) for m in models] + [5])
        natural = model_w + sum(max(len(lab), cell_w) + 3 for lab in labels) + 4
        short = natural > width
        heads = [f"M{i + 1}" if short else lab for i, lab in enumerate(labels)]
        t = Table(title=dataset, title_justify="left", show_lines=False)
        t.add_column("model", overflow="fold", no_wrap=False)
        for h in heads:
            t.add_column(h, justify="right", overflow="fold", min_width=len(h))
        for m in models:
            row = []
            for lab in labels:
                v = texts[m, lab]
                if isinstance(v, str):
                    row.append(v)
                    continue
                head, best, ci = v
                cell = Text(head, style="bold" if best else "")
                if ci:
                    cell.append("\n" + ci, style="dim")
                row.append(cell)
            t.add_row(m, *row)
        out.append(t)
        if short:
            out.append(Text("  ".join(f"{h} = {lab}" for h, lab in zip(heads, labels,
                                                                        strict=True))))
    if out:
        out.append(Text(legend(suite).replace("`", ""), style="dim"))
    return out
