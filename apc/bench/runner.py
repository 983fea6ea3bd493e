"""The benchmark runner: check everything, split once, fit once, evaluate every cell, resume.

A *cell* is one (dataset, replicate seed, model) (:mod:`apc.bench.cells`). A run

1. checks the whole suite before it creates anything: the output folder (a run there
   needs ``--resume`` and the same suite), the executor, the datasets' sources, every
   model (resolved, built with its parameters, :meth:`validate_params` where the model
   has it); the suite file itself already checked the protocol and the metrics;
2. creates the run folder and takes its lock (:func:`apc.bench.rundir.lock_run_folder`):
   a second run, resume or report on the same folder is refused at once;
3. builds (or reads from the cache) the split of each dataset for each seed;
4. runs the cells not yet committed, on the executor, and commits each one as it ends
   (``cells/<cell>.parquet`` then the ``cells/<cell>.json`` marker, each atomically);
   a failed cell records its error and the others go on;
5. assembles the committed cells, in suite order, into ``results.parquet`` (one row per
   query x metric label x model x seed, the schema of
   :data:`apc.evaluation.evaluate.RESULT_COLUMNS`), ``curves.parquet`` and
   ``longtail.parquet``, and writes the summary (``summary.md``, ``summary.json``)
   beside the resolved config, the package versions and the git commit.

A run killed at any point is completed by ``--resume``, which skips committed cells,
so it ends with every row exactly once. Seeds: split seed =
``derive_seed(seed, "split", dataset)``; model seed =
``derive_seed(seed, "model", dataset, model label)``, given to every model whose
constructor takes ``seed`` (unless the suite sets it). Results do not depend on the
order or the place (process, Ray worker) cells run in.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from apc._atomic import atomic_write_bytes
from apc.bench.cache import Cache, corpus_hash, split_key
from apc.bench.cells import CellOutput, CellTask, cell_id, model_params, run_cell
from apc.bench.report import read_run_json
from apc.bench.rundir import (
    LOCK_NAME,
    assemble,
    atomic_json,
    check_out_dir,
    clear_run,
    committed,
    crash_point,
    is_assembled,
    jsonable,
    lock_run_folder,
    write_cell,
)
from apc.bench.suite import Suite
from apc.errors import ApcInputError
from apc.random import derive_seed


@dataclass
class RunResult:
    """Where a run wrote its files and how its cells ended.

    Parameters
    ----------
    out : Path
        The run folder.
    n_cells : int
        Cells of the suite.
    n_ok, n_failed : int
        Cells that succeeded / failed in this session.
    n_skipped : int
        Cells already committed (skipped on resume).
    failed : list of dict
        ``cell`` and ``error`` of each cell that failed in this session.
    summary : dict
        The content of ``summary.json``.
    """

    out: Path
    n_cells: int
    n_ok: int
    n_failed: int
    n_skipped: int
    failed: list[dict[str, Any]]
    summary: dict[str, Any]


# ---------------------------------------------------------------------- checks
def check_models(suite: Suite) -> None:
    """Resolve, build and check every model of the suite before any work.

    A typo or a parameter of the wrong type is bad input, not a failed cell: each model
    is built with the parameters a cell would give it, then its ``validate_params()``
    (the models' declarative, data-free check) runs where the model has one.

    Parameters
    ----------
    suite : Suite
        A validated suite.

    Raises
    ------
    ApcInputError
        Naming the suite file and the field ``models[i].model`` of the first model
        that cannot be resolved, or ``models[i].params.<name>`` (``models[i].params``
        when the model does not say which) of the first whose parameters it rejects.
    """
    from apc.models.registry import create_model, get_model_class

    file = suite.path or None
    for i, m in enumerate(suite.models):
        try:
            cls = get_model_class(m.model)
        except ApcInputError as e:
            raise ApcInputError(e.message, file=file, field=f"models[{i}].model") from None
        params = model_params(m, cls, 0)
        try:
            model = create_model(m.model, params)  # constructing is cheap; fitting comes later
            validate = getattr(model, "validate_params", None)  # optional for plug-ins
            if callable(validate):
                validate()
        except ApcInputError as e:
            where = f"models[{i}].params"
            if e.field and e.field not in ("param", "params"):
                where += f".{e.field}"
            raise ApcInputError(f"model {m.name!r}: {e.message}", file=file, field=where) from None


def check_datasets(suite: Suite) -> None:
    """Check that every dataset source names something loadable (cheap: nothing is read).

    Parameters
    ----------
    suite : Suite
        A validated suite.

    Raises
    ------
    ApcInputError
        Naming the suite file and ``datasets[i].source`` of the first source that is
        neither a known ``synth:`` preset with valid options, a saved corpus folder nor
        a native file or folder whose format can be told.
    """
    from apc.datasets import guess_format, parse_synth_spec

    for i, d in enumerate(suite.datasets):
        where = f"datasets[{i}].source"
        try:
            if d.source == "synth" or d.source.startswith("synth:"):
                from apc.datasets.synthetic import config

                preset, opts = parse_synth_spec(d.source if ":" in d.source else "synth:small")
                opts.pop("seed", None)
                config(preset, **opts)
                continue
            path = Path(d.source)
            if (path / "manifest.json").is_file():
                continue
            if not path.exists():
                raise ApcInputError(
                    f"no such corpus {d.source!r} (expected a saved corpus folder, "
                    "synth:<preset> or a native dataset path)"
                )
            guess_format(path)
        except ApcInputError as e:
            raise ApcInputError(
                f"dataset {d.name!r}: {e.message}", file=suite.path or None, field=where
            ) from None


def check_executor(name: str) -> None:
    """Check the executor name (and that Ray is installed for ``"ray"``).

    Parameters
    ----------
    name : str
        ``"local"`` or ``"ray"``.

    Raises
    ------
    ApcInputError
        On an unknown name, or ``"ray"`` without Ray.
    """
    if name == "local":
        return
    if name == "ray":
        from apc.bench.executors.ray import _import_ray

        _import_ray()
        return
    raise ApcInputError(f"unknown executor {name!r}; expected 'local' or 'ray'", field="executor")


def check_run(suite: Suite, out: Path, *, executor: str = "local", resume: bool = False,
              overwrite: bool = False) -> None:
    """Check everything a run needs before its folder is created.

    Parameters
    ----------
    suite : Suite
        A validated suite (its protocol and metrics were checked when it was read).
    out : Path
        The run folder (need not exist).
    executor : str
        Executor name.
    resume : bool
        Whether the run continues one in ``out``.
    overwrite : bool
        Whether the run replaces one in ``out``.

    Raises
    ------
    ApcInputError
        From :func:`~apc.bench.rundir.check_out_dir`, :func:`check_executor`,
        :func:`check_datasets` or :func:`check_models`.
    """
    check_out_dir(out, suite, resume, overwrite)
    check_executor(executor)
    check_datasets(suite)
    check_models(suite)


# ---------------------------------------------------------------------- plan
def plan_cells(
    suite: Suite, cache_root: str | None, keys: dict[tuple[str, int], str] | None = None
) -> list[CellTask]:
    """List every cell of the suite in suite order: dataset, then seed, then model.

    Parameters
    ----------
    suite : Suite
        A validated suite.
    cache_root : str or None
        Cache folder given to every cell (None: no cache).
    keys : dict, optional
        ``{(dataset, seed): split key}``; missing keys are left empty.

    Returns
    -------
    list of CellTask
    """
    tasks = []
    for d in suite.datasets:
        for seed in suite.seeds:
            for m in suite.models:
                tasks.append(
                    CellTask(
                        index=len(tasks),
                        cell_id=cell_id(d.name, seed, m.name),
                        dataset=d.name,
                        seed=seed,
                        split_key=(keys or {}).get((d.name, seed), ""),
                        protocol=suite.protocol,
                        model=m,
                        model_seed=derive_seed(seed, "model", d.name, m.name),
                        metrics=tuple(suite.metrics),
                        cutoff=suite.cutoff,
                        longtail_k=suite.longtail_k,
                        cache_root=cache_root,
                    )
                )
    return tasks


def prepare_splits(
    suite: Suite, pairs: list[tuple[str, int]], cache: Cache
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Build (or load) the split of every (dataset, seed) in ``pairs``.

    Parameters
    ----------
    suite : Suite
        A validated suite.
    pairs : list of (str, int)
        Dataset names and replicate seeds.
    cache : Cache
        Split cache.

    Returns
    -------
    splits : dict
        ``{split key: Split}``.
    records : dict
        ``{"<dataset>/<seed>": split record}``, where a record holds the key, the
        split's own hash, the split seed, sizes and the split report.

    Raises
    ------
    ApcInputError
        If a corpus cannot be read, or the protocol cannot split it.
    """
    from apc.datasets import load_corpus
    from apc.evaluation.protocols import make_protocol

    file = suite.path or None
    try:
        protocol = make_protocol(suite.protocol, **suite.protocol_options)
    except ApcInputError as e:
        where = f"protocol.{e.field or 'options'}"
        raise ApcInputError(e.message, file=file, field=where) from None
    datasets = {d.name: d for d in suite.datasets}
    splits: dict[str, Any] = {}
    records: dict[str, dict[str, Any]] = {}
    corpora: dict[str, tuple[Any, str]] = {}
    for name, seed in pairs:
        try:
            if name not in corpora:
                pl = load_corpus(datasets[name].source)
                corpora[name] = (pl, corpus_hash(pl))
            pl, digest = corpora[name]
            split_seed = derive_seed(seed, "split", name)
            key = split_key(digest, suite.protocol, suite.protocol_options, split_seed)
            split = cache.load_split(key)
            cached = split is not None
            if split is None:
                split = protocol.split(pl, seed=split_seed)
                cache.save_split(key, split)
        except ApcInputError as e:
            where = f"datasets[{list(datasets).index(name)}]"
            why = str(e) if e.file else e.message  # name the corpus file when it is the cause
            raise ApcInputError(f"dataset {name!r}: {why}", file=file, field=where) from None
        splits[key] = split
        records[f"{name}/{seed}"] = {
            "dataset": name,
            "seed": seed,
            "split_seed": split_seed,
            "key": key,
            "cached": cached,
            "hash": split.hash(),
            "corpus_hash": digest,
            "n_train": len(split.train),
            "n_queries": len(split.queries),
            "n_tracks": split.train.n_tracks,
            "report": jsonable(split.report),
        }
    return splits, records


# ---------------------------------------------------------------------- the run
def run_suite(
    suite: Suite,
    out: str | Path,
    *,
    executor: str = "local",
    resume: bool = False,
    overwrite: bool = False,
    cache: str | Path | None = ".apc-cache",
    ray_address: str | None = None,
    executor_options: dict[str, Any] | None = None,
    report: bool = True,
) -> RunResult:
    """Run every cell of ``suite`` and write results, summary and provenance to ``out``.

    Parameters
    ----------
    suite : Suite
        A validated suite (:func:`apc.bench.suite.load_suite`).
    out : path
        Output folder (created). An existing run there needs ``resume=True``.
    executor : {"local", "ray"}
        Where cells run.
    resume : bool
        Skip cells already committed in ``out`` (the suite must be unchanged).
    overwrite : bool
        Replace the run in ``out``: its files are removed once every check has passed
        and the folder's lock is held (a folder holding other files is refused).
    cache : path or None
        Split and model cache folder; None disables caching.
    ray_address : str, optional
        Ray cluster address (else ``$RAY_ADDRESS``, else a local Ray).
    executor_options : dict, optional
        Extra executor options (e.g. ``{"num_cpus": 2}`` for a local Ray).
    report : bool
        Also draw the PNG plots and the HTML page (:func:`apc.bench.report.write_report`).

    Returns
    -------
    RunResult

    Raises
    ------
    ApcInputError
        On any bad input (see :func:`check_run`), before the folder is created; when
        another process works in ``out``; or when a corpus cannot be read or split
        (the folder is then removed again if this call created it).
    """
    out = Path(out)
    check_run(suite, out, executor=executor, resume=resume, overwrite=overwrite)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    lock = lock_run_folder(out)
    try:
        check_out_dir(out, suite, resume, overwrite)  # again, now no one else can change it
        return _run_locked(
            suite, out, executor=executor, cache=cache, ray_address=ray_address,
            executor_options=executor_options, report=report, created=created,
            overwrite=overwrite,
        )
    finally:
        lock.release()


def _run_locked(suite: Suite, out: Path, *, executor: str, cache: str | Path | None,
                ray_address: str | None, executor_options: dict[str, Any] | None,
                report: bool, created: bool, overwrite: bool = False) -> RunResult:
    """Run the suite with the folder's lock held (see :func:`run_suite`)."""
    from apc.bench.executors import make_executor
    from apc.bench.provenance import provenance
    from apc.progress import task as progress_task

    cells_dir = out / "cells"
    tasks = plan_cells(suite, None if cache is None else str(cache))
    todo = [t for t in tasks if overwrite or not committed(cells_dir, t.cell_id)]
    pairs = sorted(
        {(t.dataset, t.seed) for t in todo},
        key=lambda p: ([d.name for d in suite.datasets].index(p[0]), p[1]),
    )
    try:
        splits, records = prepare_splits(suite, pairs, Cache(cache)) if pairs else ({}, {})
    except ApcInputError:
        if created and {p.name for p in out.iterdir()} <= {LOCK_NAME}:
            shutil.rmtree(out)  # nothing of the run was written: leave no folder behind
        raise

    if overwrite:  # every check passed and the splits exist: the old run goes now
        clear_run(out)
    # the run starts here: config, suite copy, provenance, split records
    config = {"config_hash": suite.config_hash(), "suite": suite.to_dict(), "source": suite.path}
    atomic_json(config, out / "config.json")
    if suite.path and Path(suite.path).is_file():
        atomic_write_bytes(out / "suite.toml", Path(suite.path).read_bytes())
    prov_path = out / "provenance.json"
    sessions = (read_run_json(prov_path, {}) or {}).get("sessions", [])
    sessions.append(provenance(executor))
    atomic_json({"sessions": sessions, **sessions[-1]}, prov_path)
    splits_path = out / "splits.json"
    all_records = read_run_json(splits_path, {}) or {}
    all_records.update(records)
    atomic_json(all_records, splits_path)
    keyed = {(r["dataset"], r["seed"]): r["key"] for r in all_records.values()}
    todo = [replace(t, split_key=keyed[(t.dataset, t.seed)]) for t in todo]

    failed: list[dict[str, Any]] = []
    n_ok = 0
    cells_dir.mkdir(exist_ok=True)
    if todo:
        ex = make_executor(executor, address=ray_address, **(executor_options or {}))
        try:
            with progress_task(f"bench {suite.name}", total=len(todo)) as bar:
                for i, result in ex.map(run_cell, todo, splits, key=lambda t: t.split_key):
                    t = todo[i]
                    if not isinstance(result, CellOutput):  # the executor lost the task
                        result = CellOutput(
                            t.cell_id,
                            "error",
                            info={"error": str(result), "phase": "executor",
                                  "model": t.model.name, "dataset": t.dataset, "seed": t.seed},
                        )
                    write_cell(cells_dir, result, t)
                    if result.status == "ok":
                        n_ok += 1
                    else:
                        failed.append({"cell": t.cell_id, "error": result.info.get("error", "")})
                    bar.advance()
                    crash_point("cell", n_ok + len(failed))
        finally:
            ex.close()

    summary = _assemble_and_report(out, suite, tasks, report=report)
    n_skipped = len(tasks) - len(todo)
    return RunResult(out, len(tasks), n_ok, len(failed), n_skipped, failed, summary)


def _assemble_and_report(out: Path, suite: Suite, tasks: list[CellTask], *,
                         report: bool) -> dict[str, Any]:
    from apc.bench.report import write_report, write_summary

    assemble(out, tasks)
    if report:
        return write_report(out, suite)["summary"]
    return write_summary(out, suite)


def report_run(out: str | Path) -> dict[str, Any]:
    """Write the summary, plots and ``report.html`` of a run folder (``apc bench report``).

    A run killed before or during its final assembly is assembled first from its
    committed cells, so the report shows every cell that finished.

    Parameters
    ----------
    out : str or Path
        A run folder.

    Returns
    -------
    dict
        As :func:`apc.bench.report.write_report`.

    Raises
    ------
    ApcInputError
        If ``out`` is not a run folder, one of its files is truncated, or another
        process works in it.
    """
    from apc.bench.report import load_run, write_report

    out = Path(out)
    suite = load_run(out)["suite"]  # checks the folder and its files before locking
    lock = lock_run_folder(out)
    try:
        tasks = plan_cells(suite, None)
        if not is_assembled(out, tasks):
            assemble(out, tasks)
        return write_report(out)
    finally:
        lock.release()


def read_config_hash(out: str | Path) -> str | None:
    """Return the suite hash stored in a run folder, or None when it holds no run.

    Parameters
    ----------
    out : str or Path
        A folder.

    Returns
    -------
    str or None

    Raises
    ------
    ApcInputError
        If ``config.json`` is truncated or corrupt.
    """
    cfg = read_run_json(Path(out) / "config.json")
    return cfg.get("config_hash") if isinstance(cfg, dict) else None

