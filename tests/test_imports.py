"""The shape of apc's import graph, read from the source: layers, no cycles, module sizes.

An ``ast`` walk over every module of the ``apc`` package (module-level *and*
function-level imports; relative imports resolved; ``from apc.x import y`` counts as an
import of ``apc.x.y`` when ``y`` is a module) builds the graph of apc's own modules.
The rules it checks are the ones ``docs/architecture.md`` draws:

* each top-level part of apc sits in one layer of :data:`LAYERS` and imports only
  from its own layer or the layers below it (``data`` → ``datasets``/``features``/
  ``evaluation`` → ``models`` → ``bench``/``mpd``/``workflows`` → ``cli``);
* nothing in ``data/``, ``datasets/``, ``evaluation/`` or ``features/`` imports
  ``models/``, ``mpd/``, ``bench/``, ``cli/`` or ``testing.py``;
* no production module imports :mod:`apc.testing` (it is for tests and participants);
* there is no import cycle, neither between modules nor between the top-level parts;
* no module is longer than :data:`MAX_LINES` lines.

The layer picture of ``docs/architecture.md`` must list the same layers as :data:`LAYERS`.

Imports of third-party libraries, and imports by name at run time (the model registry's
``"pkg.module:Class"`` strings, the adapters' ``FORMATS`` table), are not part of the
graph.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import apc

ROOT = Path(apc.__file__).resolve().parent

#: Top-level parts of apc, lowest layer first. A part may import its own layer and the
#: layers below it; inside a layer the parts' graph must be acyclic.
LAYERS: list[set[str]] = [
    {"apc", "apc.errors", "apc.parsing", "apc.progress", "apc.random", "apc._atomic",
     "apc._threads", "apc.resources"},
    {"apc.data"},
    {"apc.datasets", "apc.features", "apc.evaluation"},
    {"apc.models"},
    {"apc.testing", "apc.bench", "apc.mpd", "apc.workflows", "apc.reproduce"},
    {"apc.cli", "apc.__main__"},
]

#: The lower packages and what they must never import (docs/architecture.md).
LOWER = ("apc.data", "apc.datasets", "apc.evaluation", "apc.features")
UPPER = ("apc.models", "apc.mpd", "apc.bench", "apc.cli", "apc.testing")

#: Longest module allowed, in lines (the aim is ~600; DESIGN: median ~250).
MAX_LINES = 650


# ---------------------------------------------------------------------------- the walk
def find_modules(root: Path = ROOT, name: str = "apc") -> dict[str, tuple[Path, bool]]:
    """Map each module of the package at ``root`` to (file, is_package).

    Only folders with an ``__init__.py`` are packages; links (such as the content
    folders linked under ``apc/resources``) are not followed.
    """
    out = {name: (root / "__init__.py", True)}
    for entry in sorted(root.iterdir()):
        if entry.is_symlink() or entry.name.startswith((".", "__pycache__")):
            continue
        if entry.is_dir() and (entry / "__init__.py").is_file():
            out.update(find_modules(entry, f"{name}.{entry.name}"))
        elif entry.suffix == ".py" and entry.name != "__init__.py":
            out[f"{name}.{entry.stem}"] = (entry, False)
    return out


def imports_of(module: str, source: str, is_package: bool, known: set[str]) -> set[str]:
    """Return the apc modules that ``source`` (the text of ``module``) imports, anywhere in it.

    ``from pkg import name`` is an import of ``pkg.name`` when that is a module, else of
    ``pkg``; a name that is not a known module is cut back to its longest known prefix.
    """
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                pkg = ".".join(base + ([node.module] if node.module else []))
            else:
                pkg = node.module or ""
            for a in node.names:
                sub = f"{pkg}.{a.name}"
                targets.append(sub if sub in known else pkg)
        for t in targets:
            if t != "apc" and not t.startswith("apc."):
                continue
            while t not in known and "." in t:
                t = t.rsplit(".", 1)[0]
            if t != module:
                found.add(t)
    return found


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Build module -> the apc modules it imports, for every module under ``root``."""
    mods = find_modules(root)
    known = set(mods)
    return {m: imports_of(m, path.read_text(encoding="utf-8"), is_pkg, known)
            for m, (path, is_pkg) in mods.items()}


def part(module: str) -> str:
    """Return the top-level part of apc a module belongs to (``apc.data.io`` -> ``apc.data``)."""
    return ".".join(module.split(".")[:2])


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return the strongly connected components of more than one node (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out)


def a_cycle_in(component: list[str], graph: dict[str, set[str]]) -> list[str]:
    """Return one concrete cycle through a strongly connected component, for the message."""
    members = set(component)
    start = component[0]
    path, seen = [start], {start}
    while True:
        nxt = sorted(graph[path[-1]] & members)
        back = [n for n in nxt if n == start]
        if back and len(path) > 1:
            return path + [start]
        step = next((n for n in nxt if n not in seen), None)
        if step is None:  # walk back into the cycle that closed elsewhere
            n = nxt[0]
            return path[path.index(n):] + [n]
        path.append(step)
        seen.add(step)


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph()


