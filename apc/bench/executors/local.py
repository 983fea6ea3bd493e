"""The default executor: cells one after another in this process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any


class LocalExecutor:
    """Run cells sequentially in the calling process (the reference behaviour)."""

    name = "local"

    def map(
        self,
        fn: Callable[[Any, Any], Any],
        tasks: list[Any],
        shared: dict[str, Any],
        key: Callable[[Any], str],
    ) -> Iterator[tuple[int, Any]]:
        """Run the tasks one after another, in task order.

        Parameters
        ----------
        fn : callable
            ``fn(task, shared_object) -> result``.
        tasks : list
            Small task descriptions.
        shared : dict
            Large objects (the splits) that tasks refer to by key.
        key : callable
            ``key(task)``: the key in ``shared`` of the object ``task`` needs.

        Yields
        ------
        tuple of (int, Any)
            ``(index, fn(task, shared[key(task)]))``.
        """
        for i, task in enumerate(tasks):
            yield i, fn(task, shared[key(task)])

    def close(self) -> None:
        """Release nothing (there is nothing to release)."""
