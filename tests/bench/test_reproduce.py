from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from apc.cli.reproduce import reproduce as reproduce_command
from apc.errors import ApcInputError
from apc.reproduce import load_reproduction, reproduce

ROOT = Path(__file__).resolve().parents[2]

SUITE = """
[suite]
name = "rep"
seeds = [0]
cutoff = 20
metrics = ["hit@10", "mrr@20"]
n_boot = 50
n_perm = 100

[[datasets]]
name = "tiny"
source = "synth:tiny"

[protocol]
name = "next-track"

[[models]]
name = "popularity"
"""

RECIPE = """
[reproduction]
name = "t"
kind = "record"
source = "a test"
dataset = "synthetic tiny"
dataset_source = "built in"
protocol = "next-track"
suite = "suite.toml"

[[results]]
model = "popularity"
metric = "hit@10"
reported = {reported}
tolerance = 0.001
"""


def direct_hit10() -> float:
    from apc.datasets import load_corpus
    from apc.evaluation.metrics import compute_metrics
    from apc.evaluation.protocols import make_protocol
    from apc.models.registry import create_model
    from apc.random import derive_seed

    split = make_protocol("next-track").split(load_corpus("synth:tiny"), seed=derive_seed(0, "split", "tiny"))
    recs = create_model("popularity").fit(split.train).recommend(split.queries, 20)
    return float(np.mean(compute_metrics(recs, split.queries, split.train, metrics=["hit"], ks=[10])["hit@10"]))


def write(tmp_path, reported: float, recipe: str = RECIPE) -> Path:
    (tmp_path / "suite.toml").write_text(SUITE)
    path = tmp_path / "recipe.toml"
    path.write_text(recipe.format(reported=reported))
    return path


@pytest.mark.parametrize("recipe_file", sorted((ROOT / "baselines").glob("*.toml")), ids=lambda p: p.name)
def test_shipped_recipes_are_valid(recipe_file):
    rep = load_reproduction(recipe_file)
    assert rep.suite_path.is_file() and rep.results and rep.source and rep.dataset_source


def test_recipe_validation(tmp_path):
    path = write(tmp_path, 0.5, RECIPE.replace('kind = "record"', 'kind = "record"\ntabel = "x"'))
    with pytest.raises(ApcInputError) as e:
        load_reproduction(path)
    assert e.value.field == "reproduction.tabel" and str(path) in str(e.value)
    path = write(tmp_path, 0.5, RECIPE.replace('model = "popularity"', 'model = "knn9"'))
    with pytest.raises(ApcInputError, match="not in the suite"):
        reproduce(path, out=tmp_path / "run", cache=None)
    path = write(tmp_path, 0.5, RECIPE.replace('metric = "hit@10"', 'metric = "hit@5"'))
    with pytest.raises(ApcInputError, match="not evaluated"):
        reproduce(path, out=tmp_path / "run", cache=None)


def test_missing_download_names_its_source(tmp_path):
    (tmp_path / "suite.toml").write_text(SUITE.replace('source = "synth:tiny"', 'source = "nowhere/data.csv"'))
    path = tmp_path / "recipe.toml"
    path.write_text(RECIPE.format(reported=0.1).replace('dataset_source = "built in"',
                                                        'dataset_source = "https://example.org/data"'))
    with pytest.raises(ApcInputError, match="https://example.org/data"):
        reproduce(path, out=tmp_path / "run", cache=None)


def test_reproduced_and_not_reproduced(tmp_path):
    value = direct_hit10()
    ok = reproduce(write(tmp_path, value), out=tmp_path / "run", cache=tmp_path / "cache")
    assert ok.ok
    row = ok.table.iloc[0]
    assert row["measured"] == pytest.approx(value) and row["reproduced"]
    assert "| popularity | tiny | hit@10 |" in ok.markdown and "yes" in ok.markdown

    app = typer.Typer()
    app.command()(reproduce_command)
    path = write(tmp_path, value + 0.01)
    res = CliRunner().invoke(app, [str(path), "--out", str(tmp_path / "run"), "--cache", str(tmp_path / "cache")])
    assert res.exit_code == 1, res.output
    assert "**no**" in res.output or "no" in res.output
    assert "not reproduced: 1 result(s) outside tolerance" in res.output
