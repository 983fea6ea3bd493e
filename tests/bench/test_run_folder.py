"""A benchmark run folder survives kills, refuses a second writer and is checked before it exists.

Issue 11 items 3 and 4. Crashes happen at well-defined points through the runner's
test hooks (``APC_TEST_KILL_AFTER_CELLS=n``: SIGKILL right after the n-th cell of a
session is committed; ``APC_TEST_KILL_AT=assemble``: SIGKILL during the final assembly,
after ``results.parquet`` and before ``cells.json``), and the lock is held by the test
process itself, so no test depends on timing or on interleaved output.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from filelock import FileLock
from typer.testing import CliRunner

from apc.bench.rundir import LOCK_NAME
from apc.bench.runner import run_suite
from apc.bench.suite import load_suite
from apc.cli import app

runner = CliRunner()
KEYS = ["model", "dataset", "seed", "query", "label"]

SUITE = """
[suite]
name = "kill"
seeds = [0, 1]
cutoff = 20
metrics = ["hit@10", "mrr@20", "recall@20"]
n_boot = 50
n_perm = 50

[[datasets]]
name = "tiny"
source = "synth:tiny"

[protocol]
name = "next-track"

[[models]]
name = "popularity"

[[models]]
name = "random"

[[models]]
name = "knn"
params = { n_neighbors = 20 }
"""


@pytest.fixture
def suite_path(tmp_path: Path) -> Path:
    path = tmp_path / "kill.toml"
    path.write_text(SUITE)
    return path


def _cli(*argv, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m apc`` in a child process (so SIGKILL hits the child only)."""
    full = dict(os.environ, APC_PROGRESS="0", **(env or {}))
    for key in ("APC_TEST_KILL_AFTER_CELLS", "APC_TEST_KILL_AT"):
        if env is None or key not in env:
            full.pop(key, None)
    return subprocess.run(
        [sys.executable, "-m", "apc", *map(str, argv)], env=full, capture_output=True,
        text=True, timeout=600,
    )


def _rows(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "results.parquet").sort_values(KEYS).reset_index(drop=True)


@pytest.fixture
def reference(tmp_path: Path, suite_path: Path) -> pd.DataFrame:
    """The rows of the same suite run without interruption."""
    run_suite(load_suite(suite_path), tmp_path / "reference", cache=None, report=False)
    return _rows(tmp_path / "reference")


def _committed(out: Path) -> list[str]:
    return sorted(p.stem for p in (out / "cells").glob("*.json"))


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert lines[0].startswith("apc: error: "), stderr
    return lines[0]


def test_killed_mid_run_then_resumed_gives_exactly_the_uninterrupted_rows(
    tmp_path, suite_path, reference
):
    out = tmp_path / "run"
    base = ["bench", "run", suite_path, "-o", out, "--no-cache", "--no-plots"]
    proc = _cli(*base, env={"APC_TEST_KILL_AFTER_CELLS": "2"})
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert _committed(out) == ["tiny__s0__popularity", "tiny__s0__random"]
    assert not (out / "results.parquet").exists()

    # a report of the killed run shows the committed cells, not "No successful cells"
    proc = _cli("bench", "report", out)
    assert proc.returncode == 0, proc.stderr
    md = (out / "summary.md").read_text()
    assert "No successful cells" not in md and "| popularity |" in md and "| random |" in md
    assert "tiny__s1__knn`: not run (interrupted; rerun with --resume)" in md
    assert set(pd.read_parquet(out / "results.parquet").model) == {"popularity", "random"}

    # the same command without --resume is refused; with it the run completes
    proc = _cli(*base)
    assert proc.returncode == 2 and "--resume" in _one_error_line(proc.stderr)
    first = (out / "cells" / "tiny__s0__popularity.parquet").stat().st_mtime_ns
    proc = _cli(*base, "--resume")
    assert proc.returncode == 0, proc.stderr
    assert "4 cell(s) run, 2 resumed, 0 failed" in proc.stderr
    assert (out / "cells" / "tiny__s0__popularity.parquet").stat().st_mtime_ns == first
    rows = _rows(out)
    assert not rows.duplicated(KEYS).any()
    pd.testing.assert_frame_equal(rows, reference)


