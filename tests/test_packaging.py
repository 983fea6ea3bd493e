"""The installed package works outside the repository (issue 11 item 6).

The full check builds the wheel and runs it in a fresh venv (``.ci/wheel-smoke``, run by
CI); these tests catch the same mistakes in the source tree in a second: an import that
``pyproject.toml`` does not declare, a suite or recipe the wheel would not carry.
"""

import ast
import re
import sys
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

from typer.testing import CliRunner

import apc
from apc.cli import app
from apc.resources import find, packaged, root

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

# imported by apc but not required: each import sits behind a fallback or an extra
OPTIONAL = {
    "ray": "the `ray` extra (apc.bench.executors.ray)",
    "lightgbm": "the `rank` extra (apc.models.ensemble.rerank; scikit-learn fallback)",
    "psutil": "an RSS fallback",
    "pytest": "apc.testing's contract checks, imported when they run under pytest",
}
# import name -> distribution name, where they differ
DIST = {"sklearn": "scikit-learn", "pytorch_lightning": "pytorch-lightning", "yaml": "pyyaml"}


def _imports() -> set[str]:
    names = set()
    for path in (ROOT / "apc").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n != "apc"}


def _declared() -> set[str]:
    deps = PYPROJECT["project"]["dependencies"]
    return {re.split(r"[<>=!~;\[ ]", d, maxsplit=1)[0].strip().lower().replace("_", "-")
            for d in deps}


def test_every_third_party_import_is_a_declared_dependency():
    missing = {
        n for n in _imports() - set(OPTIONAL)
        if DIST.get(n, n).lower().replace("_", "-") not in _declared()
    }
    assert not missing, f"imported by apc but not in [project] dependencies: {sorted(missing)}"


def test_licence_metadata_is_spdx_with_a_licence_file():
    project = PYPROJECT["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    build = PYPROJECT["build-system"]["requires"]
    assert any(re.fullmatch(r"setuptools>=(7[7-9]|[89]\d)(\.\d+)*", r) for r in build), build


def test_version_option_prints_the_package_version():
    res = CliRunner().invoke(app, ["--version"])
    assert res.exit_code == 0 and res.output.strip() == f"apc {apc.__version__}"


def test_every_suite_and_recipe_of_the_repository_is_packaged():
    suites = sorted(p.stem for p in [ROOT / "benchmarks" / "quick.toml",
                                     *(ROOT / "benchmarks" / "suites").glob("*.toml")])
    recipes = sorted(p.stem for p in (ROOT / "baselines").glob("*.toml"))
    assert sorted(packaged("suite")) == suites and sorted(packaged("recipe")) == recipes
    # what a recipe names relative to itself is found inside the package too
    for path in packaged("recipe").values():
        suite = tomllib.loads(path.read_text())["reproduction"]["suite"]
        target = (root() / "baselines" / suite).resolve()
        assert target.is_file(), (path.name, suite)


def test_find_prefers_a_real_file_then_a_packaged_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert find("quick", "suite").samefile(ROOT / "benchmarks" / "quick.toml")
    assert find("benchmarks/quick.toml", "suite").samefile(ROOT / "benchmarks" / "quick.toml")
    assert find("synth-small-quick.toml", "recipe").samefile(
        ROOT / "baselines" / "synth-small-quick.toml")
    (tmp_path / "quick").write_text("[suite]\n")
    assert find("quick", "suite") == Path("quick")  # the user's own file wins
    res = CliRunner().invoke(app, ["bench", "run", "no-such-suite"])
    assert res.exit_code == 2 and "packaged: " in res.output and "quick" in res.output
