"""``apc reproduce``: check a published (or recorded) result against a fresh measurement."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from apc.cli._choices import Executor


def _recipes() -> str:
    from apc.resources import packaged

    return ", ".join(sorted(packaged("recipe"))) or "none packaged"


def reproduce(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="RECIPE",
            help=f"A recipe (TOML file), or a packaged recipe's name: {_recipes()}.",
        ),
    ],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Run folder (default runs/reproduce/<name>).")
    ] = None,
    cache: Annotated[Path, typer.Option(help="Split and model cache folder.")] = Path(".apc-cache"),
    executor: Annotated[Executor, typer.Option(help="Where the cells run.")] = "local",
    ray_address: Annotated[str | None, typer.Option(help="Ray cluster address.")] = None,
) -> None:
    """Run the suite of a reproduction recipe and print reported vs. measured numbers."""
    from rich.markdown import Markdown

    from apc.cli._common import check_writable_output, console
    from apc.reproduce import reproduce as run_reproduction

    if out is not None:
        check_writable_output(out, "dir", inputs=[file])
    check_writable_output(cache, "dir")
    from apc.resources import find

    res = run_reproduction(
        find(file, "recipe"), out=out, cache=cache, executor=executor, ray_address=ray_address
    )
    console.print(Markdown(res.markdown))
    if not res.ok:
        bad = int((~res.table["reproduced"]).sum())
        typer.echo(
            f"not reproduced: {bad} result(s) outside tolerance, "
            f"{res.n_failed_cells} failed cell(s)",
            err=True,
        )
        raise typer.Exit(1)
    typer.echo(f"reproduced: {len(res.table)} result(s) within tolerance", err=True)
