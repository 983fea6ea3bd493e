"""``apc bench``: run benchmark suites, report and compare their results."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from apc.cli._choices import Executor
from apc.resources import packaged

app = typer.Typer(
    no_args_is_help=True, help="Run benchmark suites (TOML), report and compare runs."
)


class ReportFormat(str, Enum):
    """What ``apc bench report`` prints."""

    text = "text"
    latex = "latex"
    markdown = "markdown"
    csv = "csv"


def _print_markdown(text: str) -> None:
    from rich.markdown import Markdown

    from apc.cli._common import console

    console.print(Markdown(text))


def _print_summary(markdown: str, table, suite) -> None:
    """Print a summary: its prose as markdown, its tables with headers never cut."""
    from rich.markdown import Markdown

    from apc.bench.export import terminal_tables
    from apc.cli._common import console

    head, _, rest = markdown.partition("## Results")
    _, _, failed = rest.partition("## Failed cells")
    console.print(Markdown(head + "## Results"))
    for item in terminal_tables(table, suite, console.width):
        console.print(item)
    if failed:
        console.print(Markdown("## Failed cells" + failed))


def _summary_table(out: Path):
    """Read the summary table stored in ``OUT/summary.json`` (numbers as floats)."""
    import json

    import pandas as pd

    rows = json.loads((out / "summary.json").read_text(encoding="utf-8")).get("table", [])
    t = pd.DataFrame(rows)
    for col in ("mean", "low", "high", "p_best_adj", "p_base_adj"):
        if col in t:
            t[col] = pd.to_numeric(t[col], errors="coerce").astype(float)
    return t


@app.command()
def run(
    suite: Annotated[
        Path,
        typer.Argument(
            metavar="SUITE",
            help="Suite file (TOML), or a packaged suite's name: "
            + ", ".join(sorted(packaged("suite"))),
        ),
    ],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Output folder (default runs/<suite name>).")
    ] = None,
    executor: Annotated[Executor, typer.Option(help="Where the cells run.")] = "local",
    resume: Annotated[
        bool, typer.Option(help="Continue an interrupted run in OUT (committed cells are kept).")
    ] = False,
    overwrite: Annotated[
        bool, typer.Option(help="Replace the benchmark run in OUT (only a run's own files).")
    ] = False,
    cache: Annotated[Path, typer.Option(help="Split and model cache folder.")] = Path(".apc-cache"),
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Neither read nor write the cache.")
    ] = False,
    ray_address: Annotated[
        str | None,
        typer.Option(help="Ray cluster address (default $RAY_ADDRESS, else a local Ray)."),
    ] = None,
    ray_cpus: Annotated[
        int | None, typer.Option(min=1, help="CPUs of a local Ray (default: all).")
    ] = None,
    plots: Annotated[bool, typer.Option(help="Also draw the PNG plots and the HTML page.")] = True,
) -> None:
    """Run every cell of SUITE and write results.parquet, summary.md/json and plots to OUT."""
    from apc.bench.runner import run_suite
    from apc.bench.suite import load_suite
    from apc.cli._common import check_writable_output
    from apc.resources import find

    s = load_suite(find(suite, "suite"))
    out = out or Path("runs") / s.name
    check_writable_output(out, "dir")
    if not no_cache:
        check_writable_output(cache, "dir")
    options = {"num_cpus": ray_cpus} if executor == "ray" and ray_cpus else None
    result = run_suite(
        s,
        out,
        executor=executor,
        resume=resume,
        overwrite=overwrite,
        cache=None if no_cache else cache,
        ray_address=ray_address,
        executor_options=options,
        report=plots,
    )
    _print_summary((out / "summary.md").read_text(), _summary_table(out), s)
    done = f"{result.n_ok} cell(s) run, {result.n_skipped} resumed, {result.n_failed} failed"
    if result.n_failed:
        for f in result.failed:
            typer.echo(f"failed: {f['cell']}: {f['error']}", err=True)
        typer.echo(f"{done}: see {out / 'summary.md'}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{done}; results in {out}", err=True)


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="A run folder written by `apc bench run`.")],
    format: Annotated[
        ReportFormat,
        typer.Option(
            "--format",
            help="What to print: the summary for the terminal (text), or the summary table "
            "alone as booktabs LaTeX, Markdown or CSV, with intervals and significance "
            "markers (all three are also written to RUN_DIR/summary_table.tex/.md/.csv).",
        ),
    ] = ReportFormat.text,
) -> None:
    """Recompute the summary of RUN_DIR, print the table and write plots and report.html.

    A run killed before its final assembly is reported from its committed cells. Plots
    are written as PNG (200 dpi), SVG and PDF under RUN_DIR/plots.
    """
    from apc.bench.export import render_table
    from apc.bench.runner import report_run
    from apc.cli._common import check_writable_output

    check_writable_output(run_dir, "dir")
    res = report_run(run_dir)
    if format is ReportFormat.text:
        _print_summary(res["markdown"], res["table"], res["suite"])
    else:
        typer.echo(render_table(format.value, res["table"], res["cells"], res["suite"]), nl=False)
    typer.echo(
        f"wrote {run_dir / 'summary.md'}, summary_table.tex/.md/.csv, "
        f"{len(res['plots'])} plot(s) (PNG, SVG, PDF) and {res['html']}",
        err=True,
    )


@app.command()
def compare(
    a: Annotated[Path, typer.Argument(help="First run folder.")],
    b: Annotated[Path, typer.Argument(help="Second run folder.")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Also write the comparison as markdown here.")
    ] = None,
) -> None:
    """Compare two runs metric by metric (paired tests where both used the same splits)."""
    from apc._atomic import atomic_write_bytes
    from apc.bench.compare import compare_runs
    from apc.cli._common import check_writable_output

    if out is not None:
        check_writable_output(out, "file", inputs=[a, b])
    res = compare_runs(a, b)
    _print_markdown(res.markdown)
    if out is not None:
        atomic_write_bytes(out, res.markdown.encode())
