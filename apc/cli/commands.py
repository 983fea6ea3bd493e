"""Top-level commands: models, fit, recommend, evaluate, demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from apc.cli._choices import Preset, Protocol
from apc.cli._common import (
    check_writable_output,
    console,
    dict_table,
    err_console,
    frame_table,
)

ParamOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--param",
        "-p",
        metavar="[MODEL.]KEY=VALUE",
        help="Model hyper-parameter (repeatable): key=value for every model that has it, "
        "model.key=value for one of several models (`apc models NAME` lists them).",
    ),
]
ParamsFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--params-file",
        metavar="FILE",
        help="TOML file of hyper-parameters (top-level keys; a table named after a model "
        "for that one).",
    ),
]
AccelOpt = Annotated[
    str | None,
    typer.Option(
        metavar="cpu|gpu|auto", help="Lightning accelerator for neural models (cpu, gpu, auto)."
    ),
]
ModelOpt = Annotated[
    str,
    typer.Option(
        "--model",
        "-m",
        metavar="NAME|MODULE:CLASS",
        help="Registry name (`apc models`), or module:Class (found in the installed "
        "packages and the current folder).",
    ),
]


def _parse_devices(value: str | None) -> int | str | list[int] | None:
    """``--devices``: a count (``2``, ``-1`` = all), ``auto``, or device ids ``0,1``."""
    if value is None or value == "auto":
        return value
    try:
        parts = [int(x) for x in value.split(",")]
    except ValueError:
        raise typer.BadParameter(
            f"expected a count (1, 2, -1 for all), 'auto' or device ids (0,1), got {value!r}"
        ) from None
    if "," in value:
        if min(parts) < 0:
            raise typer.BadParameter(f"device ids must be >= 0, got {value!r}")
        return parts
    if parts[0] == 0 or parts[0] < -1:
        raise typer.BadParameter(f"expected a count >= 1 (or -1 for all), got {value!r}")
    return parts[0]


DevicesOpt = Annotated[
    str | None,
    typer.Option(callback=_parse_devices, metavar="N|auto|IDS",
                 help="Lightning devices for neural models (1, 2, -1 = all, auto, or ids 0,1)."),
]


def models(
    name: Annotated[
        str | None,
        typer.Argument(
            metavar="[NAME]", help="A model name or pkg.module:Class: list its hyper-parameters."
        ),
    ] = None,
) -> None:
    """List the models that can be used by name, or one model's hyper-parameters."""
    from rich.table import Table

    from apc.models.registry import available_models

    if name is not None:
        from apc.models.params import model_specs
        from apc.models.registry import alias_params, get_model_class

        cls = get_model_class(name)
        summary = {s.name: s.summary for s in available_models()}.get(name)
        doc = (cls.__doc__ or "").strip().splitlines()
        preset = alias_params(name)
        table = Table(
            title=f"{name}: {summary or (doc[0] if doc else cls.__name__)}",
            caption="-p name=value sets one" + (f"; preset of {name}: {preset}" if preset else ""),
            header_style="bold",
        )
        for col in ("parameter", "type", "default", "meaning"):
            table.add_column(col, style="bold cyan" if col == "parameter" else None)
        for spec in model_specs(cls):
            default = preset.get(spec.name, spec.default)
            table.add_row(spec.name, spec.describe(), repr(default), spec.doc.split(". ")[0])
        console.print(table)
        return
    table = Table(title="apc models", header_style="bold")
    table.add_column("name", style="bold cyan")
    table.add_column("summary")
    table.add_column("source")
    for spec in available_models():
        table.add_row(spec.name, spec.summary, spec.source)
    console.print(table)


def fit(
    data: Annotated[
        str, typer.Argument(help="Training corpus (dir, synth:<preset>, native file).")
    ],
    model: ModelOpt,
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to save the fitted model.")],
    param: ParamOpt = None,
    params_file: ParamsFileOpt = None,
    accelerator: AccelOpt = None,
    devices: DevicesOpt = None,
) -> None:
    """Fit a model on a whole corpus and save it."""
    from apc.cli._params import params_per_model
    from apc.workflows import fit_model

    check_writable_output(out, "file", inputs=[data, params_file])
    m = fit_model(
        data, model, out, params_per_model([model], param, params_file)[0][1],
        accelerator=accelerator, devices=devices,
    )
    console.print(
        f"fitted {getattr(m, 'identifier', model)} in "
        f"{getattr(m, 'fit_time_', float('nan')):.2f}s -> {out}"
    )


