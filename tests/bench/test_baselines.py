"""Every shipped reproduction recipe and suite parses and points at a valid suite."""

from pathlib import Path

import pytest

from apc.bench.suite import load_suite
from apc.reproduce import load_reproduction

ROOT = Path(__file__).resolve().parents[2]
RECIPES = sorted((ROOT / "baselines").glob("*.toml"))
SUITES = sorted((ROOT / "benchmarks").glob("*.toml")) + sorted((ROOT / "benchmarks" / "suites").glob("*.toml"))


def test_there_is_something_to_check():
    assert RECIPES and SUITES


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_recipe_is_valid(path):
    rep = load_reproduction(path)
    assert rep.results
    suite = load_suite(rep.suite_path)
    labels = {m.name for m in suite.models}
    assert {r.model for r in rep.results} <= labels


@pytest.mark.parametrize("path", SUITES, ids=lambda p: p.name)
def test_suite_is_valid(path):
    suite = load_suite(path)
    assert suite.models and suite.datasets
