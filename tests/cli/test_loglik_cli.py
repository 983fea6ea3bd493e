"""apc evaluate with the model-level metrics and the order ablation (issue 16)."""

import pandas as pd
from typer.testing import CliRunner

from apc.cli import app


def test_evaluate_loglik_rank_and_shuffled_order(tmp_path):
    out = tmp_path / "r.parquet"
    res = CliRunner().invoke(app, [
        "evaluate", "synth:tiny", "-m", "markov", "-m", "popularity", "--protocol",
        "next-track", "--metrics", "hit,loglik,rank,rank_pct", "--k", "10",
        "--option", "shuffle_order=train", "-o", str(out)])
    assert res.exit_code == 0, res.output
    rows = pd.read_parquet(out)
    means = rows.groupby(["model", "label"])["value"].mean()
    assert means[("markov", "loglik")] < 0 and means[("markov", "rank")] >= 1
    assert rows[(rows.model == "popularity") & (rows.label == "loglik")]["value"].isna().all()
    # and it says why popularity's loglik is empty, once, naming the model
    said = [line for line in res.stderr.splitlines() if "no normalised next-track" in line]
    assert len(said) == 1 and said[0].startswith("apc: warning: popularity: loglik:"), res.stderr


def test_bad_shuffle_order_is_one_line_exit_2():
    res = CliRunner().invoke(app, ["evaluate", "synth:tiny", "-m", "markov", "--protocol",
                                   "next-track", "--option", "shuffle_order=sideways"])
    assert res.exit_code == 2 and "shuffle_order" in res.output
