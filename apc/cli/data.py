"""``apc data``: synthesise, convert and describe corpora."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from apc.cli._choices import Format, Preset
from apc.cli._common import check_writable_output, console, dict_table
from apc.errors import ApcInputError

app = typer.Typer(no_args_is_help=True, help="Create, convert and describe playlist corpora.")

OverwriteOpt = Annotated[
    bool,
    typer.Option(help="Replace OUT when it holds an apc corpus (never a folder of other files)."),
]


@app.command()
def synth(
    out: Annotated[Path, typer.Argument(help="Output corpus directory.")],
    preset: Annotated[Preset, typer.Option(help="Synthetic preset.")] = "small",
    seed: Annotated[int, typer.Option(min=0, help="Random seed.")] = 0,
    audio: Annotated[
        bool, typer.Option(help="Also write a WAV clip per track (content models).")
    ] = False,
    audio_seconds: Annotated[float, typer.Option(help="Clip length in seconds (> 0).")] = 6.0,
    overwrite: OverwriteOpt = False,
) -> None:
    """Generate the embedded synthetic corpus and save it to OUT."""
    from apc.workflows import synth_corpus

    if not audio_seconds > 0:
        raise ApcInputError(f"must be > 0, got {audio_seconds}", field="--audio-seconds")
    check_writable_output(out, "dir")

    pl = synth_corpus(out, preset=preset, seed=seed, audio=audio, audio_seconds=audio_seconds,
                      overwrite=overwrite)
    console.print(f"wrote {pl!r} to {out}")


@app.command()
def convert(
    input: Annotated[Path, typer.Argument(help="Native dataset file or directory.")],
    out: Annotated[Path, typer.Argument(help="Output corpus directory.")],
    format: Annotated[
        Format, typer.Option("--format", "-f", help="The native format (csv = long format).")
    ],
    option: Annotated[
        list[str] | None,
        typer.Option("--option", metavar="KEY=VALUE", help="Adapter option (repeatable)."),
    ] = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Convert a native dataset (MPD, AotM-2011, 8tracks, CSV...) into an apc corpus."""
    from apc.datasets import convert as convert_dataset
    from apc.models.registry import parse_params

    check_writable_output(out, "dir", inputs=[input])
    pl = convert_dataset(input, out, format, overwrite=overwrite, **parse_params(option))
    console.print(f"wrote {pl!r} to {out}")
    report = pl.info.get("report")
    if report:
        console.print(dict_table(report, title="filled in / dropped"))


@app.command()
def stats(
    data: Annotated[str, typer.Argument(help="Corpus directory, synth:<preset>, or native file.")],
) -> None:
    """Print corpus statistics (counts, lengths, popularity skew, artist coherence)."""
    from apc.workflows import corpus_stats

    console.print(dict_table(corpus_stats(data), title=str(data)))
