"""``apc mpd``: RecSys Challenge 2018 submissions — build, validate, score, offline challenges."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    no_args_is_help=True, help="Million Playlist Dataset challenge: submit, validate, score."
)

ParamOpt = Annotated[
    list[str] | None,
    typer.Option("--param", "-p", metavar="KEY=VALUE", help="Model hyper-parameter (repeatable)."),
]


@app.command()
def submit(
    model: Annotated[
        str,
        typer.Option(
            "--model",
            "-m",
            metavar="NAME|MODULE:CLASS",
            help="Registry name (`apc models`), entry point or module:Class.",
        ),
    ],
    train: Annotated[
        Path, typer.Option("--train", help="MPD slice folder (or a saved corpus) to fit on.")
    ],
    challenge: Annotated[Path, typer.Option("--challenge", help="challenge_set.json")],
    team: Annotated[str, typer.Option("--team", help="Team name (no commas).")],
    email: Annotated[str, typer.Option("--email", help="Contact email.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Submission CSV to write.")] = Path(
        "submission.csv"
    ),
    param: ParamOpt = None,
    params_file: Annotated[
        Path | None, typer.Option("--params-file", help="TOML file of hyper-parameters.")
    ] = None,
) -> None:
    """Fit MODEL on TRAIN and write a valid 500-track submission for every challenge playlist."""
    from apc.cli._common import check_writable_output, console, dict_table
    from apc.cli._params import params_per_model
    from apc.mpd.submission import make_submission

    check_writable_output(out, "file", inputs=[train, challenge, params_file])
    res = make_submission(
        model,
        train,
        challenge,
        out,
        team=team,
        email=email,
        params=params_per_model([model], param, params_file)[0][1],
    )
    console.print(dict_table(res.report, title=f"wrote {out}"))


@app.command()
def validate(
    submission: Annotated[Path, typer.Argument(help="Submission CSV.")],
    challenge: Annotated[Path, typer.Option("--challenge", help="challenge_set.json")],
) -> None:
    """Check a submission like the organisers: team line, every pid, 500 new distinct tracks."""
    from apc.mpd.submission import check_submission

    sub, problems = check_submission(submission, challenge)
    if problems:
        for p in problems[:50]:
            typer.echo(f"{submission}: {p}", err=True)
        if len(problems) > 50:
            typer.echo(f"... and {len(problems) - 50} more", err=True)
        typer.echo(f"invalid: {len(problems)} problem(s)", err=True)
        raise typer.Exit(1)
    typer.echo(f"{submission}: valid ({len(sub.rows):,} playlists, team {sub.team!r})")


@app.command()
def score(
    submission: Annotated[Path, typer.Argument(help="Submission CSV.")],
    truth: Annotated[
        Path, typer.Option("--truth", help="heldout.json (see `apc mpd make-challenge`).")
    ],
    train: Annotated[
        Path | None,
        typer.Option("--train", help="Training slices: artists for rprec_mpd's artist credit."),
    ] = None,
    challenge: Annotated[
        Path | None,
        typer.Option("--challenge", help="challenge_set.json: also reject seed tracks."),
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the scores as JSON.")
    ] = None,
    all_readings: Annotated[
        bool,
        typer.Option(
            "--all-readings",
            help="Also compute the other published readings (paper, strict, winners', "
            "rules page) beside the organisers' ones.",
        ),
    ] = False,
) -> None:
    """Score a submission with the challenge's metrics (R-precision, NDCG, clicks) per category.

    The default columns are the readings of the organisers' code; the report ends with
    the definition of each column.
    """
    from rich.markdown import Markdown

    from apc._atomic import atomic_write_bytes, check_not_input
    from apc.cli._common import check_writable_output, console
    from apc.mpd.score import ALL_READINGS, OFFICIAL, overall_dict, score_submission

    if json_out is not None:
        check_writable_output(json_out, "file", inputs=[submission, truth, train, challenge])
        check_not_input(json_out, submission, truth, challenge)
    res = score_submission(submission, truth, train=train, challenge=challenge,
                           metrics=ALL_READINGS if all_readings else OFFICIAL)
    console.print(Markdown(res.to_markdown()))
    if json_out is not None:
        atomic_write_bytes(json_out, json.dumps(overall_dict(res), indent=2).encode())


@app.command("make-challenge")
def make_challenge(
    source: Annotated[
        str, typer.Argument(help="MPD slice folder (or a saved corpus / synth:<preset>).")
    ],
    out: Annotated[
        Path, typer.Argument(help="Folder for train/, challenge_set.json and heldout.json.")
    ],
    per_category: Annotated[
        int, typer.Option(min=1, help="Playlists per category (official: 1000).")
    ] = 1000,
    min_holdouts: Annotated[
        int, typer.Option(min=1, help="Least held-out tracks per playlist.")
    ] = 5,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the draw.")] = 0,
    overwrite: Annotated[
        bool,
        typer.Option(help="Replace OUT when it holds an apc offline challenge (nothing else)."),
    ] = False,
) -> None:
    """Build an offline challenge (train slices, challenge set, answers) to score locally."""
    from apc.cli._common import check_writable_output, console, dict_table
    from apc.mpd.offline import make_offline_challenge

    check_writable_output(out, "dir", inputs=[source])
    res = make_offline_challenge(
        source, out, n_per_category=per_category, min_holdouts=min_holdouts, seed=seed,
        overwrite=overwrite,
    )
    console.print(dict_table(res.counts, title="playlists per category"))
    console.print(dict_table(res.report, title=f"wrote {out}"))
