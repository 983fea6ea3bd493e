"""Benchmark suites: a TOML file naming datasets, one protocol, models, metrics and seeds.

A suite is data, validated up front and strictly: an unknown key anywhere raises
:class:`~apc.errors.ApcInputError` naming the file and the key, so a typo never
silently falls back to a default. Example (``benchmarks/quick.toml``)::

    [suite]
    name = "quick"
    seeds = [0, 1]                 # replicate seeds: each gives its own split and model seeds
    cutoff = 500                   # length of every recommendation list (max K)
    metrics = ["hit@10", "mrr@20"] # optional; defaults depend on the protocol
    baseline = "popularity"        # model label the paired tests compare against

    [[datasets]]
    name = "synth-small"
    source = "synth:small"         # a saved corpus dir, synth:<preset>[?seed=N] or a native path

    [protocol]
    name = "next-track"
    options = { last_only = true }

    [[models]]
    name = "knn"                   # label in tables (unique)
    model = "knn"                  # registry name, entry point or "pkg.module:Class"
    params = { n_neighbors = 50 }

Relative dataset paths are resolved against the suite file's folder; ``$VARS`` and
``~`` are expanded first (``$APC_SHARED_DATA`` defaults to :data:`apc.datasets.SHARED_DATA`).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from apc.bench._toml import check_keys, int_list, resolve_source, typed, unique
from apc.errors import ApcInputError, read_text
from apc.evaluation.evaluate import default_labels
from apc.evaluation.metrics import parse_label

_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")

_SUITE_KEYS = {
    "name",
    "description",
    "seeds",
    "cutoff",
    "metrics",
    "ks",
    "baseline",
    "test",
    "correction",
    "n_boot",
    "n_perm",
    "confidence",
    "longtail_k",
}
_DATASET_KEYS = {"name", "source"}
_PROTOCOL_KEYS = {"name", "options"}
_MODEL_KEYS = {"name", "model", "params", "cache"}


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset of a suite: a label and the source given to ``load_corpus``.

    Parameters
    ----------
    name : str
        Label in tables (unique in the suite).
    source : str
        Saved corpus directory, ``synth:<preset>`` spec or native path (resolved).
    """

    name: str
    source: str


@dataclass(frozen=True)
class ModelEntry:
    """One model of a suite: a label, what to build and its hyper-parameters.

    Parameters
    ----------
    name : str
        Label in tables (unique in the suite).
    model : str
        Registry name, entry point or ``pkg.module:Class``.
    params : dict
        Hyper-parameters.
    cache : bool
        Whether the fitted model may be read from and written to the cache.
    """

    name: str
    model: str
    params: dict[str, Any] = field(default_factory=dict)
    cache: bool = True


@dataclass(frozen=True)
class Suite:
    """A validated benchmark suite (see the module docstring for the TOML layout).

    Parameters
    ----------
    name : str
        Suite name (used in reports).
    datasets : list of DatasetSpec
        Corpora to split and evaluate on.
    protocol : str
        Protocol name given to ``apc.evaluation.protocols.make_protocol``.
    protocol_options : dict
        Keyword options of the protocol.
    models : list of ModelEntry
        Models to fit and evaluate.
    metrics : list of str
        Metric labels, ``name@k`` or ``name`` for metrics without a cut-off.
    seeds : list of int
        Replicate seeds. Split and model seeds of each cell are derived from them with
        :func:`apc.random.derive_seed`.
    cutoff : int
        Length of every recommendation list; the recall curve runs from 1 to ``cutoff``.
    baseline : str or None
        Label of the model every other model is tested against (besides the best).
    test : str
        Paired test, see :data:`apc.bench.stats.TESTS`.
    correction : str
        Multiple-comparison correction, see :data:`apc.bench.stats.CORRECTIONS`.
    n_boot, n_perm : int
        Bootstrap resamples and randomisation-test permutations.
    confidence : float
        Coverage of the bootstrap intervals.
    longtail_k : int
        Cut-off of the long-tail (target popularity) breakdown.
    description : str
        Free text printed at the top of the summary.
    path : str
        The file the suite was read from (for messages), or "" when built in code.
    """

    name: str
    datasets: list[DatasetSpec]
    protocol: str
    protocol_options: dict[str, Any]
    models: list[ModelEntry]
    metrics: list[str]
    seeds: list[int] = field(default_factory=lambda: [0])
    cutoff: int = 500
    baseline: str | None = None
    test: str = "randomization"
    correction: str = "holm"
    n_boot: int = 1000
    n_perm: int = 10000
    confidence: float = 0.95
    longtail_k: int = 100
    description: str = ""
    path: str = ""

    # ------------------------------------------------------------------ derived
    @property
    def metric_ks(self) -> list[tuple[str, int | None]]:
        """``(metric name, k or None)`` for every metric label, in order."""
        return [parse_label(label) for label in self.metrics]

    def to_dict(self) -> dict[str, Any]:
        """Return the resolved configuration (JSON-serialisable, no file path).

        Returns
        -------
        dict
            Every field but ``path``; datasets and models as dicts.
        """
        d = asdict(self)
        d.pop("path")
        return d

    def config_hash(self) -> str:
        """Hash the resolved configuration: what a resumed run must match.

        Returns
        -------
        str
            Hex sha256 of the canonical JSON of :meth:`to_dict`.
        """
        return hashlib.sha256(
            json.dumps(self.to_dict(), sort_keys=True, default=str).encode()
        ).hexdigest()

    def model(self, name: str) -> ModelEntry:
        """Return the model entry labelled ``name``.

        Parameters
        ----------
        name : str
            Model label.

        Returns
        -------
        ModelEntry

        Raises
        ------
        KeyError
            If no model has that label.
        """
        for m in self.models:
            if m.name == name:
                return m
        raise KeyError(name)


