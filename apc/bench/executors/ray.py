"""Cells as Ray tasks, on an existing cluster or on a local Ray bound to loopback.

Ray is an optional extra (``pip install "apc-playlists[ray]"``). The address comes from
the ``address`` argument (``apc bench run --ray-address``), else ``$RAY_ADDRESS``; with
neither, a private local Ray is started on loopback without the dashboard and shut
down afterwards. Shared objects (the splits) are put into the object store once and
passed to every task by reference. Workers must be able to import apc and any
third-party model (install them on the cluster, or use a Ray ``runtime_env``); a
local Ray inherits this process's environment, ``PYTHONPATH`` included.

Results are the same as with the local executor: each cell is a pure function of its
description and split, seeded explicitly, and the driver writes all files.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

from apc.errors import ApcInputError


def _import_ray():
    try:
        import ray
    except ImportError as e:
        raise ApcInputError(
            'the Ray executor needs Ray: pip install "apc-playlists[ray]" (or "ray>=2.9")',
            field="executor",
        ) from e
    return ray


class CellCrashed(RuntimeError):
    """A Ray task died without returning (worker crash, node lost, out of memory)."""


class RayExecutor:
    """Run cells as Ray tasks.

    Parameters
    ----------
    address : str, optional
        Cluster address (``ray://host:10001`` or ``host:6379``); default ``$RAY_ADDRESS``;
        with neither a local Ray is started (``address="local"``, no dashboard).
    num_cpus : int, optional
        CPUs of a local Ray (default: Ray's own choice); ignored for a cluster.
    cpus_per_cell : float
        CPUs each cell reserves (default 1).
    init_options : dict, optional
        Extra keyword arguments for ``ray.init`` (e.g. ``runtime_env``).
    """

    name = "ray"

    def __init__(
        self,
        *,
        address: str | None = None,
        num_cpus: int | None = None,
        cpus_per_cell: float = 1.0,
        init_options: dict[str, Any] | None = None,
    ) -> None:
        ray = _import_ray()
        self._ray = ray
        self._started = False
        self.cpus_per_cell = cpus_per_cell
        address = address or os.environ.get("RAY_ADDRESS") or None
        self.address = address or "local"
        if not ray.is_initialized():
            options = dict(init_options or {})
            options.setdefault("log_to_driver", False)
            if address:
                ray.init(address=address, **options)
            else:
                options.setdefault("include_dashboard", False)
                options.setdefault("num_cpus", num_cpus)
                ray.init(address="local", **options)
            self._started = True

    def map(
        self,
        fn: Callable[[Any, Any], Any],
        tasks: list[Any],
        shared: dict[str, Any],
        key: Callable[[Any], str],
    ) -> Iterator[tuple[int, Any]]:
        """Submit every task, then yield ``(index, result)`` as they finish.

        Each shared object is put in the Ray object store once; tasks still pending
        when the generator is closed are cancelled.

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
            ``(index, result)`` in completion order; a task that died yields a
            ``CellCrashed`` result.
        """
        ray = self._ray
        remote = ray.remote(num_cpus=self.cpus_per_cell, max_retries=0)(fn)
        refs = {k: ray.put(v) for k, v in shared.items()}
        pending = {remote.remote(task, refs[key(task)]): i for i, task in enumerate(tasks)}
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    i = pending.pop(ref)
                    try:
                        result = ray.get(ref)
                    except Exception as e:  # the task died: report it as this cell's failure
                        result = CellCrashed(f"Ray task failed: {type(e).__name__}: {e}")
                    yield i, result
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)

    def close(self) -> None:
        """Shut down the local Ray this executor started (a cluster is left alone)."""
        if self._started and self._ray.is_initialized():
            self._ray.shutdown()
        self._started = False
