import json

import numpy as np
import pandas as pd
import pytest

from apc.bench.render import markdown_to_html
from apc.bench.report import write_report
from apc.bench.runner import run_suite
from apc.bench.suite import DatasetSpec, ModelEntry, Suite, load_suite
from apc.bench.tables import summary_table


def make_suite(**kw) -> Suite:
    base = dict(
        name="t",
        datasets=[DatasetSpec("d", "synth:tiny")],
        protocol="next-track",
        protocol_options={},
        models=[ModelEntry("a", "a"), ModelEntry("b", "b"), ModelEntry("c", "c")],
        metrics=["hit@10", "coverage@10"],
        seeds=[0, 1],
        cutoff=10,
        baseline="b",
        n_boot=200,
        n_perm=999,
    )
    base.update(kw)
    return Suite(**base)


def frame(values: dict[str, np.ndarray], label="hit@10") -> pd.DataFrame:
    rows = []
    for model, v in values.items():
        for seed in (0, 1):
            rows.append(
                pd.DataFrame(
                    {
                        "model": model,
                        "dataset": "d",
                        "seed": seed,
                        "query": np.arange(len(v)),
                        "label": label,
                        "value": v,
                    }
                )
            )
    return pd.concat(rows, ignore_index=True)


def test_summary_table_best_ties_tests_and_holm():
    n = 40
    half = np.array([1.0, 0.0] * (n // 2))
    t = summary_table(frame({"a": np.ones(n), "b": half, "c": np.ones(n)}), make_suite()).set_index(
        "model"
    )
    assert t.loc["a", "mean"] == 1.0 and t.loc["b", "mean"] == 0.5
    assert t.loc["a", "best"] and t.loc["c", "best"] and not t.loc["b", "best"]  # ties are all best
    # b vs best (a, first in suite order): 40 paired differences of which 40 nonzero (20 per seed) -> tiny p
    assert t.loc["b", "p_best"] < 0.01
    assert np.isnan(t.loc["a", "p_best"])
    assert t.loc["c", "p_best"] == 1.0  # identical to the best
    # against the baseline b: a and c both differ; Holm multiplies the smaller p by 2
    assert t.loc["a", "p_base_adj"] == pytest.approx(
        min(1.0, 2 * min(t.loc["a", "p_base"], t.loc["c", "p_base"]))
    )
    assert np.isnan(t.loc["b", "p_base"])
    # bootstrap interval of a constant is a point; of b it brackets 0.5
    assert (t.loc["a", "low"], t.loc["a", "high"]) == (1.0, 1.0)
    assert t.loc["b", "low"] < 0.5 < t.loc["b", "high"]


def test_descriptive_and_set_level_metrics_are_not_tested():
    n = 10
    f = frame(
        {"a": np.full(n, 0.3), "b": np.full(n, 0.1), "c": np.full(n, 0.2)}, label="coverage@10"
    )
    t = summary_table(f, make_suite()).set_index("model")
    assert not t["best"].any()
    assert t["p_best"].isna().all() and t["p_base"].isna().all()
    assert t["low"].isna().all()  # one value per cell: no interval
    assert t.loc["a", "mean"] == pytest.approx(0.3)


def test_lower_is_better_for_clicks():
    n = 10
    f = frame(
        {"a": np.full(n, 3.0), "b": np.full(n, 1.0), "c": np.full(n, 2.0)}, label="clicks_mpd"
    )
    t = summary_table(f, make_suite(metrics=["clicks_mpd"])).set_index("model")
    assert t.loc["b", "best"] and not t.loc["a", "best"]


def test_markdown_to_html_renders_tables_and_bullets():
    html = markdown_to_html("# T\n\n- **a**: `x`\n\n| m | v |\n|---|---:|\n| a | 1 |\n")
    assert "<h1>T</h1>" in html and "<li><b>a</b>: <code>x</code></li>" in html
    assert "<th>m</th>" in html and "<td>1</td>" in html


def test_report_files_and_provenance(tmp_path):
    suite_file = tmp_path / "s.toml"
    suite_file.write_text("""
[suite]
name = "rep"
seeds = [0]
cutoff = 40
metrics = ["hit@10", "recall@40", "mrr@20"]
baseline = "popularity"
n_boot = 50
n_perm = 100
longtail_k = 20

[[datasets]]
name = "tiny"
source = "synth:tiny"

[protocol]
name = "next-track"

[[models]]
name = "popularity"

[[models]]
name = "random"
""")
    run_suite(load_suite(suite_file), tmp_path / "run", cache=None, report=False)
    res = write_report(tmp_path / "run")
    names = sorted(p.name for p in res["plots"])
    assert names == ["by_group_tiny.png", "longtail_tiny.png", "recall_curve_tiny.png"]
    for p in res["plots"]:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = res["markdown"]
    splits = json.loads((tmp_path / "run" / "splits.json").read_text())
    rec = next(iter(splits.values()))
    for needle in (
        "`next-track`",
        str(rec["hash"])[:16],
        "Seeds",
        "[0]",
        "Holm",
        "full ranking",
        "seed tracks",
        "lower track index",
        "numpy",
        "git `",
        "hit@k",
        "recall@k",
        "mrr@k",
    ):
        assert needle in md, needle
    html = (tmp_path / "run" / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 3 and "<table>" in html
    curves = pd.read_parquet(tmp_path / "run" / "curves.parquet")
    assert curves.groupby("model")["k"].max().tolist() == [40, 40]
    # the curve at k=40 equals the stored recall@40
    r = pd.read_parquet(tmp_path / "run" / "results.parquet")
    for model in ("popularity", "random"):
        c = curves[(curves.model == model) & (curves.k == 40)]["recall"].iloc[0]
        m = r[(r.model == model) & (r.label == "recall@40") & (r.n_targets > 0)]["value"].mean()
        assert c == pytest.approx(m)


def test_a_run_with_plots_computes_its_summary_once(tmp_path, monkeypatch):
    import apc.bench.report as report

    calls = []
    real = report.summary_table
    monkeypatch.setattr(report, "summary_table", lambda *a, **k: calls.append(1) or real(*a, **k))
    suite = make_suite(models=[ModelEntry("popularity", "popularity")], baseline=None,
                       seeds=[0], n_boot=20, n_perm=20)
    run_suite(suite, tmp_path / "run", cache=None, report=True)
    assert len(calls) == 1
    assert (tmp_path / "run" / "summary.json").is_file()
    assert (tmp_path / "run" / "report.html").is_file()
