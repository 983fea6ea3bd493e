"""Benchmark runner: suites (TOML), cells cached and resumable, statistics, reports, executors.

Typical use::

    from apc.bench import load_suite, run_suite, write_report

    result = run_suite(load_suite("benchmarks/quick.toml"), "runs/quick")
    write_report("runs/quick")

The command line equivalents are ``apc bench run``, ``apc bench report`` and
``apc bench compare``; see ``docs/guide/benchmarking.md``.
"""

from __future__ import annotations

from apc.bench.compare import compare_runs
from apc.bench.report import write_report, write_summary
from apc.bench.runner import RunResult, run_suite
from apc.bench.suite import Suite, load_suite, suite_from_dict

__all__ = [
    "RunResult",
    "Suite",
    "compare_runs",
    "load_suite",
    "run_suite",
    "suite_from_dict",
    "write_report",
    "write_summary",
]