def layer_of(p: str) -> int | None:
    return next((i for i, layer in enumerate(LAYERS) if p in layer), None)


# ---------------------------------------------------------------------------- the walker
def test_the_walk_sees_relative_function_level_and_submodule_imports():
    known = {"apc", "apc.data", "apc.data.io", "apc.data.playlists", "apc.models",
             "apc.models.base", "apc.errors"}
    source = (
        "import numpy\n"
        "from . import io\n"                        # a sibling module
        "from ..errors import ApcInputError\n"     # a name from a module two levels up
        "from apc.models import base\n"            # a submodule by name
        "def f():\n"
        "    import apc.data.io as x\n"            # function level
        "    from apc.models.base import Thing\n"
        "    from apc.data.missing import y\n"     # unknown: cut back to apc.data
    )
    got = imports_of("apc.data.playlists", source, False, known)
    assert got == {"apc.data.io", "apc.errors", "apc.models.base", "apc.data"}
    assert imports_of("apc.data", "from . import playlists", True, known) == {
        "apc.data.playlists"}


def test_cycles_are_found():
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(g) == [["a", "b", "c"]]
    assert a_cycle_in(["a", "b", "c"], g) == ["a", "b", "c", "a"]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_walk_covers_the_package(graph):
    assert {"apc.data.playlists", "apc.evaluation.protocols", "apc.models.base",
            "apc.cli"} <= set(graph)
    assert not any(".resources.benchmarks" in m for m in graph)  # links are not followed
    assert "apc.data.playlists" in graph["apc.evaluation.protocols.splitters"]


# ---------------------------------------------------------------------------- the rules
def test_every_part_of_apc_has_a_layer(graph):
    unplaced = sorted({part(m) for m in graph if layer_of(part(m)) is None})
    assert not unplaced, (
        f"{unplaced} sit in no layer: add them to LAYERS in tests/test_imports.py and to "
        "the picture in docs/architecture.md")


def test_the_architecture_page_draws_the_same_layers():
    # docs/architecture.md: lines "layer N   name   name/   ..." (a description may follow)
    text = (ROOT.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    drawn: dict[int, set[str]] = {}
    for line in text.splitlines():
        cells = re.split(r"\s{3,}", line.strip())
        if re.fullmatch(r"layer \d", cells[0]):
            names = {f"apc.{c.rstrip('/')}" for c in cells[1:] if re.fullmatch(r"_?[a-z_]+/?", c)}
            drawn[int(cells[0][-1])] = names
    assert drawn == {i: layer - {"apc"} for i, layer in enumerate(LAYERS)}


def test_imports_point_down_the_layers(graph):
    bad = sorted(
        f"{m} -> {t}"
        for m, targets in graph.items()
        for t in targets
        if (lm := layer_of(part(m))) is not None
        and (lt := layer_of(part(t))) is not None
        and lt > lm
    )
    assert not bad, "upward imports:\n" + "\n".join(bad)


def test_lower_packages_never_import_models_mpd_bench_cli_or_testing(graph):
    def under(m, prefixes):
        return any(m == p or m.startswith(p + ".") for p in prefixes)

    bad = sorted(f"{m} -> {t}" for m, targets in graph.items() if under(m, LOWER)
                 for t in targets if under(t, UPPER))
    assert not bad, "\n".join(bad)


def test_no_production_module_imports_apc_testing(graph):
    bad = sorted(m for m, targets in graph.items() if "apc.testing" in targets)
    assert not bad, f"apc.testing is imported by {bad}"


def test_no_import_cycle_between_modules(graph):
    found = [" -> ".join(a_cycle_in(c, graph)) + f"   ({len(c)} modules in the knot)"
             for c in cycles(graph)]
    assert not found, "import cycles:\n" + "\n".join(found)


def test_no_import_cycle_between_the_parts_of_apc(graph):
    parts: dict[str, set[str]] = {}
    for m, targets in graph.items():
        parts.setdefault(part(m), set()).update(
            part(t) for t in targets if part(t) != part(m) and part(t) != "apc")
    found = [" -> ".join(a_cycle_in(c, parts)) for c in cycles(parts)]
    assert not found, "cycles between packages:\n" + "\n".join(found)


def test_no_module_is_longer_than_the_limit():
    sizes = {m: len(path.read_text(encoding="utf-8").splitlines())
             for m, (path, _) in find_modules().items()}
    over = sorted(((n, m) for m, n in sizes.items() if n > MAX_LINES), reverse=True)
    assert not over, f"modules over {MAX_LINES} lines: " + ", ".join(
        f"{m} ({n})" for n, m in over)
