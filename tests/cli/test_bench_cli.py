import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from apc.cli.bench import app
from apc.errors import ApcInputError

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "docs" / "examples" / "apc-example-plugin"
runner = CliRunner()


@pytest.fixture
def plugin_suite(tmp_path):
    text = (PLUGIN / "suite.toml").read_text()
    path = tmp_path / "suite.toml"
    path.write_text(text)
    return path


def test_run_report_compare_with_the_example_plugin_by_import_path(
    tmp_path, plugin_suite, monkeypatch
):
    monkeypatch.syspath_prepend(str(PLUGIN))
    out = tmp_path / "run"
    res = runner.invoke(
        app, ["run", str(plugin_suite), "--out", str(out), "--cache", str(tmp_path / "c")]
    )
    assert res.exit_code == 0, res.output
    assert "cooccur" in res.output and "hit@10" in res.output
    r = pd.read_parquet(out / "results.parquet")
    assert set(r.model) == {"popularity", "random", "cooccur"}
    summary = json.loads((out / "summary.json").read_text())
    table = {(row["model"], row["label"]): row["mean"] for row in summary["table"]}
    # co-occurrence knows which tracks go together; popularity does not
    assert table[("cooccur", "hit@10")] > table[("popularity", "hit@10")]

    res = runner.invoke(app, ["report", str(out)])
    assert res.exit_code == 0, res.output
    assert (out / "report.html").is_file() and (
        out / "plots" / "recall_curve_synth-tiny.png"
    ).is_file()

    shutil.copytree(out, tmp_path / "copy")
    res = runner.invoke(
        app, ["compare", str(out), str(tmp_path / "copy"), "--out", str(tmp_path / "cmp.md")]
    )
    assert res.exit_code == 0, res.output
    assert "+0.0000" in (tmp_path / "cmp.md").read_text()


def test_the_example_plugin_by_entry_point(tmp_path, plugin_suite, monkeypatch):
    # An installed distribution is a *.dist-info folder on sys.path; build one by hand so
    # the test needs no pip and leaves the environment untouched.
    site = tmp_path / "site"
    info = site / "apc_example_plugin-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: apc-example-plugin\nVersion: 0.1.0\n"
    )
    (info / "entry_points.txt").write_text(
        "[apc.models]\ncooccur = apc_example_plugin.model:CoOccurrence\n"
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.syspath_prepend(str(PLUGIN))
    from apc.models.registry import available_models

    assert "cooccur" in {s.name for s in available_models()}
    text = plugin_suite.read_text().replace(
        'model = "apc_example_plugin.model:CoOccurrence"', 'model = "cooccur"'
    )
    plugin_suite.write_text(text)
    res = runner.invoke(
        app, ["run", str(plugin_suite), "--out", str(tmp_path / "run"), "--no-cache", "--no-plots"]
    )
    assert res.exit_code == 0, res.output
    assert "cooccur" in set(pd.read_parquet(tmp_path / "run" / "results.parquet").model)


def test_failed_cells_exit_1_and_bad_suites_raise_input_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[suite]\nnmae = "x"\n')
    res = runner.invoke(app, ["run", str(bad)])
    assert isinstance(res.exception, ApcInputError)  # the root app maps this to one line + exit 2
    assert "suite.nmae" in str(res.exception) and str(bad) in str(res.exception)

    mod = tmp_path / "failing_mod.py"
    mod.write_text(
        "from apc.models.popularity import Popularity\n"
        "class Fails(Popularity):\n    def _fit(self, train, features):\n        raise RuntimeError('no')\n"
    )
    suite = tmp_path / "s.toml"
    suite.write_text(
        '[suite]\ncutoff = 10\nmetrics = ["hit@10"]\n[[datasets]]\nsource = "synth:tiny"\n'
        '[protocol]\nname = "next-track"\n[[models]]\nname = "popularity"\n'
        '[[models]]\nname = "fails"\nmodel = "failing_mod:Fails"\n'
    )
    import sys

    sys.path.insert(0, str(tmp_path))
    try:
        res = runner.invoke(
            app, ["run", str(suite), "--out", str(tmp_path / "run"), "--no-cache", "--no-plots"]
        )
    finally:
        sys.path.remove(str(tmp_path))
    assert res.exit_code == 1
    assert "1 failed" in res.output and "RuntimeError: no" in res.output
