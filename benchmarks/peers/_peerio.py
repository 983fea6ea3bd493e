"""Reading an exported split and writing a ranked list + timings; no apc import.

Imported by the apc side (:mod:`apc_side`) and by every peer script, each of which runs
in its own virtualenv, so this file uses only the standard library and numpy.

An exported split (written by ``bench_peers.py``) is a folder with

- ``train.csv``: ``session,item,pos`` — the training playlists, item = apc's track index;
- ``queries.csv``: ``query,item,pos`` — each query's ordered seed tracks;
- ``meta.json``: ``n_tracks``, ``n_queries``, ``k``, ``dataset``, ``epochs``, ``seed``.

A run writes ``recs.npy`` (int64 ``(n_queries, k)``, best first, ``-1`` padded) and
``timing.json`` (CPU and wall seconds of fit and recommend, peak resident memory).
"""

from __future__ import annotations

import json
import resource
import time
from pathlib import Path

import numpy as np

#: Exit status of a peer script whose library is not importable (the driver skips it).
SKIP = 3


def read_split(folder: str | Path):
    """Return ``(meta, train_sessions, query_seeds)``: lists of int64 arrays in order."""
    folder = Path(folder)
    meta = json.loads((folder / "meta.json").read_text())
    train = _ragged(folder / "train.csv", 3)
    seeds = _ragged(folder / "queries.csv", 3, n=meta["n_queries"])
    return meta, train, seeds


def _ragged(path: Path, ncols: int, n: int | None = None) -> list[np.ndarray]:
    a = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.int64, ndmin=2).reshape(-1, ncols)
    a = a[np.lexsort((a[:, 2], a[:, 0]))]
    n = int(a[:, 0].max()) + 1 if n is None else n
    bounds = np.searchsorted(a[:, 0], np.arange(n + 1))
    return [a[bounds[i]:bounds[i + 1], 1] for i in range(n)]


class Clock:
    """CPU (``time.process_time``: every thread of the process) and wall seconds of phases."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}

    def start(self) -> None:
        self._c, self._w = time.process_time(), time.perf_counter()

    def stop(self, phase: str) -> None:
        self.times[f"{phase}_cpu"] = time.process_time() - self._c
        self.times[f"{phase}_wall"] = time.perf_counter() - self._w


def write_result(out: str | Path, recs: np.ndarray, clock: Clock, **info) -> None:
    """Write ``recs.npy`` and ``timing.json`` (with the peak RSS of this process in MB)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "recs.npy", np.asarray(recs, dtype=np.int64))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
    (out / "timing.json").write_text(json.dumps({**clock.times, "peak_rss_mb": peak_mb, **info}))