def test_killed_during_assembly_then_resumed_gives_exactly_the_uninterrupted_rows(
    tmp_path, suite_path, reference
):
    out = tmp_path / "run"
    base = ["bench", "run", suite_path, "-o", out, "--no-cache", "--no-plots"]
    proc = _cli(*base, env={"APC_TEST_KILL_AT": "assemble"})
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert len(_committed(out)) == 6
    assert (out / "results.parquet").exists() and not (out / "cells.json").exists()
    proc = _cli(*base, "--resume")
    assert proc.returncode == 0, proc.stderr
    assert "0 cell(s) run, 6 resumed, 0 failed" in proc.stderr
    pd.testing.assert_frame_equal(_rows(out), reference)
    cells = json.loads((out / "cells.json").read_text())
    assert [c["status"] for c in cells] == ["ok"] * 6


def test_a_second_writer_on_one_folder_is_refused_at_once(tmp_path, suite_path):
    out = tmp_path / "run"
    out.mkdir()
    argv = ["bench", "run", str(suite_path), "-o", str(out), "--no-cache", "--no-plots"]
    # the test process plays the first run: it holds the folder's lock
    with FileLock(str(out / LOCK_NAME), timeout=0):
        res = runner.invoke(app, argv)
        assert res.exit_code == 2
        assert "another apc process" in _one_error_line(res.stderr)
        assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME]  # nothing written
        res = runner.invoke(app, ["bench", "report", str(out)])  # not a run yet: no lock needed
        assert res.exit_code == 2
    # once the first one is done, the same command runs: exactly one refusal in two tries
    res = runner.invoke(app, argv)
    assert res.exit_code == 0, res.output
    with FileLock(str(out / LOCK_NAME), timeout=0):
        res = runner.invoke(app, argv + ["--resume"])
        assert res.exit_code == 2 and "another apc process" in _one_error_line(res.stderr)
        res = runner.invoke(app, ["bench", "report", str(out)])
        assert res.exit_code == 2 and "another apc process" in _one_error_line(res.stderr)


def test_temp_names_are_unique_and_leave_no_debris(tmp_path, suite_path):
    out = tmp_path / "run"
    run_suite(load_suite(suite_path), out, cache=None, report=True)
    hidden = [p.name for p in out.rglob(".*") if p.name != LOCK_NAME]
    assert hidden == []


# ---------------------------------------------------------------------- checked before created
def _suite_with(tmp_path: Path, old: str, new: str) -> Path:
    path = tmp_path / "bad.toml"
    text = SUITE.replace(old, new)
    assert text != SUITE
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("old", "new", "field", "expect"),
    [
        ('source = "synth:tiny"', 'source = "no/such/corpus"', "datasets[0].source",
         "no such corpus"),
        ('source = "synth:tiny"', 'source = "synth:nosuchpreset"', "datasets[0].source",
         "nosuchpreset"),
        ('name = "next-track"', 'name = "next-trak"', "protocol.name", "unknown protocol"),
        ('name = "next-track"', 'name = "next-track"\noptions = { mode = "sideways" }',
         "protocol.options.mode", "sideways"),
        ('"recall@20"]', '"recall@20", "recal@10"]', "suite.metrics[3]", "unknown metric"),
        ("params = { n_neighbors = 20 }", 'params = { n_neighbors = "many" }',
         "models[2].params.n_neighbors", "many"),
        ("params = { n_neighbors = 20 }", "params = { n_neighbours = 20 }",
         "models[2].params.n_neighbours", "n_neighbors"),
        ('name = "knn"', 'name = "knn"\nmodel = "no_such_module_xyz:Model"', "models[2].model",
         "no_such_module_xyz"),
    ],
)
def test_bad_suites_are_refused_before_the_folder_exists(tmp_path, old, new, field, expect):
    suite = _suite_with(tmp_path, old, new)
    out = tmp_path / "run"
    res = runner.invoke(app, ["bench", "run", str(suite), "-o", str(out), "--no-cache"])
    assert res.exit_code == 2, res.output
    line = _one_error_line(res.stderr)
    assert f"field {field!r}" in line and expect in line, line
    assert "exceeds" not in line  # an unknown protocol is not reported as a metric problem
    assert not out.exists()
    # the fixed suite then runs into the same folder (nothing blocks it)
    fixed = tmp_path / "fixed.toml"
    fixed.write_text(SUITE.replace("seeds = [0, 1]", "seeds = [0]"))
    res = runner.invoke(app, ["bench", "run", str(fixed), "-o", str(out), "--no-cache",
                              "--no-plots"])
    assert res.exit_code == 0, res.output


