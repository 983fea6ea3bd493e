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
        """Yield ``(index, fn(task, shared[key(task)]))`` in task order."""
        for i, task in enumerate(tasks):
            yield i, fn(task, shared[key(task)])

    def close(self) -> None:
        """Nothing to release."""
