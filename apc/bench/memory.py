"""Peak resident memory of a phase (fit, recommend), measured by sampling.

``tracemalloc`` only sees Python allocations made through its hooks and slows numpy-
heavy code; ``resource.getrusage(...).ru_maxrss`` is a process-lifetime high-water
mark, so after the first large cell it no longer moves. We therefore sample the
resident set size (``/proc/self/statm`` on Linux, ``psutil`` elsewhere when installed)
from a background thread every ``interval`` seconds and report the highest value seen
during the phase, minus the value when the phase began. Spikes shorter than the
interval can be missed; the figure is a lower bound of the true peak and is labelled
"peak RSS increase (sampled)" in reports. Where neither source exists the figure is
NaN.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

_STATM = Path("/proc/self/statm")
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_bytes() -> float:
    """Return the resident set size of this process in bytes (NaN when unknown)."""
    try:
        return float(int(_STATM.read_text().split()[1]) * _PAGE)
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil

        return float(psutil.Process().memory_info().rss)
    except Exception:  # psutil missing or unsupported platform
        return float("nan")


class PeakMemory:
    """Context manager: ``peak_bytes`` = highest sampled RSS minus RSS at entry.

    Parameters
    ----------
    interval : float, default 0.005
        Seconds between two samples of the resident set size.

    Attributes
    ----------
    start_bytes : float
        RSS at entry (NaN when unknown).
    peak_bytes : float
        Highest RSS sampled inside the block (or at exit) minus ``start_bytes``, at
        least 0; NaN until the block exits or when RSS is unknown.

    Examples
    --------
    >>> with PeakMemory() as mem:
    ...     block = bytearray(50_000_000)
    >>> mem.peak_bytes >= 0
    True
    """

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.start_bytes = float("nan")
        self.peak_bytes = float("nan")
        self._max = float("nan")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            value = rss_bytes()
            if value > self._max:
                self._max = value

    def __enter__(self) -> PeakMemory:
        self.start_bytes = self._max = rss_bytes()
        self._thread = threading.Thread(target=self._sample, name="apc-peak-memory", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        end = rss_bytes()
        if end > self._max:
            self._max = end
        self.peak_bytes = max(0.0, self._max - self.start_bytes)