def recommend(
    model_path: Annotated[Path, typer.Argument(help="A model saved by `apc fit`.")],
    train: Annotated[
        str, typer.Option("--train", help="The corpus the model was fitted on (maps track ids).")
    ],
    seeds: Annotated[
        Path,
        typer.Option(
            "--seeds",
            help="challenge_set.json, or a text file: one playlist of track ids per line.",
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="CSV to write: query, rank, track_id, score.")
    ],
    k: Annotated[int, typer.Option("--k", "-k", min=1, help="List length.")] = 10,
    strict: Annotated[
        bool, typer.Option("--strict", help="Refuse seed tracks unknown to the training corpus.")
    ] = False,
) -> None:
    """Recommend continuations for seed playlists with a saved model."""
    from apc.workflows import recommend_to_csv

    check_writable_output(out, "file", inputs=[model_path, train, seeds])

    run = recommend_to_csv(model_path, train, seeds, out, k=k, strict=strict)
    err_console.print(f"apc: seeds: {run.seeds.line()}", markup=False, highlight=False,
                      soft_wrap=True)
    console.print(f"wrote {len(run.frame):,} recommendations to {out}")


def evaluate(
    data: Annotated[str, typer.Argument(help="Corpus (dir, synth:<preset>, native file).")],
    model: Annotated[
        list[str],
        typer.Option(
            "--model",
            "-m",
            metavar="NAME|MODULE:CLASS",
            help="Registry name (`apc models`) or module:Class (repeatable).",
        ),
    ],
    protocol: Annotated[Protocol, typer.Option(help="The split protocol.")] = "continuation",
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option", metavar="KEY=VALUE", help="Protocol option key=value (repeatable)."
        ),
    ] = None,
    param: ParamOpt = None,
    params_file: ParamsFileOpt = None,
    k: Annotated[
        str, typer.Option("--k", "-k", metavar="K[,K...]", help="Cut-offs, comma-separated.")
    ] = "10,100,500",
    metrics: Annotated[
        str | None,
        typer.Option(
            metavar="NAME[,NAME...]", help="Metric names, comma-separated (default: per protocol)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the split.")] = 0,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write per-query results (parquet, long form)."),
    ] = None,
    accelerator: AccelOpt = None,
    devices: DevicesOpt = None,
) -> None:
    """Split a corpus with a protocol, fit and evaluate models, print a metrics table."""
    from apc.cli._params import params_per_model
    from apc.models.registry import parse_params
    from apc.workflows import evaluate_models, parse_ks

    if out is not None:
        check_writable_output(out, "file", inputs=[data, params_file])
    run = evaluate_models(
        data, params_per_model(model, param, params_file), protocol=protocol,
        protocol_options=parse_params(option), ks=parse_ks(k),
        metrics=None if metrics is None else [x.strip() for x in metrics.split(",") if x.strip()],
        seed=seed, out=out, accelerator=accelerator, devices=devices,
        on_model=lambda name: err_console.print(f"[dim]fitting and evaluating {name}…[/dim]"),
    )
    console.print(
        dict_table(_short_report(run.split_report), title=f"{protocol} split (seed {seed})")
    )
    _print_notes(run.split_report)
    console.print(frame_table(run.summary.T, title=f"{data} — {protocol}", index_name="metric"))
    if out is not None:
        console.print(f"per-query results -> {out}")


def demo(
    preset: Annotated[Preset, typer.Option(help="Synthetic preset.")] = "small",
    seed: Annotated[int, typer.Option(min=0, help="Seed.")] = 0,
) -> None:
    """Run the main job on the embedded synthetic corpus: generate, split, evaluate, tabulate."""
    from apc.workflows import demo as run_demo

    console.print(
        f"[bold]apc demo[/bold]: synthetic corpus '{preset}' (seed {seed}), Continuation protocol"
    )
    run = run_demo(
        preset=preset,
        seed=seed,
        on_model=lambda name: err_console.print(f"[dim]fitting and evaluating {name}…[/dim]"),
    )
    console.print(dict_table(_short_report(run.split_report), title="split"))
    _print_notes(run.split_report)
    console.print(
        frame_table(run.summary.T, title=f"synth:{preset} — continuation", index_name="metric")
    )


def _print_notes(report: dict) -> None:
    # what the split could not do (no titles, queries the title fallback answers, ...)
    for note in report.get("notes", []):
        console.print(f"[yellow]note:[/yellow] {note}", highlight=False)


def _short_report(report: dict) -> dict:
    counts = report.get("counts", report)
    return {k: v for k, v in counts.items() if isinstance(v, (int, float))}


def register(app: typer.Typer) -> None:
    """Attach the top-level commands to the root app.

    Parameters
    ----------
    app : typer.Typer
        The root ``apc`` app.
    """
    app.command("models")(models)
    app.command("fit")(fit)
    app.command("recommend")(recommend)
    app.command("evaluate")(evaluate)
    app.command("demo")(demo)