def metric_label(name: str, k: int | None) -> str:
    """Build a metric label (the inverse of :func:`parse_label`).

    Parameters
    ----------
    name : str
        Metric name.
    k : int or None
        Cut-off.

    Returns
    -------
    str
        ``name@k``, or ``name`` when ``k`` is None.
    """
    return name if k is None else f"{name}@{k}"


def safe_name(text: str) -> str:
    """Make text safe for a file name.

    Parameters
    ----------
    text : str
        Any label.

    Returns
    -------
    str
        Runs of characters other than letters, digits, ``_``, ``.`` and ``-`` become
        ``_``; leading and trailing ``_`` are stripped; ``"x"`` if nothing is left.
    """
    return _SAFE.sub("_", text).strip("_") or "x"


def default_metrics(protocol: str, cutoff: int | None = None) -> list[str]:
    """Return the default metric labels of a suite for ``protocol``.

    Parameters
    ----------
    protocol : str
        Protocol name.
    cutoff : int, optional
        The suite's list length. Defaults follow it: a default cut-off above it
        becomes the cutoff (``recall@100`` is ``recall@50`` in a suite with
        ``cutoff = 50``), and a label that then repeats is kept once. A metric the
        user writes above the cutoff is still an error.

    Returns
    -------
    list of str
        :func:`apc.evaluation.evaluate.default_labels`: one list for the CLI and suites.
    """
    labels = default_labels(protocol)
    if cutoff is None:
        return labels
    capped = []
    for label in labels:
        name, k = parse_label(label)
        capped.append(metric_label(name, min(k, cutoff)) if k is not None else label)
    return list(dict.fromkeys(capped))


