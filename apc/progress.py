"""Rich progress bars that stay quiet in tests and pipes.

Bars are shown when stderr is a terminal, unless ``APC_PROGRESS=0``; ``APC_PROGRESS=1``
forces them on. Use :func:`progress` as an iterator wrapper or :func:`task` for manual
advancing::

    for path in progress(paths, "reading slices", unit="file"):
        ...
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")


def enabled() -> bool:
    """Whether progress bars should be drawn."""
    flag = os.environ.get("APC_PROGRESS")
    if flag is not None:
        return flag not in ("0", "false", "no", "")
    return sys.stderr.isatty()


def _make(transient: bool = False, spinner: bool = False):
    """Build a rich Progress on stderr; ``spinner``: no bar or count (unknown length)."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    if spinner:
        columns = (SpinnerColumn(), TextColumn("[bold]{task.description}"), TimeElapsedColumn())
    else:
        columns = (
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
    return Progress(*columns, console=Console(stderr=True), transient=transient)


def progress(
    iterable: Iterable[T],
    description: str,
    *,
    total: int | None = None,
    unit: str = "",
    transient: bool = False,
) -> Iterator[T]:
    """Iterate over ``iterable`` with a progress bar (if enabled).

    ``transient=True`` removes the bar when the loop ends (for inner phases).
    """
    if not enabled():
        yield from iterable
        return
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    with _make(transient) as bar:
        tid = bar.add_task(description, total=total)
        for item in iterable:
            yield item
            bar.advance(tid)


class _NullTask:
    def advance(self, n: float = 1) -> None:
        pass

    def update(self, **kwargs) -> None:
        pass


class _Task:
    def __init__(self, bar, tid) -> None:
        self._bar, self._tid = bar, tid

    def advance(self, n: float = 1) -> None:
        self._bar.advance(self._tid, n)

    def update(self, **kwargs) -> None:
        self._bar.update(self._tid, **kwargs)


@contextmanager
def task(description: str, total: float | None = None, *, transient: bool = False):
    """Context manager yielding an object with ``advance(n)`` / ``update(...)``.

    With ``total=None`` the bar is a spinner with the elapsed time (a phase whose
    length is unknown, e.g. drawing plots). ``transient=True`` removes the bar when
    the phase ends (for inner phases such as a model's recommend step in a benchmark).
    """
    if not enabled():
        yield _NullTask()
        return
    with _make(transient, spinner=total is None) as bar:
        yield _Task(bar, bar.add_task(description, total=total))
