import json

from typer.testing import CliRunner

from apc.cli import app
from apc.data import Playlists

runner = CliRunner()


def test_help_lists_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for cmd in ("models", "fit", "evaluate", "data", "demo"):
        assert cmd in result.output


def test_models_lists_builtins():
    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0
    assert "popularity" in result.output and "random" in result.output


def test_models_name_lists_parameters_from_the_config():
    result = runner.invoke(app, ["models", "knn"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "n_neighbors" in result.output and "an integer >= 1" in result.output
    assert "Neighbour playlists per query" in result.output  # the field's doc
    result = runner.invoke(app, ["models", "nosuch"])
    assert result.exit_code == 2 and "nosuch" in result.stderr


def test_stats_missing_dir_is_one_line_exit_2(tmp_path):
    result = runner.invoke(app, ["data", "stats", str(tmp_path / "nope")])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("apc: error:") and "nope" in lines[0]


def test_corrupt_corpus_exit_2(tmp_path):
    pl = Playlists.from_sequences([["a", "b"], ["b", "c"]])
    path = pl.save(tmp_path / "corpus")
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["counts"]["entries"] = 99
    (path / "manifest.json").write_text(json.dumps(manifest))
    result = runner.invoke(app, ["data", "stats", str(path)])
    assert result.exit_code == 2
    assert "entries" in result.stderr


def test_fit_unknown_model_exit_2(tmp_path):
    pl = Playlists.from_sequences([["a", "b"], ["b", "c"]])
    path = pl.save(tmp_path / "corpus")
    out = tmp_path / "m.pkl"
    result = runner.invoke(app, ["fit", str(path), "--model", "nosuchmodel", "--out", str(out)])
    assert result.exit_code == 2
    assert "unknown model 'nosuchmodel'" in result.stderr
    assert not out.exists()


def test_fit_bad_param_exit_2(tmp_path):
    pl = Playlists.from_sequences([["a", "b"], ["b", "c"]])
    path = pl.save(tmp_path / "corpus")
    result = runner.invoke(app, ["fit", str(path), "-m", "popularity", "--param", "bogus=1", "-o", str(tmp_path / "m.pkl")])
    assert result.exit_code == 2
    assert "bogus" in result.stderr


def test_fit_then_recommend_roundtrip(tmp_path):
    pl = Playlists.from_sequences([["a", "b", "c"], ["a", "b"], ["b", "d"]])
    path = pl.save(tmp_path / "corpus")
    model = tmp_path / "pop.pkl"
    assert runner.invoke(app, ["fit", str(path), "-m", "popularity", "-o", str(model)]).exit_code == 0
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("a\nb c\nunknown-id\n")
    out = tmp_path / "recs.csv"
    result = runner.invoke(app, ["recommend", str(model), "--train", str(path), "--seeds", str(seeds), "--out", str(out), "--k", "2"])
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert lines[0] == "query,rank,track_id,score"
    # query 0 (seed a): b is most popular (3 playlists), then c/d (1 each, c has lower index)
    assert lines[1].startswith("0,1,b,") and lines[2].startswith("0,2,c,")


def test_python_dash_m_apc_runs_the_cli():
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "apc", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "evaluate" in proc.stdout
