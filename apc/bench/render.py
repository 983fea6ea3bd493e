"""Markdown and HTML rendering of a benchmark run's summary.

:func:`render_markdown` writes the text of ``summary.md`` (provenance, one table per
dataset with intervals and significance markers, failed cells); :func:`write_html`
embeds it and the plots in one self-contained ``report.html``.
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

from apc._atomic import atomic_write_bytes
from apc.bench import stats
from apc.bench.suite import Suite, parse_label
from apc.bench.tables import ALPHA, _direction, cost_table
from apc.evaluation.evaluate import POLICIES
from apc.evaluation.metrics import describe as describe_metric


# ---------------------------------------------------------------------- markdown
def _fmt(v: float, digits: int = 4) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    return f"{v:.{digits}f}"


def cell_markers(row: pd.Series, baseline: str | None) -> tuple[bool, bool, str]:
    """Significance markers of one summary row (the table's legend explains them).

    Parameters
    ----------
    row : pd.Series
        A row of :func:`~apc.bench.tables.summary_table` with ``model``, ``metric``,
        ``best``, ``p_best_adj``, ``p_base_adj``, ``mean`` and ``base_mean`` (the
        baseline's mean for the same label).
    baseline : str or None
        The suite's baseline model.

    Returns
    -------
    best : bool
        The best model (ties included): shown in bold.
    tied : bool
        Not significantly different from the best (adjusted p >= ``ALPHA``): †.
    versus_baseline : str
        ``"▲"`` / ``"▼"`` when significantly better / worse than the baseline, else ``""``.
    """
    best = bool(row["best"])
    tied = not best and not math.isnan(row["p_best_adj"]) and row["p_best_adj"] >= ALPHA
    mark = ""
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
        mark = "▲" if better else "▼"
    return best, tied, mark


def _cell_text(row: pd.Series, baseline: str | None) -> str:
    text = _fmt(row["mean"])
    if not math.isnan(row["low"]):
        text += f" [{_fmt(row['low'])}, {_fmt(row['high'])}]"
    best, tied, mark = cell_markers(row, baseline)
    if best:
        text = f"**{text}**"
    elif tied:
        text += " †"
    if mark:
        text += f" {mark}"
    return text


def _bytes(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    return f"{float(v) / 2**20:.1f}"


def dataset_blocks(table: pd.DataFrame, suite: Suite):
    """Yield ``(dataset, labels, models, rows)`` per dataset of a summary table.

    ``labels`` are the suite's metrics present in the table, ``models`` the suite's
    models present for that dataset (suite order), and ``rows[(model, label)]`` the
    summary row (a Series) with ``base_mean``, the baseline's mean of that label, added.
    The one walk over a summary that every table form (markdown, LaTeX, CSV) uses.
    """
    if table is None or table.empty:
        return
    labels = [lab for lab in suite.metrics if lab in set(table["label"])]
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
        models = [m.name for m in suite.models if m.name in set(t["model"])]
        rows = {(r["model"], r["label"]): r for _, r in t.iterrows()}
        yield dataset, labels, models, rows


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
    for dataset, labels, models, rows in dataset_blocks(table, suite):
        head = ["model", *labels, "fit s", "rec s", "peak MB"]
        lines = [
            f"### {dataset}",
            "",
            "| " + " | ".join(head) + " |",
            "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|",
        ]
        for m in models:
            cells_text = [
                _cell_text(rows[(m, lab)], suite.baseline) if (m, lab) in rows else "—"
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
        lines.extend(f"    - note: {note}" for note in report.get("notes") or [])
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
        "- **Metric variants**: " + "; ".join(describe_metric(n) for n in names),
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
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1200px;"
    "margin:2em auto;padding:0 1em;color:#222;line-height:1.45}"
    "h1,h2,h3{font-weight:600;line-height:1.2}h2{border-bottom:1px solid #ddd;"
    "padding-bottom:.2em;margin-top:1.6em}li{margin:.15em 0}"
    "table{border-collapse:collapse;margin:1em 0;font-size:.88em;"
    "font-variant-numeric:tabular-nums}"
    "thead th{border-top:2px solid #222;border-bottom:1px solid #222;cursor:pointer;"
    "user-select:none;white-space:nowrap;background:#fafafa}"
    "thead th:hover{background:#eef}th,td{padding:4px 10px;text-align:right}"
    "tbody tr:last-child td{border-bottom:2px solid #222}tbody tr:nth-child(even){"
    "background:#f7f7f9}th:first-child,td:first-child{text-align:left}"
    "th[aria-sort=ascending]::after{content:' \\25B2';font-size:.7em}"
    "th[aria-sort=descending]::after{content:' \\25BC';font-size:.7em}"
    "code{background:#f3f3f3;padding:0 3px;border-radius:3px}"
    "figure{margin:1.5em 0}img{max-width:100%}figcaption{color:#555;font-size:.85em}"
    ".note{color:#555;font-size:.85em}"
)

#: Click a column header to sort the table by it (numbers by value, text by name).
_JS = """document.querySelectorAll('table').forEach(function(t){
var hs=t.tHead?t.tHead.rows[0].cells:[];
Array.prototype.forEach.call(hs,function(h,i){h.title='click to sort';
h.addEventListener('click',function(){
var b=t.tBodies[0],rows=Array.prototype.slice.call(b.rows);
var asc=h.getAttribute('aria-sort')!=='ascending';
Array.prototype.forEach.call(hs,function(o){o.removeAttribute('aria-sort');});
h.setAttribute('aria-sort',asc?'ascending':'descending');
function key(r){var s=r.cells[i]?r.cells[i].textContent.trim():'';
var v=parseFloat(s);return isNaN(v)?s.toLowerCase():v;}
rows.sort(function(x,y){var a=key(x),c=key(y);
if(typeof a!==typeof c){return typeof a==='number'?-1:1;}
return (a<c?-1:a>c?1:0)*(asc?1:-1);});
rows.forEach(function(r){b.appendChild(r);});});});});
"""


def write_html(run: dict[str, Any], md: str, plots: list[Path]) -> Path:
    """Write ``report.html``: the summary and every plot embedded (one self-contained file).

    The page has an inline stylesheet and a few lines of inline JavaScript that sort a
    table by the clicked column; it loads nothing from the network.

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
    body = [
        markdown_to_html(md),
        "<p class='note'>Click a column header to sort a table.</p>",
        "<h2>Plots</h2>",
    ]
    for p in plots:
        data = base64.b64encode(p.read_bytes()).decode()
        formats = ", ".join(html.escape(p.with_suffix(s).name) for s in (".png", ".svg", ".pdf")
                            if p.with_suffix(s).is_file())
        body.append(
            f'<figure><img alt="{html.escape(p.stem)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{formats}</figcaption></figure>"
        )
    title = html.escape(run["suite"].name)
    page = (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{title}</title><style>{_CSS}</style></head><body>{''.join(body)}"
        f"<script>{_JS}</script></body></html>"
    )
    path = out / "report.html"
    atomic_write_bytes(path, page.encode())
    return path


