"""Executors run benchmark cells: in this process (local) or as Ray tasks (ray).

An executor takes a function, a list of small task descriptions and a dict of large
shared objects (the splits) that tasks refer to by key, and yields ``(index, result)``
pairs as cells finish, in any order. The runner writes every result itself, so resume,
atomic writes and the final tables are the same whatever executes the cells.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol

from apc.errors import ApcInputError


class Executor(Protocol):
    """What the runner needs from an executor."""

    name: str

    def map(
        self,
        fn: Callable[[Any, Any], Any],
        tasks: list[Any],
        shared: dict[str, Any],
        key: Callable[[Any], str],
    ) -> Iterator[tuple[int, Any]]:
        """Run ``fn(task, shared[key(task)])`` for every task.

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
            ``(index, result)`` as cells finish, in any order.
        """
        ...

    def close(self) -> None:
        """Release resources (a Ray runtime this executor started)."""
        ...


def make_executor(name: str, *, address: str | None = None, **options: Any) -> Executor:
    """Build an executor by name: ``"local"`` or ``"ray"``.

    Parameters
    ----------
    name : str
        ``"local"`` (default, sequential in this process) or ``"ray"``.
    address : str, optional
        Ray cluster address; default ``$RAY_ADDRESS``, else a local Ray on loopback.
    **options
        Passed to the executor (e.g. ``num_cpus`` for a local Ray).

    Returns
    -------
    Executor
        A ``LocalExecutor`` or a ``RayExecutor``.

    Raises
    ------
    ApcInputError
        If ``name`` is neither ``"local"`` nor ``"ray"``.
    """
    if name == "local":
        from apc.bench.executors.local import LocalExecutor

        return LocalExecutor()
    if name == "ray":
        from apc.bench.executors.ray import RayExecutor

        return RayExecutor(address=address, **options)
    raise ApcInputError(f"unknown executor {name!r}; expected 'local' or 'ray'", field="executor")
