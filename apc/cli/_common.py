"""Shared CLI helpers: rich console, tables, option parsing."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

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
    table.add_column(index_name or (frame.index.name or ""), style="bold cyan")
    for col in frame.columns:
        table.add_column(str(col), justify="right")
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
