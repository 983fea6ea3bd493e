import pandas as pd
import pytest
from typer.testing import CliRunner

from apc.cli import app
from apc.evaluation.evaluate import RESULT_COLUMNS, read_results_metadata

runner = CliRunner()


def test_evaluate_writes_long_form_rows(tmp_path):
    out = tmp_path / "res.parquet"
    result = runner.invoke(app, ["evaluate", "synth:tiny", "-m", "popularity", "-m", "random",
                                 "--protocol", "next-track", "--k", "5,10", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "popularity" in result.output and "hit@10" in result.output
    df = pd.read_parquet(out)
    assert list(df.columns) == RESULT_COLUMNS
    assert set(df["model"]) == {"popularity", "random"}
    assert set(df["protocol"]) == {"next-track"} and set(df["dataset"]) == {"synth:tiny"}
    n_q = df[(df.model == "random") & (df.metric == "hit") & (df.k == 5)].shape[0]
    assert n_q > 0 and df["query"].nunique() == n_q
    meta = read_results_metadata(out)
    assert meta["split_report"]["protocol"] == "next-track"
    assert "ranking" in meta["policies"] and "ndcg_mpd" in meta["metric_variants"]
    pop = df[(df.model == "popularity") & (df.metric == "hit") & (df.k == 10)]["value"].mean()
    rnd = df[(df.model == "random") & (df.metric == "hit") & (df.k == 10)]["value"].mean()
    assert pop > rnd


@pytest.mark.parametrize("argv, needle", [
    (["--option", "bogus=1"], "bogus"),
    (["--k", "ten"], "comma-separated"),
    (["--metrics", "nope"], "unknown metric"),
    (["-m", "nosuchmodel"], "nosuchmodel"),
])
def test_evaluate_bad_input_exit_2(tmp_path, argv, needle):
    out = tmp_path / "res.parquet"
    base = ["evaluate", "synth:tiny", "--out", str(out)]
    if "-m" not in argv:
        base += ["-m", "popularity"]
    result = runner.invoke(app, base + argv)
    assert result.exit_code == 2, result.output
    lines = [x for x in result.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and needle in lines[0]
    assert not out.exists() and not list(tmp_path.iterdir())


def test_evaluate_unknown_protocol_is_a_usage_error_listing_the_choices(tmp_path):
    out = tmp_path / "res.parquet"
    argv = ["evaluate", "synth:tiny", "-m", "popularity", "--out", str(out)]
    result = runner.invoke(app, argv + ["--protocol", "leave-one-out"])
    assert result.exit_code == 2
    text = " ".join(result.stderr.replace("│", " ").split())
    assert "'leave-one-out' is not one of 'next-track', 'continuation'" in text
    assert not out.exists()


def test_evaluate_missing_corpus_exit_2(tmp_path):
    result = runner.invoke(app, ["evaluate", str(tmp_path / "nope"), "-m", "popularity"])
    assert result.exit_code == 2 and "nope" in result.stderr


def test_data_synth_and_stats(tmp_path):
    out = tmp_path / "c"
    assert runner.invoke(app, ["data", "synth", str(out), "--preset", "tiny"]).exit_code == 0
    assert (out / "manifest.json").exists()
    result = runner.invoke(app, ["data", "stats", str(out)])
    assert result.exit_code == 0 and "playlists" in result.output


def test_convert_unknown_format_exit_2(tmp_path):
    src = tmp_path / "x.json"
    src.write_text("[]")
    result = runner.invoke(app, ["data", "convert", str(src), str(tmp_path / "out"), "--format", "nope"])
    assert result.exit_code == 2
    assert "'nope' is not one of 'mpd'" in " ".join(result.stderr.replace("│", " ").split())
    assert not (tmp_path / "out").exists()