# ---------------------------------------------------------------------- parsing
def suite_from_dict(
    data: dict[str, Any], *, file: str = "<suite>", base: Path | None = None
) -> Suite:
    """Validate a parsed suite table and build a :class:`Suite`.

    Parameters
    ----------
    data : dict
        The parsed TOML (``suite``, ``datasets``, ``protocol``, ``models`` tables).
    file : str
        Name of the source, used in error messages and stored as :attr:`Suite.path`.
    base : Path, optional
        Folder that relative dataset paths are resolved against.

    Returns
    -------
    Suite

    Raises
    ------
    ApcInputError
        Naming ``file`` and the offending key on any unknown key, wrong type, missing
        value or inconsistent reference.
    """
    check_keys(data, {"suite", "datasets", "protocol", "models"}, "", file)
    head = check_keys(data.get("suite", {}), _SUITE_KEYS, "suite", file)

    name = typed(head.get("name", Path(file).stem), str, "suite.name", file, "a string")
    description = typed(head.get("description", ""), str, "suite.description", file, "a string")
    seeds = int_list(head.get("seeds", [0]), "suite.seeds", file, positive=False)
    if len(set(seeds)) != len(seeds):
        raise ApcInputError("seeds must be distinct", file=file, field="suite.seeds")
    cutoff = typed(head.get("cutoff", 500), int, "suite.cutoff", file, "an integer")
    if cutoff < 1:
        raise ApcInputError(f"must be >= 1, got {cutoff}", file=file, field="suite.cutoff")

    # datasets
    raw_datasets = data.get("datasets")
    if not raw_datasets:
        raise ApcInputError(
            "a suite needs at least one [[datasets]] entry", file=file, field="datasets"
        )
    typed(raw_datasets, list, "datasets", file, "an array of tables [[datasets]]")
    datasets = []
    for i, d in enumerate(raw_datasets):
        where = f"datasets[{i}]"
        check_keys(d, _DATASET_KEYS, where, file)
        if "source" not in d:
            raise ApcInputError("missing 'source'", file=file, field=f"{where}.source")
        source = typed(d["source"], str, f"{where}.source", file, "a string")
        label = typed(d.get("name", source), str, f"{where}.name", file, "a string")
        datasets.append(DatasetSpec(label, resolve_source(source, base)))
    unique([d.name for d in datasets], "datasets", file)

    # protocol
    if "protocol" not in data:
        raise ApcInputError("a suite needs a [protocol] table", file=file, field="protocol")
    proto = check_keys(data["protocol"], _PROTOCOL_KEYS, "protocol", file)
    if "name" not in proto:
        raise ApcInputError("missing 'name'", file=file, field="protocol.name")
    protocol = typed(proto["name"], str, "protocol.name", file, "a string")
    options = typed(proto.get("options", {}), dict, "protocol.options", file, "a table")
    family = _check_protocol(protocol, options, file)  # before the metrics: they depend on it

    # models
    raw_models = data.get("models")
    if not raw_models:
        raise ApcInputError(
            "a suite needs at least one [[models]] entry", file=file, field="models"
        )
    typed(raw_models, list, "models", file, "an array of tables [[models]]")
    models = []
    for i, m in enumerate(raw_models):
        where = f"models[{i}]"
        check_keys(m, _MODEL_KEYS, where, file)
        if "name" not in m and "model" not in m:
            raise ApcInputError("missing 'name' (and 'model')", file=file, field=f"{where}.name")
        label = typed(m.get("name", m.get("model")), str, f"{where}.name", file, "a string")
        target = typed(m.get("model", label), str, f"{where}.model", file, "a string")
        params = typed(m.get("params", {}), dict, f"{where}.params", file, "a table")
        cache = typed(m.get("cache", True), bool, f"{where}.cache", file, "true or false")
        models.append(ModelEntry(label, target, dict(params), cache))
    unique([m.name for m in models], "models", file)

    # metrics
    if "metrics" in head:
        raw = typed(head["metrics"], list, "suite.metrics", file, "a list of metric labels")
        ks = int_list(head["ks"], "suite.ks", file, positive=True) if "ks" in head else None
        metrics = []
        for i, label in enumerate(raw):
            typed(label, str, f"suite.metrics[{i}]", file, "a metric label")
            try:
                metric, k = parse_label(label)
            except ApcInputError as e:
                raise ApcInputError(e.message, file=file, field=f"suite.metrics[{i}]") from None
            if k is None and ks is not None and _takes_k(metric):
                metrics.extend(metric_label(metric, kk) for kk in ks)
            else:
                metrics.append(metric_label(metric, k))
    elif "ks" in head:
        raise ApcInputError(
            "'ks' needs 'metrics' (names to evaluate at each k)", file=file, field="suite.ks"
        )
    else:
        metrics = default_metrics(family, cutoff)
    unique(metrics, "suite.metrics", file)
    _check_metrics(metrics, cutoff, file)

    baseline = head.get("baseline")
    if baseline is not None:
        typed(baseline, str, "suite.baseline", file, "a model label")
        if baseline not in {m.name for m in models}:
            raise ApcInputError(
                f"baseline {baseline!r} is not a model label of this suite",
                file=file,
                field="suite.baseline",
            )
    from apc.bench.stats import CORRECTIONS, TESTS

    test = typed(head.get("test", "randomization"), str, "suite.test", file, "a string")
    if test not in TESTS:
        raise ApcInputError(
            f"unknown test {test!r}; known: {', '.join(TESTS)}", file=file, field="suite.test"
        )
    correction = typed(head.get("correction", "holm"), str, "suite.correction", file, "a string")
    if correction not in CORRECTIONS:
        raise ApcInputError(
            f"unknown correction {correction!r}; known: {', '.join(CORRECTIONS)}",
            file=file,
            field="suite.correction",
        )
    n_boot = typed(head.get("n_boot", 1000), int, "suite.n_boot", file, "an integer")
    n_perm = typed(head.get("n_perm", 10000), int, "suite.n_perm", file, "an integer")
    confidence = typed(
        head.get("confidence", 0.95), (int, float), "suite.confidence", file, "a number"
    )
    if not 0 < confidence < 1:
        raise ApcInputError(
            f"must lie in (0, 1), got {confidence}", file=file, field="suite.confidence"
        )
    longtail_k = typed(
        head.get("longtail_k", min(100, cutoff)), int, "suite.longtail_k", file, "an integer"
    )
    if not 1 <= longtail_k <= cutoff:
        raise ApcInputError(
            f"must lie in [1, cutoff={cutoff}]", file=file, field="suite.longtail_k"
        )
    for key, v in (("n_boot", n_boot), ("n_perm", n_perm)):
        if v < 0:
            raise ApcInputError(f"must be >= 0, got {v}", file=file, field=f"suite.{key}")

    return Suite(
        name=name,
        datasets=datasets,
        protocol=protocol,
        protocol_options=dict(options),
        models=models,
        metrics=metrics,
        seeds=seeds,
        cutoff=cutoff,
        baseline=baseline,
        test=test,
        correction=correction,
        n_boot=n_boot,
        n_perm=n_perm,
        confidence=float(confidence),
        longtail_k=longtail_k,
        description=description,
        path=file,
    )


