"""The ``apc`` command line: a thin Typer layer over :mod:`apc.workflows` and friends.

One place maps errors: :class:`~apc.errors.ApcInputError` (and missing files) become
one line on stderr and exit status 2. Heavy libraries (torch, lightning, librosa,
gensim) are imported only inside the commands that need them, so ``apc --help`` is fast.
"""

from __future__ import annotations

import sys

import click
import typer
from typer.core import TyperGroup

from apc.errors import ApcInputError


class ApcGroup(TyperGroup):
    """Root command group that turns input errors into one line + exit code 2."""

    def invoke(self, ctx: click.Context):
        """Invoke the command; print input errors as one line and exit with status 2.

        Parameters
        ----------
        ctx : click.Context
            The click context.

        Returns
        -------
        Any
            What the invoked command returns.

        Raises
        ------
        typer.Exit
            With code 2 on :class:`~apc.errors.ApcInputError` or
            :class:`FileNotFoundError`.
        """
        try:
            return super().invoke(ctx)
        except ApcInputError as e:
            typer.echo(f"apc: error: {e}", err=True)
            raise typer.Exit(2) from None
        except FileNotFoundError as e:
            typer.echo(f"apc: error: {e.filename or ''}: {e.strerror or e}", err=True)
            raise typer.Exit(2) from None


app = typer.Typer(
    cls=ApcGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="apc — sequence-aware playlist continuation and next-track recommendation.",
)

from apc.cli import bench as _bench  # noqa: E402
from apc.cli import commands as _commands  # noqa: E402
from apc.cli import data as _data  # noqa: E402
from apc.cli import mpd as _mpd  # noqa: E402
from apc.cli import reproduce as _reproduce  # noqa: E402

app.add_typer(_data.app, name="data")
app.add_typer(_bench.app, name="bench")
app.add_typer(_mpd.app, name="mpd")
_commands.register(app)
app.command("reproduce")(_reproduce.reproduce)


def main() -> None:
    """Run the ``apc`` app (the console-script entry point)."""
    app(prog_name="apc")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