def test_unknown_protocol_is_named_even_when_default_metrics_exceed_the_cutoff(tmp_path):
    text = SUITE.replace('metrics = ["hit@10", "mrr@20", "recall@20"]\n', "").replace(
        'name = "next-track"', 'name = "continuatoin"'
    )
    path = tmp_path / "s.toml"
    path.write_text(text)
    res = runner.invoke(app, ["bench", "run", str(path), "-o", str(tmp_path / "run")])
    assert res.exit_code == 2
    line = _one_error_line(res.stderr)
    assert "unknown protocol 'continuatoin'" in line and "exceeds" not in line


def test_a_corpus_that_cannot_be_split_leaves_no_folder(tmp_path):
    from apc.datasets import load_corpus

    load_corpus("synth:tiny").subset([]).save(tmp_path / "empty")
    suite = _suite_with(tmp_path, 'source = "synth:tiny"', f'source = "{tmp_path / "empty"}"')
    out = tmp_path / "run"
    res = runner.invoke(app, ["bench", "run", str(suite), "-o", str(out), "--no-cache"])
    assert res.exit_code == 2
    line = _one_error_line(res.stderr)
    assert "field 'datasets[0]'" in line and "empty corpus" in line, line
    assert not out.exists()


def test_unknown_executor_is_refused_before_the_folder_exists(tmp_path, suite_path):
    out = tmp_path / "run"
    res = runner.invoke(app, ["bench", "run", str(suite_path), "-o", str(out),
                              "--executor", "threads"])
    line = _one_error_line(res.stderr)
    assert res.exit_code == 2 and "--executor" in line and "'threads' is not one of" in line
    assert not out.exists()


def test_truncated_run_files_give_one_line_and_change_nothing(tmp_path, suite_path):
    out = tmp_path / "run"
    run_suite(load_suite(suite_path), out, cache=None, report=False)

    def snapshot():
        return sorted((str(p.relative_to(out)), p.stat().st_size, p.stat().st_mtime_ns)
                      for p in out.rglob("*"))

    cfg = out / "config.json"
    good = cfg.read_bytes()
    cfg.write_bytes(good[: len(good) // 2])
    before = snapshot()
    res = runner.invoke(app, ["bench", "run", str(suite_path), "-o", str(out), "--resume",
                              "--no-cache"])
    assert res.exit_code == 2
    line = _one_error_line(res.stderr)
    assert "config.json" in line and "truncated" in line
    assert snapshot() == before
    cfg.write_bytes(good)

    results = out / "results.parquet"
    results.write_bytes(results.read_bytes()[:100])
    before = snapshot()
    res = runner.invoke(app, ["bench", "report", str(out)])
    assert res.exit_code == 2
    line = _one_error_line(res.stderr)
    assert "results.parquet" in line and "--resume" in line
    assert snapshot() == before
    # --resume rebuilds it from the committed cells
    res = runner.invoke(app, ["bench", "run", str(suite_path), "-o", str(out), "--resume",
                              "--no-cache", "--no-plots"])
    assert res.exit_code == 0, res.output
    assert len(pd.read_parquet(results)) > 0


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_overwrite_replaces_a_run_and_nothing_else(tmp_path, suite_path):
    out = tmp_path / "run"
    run_suite(load_suite(suite_path), out, cache=None, report=False)
    rows = _rows(out)
    stale = out / "cells" / "old-model.json"  # a cell of an earlier suite: must go
    stale.write_text("{}")

    refused = runner.invoke(app, ["bench", "run", str(suite_path), "--out", str(out),
                                  "--no-cache", "--no-plots"])
    assert refused.exit_code == 2 and "--overwrite" in refused.output

    both = runner.invoke(app, ["bench", "run", str(suite_path), "--out", str(out),
                               "--no-cache", "--resume", "--overwrite"])
    assert both.exit_code == 2 and "pass one of them" in both.output

    done = runner.invoke(app, ["bench", "run", str(suite_path), "--out", str(out),
                               "--no-cache", "--no-plots", "--overwrite"])
    assert done.exit_code == 0, done.output
    assert not stale.exists()
    pd.testing.assert_frame_equal(_rows(out), rows)


def test_overwrite_refuses_a_run_folder_holding_a_users_file(tmp_path, suite_path):
    out = tmp_path / "run"
    run_suite(load_suite(suite_path), out, cache=None, report=False)
    (out / "my-notes.txt").write_text("mine")
    before = _tree(out)
    res = runner.invoke(app, ["bench", "run", str(suite_path), "--out", str(out),
                              "--no-cache", "--no-plots", "--overwrite"])
    assert res.exit_code == 2
    assert "my-notes.txt" in res.output
    assert _tree(out) == before
