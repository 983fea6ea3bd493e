"""Summaries and reports of a benchmark run folder.

:func:`write_summary` turns ``results.parquet`` into ``summary.json`` and ``summary.md``
(statistics from :mod:`apc.bench.tables`, text from :mod:`apc.bench.render`);
:func:`write_report` also draws the plots (:mod:`apc.bench.plots`) and writes
``report.html`` with the table and plots embedded.

Every summary states the protocol, its options and split hashes, the metric
variants, the evaluation policies, the seeds, package versions and the git commit.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from apc._atomic import atomic_write_bytes
from apc.bench.export import FILES, render_table
from apc.bench.plots import make_plots
from apc.bench.render import render_markdown, write_html
from apc.bench.suite import Suite
from apc.bench.tables import cost_table, summary_table
from apc.errors import ApcInputError
from apc.evaluation.evaluate import POLICIES


# ---------------------------------------------------------------------- loading
def read_run_json(path: Path, default: Any = None) -> Any:
    """Read a JSON file of a run folder.

    Parameters
    ----------
    path : Path
        The file.
    default : object, optional
        Returned when the file does not exist.

    Returns
    -------
    object
        The parsed content, or ``default``.

    Raises
    ------
    ApcInputError
        If the file exists but is not valid JSON (truncated or edited by hand).
    """
    if not path.is_file():
        return default
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ApcInputError(
            f"not valid JSON ({e}); the file is truncated or corrupt", file=str(path)
        ) from None


def read_run_parquet(path: Path) -> pd.DataFrame | None:
    """Read a parquet table of a run folder.

    Parameters
    ----------
    path : Path
        The file.

    Returns
    -------
    pd.DataFrame or None
        None when the file does not exist.

    Raises
    ------
    ApcInputError
        If the file exists but cannot be read as parquet.
    """
    if not path.is_file():
        return None
    import pyarrow as pa

    try:
        return pd.read_parquet(path)
    except (pa.ArrowException, OSError, ValueError) as e:
        raise ApcInputError(
            f"cannot read this parquet file ({type(e).__name__}: {e}); it is truncated or "
            "corrupt; `apc bench run --resume` with the same suite rebuilds it from the "
            "committed cells",
            file=str(path),
        ) from None


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
        If the folder has no ``config.json``, or one of its files is truncated or
        corrupt.
    """
    out = Path(out)
    if not out.is_dir():
        raise ApcInputError("no such run folder", file=str(out))
    config = read_run_json(out / "config.json")
    if config is None:
        raise ApcInputError("not a benchmark run folder (no config.json)", file=str(out))
    return {
        "out": out,
        "suite": suite_from_config(config, out / "config.json"),
        "config": config,
        "results": read_run_parquet(out / "results.parquet"),
        "curves": read_run_parquet(out / "curves.parquet"),
        "longtail": read_run_parquet(out / "longtail.parquet"),
        "cells": read_run_json(out / "cells.json", []),
        "splits": read_run_json(out / "splits.json", {}),
        "provenance": read_run_json(out / "provenance.json", {}),
    }


def suite_from_config(config: Any, path: Path) -> Suite:
    """Rebuild the suite stored in a run's ``config.json``.

    Parameters
    ----------
    config : object
        The parsed ``config.json``.
    path : Path
        The file (for messages).

    Returns
    -------
    Suite

    Raises
    ------
    ApcInputError
        If the file does not hold a suite written by the runner.
    """
    try:
        return suite_from_dict_resolved(config["suite"])
    except (KeyError, TypeError) as e:
        raise ApcInputError(
            f"does not hold a benchmark suite (missing or malformed {e})", file=str(path)
        ) from None


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


def write_summary(out: str | Path, suite: Suite | None = None) -> dict[str, Any]:
    """Compute the summary of a run folder; write ``summary.json``, ``summary.md`` and tables.

    The summary table alone is also written as ``summary_table.tex`` (booktabs),
    ``summary_table.md`` and ``summary_table.csv`` (:mod:`apc.bench.export`).

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
    run = load_run(out)
    if suite is not None:
        run["suite"] = suite
    return _summarize(run)[0]


def _summarize(run: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Write ``summary.json`` and ``summary.md`` of a loaded run; return both contents."""
    out: Path = run["out"]
    suite: Suite = run["suite"]
    table = summary_table(run["results"], suite)
    md = render_markdown(run, table)
    from apc.bench.analyses import analyses_markdown

    md += analyses_markdown(run)  # order, length and rank (Vall et al. 2018), when asked for
    summary = {
        "suite": suite.name,
        "config_hash": run["config"].get("config_hash"),
        "protocol": {"name": suite.protocol, "options": suite.protocol_options},
        "splits": run["splits"],
        "metrics": suite.metrics,
        "seeds": suite.seeds,
        "test": suite.test,
        "correction": suite.correction,
        "baseline": suite.baseline,
        "table": json.loads(table.to_json(orient="records")),
        "costs": json.loads(cost_table(run["cells"]).to_json(orient="records")),
        "cells": [{k: v for k, v in c.items() if k != "traceback"} for c in run["cells"]],
        "failed": [c for c in run["cells"] if c.get("status") == "error"],
        "provenance": run["provenance"],
        "policies": POLICIES,
    }
    atomic_write_bytes(out / "summary.json", json.dumps(summary, indent=2, default=str).encode())
    atomic_write_bytes(out / "summary.md", md.encode())
    for fmt, name in FILES.items():  # the table alone, for papers: .tex, .md, .csv
        atomic_write_bytes(out / name, render_table(fmt, table, run["cells"], suite).encode())
    run["table"] = table
    return summary, md


def write_report(out: str | Path, suite: Suite | None = None) -> dict[str, Any]:
    """Compute the summary of a run folder once, then write the plots and ``report.html``.

    Parameters
    ----------
    out : str or Path
        The run folder.
    suite : Suite, optional
        Replaces the suite stored in the run's ``config.json``.

    Returns
    -------
    dict
        ``markdown`` (the summary text), ``plots`` (paths of the PNG files; SVG and PDF
        lie beside them), ``html`` (path of ``report.html``), ``summary`` (the content
        of ``summary.json``), ``table`` (the summary table) and ``suite``.
    """
    run = load_run(out)
    if suite is not None:
        run["suite"] = suite
    summary, md = _summarize(run)
    from apc.bench.analyses import analyses_plots
    from apc.progress import task

    with task("drawing plots (PNG, SVG, PDF)"):
        plots = make_plots(run, run["table"]) + analyses_plots(run)
    with task("writing report.html"):
        page = write_html(run, md, plots)
    return {"markdown": md, "plots": plots, "html": page, "summary": summary,
            "table": run["table"], "suite": run["suite"], "cells": run["cells"]}
