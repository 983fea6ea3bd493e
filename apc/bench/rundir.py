"""The run folder of a benchmark: its lock, its committed cells and their assembly.

Layout of ``<out>``::

    .apc-run.lock             OS-level lock held by the one process working in the folder
    config.json               resolved suite and its hash (what --resume must match)
    cells/<cell>.parquet      per-query rows of a cell          } data files first,
    cells/<cell>.curve.parquet, cells/<cell>.longtail.parquet   } each atomically;
    cells/<cell>.json         the cell's record: the commit marker, written last
    results.parquet, curves.parquet, longtail.parquet           assembled from the cells
    cells.json                every cell's record: written last by the assembly

Every file is written with :func:`apc._atomic.atomic_write_bytes` (a uniquely named
temp file in the same folder, renamed over its target; temp files of killed writers
are removed by the next write), so a killed process leaves either the old file or the
new one, never a torn one, and two writers never share a temp name. A cell exists once
its marker exists; the result tables are a function of the committed cells, so a run
killed before (or during) assembly is completed by ``--resume`` or ``apc bench report``.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from apc._atomic import atomic_write_bytes
from apc._atomic import check_out_dir as check_artefact_dir
from apc.bench.cells import CellOutput, CellTask
from apc.bench.report import read_run_json, read_run_parquet
from apc.bench.suite import Suite
from apc.errors import ApcInputError
from apc.evaluation.evaluate import RESULT_COLUMNS

#: Name of the lock file inside a run folder.
LOCK_NAME = ".apc-run.lock"


# ---------------------------------------------------------------------- lock
def lock_run_folder(out: Path):
    """Take the run folder's lock without waiting.

    Parameters
    ----------
    out : Path
        An existing run folder.

    Returns
    -------
    filelock.BaseFileLock
        The acquired lock; release it with ``.release()`` (or use it as a context
        manager).

    Raises
    ------
    ApcInputError
        If another process holds the lock (a benchmark run, resume or report is
        working in this folder), or the lock file cannot be created (a read-only
        folder).
    """
    from filelock import FileLock, Timeout

    lock = FileLock(str(out / LOCK_NAME), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise ApcInputError(
            "another apc process (bench run, --resume or report) is working in this folder; "
            "wait for it to finish or choose another --out",
            file=str(out),
        ) from None
    except OSError as e:  # a read-only folder: the lock file cannot be created
        raise ApcInputError(
            f"cannot lock this run folder ({e.strerror or e})", file=str(out)
        ) from None
    return lock


def crash_point(point: str, count: int | None = None) -> None:
    """Kill this process with SIGKILL at a named point when a test asks for it.

    Tests of crash recovery set ``APC_TEST_KILL_AFTER_CELLS=n`` (kill right after the
    n-th cell of this session is committed) or ``APC_TEST_KILL_AT=assemble`` (kill in
    the middle of the final assembly, after ``results.parquet`` is written and before
    ``cells.json``), so the crash happens at a well-defined point, not after a sleep.

    Parameters
    ----------
    point : {"cell", "assemble"}
        Where the caller is.
    count : int, optional
        Cells committed so far in this session (for ``"cell"``).
    """
    if point == "cell":
        want = os.environ.get("APC_TEST_KILL_AFTER_CELLS")
        hit = want is not None and count == int(want)
    else:
        hit = os.environ.get("APC_TEST_KILL_AT") == point
    if hit:
        os.kill(os.getpid(), signal.SIGKILL)


# ---------------------------------------------------------------------- files
def atomic_parquet(df: pd.DataFrame, path: Path) -> None:
    """Write a DataFrame as parquet through a unique temp file, then rename.

    Parameters
    ----------
    df : pd.DataFrame
        The table (its index is not stored).
    path : Path
        File to write; parent folders are created.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), buf)
    atomic_write_bytes(path, buf.getvalue())


