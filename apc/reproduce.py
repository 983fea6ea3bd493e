"""Reproductions: a reported number, the suite that measures it, and a tolerance.

A recipe in ``baselines/*.toml`` names where a number was reported (a paper and its
table, or a recorded apc benchmark run), the dataset and where to get it, and the
benchmark suite that reproduces it; ``apc reproduce FILE`` runs that suite (cached and
resumable like ``apc bench run``) and prints reported and measured values side by
side::

    [reproduction]
    name = "synth-small-next-track"
    kind = "record"                         # "paper" or "record" (a recorded apc run)
    source = "apc benchmarks/results/bench.md (2-core CPU run)"
    table = "quick suite, synth-small"
    dataset = "apc synthetic corpus, preset small, seed 0"
    dataset_source = "built in (synth:small)"
    suite = "../benchmarks/suites/synth-next-track.toml"   # relative to this file

    [[results]]
    model = "popularity"                    # a model label of the suite
    metric = "hit@10"                       # a metric label of the suite
    reported = 0.0421
    tolerance = 0.005                       # absolute

A result is reproduced when ``|measured - reported| <= tolerance``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from apc.errors import ApcInputError, read_text

_HEAD_KEYS = {
    "name",
    "kind",
    "source",
    "table",
    "dataset",
    "dataset_source",
    "suite",
    "notes",
    "protocol",
}
_RESULT_KEYS = {"model", "metric", "dataset", "reported", "tolerance", "notes"}


@dataclass(frozen=True)
class ReportedResult:
    """One published or recorded number and its tolerance.

    Parameters
    ----------
    model : str
        Model label of the suite.
    metric : str
        Metric label of the suite.
    reported : float
        The published or recorded value.
    tolerance : float
        Largest absolute difference that counts as reproduced.
    dataset : str, optional
        Dataset label of the suite (needed when it has several).
    notes : str
        Free text.
    """

    model: str
    metric: str
    reported: float
    tolerance: float
    dataset: str | None = None
    notes: str = ""


@dataclass
class Reproduction:
    """A validated reproduction recipe.

    Parameters
    ----------
    name : str
        Recipe name (default: the file's stem).
    kind : {"paper", "record"}
        A number from a paper or from a recorded apc run.
    source : str
        Where the numbers were reported.
    table : str
        Table or section of the source.
    dataset : str
        The dataset, in words.
    dataset_source : str
        Where to get the dataset.
    suite_path : Path
        The benchmark suite that measures the numbers (absolute).
    results : list of ReportedResult
        The numbers to reproduce.
    notes : str
        Free text.
    protocol : str, optional
        Protocol the suite must use.
    path : str
        The recipe file.
    extra : dict
        Free-form information.
    """

    name: str
    kind: str
    source: str
    table: str
    dataset: str
    dataset_source: str
    suite_path: Path
    results: list[ReportedResult]
    notes: str = ""
    protocol: str | None = None
    path: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _req_str(table: dict, key: str, file: str, where: str) -> str:
    if key not in table:
        raise ApcInputError("missing", file=file, field=f"{where}.{key}")
    v = table[key]
    if not isinstance(v, str) or not v.strip():
        raise ApcInputError(
            f"expected a non-empty string, got {v!r}", file=file, field=f"{where}.{key}"
        )
    return v


def _number(table: dict, key: str, file: str, where: str) -> float:
    v = table.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ApcInputError(f"expected a number, got {v!r}", file=file, field=f"{where}.{key}")
    return float(v)


def load_reproduction(path: str | Path) -> Reproduction:
    """Read and validate a ``baselines/*.toml`` recipe (unknown keys are errors).

    Parameters
    ----------
    path : str or Path
        The recipe; its ``suite`` path is resolved against the recipe's folder.

    Returns
    -------
    Reproduction

    Raises
    ------
    ApcInputError
        If the file is missing or malformed, a key is unknown, a required value is
        missing, ``kind`` is not ``paper`` or ``record``, or a tolerance is negative.
    """
    path = Path(path)
    file = str(path)
    if not path.is_file():
        raise ApcInputError("no such reproduction file", file=file)
    try:
        data = tomllib.loads(read_text(path, what="reproduction file"))
    except tomllib.TOMLDecodeError as e:
        raise ApcInputError(f"malformed TOML ({e})", file=file) from e
    for key in data:
        if key not in ("reproduction", "results"):
            raise ApcInputError("unknown key; allowed: reproduction, results", file=file, field=key)
    head = data.get("reproduction")
    if not isinstance(head, dict):
        raise ApcInputError(
            "a recipe needs a [reproduction] table", file=file, field="reproduction"
        )
    for key in head:
        if key not in _HEAD_KEYS:
            raise ApcInputError(
                f"unknown key; allowed: {', '.join(sorted(_HEAD_KEYS))}",
                file=file,
                field=f"reproduction.{key}",
            )
    kind = head.get("kind", "paper")
    if kind not in ("paper", "record"):
        raise ApcInputError(
            f"expected 'paper' or 'record', got {kind!r}", file=file, field="reproduction.kind"
        )
    suite_path = (path.resolve().parent / _req_str(head, "suite", file, "reproduction")).resolve()
    raw = data.get("results")
    if not isinstance(raw, list) or not raw:
        raise ApcInputError(
            "a recipe needs at least one [[results]] entry", file=file, field="results"
        )
    results = []
    for i, r in enumerate(raw):
        where = f"results[{i}]"
        if not isinstance(r, dict):
            raise ApcInputError("expected a table", file=file, field=where)
        for key in r:
            if key not in _RESULT_KEYS:
                raise ApcInputError(
                    f"unknown key; allowed: {', '.join(sorted(_RESULT_KEYS))}",
                    file=file,
                    field=f"{where}.{key}",
                )
        tol = _number(r, "tolerance", file, where)
        if tol < 0:
            raise ApcInputError("must be >= 0", file=file, field=f"{where}.tolerance")
        results.append(
            ReportedResult(
                model=_req_str(r, "model", file, where),
                metric=_req_str(r, "metric", file, where),
                reported=_number(r, "reported", file, where),
                tolerance=tol,
                dataset=r.get("dataset"),
                notes=str(r.get("notes", "")),
            )
        )
    return Reproduction(
        name=head.get("name", path.stem),
        kind=kind,
        source=_req_str(head, "source", file, "reproduction"),
        table=str(head.get("table", "")),
        dataset=_req_str(head, "dataset", file, "reproduction"),
        dataset_source=_req_str(head, "dataset_source", file, "reproduction"),
        suite_path=suite_path,
        results=results,
        notes=str(head.get("notes", "")),
        protocol=head.get("protocol"),
        path=file,
    )


def check_recipe(rep: Reproduction):
    """Load the recipe's suite; check every result names one of its models, metrics, datasets.

    Parameters
    ----------
    rep : Reproduction
        A recipe from :func:`load_reproduction`.

    Returns
    -------
    Suite
        The recipe's suite.

    Raises
    ------
    ApcInputError
        If the suite is missing or invalid, its protocol differs from the recipe's, a
        result names an unknown model, metric or dataset (or none where the suite has
        several), or a dataset path of the suite does not exist.
    """
    from apc.bench.suite import load_suite

    if not rep.suite_path.is_file():
        raise ApcInputError(
            f"the recipe's suite does not exist: {rep.suite_path}",
            file=rep.path,
            field="reproduction.suite",
        )
    suite = load_suite(rep.suite_path)
    if rep.protocol is not None and rep.protocol != suite.protocol:
        raise ApcInputError(
            f"recipe says protocol {rep.protocol!r} but the suite uses {suite.protocol!r}",
            file=rep.path,
            field="reproduction.protocol",
        )
    models = {m.name for m in suite.models}
    datasets = [d.name for d in suite.datasets]
    for i, r in enumerate(rep.results):
        if r.model not in models:
            raise ApcInputError(
                f"model {r.model!r} is not in the suite ({', '.join(sorted(models))})",
                file=rep.path,
                field=f"results[{i}].model",
            )
        if r.metric not in suite.metrics:
            raise ApcInputError(
                f"metric {r.metric!r} is not evaluated by the suite",
                file=rep.path,
                field=f"results[{i}].metric",
            )
        if r.dataset is None and len(datasets) > 1:
            raise ApcInputError(
                "the suite has several datasets; name one",
                file=rep.path,
                field=f"results[{i}].dataset",
            )
        if r.dataset is not None and r.dataset not in datasets:
            raise ApcInputError(
                f"dataset {r.dataset!r} is not in the suite",
                file=rep.path,
                field=f"results[{i}].dataset",
            )
    for d in suite.datasets:
        if ":" not in d.source.split("/")[0] and not Path(d.source).exists():
            raise ApcInputError(
                f"dataset {d.name!r} not found at {d.source}; get it from: {rep.dataset_source}",
                file=rep.path,
                field="reproduction.dataset_source",
            )
    return suite


@dataclass
class ReproductionResult:
    """Reported vs. measured, one row per recipe result.

    Parameters
    ----------
    recipe : Reproduction
        The recipe.
    table : pd.DataFrame
        ``model, dataset, metric, reported, measured, low, high, diff, tolerance,
        reproduced``.
    markdown : str
        The report printed by ``apc reproduce``.
    out : Path
        The run folder.
    n_failed_cells : int
        Cells of the run that did not succeed.
    """

    recipe: Reproduction
    table: pd.DataFrame
    markdown: str
    out: Path
    n_failed_cells: int

    @property
    def ok(self) -> bool:
        """Every result within tolerance and no failed cell."""
        return bool(self.table["reproduced"].all()) and self.n_failed_cells == 0


def reproduce(
    path: str | Path,
    *,
    out: str | Path | None = None,
    cache: str | Path | None = ".apc-cache",
    executor: str = "local",
    ray_address: str | None = None,
) -> ReproductionResult:
    """Run the recipe's suite and compare each reported number with the measured one.

    The run goes to ``out`` (default ``runs/reproduce/<name>``); an earlier run of the
    same suite there is resumed rather than repeated.

    Parameters
    ----------
    path : str or Path
        The recipe.
    out : str or Path, optional
        Run folder.
    cache : str or Path or None, default ".apc-cache"
        Split and model cache folder; None disables caching.
    executor : {"local", "ray"}
        Where cells run.
    ray_address : str, optional
        Ray cluster address.

    Returns
    -------
    ReproductionResult
        One row per recipe result (reported, measured with its interval, difference,
        tolerance, reproduced), the markdown report, the run folder and the number of
        failed cells.

    Raises
    ------
    ApcInputError
        If the recipe is invalid or ``out`` holds a run of a different suite.
    """
    from apc.bench.runner import read_config_hash, run_suite
    from apc.bench.tables import summary_table

    rep = load_reproduction(path)
    suite = check_recipe(rep)
    out = Path(out) if out is not None else Path("runs") / "reproduce" / rep.name
    stored = read_config_hash(out)
    resume = stored is not None
    if resume and stored != suite.config_hash():
        raise ApcInputError("holds a run of a different suite; choose another --out", file=str(out))
    result = run_suite(
        suite,
        out,
        executor=executor,
        resume=resume,
        cache=cache,
        ray_address=ray_address,
        report=False,
    )
    results = pd.read_parquet(out / "results.parquet")
    table = summary_table(results, suite) if not results.empty else pd.DataFrame()
    rows = []
    for r in rep.results:
        dataset = r.dataset or suite.datasets[0].name
        hit = (
            table[
                (table["dataset"] == dataset)
                & (table["model"] == r.model)
                & (table["label"] == r.metric)
            ]
            if not table.empty
            else table
        )
        measured = float(hit["mean"].iloc[0]) if len(hit) else float("nan")
        low = float(hit["low"].iloc[0]) if len(hit) else float("nan")
        high = float(hit["high"].iloc[0]) if len(hit) else float("nan")
        diff = measured - r.reported
        rows.append(
            {
                "model": r.model,
                "dataset": dataset,
                "metric": r.metric,
                "reported": r.reported,
                "measured": measured,
                "low": low,
                "high": high,
                "diff": diff,
                "tolerance": r.tolerance,
                "reproduced": (not math.isnan(measured)) and abs(diff) <= r.tolerance + 1e-12,
            }
        )
    frame = pd.DataFrame(rows)
    del result  # every cell's status is in cells.json, this session's and earlier ones
    return ReproductionResult(rep, frame, _markdown(rep, frame, out), out, _failed_cells(out))


def _failed_cells(out: Path) -> int:
    import json

    cells = json.loads((out / "cells.json").read_text()) if (out / "cells.json").is_file() else []
    return sum(c.get("status") != "ok" for c in cells)


def _markdown(rep: Reproduction, frame: pd.DataFrame, out: Path) -> str:
    lines = [
        f"# Reproduction `{rep.name}`",
        "",
        f"- **Reported in**: {rep.source}"
        + (f", {rep.table}" if rep.table else "")
        + (" (a recorded apc run, not a paper)" if rep.kind == "record" else ""),
        f"- **Dataset**: {rep.dataset} — source: {rep.dataset_source}",
        f"- **Suite**: `{rep.suite_path}`; run folder `{out}` (its summary.md states the "
        "protocol, split hashes and versions)",
    ]
    if rep.notes:
        lines.append(f"- **Notes**: {rep.notes}")
    lines += [
        "",
        "| model | dataset | metric | reported | measured [95% CI] | difference | tolerance "
        "| reproduced |",
        "|---|---|---|---:|---:|---:|---:|:---:|",
    ]
    for _, r in frame.iterrows():
        ci = "" if math.isnan(r["low"]) else f" [{r['low']:.4f}, {r['high']:.4f}]"
        lines.append(
            f"| {r['model']} | {r['dataset']} | {r['metric']} | {r['reported']:.4f} "
            f"| {r['measured']:.4f}{ci} | {r['diff']:+.4f} | ±{r['tolerance']:.4f} "
            f"| {'yes' if r['reproduced'] else '**no**'} |"
        )
    return "\n".join(lines) + "\n"