def _check_protocol(name: str, options: dict[str, Any], file: str) -> str:
    """Build the protocol and check its options (no data needed); return its canonical name."""
    from apc.evaluation.protocols import make_protocol

    try:
        protocol = make_protocol(name, **options)  # checks the option values too, no data
    except ApcInputError as e:
        where = "protocol.name" if e.field == "protocol" else f"protocol.options.{e.field}"
        raise ApcInputError(e.message, file=file, field=where) from None
    return protocol.name


def _metric_registry() -> dict[str, Any]:
    from apc.evaluation.metrics import METRICS

    return METRICS


def _takes_k(metric: str) -> bool:
    from apc.evaluation.metrics import takes_k

    return takes_k(metric)


def _check_metrics(labels: list[str], cutoff: int, file: str) -> None:
    known = _metric_registry()
    for i, label in enumerate(labels):
        name, k = parse_label(label)
        if name not in known:
            raise ApcInputError(
                f"unknown metric {name!r}; known: {', '.join(sorted(known))}",
                file=file,
                field=f"suite.metrics[{i}]",
            )
        if k is not None and not known[name].takes_k:
            raise ApcInputError(
                f"{label}: {name} takes no cut-off (write {name!r})",
                file=file,
                field=f"suite.metrics[{i}]",
            )
        if k is None and known[name].takes_k:
            raise ApcInputError(
                f"{label}: {name} needs a cut-off (write {name}@k, or give suite.ks)",
                file=file,
                field=f"suite.metrics[{i}]",
            )
        if k is not None and k > cutoff:
            raise ApcInputError(
                f"{label}: k exceeds the suite's cutoff ({cutoff})",
                file=file,
                field=f"suite.metrics[{i}]",
            )


def load_suite(path: str | Path) -> Suite:
    """Read and validate a suite TOML file.

    Parameters
    ----------
    path : str or Path
        The suite file; relative dataset paths are resolved against its folder.

    Returns
    -------
    Suite

    Raises
    ------
    ApcInputError
        If the file is missing, is not valid TOML or fails validation
        (see :func:`suite_from_dict`).

    Examples
    --------
    >>> suite = load_suite("benchmarks/quick.toml")  # doctest: +SKIP
    >>> [m.name for m in suite.models]  # doctest: +SKIP
    ['random', 'popularity', ...]
    """
    path = Path(path)
    if not path.is_file():
        raise ApcInputError("no such suite file", file=str(path))
    try:
        data = tomllib.loads(read_text(path, what="suite file"))
    except tomllib.TOMLDecodeError as e:
        raise ApcInputError(f"malformed TOML ({e})", file=str(path)) from e
    return suite_from_dict(data, file=str(path), base=path.resolve().parent)
