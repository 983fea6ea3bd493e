"""``apc bench run`` and ``apc evaluate`` give identical per-query rows (issue 12 item 1).

Both go through :func:`apc.evaluation.evaluate.score_recommendations`. The runner
derives its split and model seeds from the replicate seed; ``apc evaluate`` is given
those derived seeds, so both see the same split and the same model (the random model
shows the seeds matter: another seed gives other rows).
"""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from apc.cli import app
from apc.evaluation.evaluate import RESULT_COLUMNS
from apc.random import derive_seed

runner = CliRunner()

METRICS = ["recall", "ndcg", "hit", "rprec", "rprec_mpd", "ndcg_mpd", "clicks_mpd",
           "coverage", "popularity", "artist_diversity"]
KS = [10, 50]

SUITE = f"""
[suite]
name = "same"
seeds = [3]
cutoff = 50
metrics = {METRICS!r}
ks = {KS!r}
n_boot = 20
n_perm = 20

[[datasets]]
name = "tiny"
source = "synth:tiny"

[protocol]
name = "continuation"
options = {{ n_seed = 3 }}

[[models]]
name = "popularity"

[[models]]
name = "random"

[[models]]
name = "knn"
params = {{ n_neighbors = 25 }}
"""

SAME = ["protocol", "query", "playlist_id", "category", "seed_length", "n_targets", "metric",
        "k", "label", "value"]


def test_bench_run_and_evaluate_give_identical_per_query_rows(tmp_path):
    suite = tmp_path / "same.toml"
    suite.write_text(SUITE.replace("'", '"'))
    run = tmp_path / "run"
    res = runner.invoke(app, ["bench", "run", str(suite), "-o", str(run), "--no-cache",
                              "--no-plots"])
    assert res.exit_code == 0, res.output
    bench = pd.read_parquet(run / "results.parquet")
    assert list(bench.columns) == RESULT_COLUMNS
    assert str(bench["k"].dtype) == "Int64" and bench.loc[bench.metric == "rprec", "k"].isna().all()

    split_seed = derive_seed(3, "split", "tiny")
    cases = [
        ("popularity", []),
        ("random", ["-p", f"seed={derive_seed(3, 'model', 'tiny', 'random')}"]),
        ("knn", ["-p", "n_neighbors=25", "-p", f"seed={derive_seed(3, 'model', 'tiny', 'knn')}"]),
    ]
    for model, params in cases:
        out = tmp_path / f"{model}.parquet"
        res = runner.invoke(app, [
            "evaluate", "synth:tiny", "-m", model, *params, "--protocol", "continuation",
            "--option", "n_seed=3", "--seed", str(split_seed), "--k", ",".join(map(str, KS)),
            "--metrics", ",".join(METRICS), "-o", str(out),
        ])
        assert res.exit_code == 0, res.output
        ev = pd.read_parquet(out)
        assert list(ev.columns) == RESULT_COLUMNS
        mine = bench[bench.model == model]
        a = mine[SAME].sort_values(["label", "query"]).reset_index(drop=True)
        b = ev[SAME].sort_values(["label", "query"]).reset_index(drop=True)
        assert len(a) == len(b) > 0 and set(a.label) == set(b.label)
        pd.testing.assert_frame_equal(a, b)  # identical values, not merely close
