"""Shared CLI helpers: rich console, tables, output-path checks."""

from __future__ import annotations

import errno
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from rich.console import Console
from rich.table import Table

from apc.errors import ApcInputError

console = Console()
err_console = Console(stderr=True)
if not console.is_terminal:  # piped or captured (make, CI, logs): don't squeeze tables to 80
    console.width = max(console.width, 160)


def frame_table(frame: pd.DataFrame, *, title: str | None = None, index_name: str = "") -> Table:
    """Render a DataFrame as a rich Table (index as the first column), numbers to 4 places.

    Parameters
    ----------
    frame : pd.DataFrame
        The data.
    title : str, optional
        Table title.
    index_name : str
        Header of the index column (default: the index's name).

    Returns
    -------
    rich.table.Table
    """
    table = Table(title=title, header_style="bold")
    # overflow="fold": a header too long for a narrow terminal wraps, it is never cut to "…"
    table.add_column(index_name or (frame.index.name or ""), style="bold cyan", overflow="fold")
    for col in frame.columns:
        table.add_column(str(col), justify="right", overflow="fold")
    for idx, row in frame.iterrows():
        table.add_row(str(idx), *[fmt(v) for v in row.tolist()])
    return table


def fmt(v: Any) -> str:
    """Format a cell: floats to 4 places (thousands-separated from 1000 on), NaN as a dash."""
    if isinstance(v, float):
        if math.isnan(v):
            return "—"
        return f"{v:.4f}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def dict_table(d: dict[str, Any], *, title: str | None = None) -> Table:
    """Render a dict as a two-column rich Table (key, value); ints get thousands separators."""
    table = Table(title=title, show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    for k, v in d.items():
        table.add_row(str(k), fmt(v) if not isinstance(v, int) else f"{v:,}")
    return table


_CHECKED: list[Path] = []


def checked_outputs() -> list[Path]:
    """Return the outputs this command checked (error messages name them on a full disk).

    Returns
    -------
    list of Path
        In the order :func:`check_writable_output` saw them; the CLI clears the list
        before each command.
    """
    return _CHECKED


def check_writable_output(
    path: str | Path,
    kind: Literal["file", "dir"] = "file",
    *,
    inputs: Iterable[str | Path | None] = (),
) -> Path:
    """Refuse an output path that cannot be written, before any long work starts.

    Checks, without creating anything: the output must not be one of the command's
    ``inputs``, lie inside an input folder or hold an input (writing it would destroy
    the input, e.g. ``apc fit corpus -o corpus/tracks.parquet``); a file output must
    not be an existing folder
    and a folder output must not be an existing file; the nearest existing folder on
    the way (``path`` itself for an existing folder output, else its parent, or the
    parent's parent...) must be a folder, not a file, and writable (not read-only, not
    on a read-only file system). Replacing an existing output is the writer's own rule.

    Parameters
    ----------
    path : str or Path
        The output file or folder.
    kind : {"file", "dir"}
        What the command writes at ``path``.
    inputs : iterable of str or Path
        The files and folders the command reads; entries that are not existing paths
        (``synth:tiny``, ``None``) are skipped.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ApcInputError
        Naming the path and what is wrong with it.
    """
    from apc._atomic import check_separate

    path = Path(path)
    try:
        os.stat(path)
    except OSError as e:
        if e.errno == errno.ELOOP:  # pathlib's resolve() would raise RuntimeError
            raise ApcInputError("a symbolic link on this path points back to itself",
                                file=str(path)) from None
    if path.is_symlink() and not path.exists():
        raise ApcInputError(f"is a broken symbolic link (to {os.readlink(path)}); remove it "
                            "or choose another name", file=str(path))
    if kind == "file" and path.is_dir():
        raise ApcInputError("is a folder; give the name of the file to write", file=str(path))
    for source in inputs:
        if source is not None and os.path.exists(source):
            check_separate(source, path)
    if path.exists() and not (path.is_file() or path.is_dir()):
        # the writers rename a temp file over the output: that would replace the node
        raise ApcInputError("is a device, pipe or socket, not a file; give a file name",
                            file=str(path))
    if kind == "dir" and path.exists() and not path.is_dir():
        raise ApcInputError("is a file, not a folder; give a folder to write", file=str(path))
    folder = path if kind == "dir" else path.parent
    while not os.path.lexists(folder) and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise ApcInputError(f"cannot write it: {folder} is a file, not a folder",
                            file=str(path))
    if not os.access(folder, os.W_OK | os.X_OK):
        why = "read-only file system" if _read_only_fs(folder) else "permission denied"
        raise ApcInputError(f"cannot write in folder {folder} ({why})", file=str(path))
    _CHECKED.append(path)
    return path


def _read_only_fs(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # no statvfs on Windows
        return False
