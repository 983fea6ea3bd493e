"""The ``apc`` command line: a thin Typer layer over :mod:`apc.workflows` and friends.

One place maps errors (:func:`error_line`): every error a user can cause (bad input,
a path that cannot be read or written, a corrupt file) becomes one line on stderr and
exit status 2; anything else is a bug and keeps its traceback. Heavy libraries (torch,
lightning, librosa, gensim) are imported only inside the commands that need them, so
``apc --help`` is fast.
"""

from __future__ import annotations

import errno
import sys
import warnings
from typing import Annotated

import click
import typer
from typer.core import TyperGroup

from apc.errors import ApcInputError

try:  # Typer >= 0.2x carries its own copy of click; its exceptions are not click's
    from typer._click import exceptions as _cx
except ImportError:  # pragma: no cover - older Typer on plain click
    from click import exceptions as _cx

_NO_ARGS_IS_HELP = getattr(_cx, "NoArgsIsHelpError", ())

# errno values that mean "the user's path or machine", not a bug in apc
_WRITE_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EFBIG}
_USER_ERRNOS = {
    errno.ENOENT, errno.EACCES, errno.EPERM, errno.EISDIR, errno.ENOTDIR, errno.EEXIST,
    errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.ENAMETOOLONG, errno.ENOTEMPTY,
    errno.ELOOP, errno.EFBIG, errno.EIO,
}


def error_line(exc: BaseException) -> str | None:
    """Return the one-line message for an error a user can cause, or ``None`` for a bug.

    The one table of user errors: an :class:`~apc.errors.ApcInputError` (which the
    readers raise with the file, record and field), an :class:`OSError` on a path
    (missing, not permitted, a folder where a file was expected, a full or read-only
    disk), undecodable text, malformed TOML / JSON, a corrupt parquet file and an
    unreadable pickle. Readers convert most of these into an ``ApcInputError`` naming
    the file; the entries below are the fallback for the ones they do not.

    Parameters
    ----------
    exc : BaseException
        The exception that ended a command.

    Returns
    -------
    str or None
        The message (without the ``apc: error:`` prefix), on one line; ``None`` when
        the exception is not a user error and should keep its traceback.
    """
    import json
    import pickle

    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    msg: str | None = None
    if isinstance(exc, ApcInputError):
        msg = str(exc)
    elif isinstance(exc, UnicodeDecodeError):
        msg = f"not UTF-8 text ({exc.reason} at byte {exc.start}); save the file as UTF-8"
    elif isinstance(exc, tomllib.TOMLDecodeError):
        msg = f"invalid TOML: {exc}"
    elif isinstance(exc, json.JSONDecodeError):
        msg = f"invalid JSON: {exc}"
    elif isinstance(exc, pickle.UnpicklingError):
        msg = f"not a readable pickle: {exc}"
    elif isinstance(exc, OSError) and (exc.filename is not None or exc.errno in _USER_ERRNOS):
        what = exc.strerror or str(exc)
        if exc.filename is None:
            # a full or read-only disk found mid-write names no file: name the outputs
            from apc.cli._common import checked_outputs

            outputs = ", ".join(str(p) for p in checked_outputs())
            msg = f"{outputs}: {what}" if outputs and exc.errno in _WRITE_ERRNOS else what
        elif exc.filename2 is not None:
            msg = f"{exc.filename} -> {exc.filename2}: {what}"
        else:
            msg = f"{exc.filename}: {what}"
    elif _is_arrow_invalid(exc):
        msg = f"corrupt or unreadable data file: {exc}"
    if msg is None:
        return None
    return " ".join(msg.split())  # one line, whatever the message held


def _is_arrow_invalid(exc: BaseException) -> bool:
    # pyarrow is heavy and optional here: only look at it when it is already loaded
    pa_lib = sys.modules.get("pyarrow.lib")
    return pa_lib is not None and isinstance(exc, getattr(pa_lib, "ArrowInvalid", ()))


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    # a warning is one line for the user too, not the source line that raised it
    text = " ".join(str(message).split())
    typer.echo(f"apc: warning: {text} ({category.__name__})", err=True)


def _flag_metavars(cmd: click.Command) -> None:
    """Show no value type after a flag (Typer prints ``<bool>``; a flag takes no value)."""
    for p in getattr(cmd, "params", []):
        if getattr(p, "is_flag", False) and p.metavar is None:
            p.metavar = ""
    for sub in getattr(cmd, "commands", {}).values():
        _flag_metavars(sub)


class ApcGroup(TyperGroup):
    """Root command group: user errors become one line + exit 2, warnings one line each."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _flag_metavars(self)

    def main(self, *args, standalone_mode: bool = True, **kwargs):
        """Run the command line; a usage error (unknown option, bad choice) is one line too.

        Click and Typer draw a usage error as a framed box of several lines; apc prints
        ``apc: error: <message> (see 'apc CMD --help')`` and exits with status 2, like
        every other error a user can cause.

        Parameters
        ----------
        *args, **kwargs
            Passed to :meth:`click.Command.main`.
        standalone_mode : bool
            Click's meaning: ``False`` returns or raises instead of exiting.

        Returns
        -------
        Any
            The command's return value when ``standalone_mode`` is ``False``.
        """
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            rv = super().main(*args, standalone_mode=False, **kwargs)
        except _cx.ClickException as e:
            if isinstance(e, _NO_ARGS_IS_HELP):  # bare group: its help, as Typer shows it
                e.show()
                sys.exit(e.exit_code)
            message = " ".join(e.format_message().split()).replace("Value error, ", "")
            ctx = getattr(e, "ctx", None)
            if isinstance(e, _cx.UsageError) and ctx is not None:
                message += f" (see '{ctx.command_path} --help')"
            typer.echo(f"apc: error: {message}", err=True)
            sys.exit(2 if isinstance(e, _cx.UsageError) else e.exit_code)
        except typer.Abort:
            typer.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)

    def invoke(self, ctx: click.Context):
        """Invoke the command; print user errors as one line and exit with status 2.

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
            With code 2 on an error :func:`error_line` knows; any other exception (a
            bug) propagates with its traceback.
        """
        from apc.cli._common import checked_outputs

        checked_outputs().clear()  # this command's own outputs only
        try:
            with warnings.catch_warnings():
                warnings.showwarning = _show_warning
                return super().invoke(ctx)
        except Exception as e:
            line = error_line(e)
            if line is None:
                raise
            typer.echo(f"apc: error: {line}", err=True)
            raise typer.Exit(2) from None


app = typer.Typer(
    cls=ApcGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="apc — sequence-aware playlist continuation and next-track recommendation.",
)


def _print_version(value: bool) -> None:
    if value:
        import apc

        typer.echo(f"apc {apc.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True,
                     help="Print the version and exit."),
    ] = False,
) -> None:
    """Options of the ``apc`` command itself (``--version``)."""


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
