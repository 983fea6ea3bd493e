"""CLI conventions (issue 17, item 6): version, short flags, choices, metavars, aliases, --param."""

import sys
import typing

import pytest
import typer
from typer.testing import CliRunner

from apc.cli import _choices as choices
from apc.cli import app
from apc.cli._params import params_per_model
from apc.errors import ApcInputError

runner = CliRunner()


def _commands(cmd, path=()):
    yield path, cmd
    if hasattr(cmd, "commands"):  # a group
        for name, sub in cmd.commands.items():
            yield from _commands(sub, (*path, name))


def test_version():
    import apc

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"apc {apc.__version__}"


def test_one_meaning_per_short_flag_and_o_is_out():
    meaning: dict[str, set[str]] = {}
    for _, cmd in _commands(typer.main.get_command(app)):
        for p in cmd.params:
            if p.param_type_name == "option":
                longs = [o for o in p.opts if o.startswith("--")]
                for short in (o for o in p.opts if len(o) == 2):
                    meaning.setdefault(short, set()).update(longs)
    assert all(len(v) == 1 for v in meaning.values()), meaning
    assert meaning["-o"] == {"--out"} and meaning["-k"] == {"--k"}
    assert meaning["-m"] == {"--model"} and meaning["-p"] == {"--param"}


@pytest.mark.parametrize(
    "argv",
    [[], ["evaluate"], ["fit"], ["recommend"], ["models"], ["data", "convert"],
     ["data", "synth"], ["bench", "run"], ["mpd", "submit"], ["reproduce"], ["demo"]],
)
def test_help_has_no_python_type_metavars(argv):
    result = runner.invoke(app, [*argv, "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert "<list[" not in result.stdout
    # flags take no value: no <bool> after them (Typer's own --help keeps its type)
    assert all("--help" in line for line in result.stdout.splitlines() if "<bool>" in line)


def test_choices_match_the_registries():
    from apc.datasets import FORMATS
    from apc.datasets.synthetic import PRESETS
    from apc.evaluation.protocols import PROTOCOLS

    assert list(typing.get_args(choices.Protocol)) == list(PROTOCOLS)
    assert list(typing.get_args(choices.Format)) == list(FORMATS)
    assert list(typing.get_args(choices.Preset)) == list(PRESETS)
    evaluate = typer.main.get_command(app).commands["evaluate"]
    (protocol,) = [p for p in evaluate.params if "--protocol" in p.opts]
    assert "<next-track|continuation|mpd-challenge|cold-start>" in protocol.display_type_rich(None)


def test_reproduce_help_names_packaged_recipes():
    from apc.resources import packaged

    text = " ".join(runner.invoke(app, ["reproduce", "--help"], terminal_width=200).stdout.split())
    assert packaged("recipe") and all(name in text for name in packaged("recipe"))


def test_k_short_flag_and_models_table(tmp_path):
    result = runner.invoke(
        app, ["evaluate", "synth:tiny", "-m", "popularity", "--protocol", "next-track", "-k", "5"]
    )
    assert result.exit_code == 0, result.output
    assert "hit@5" in result.stdout and "hit@10" not in result.stdout
    table = runner.invoke(app, ["models", "knn"], terminal_width=250).stdout
    for word in ("parameter", "type", "default", "meaning", "n_neighbors", "100"):
        assert word in table


def test_session_rec_aliases():
    from apc.models.registry import available_models, create_model

    names = {s.name for s in available_models()}
    assert {"sknn", "vsknn", "stan", "vstan"} <= names
    assert create_model("sknn").weighting == "none"
    assert create_model("vsknn").weighting == "vsknn"
    assert create_model("stan").weighting == "stan" and create_model("stan").lambda_ipw is None
    vstan = create_model("vstan", {"n_neighbors": 20})
    assert (vstan.weighting, vstan.lambda_ipw, vstan.idf_weight, vstan.idf_count) == (
        "stan", 1.02, 5.0, "entries"
    )
    assert vstan.n_neighbors == 20
    assert create_model("vstan", {"idf_weight": 1.0}).idf_weight == 1.0  # explicit wins
    table = runner.invoke(app, ["models", "vstan"], terminal_width=250).stdout
    assert "'entries'" in table and "VSTAN" in table


def test_bench_cells_build_aliases_with_their_preset():
    from apc.bench.cells import model_params
    from apc.bench.suite import ModelEntry
    from apc.models.knn import PlaylistKNN

    entry = ModelEntry(name="v", model="vstan", params={"n_neighbors": 5})
    params = model_params(entry, PlaylistKNN, 3)
    assert params["weighting"] == "stan" and params["n_neighbors"] == 5 and params["seed"] == 3


def test_param_prefix_addresses_one_model():
    got = dict(params_per_model(["knn", "item-knn"], ["n_neighbors=50", "knn.weighting=stan"]))
    assert got == {"knn": {"n_neighbors": 50, "weighting": "stan"}, "item-knn": {"n_neighbors": 50}}
    # a key only one model has goes to that model only
    got = dict(params_per_model(["knn", "popularity"], ["similarity=jaccard"]))
    assert got == {"knn": {"similarity": "jaccard"}, "popularity": {}}
    with pytest.raises(ApcInputError, match="'sasrec' is none of the models given"):
        params_per_model(["knn", "item-knn"], ["sasrec.lr=0.1"])
    with pytest.raises(ApcInputError, match="none of the models knn, item-knn has"):
        params_per_model(["knn", "item-knn"], ["no_such_key=1"])
    # one model: un-prefixed keys go to it as before (it rejects unknown ones itself)
    assert params_per_model(["knn"], ["knn.n_neighbors=3", "x=1"]) == [
        ("knn", {"x": 1, "n_neighbors": 3})
    ]


def test_params_file_tables_address_one_model(tmp_path):
    f = tmp_path / "p.toml"
    f.write_text('n_neighbors = 40\n[knn]\nweighting = "vsknn"\n')
    got = dict(params_per_model(["knn", "item-knn"], ["item-knn.alpha=0.7"], f))
    assert got["knn"] == {"n_neighbors": 40, "weighting": "vsknn"}
    assert got["item-knn"] == {"n_neighbors": 40, "alpha": 0.7}


def test_evaluate_with_a_prefixed_param(tmp_path):
    result = runner.invoke(
        app,
        ["evaluate", "synth:tiny", "-m", "knn", "-m", "popularity", "-p", "knn.n_neighbors=5",
         "--protocol", "next-track", "-k", "10"],
    )
    assert result.exit_code == 0, result.output
    bad = runner.invoke(app, ["evaluate", "synth:tiny", "-m", "knn", "-m", "popularity",
                              "-p", "sknn.n_neighbors=5"])
    assert bad.exit_code == 2 and "'sknn' is none of the models given" in bad.stderr


def test_model_module_in_the_current_folder(tmp_path, monkeypatch):
    (tmp_path / "h8_local_model.py").write_text(
        "from apc.models.popularity import Popularity\n\nclass Mine(Popularity):\n    pass\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    monkeypatch.delitem(sys.modules, "h8_local_model", raising=False)
    result = runner.invoke(app, ["models", "h8_local_model:Mine"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "distinct" in result.stdout
    missing = runner.invoke(app, ["models", "h8_nowhere:Mine"])
    assert missing.exit_code == 2 and "set PYTHONPATH" in missing.stderr
    sys.modules.pop("h8_local_model", None)
