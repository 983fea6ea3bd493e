import pandas as pd

from apc.bench.compare import compare_runs
from apc.bench.runner import run_suite
from apc.bench.suite import load_suite

SUITE = """
[suite]
name = "cmp"
seeds = [{seed}]
cutoff = 20
metrics = ["hit@10", "coverage@10"]
n_boot = 50
n_perm = 200

[[datasets]]
name = "tiny"
source = "synth:tiny"

[protocol]
name = "next-track"

[[models]]
name = "popularity"

[[models]]
name = "random"
params = {{ seed = {rseed} }}
"""


def run(tmp_path, name, seed=0, rseed=1):
    path = tmp_path / f"{name}.toml"
    path.write_text(SUITE.format(seed=seed, rseed=rseed))
    run_suite(load_suite(path), tmp_path / name, cache=None, report=False)
    return tmp_path / name


def test_compare_same_split_is_paired(tmp_path):
    a = run(tmp_path, "a")
    b = run(tmp_path, "b", rseed=2)  # same split, different random model
    res = compare_runs(a, b)
    t = res.table.set_index(["model", "label"])
    assert t.loc[("popularity", "hit@10"), "diff"] == 0.0
    assert t.loc[("popularity", "hit@10"), "paired"]
    assert t.loc[("popularity", "hit@10"), "p"] == 1.0
    assert not t.loc[("random", "coverage@10"), "paired"]  # set-level metric: never tested
    ra = pd.read_parquet(a / "results.parquet")
    rb = pd.read_parquet(b / "results.parquet")
    expected = (
        rb[(rb.model == "random") & (rb.label == "hit@10")]["value"].mean()
        - ra[(ra.model == "random") & (ra.label == "hit@10")]["value"].mean()
    )
    assert abs(t.loc[("random", "hit@10"), "diff"] - expected) < 1e-12
    assert "| popularity | hit@10 |" in res.markdown


def test_compare_different_splits_is_not_paired(tmp_path):
    a = run(tmp_path, "a", seed=0)
    b = run(tmp_path, "b", seed=5)
    res = compare_runs(a, b)
    assert not res.table["paired"].any()
    assert "not paired" in res.markdown
