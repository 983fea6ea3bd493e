"""The runner and report with rank, loglik and the order ablation (Vall et al. 2018)."""

import pandas as pd

from apc.bench.report import write_report
from apc.bench.runner import run_suite
from apc.bench.suite import load_suite

SUITE = """
[suite]
name = "vall"
seeds = [0]
cutoff = 20
metrics = ["hit@10", "rank", "rank_pct", "loglik"]
baseline = "popularity"
n_boot = 20
n_perm = 20
longtail_k = 10

[[datasets]]
name = "tiny"
source = "synth:tiny"

[protocol]
name = "next-track"
{options}

[[models]]
name = "popularity"

[[models]]
name = "markov"

[[models]]
name = "feature-markov"
"""


def _run(tmp_path, options=""):
    f = tmp_path / "s.toml"
    f.write_text(SUITE.format(options=options))
    run_suite(load_suite(f), tmp_path / "run", cache=None, report=False)
    return write_report(tmp_path / "run")


def test_rank_and_loglik_rows_section_and_figure(tmp_path):
    res = _run(tmp_path)
    results = pd.read_parquet(tmp_path / "run" / "results.parquet")
    means = results.groupby(["model", "label"])["value"].mean()
    assert means[("markov", "loglik")] > means[("feature-markov", "loglik")] - 5  # finite
    assert results[(results.model == "popularity") & (results.label == "loglik")][
        "value"].isna().all()  # popularity gives no distribution: NaN, not invented
    assert (results[results.label == "rank"]["value"] >= 1).all()
    md = res["markdown"]
    assert "## Order, length and rank (Vall et al. 2018)" in md
    assert "by target position" in md and "by held-out playlist length" in md
    assert "Median rank of the next song by its training occurrences" in md
    names = [p.name for p in res["plots"]]
    assert "order_length_tiny.png" in names
    lt = pd.read_parquet(tmp_path / "run" / "longtail.parquet")
    assert {"mean_rank", "median_rank"} <= set(lt.columns)


def test_shuffled_suite_reports_the_ablation(tmp_path):
    res = _run(tmp_path, '[protocol.options]\nshuffle_order = "train"')
    assert "shuffle_order = train" in res["markdown"]