def atomic_json(obj: Any, path: Path) -> None:
    """Write an object as indented JSON through a unique temp file, then rename.

    Parameters
    ----------
    obj : object
        JSON-able, or made so by :func:`json_default` (numpy scalars, paths, dataclasses).
    path : Path
        File to write.
    """
    atomic_write_bytes(path, json.dumps(obj, indent=2, default=json_default).encode())


def json_default(o: Any) -> Any:
    """Convert what :mod:`json` cannot: numpy scalars and arrays, paths, dataclasses.

    Parameters
    ----------
    o : object
        The value.

    Returns
    -------
    object
        A JSON-able stand-in (``repr`` as the last resort).
    """
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    if hasattr(o, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(o)
    if hasattr(o, "to_dict"):
        return o.to_dict()
    return repr(o)


def jsonable(obj: Any) -> Any:
    """Round-trip an object through JSON (see :func:`json_default`).

    Parameters
    ----------
    obj : object
        The value.

    Returns
    -------
    object
        Plain dicts, lists, strings and numbers.
    """
    return json.loads(json.dumps(obj, default=json_default))


# ---------------------------------------------------------------------- state
def check_out_dir(out: Path, suite: Suite, resume: bool, overwrite: bool = False) -> None:
    """Check that ``out`` may receive this run (read only; creates nothing).

    Parameters
    ----------
    out : Path
        The run folder (it may not exist yet).
    suite : Suite
        The suite to run.
    resume : bool
        Whether the user asked to continue a run.
    overwrite : bool, default False
        Whether the user asked to replace the run in ``out`` (``--overwrite``); a
        folder holding anything a run does not write is refused all the same.

    Raises
    ------
    ApcInputError
        If ``out`` is a file, holds files that are not a benchmark run, holds a run and
        neither ``resume`` nor ``overwrite`` is set, holds a run of a different suite
        (on resume), or has a truncated ``config.json``.
    """
    if resume and overwrite:
        raise ApcInputError("--resume continues the run in this folder and --overwrite "
                            "replaces it: pass one of them", file=str(out))
    if out.exists() and not out.is_dir():
        raise ApcInputError("is a file, not a folder; give a folder for the run", file=str(out))
    cfg = out / "config.json"
    cells = out / "cells"
    has_run = cfg.is_file() or (cells.is_dir() and any(cells.iterdir()))
    if not has_run:
        entries = out.iterdir() if out.is_dir() else []
        others = sorted(p.name for p in entries if p.name != LOCK_NAME)
        if others:
            shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
            raise ApcInputError(
                f"folder holds files apc did not write ({shown}); refusing to write a benchmark "
                "run into it: choose another --out",
                file=str(out),
            )
        return
    if overwrite:
        check_artefact_dir(out, "run", overwrite=True)  # refuses files a run does not write
        return
    if not resume:
        raise ApcInputError(
            "this folder already holds a benchmark run; pass --resume to continue it, "
            "--overwrite to replace it, or choose another --out",
            file=str(out),
        )
    stored = read_run_json(cfg, {})
    if not isinstance(stored, dict) or stored.get("config_hash") != suite.config_hash():
        raise ApcInputError(
            "the suite changed since this run started (config hash differs); start a new --out",
            file=str(out),
        )


def clear_run(out: Path) -> None:
    """Remove what a previous run wrote in ``out``, keeping the folder and its lock.

    Call only with the folder's lock held and after :func:`check_out_dir` with
    ``overwrite=True`` has found nothing but a run's files there.

    Parameters
    ----------
    out : Path
        The run folder.
    """
    for entry in out.iterdir():
        if entry.name == LOCK_NAME:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def committed(cells_dir: Path, cid: str) -> bool:
    """Tell whether a cell was committed successfully (its marker says ``ok``).

    Parameters
    ----------
    cells_dir : Path
        ``<out>/cells``.
    cid : str
        The cell id.

    Returns
    -------
    bool
        False for a missing, failed, unreadable or half-written cell (it runs again).
    """
    meta = cells_dir / f"{cid}.json"
    if not meta.is_file() or not (cells_dir / f"{cid}.parquet").is_file():
        return False
    try:
        return json.loads(meta.read_text()).get("status") == "ok"
    except (OSError, ValueError, AttributeError):
        return False


def write_cell(cells_dir: Path, out: CellOutput, task: CellTask) -> None:
    """Commit one cell: data files first, the JSON marker last (each atomically).

    Parameters
    ----------
    cells_dir : Path
        ``<out>/cells``.
    out : CellOutput
        What the cell produced.
    task : CellTask
        The cell.
    """
    cid = task.cell_id
    info = dict(out.info, status=out.status, cell=cid, index=task.index)
    if out.status == "ok":
        atomic_parquet(out.rows, cells_dir / f"{cid}.parquet")
        curve = pd.DataFrame(
            {
                "k": np.arange(1, len(out.curve) + 1, dtype=np.int64),
                "recall": out.curve.astype(np.float64),
            }
        )
        atomic_parquet(curve, cells_dir / f"{cid}.curve.parquet")
        atomic_parquet(out.longtail, cells_dir / f"{cid}.longtail.parquet")
    else:
        for suffix in (".parquet", ".curve.parquet", ".longtail.parquet"):
            (cells_dir / f"{cid}{suffix}").unlink(missing_ok=True)
    atomic_json(info, cells_dir / f"{cid}.json")


def is_assembled(out: Path, tasks: list[CellTask]) -> bool:
    """Tell whether the result tables reflect exactly the committed cells.

    Parameters
    ----------
    out : Path
        The run folder.
    tasks : list of CellTask
        The suite's cells.

    Returns
    -------
    bool
        False when ``results.parquet`` or ``cells.json`` is missing (a run killed
        before or during assembly) or ``cells.json`` lists other successful cells than
        the ones committed in ``cells/``.
    """
    if not (out / "results.parquet").is_file() or not (out / "cells.json").is_file():
        return False
    listed = read_run_json(out / "cells.json", [])
    ok_listed = {c.get("cell") for c in listed if isinstance(c, dict) and c.get("status") == "ok"}
    ok_now = {t.cell_id for t in tasks if committed(out / "cells", t.cell_id)}
    return ok_listed == ok_now


def assemble(out: Path, tasks: list[CellTask]) -> None:
    """Concatenate the committed cells (suite order) into the result tables.

    Writes ``results.parquet``, ``curves.parquet``, ``longtail.parquet`` and, last,
    ``cells.json`` (cells without a commit marker are recorded as ``missing``).

    Parameters
    ----------
    out : Path
        The run folder.
    tasks : list of CellTask
        The suite's cells, in suite order.
    """
    cells_dir = out / "cells"
    frames, curves, tails, infos = [], [], [], []
    for t in tasks:
        meta = cells_dir / f"{t.cell_id}.json"
        try:
            info = json.loads(meta.read_text()) if meta.is_file() else None
        except ValueError:  # a marker torn by hand: the cell reruns on --resume
            info = None
        if not isinstance(info, dict):
            infos.append(
                {
                    "cell": t.cell_id,
                    "model": t.model.name,
                    "dataset": t.dataset,
                    "seed": t.seed,
                    "status": "missing",
                }
            )
            continue
        infos.append(info)
        if info.get("status") != "ok":
            continue
        frames.append(read_run_parquet(cells_dir / f"{t.cell_id}.parquet"))
        c = read_run_parquet(cells_dir / f"{t.cell_id}.curve.parquet")
        lt = read_run_parquet(cells_dir / f"{t.cell_id}.longtail.parquet")
        for f in (c, lt):
            f.insert(0, "model", t.model.name)
            f.insert(1, "dataset", t.dataset)
            f.insert(2, "seed", np.int64(t.seed))
        curves.append(c)
        tails.append(lt)
    results = (
        pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=RESULT_COLUMNS)
    )
    atomic_parquet(results, out / "results.parquet")
    crash_point("assemble")
    atomic_parquet(
        pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(), out / "curves.parquet"
    )
    atomic_parquet(
        pd.concat(tails, ignore_index=True) if tails else pd.DataFrame(), out / "longtail.parquet"
    )
    atomic_json(infos, out / "cells.json")
