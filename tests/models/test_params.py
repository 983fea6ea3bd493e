"""Declarative hyper-parameters: one validator for every model (issue 12 item 5)."""

import inspect
import pickle
from dataclasses import dataclass

import numpy as np
import pytest

from apc.errors import ApcInputError
from apc.models import params
from apc.models.base import MODEL_FORMAT, ScoringRecommender
from apc.models.params import param
from apc.models.registry import available_models, create_model, get_model_class

BUILTINS = [s.name for s in available_models() if s.source == "builtin"]


@dataclass(frozen=True)
class ToyConfig:
    k: int = param(10, ge=1, doc="List length.")
    rate: float = param(0.5, gt=0, le=1, doc="A rate.")
    cap: int | None = param(None, ge=0, doc="Optional cap.")
    mode: str = param("a", choices=("a", "b"), doc="Mode.")
    flag: bool = param(True, doc="A flag.")
    sets: tuple[str, ...] | str = param(("a",), choices=("a", "b"), doc="Subset.")


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("k", "abc", "expected an integer >= 1, got 'abc'"),
        ("k", 1.5, "expected an integer >= 1, got 1.5"),
        ("k", True, "expected an integer >= 1, got True"),
        ("k", 0, "expected an integer >= 1, got 0"),
        ("k", None, "expected an integer >= 1, got None"),
        ("rate", 0, "expected a number in (0, 1], got 0"),
        ("rate", 1.5, "expected a number in (0, 1], got 1.5"),
        ("rate", float("nan"), "expected a number in (0, 1], got nan"),
        ("rate", "0.5", "expected a number in (0, 1], got '0.5'"),
        ("cap", -1, "expected an integer >= 0 or None, got -1"),
        ("mode", "c", "expected one of 'a', 'b', got 'c'"),
        ("flag", 1, "expected true or false, got 1"),
        ("sets", ["a", "z"], "expected one of 'a', 'b' (or a list of them), got ['a', 'z']"),
    ],
)
def test_validator_rejects_wrong_type_or_range(field, value, message):
    with pytest.raises(ApcInputError) as e:
        params.validate(ToyConfig(**{field: value}))
    assert e.value.field == field
    assert e.value.message == message


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"k": np.int64(3), "rate": 1, "cap": None, "mode": "b", "flag": np.bool_(False)},
        {"cap": 0, "sets": "b"},
        {"sets": ["a", "b"]},
    ],
)
def test_validator_accepts_valid_values(values):
    params.validate(ToyConfig(**values))


def test_build_rejects_unknown_names_and_lists_valid_ones():
    with pytest.raises(ApcInputError) as e:
        params.build(ToyConfig, {"kk": 3}, owner="Toy")
    assert e.value.field == "kk"
    assert "cap, flag, k, mode, rate, sets" in e.value.message


def test_specs_describe_each_field():
    by_name = {s.name: s for s in params.specs(ToyConfig)}
    assert list(by_name) == ["k", "rate", "cap", "mode", "flag", "sets"]
    assert by_name["k"].default == 10 and by_name["k"].doc == "List length."
    assert by_name["cap"].describe() == "an integer >= 0 or None"
    assert by_name["rate"].constraints == {"gt": 0, "le": 1}


@pytest.mark.parametrize(
    "name, field, value",
    [
        ("knn", "n_neighbors", "abc"),
        ("knn", "similarity", "l2"),
        ("knn", "lambda_inh", float("nan")),
        ("item-knn", "alpha", 1.5),
        ("cagh", "n_neighbors", 1.5),
        ("markov", "order", 4),
        ("markov", "edge_sets", ("uniform", "bogus")),
        ("sr", "steps", True),
        ("ar", "context", "first"),
        ("lme", "learning_rate", 0),
        ("song2vec", "vector_size", "64"),
        ("random", "seed", -1),
        ("popularity", "distinct", "yes"),
        ("content-knn", "seed", 0.5),
        ("profile", "input_dropout", 1.0),
        ("membership", "match", "cos"),
        ("gru4rec", "hidden", "abc"),
        ("gru4rec", "accelerator", "bogus"),
        ("attn-gru", "use_tags", "yes"),
        ("sasrec", "heads", 3),  # cross-field: hidden=50 is not divisible by 3
    ],
)
def test_models_reject_bad_parameters_without_data(name, field, value):
    model = create_model(name, {field: value})  # constructing never validates
    with pytest.raises(ApcInputError) as e:
        model.validate_params()
    assert e.value.field == field
    assert str(e.value).startswith(f"field {field!r}: ")


def test_accelerator_error_lists_the_choices():
    with pytest.raises(ApcInputError) as e:
        create_model("gru4rec", {"accelerator": "bogus"}).validate_params()
    assert "'cpu', 'gpu'" in e.value.message and "'auto'" in e.value.message


@pytest.mark.parametrize("name", BUILTINS)
def test_defaults_are_valid(name):
    create_model(name).validate_params()


CONFIGURED = [n for n in BUILTINS if get_model_class(n).config_class is not None]


def test_every_builtin_with_parameters_declares_them():
    plain = sorted(set(BUILTINS) - set(CONFIGURED))
    for name in plain:  # no config: no hyper-parameters at all, or the title model
        assert get_model_class(name)._param_names() == [] or name == "title", name


@pytest.mark.parametrize("name", CONFIGURED)
def test_flat_params_round_trip(name):
    cls = get_model_class(name)
    defaults = create_model(name).get_params()
    assert list(inspect.signature(cls).parameters) == list(defaults)  # runner/CLI introspection
    model = create_model(name, defaults)
    assert model.get_params() == defaults
    assert create_model(name, model.get_params()).identifier == model.identifier
    key, value = _changed(cls)
    model.set_params(**{key: value})
    assert model.get_params()[key] == value and getattr(model, key) == value
    assert model.config == create_model(name, {**defaults, key: value}).config
    assert f"{key}={value!r}" in model.identifier
    clone = pickle.loads(pickle.dumps(model))
    assert clone.identifier == model.identifier


def _changed(cls):
    """A valid non-default value for the first int or bool parameter."""
    for spec in params.model_specs(cls):
        if isinstance(spec.default, bool):
            return spec.name, not spec.default
        if isinstance(spec.default, int) and "le" not in spec.constraints:
            return spec.name, spec.default + 1
    raise AssertionError(f"{cls.__name__} has no int or bool parameter")


def test_fields_are_read_only_views_of_the_config():
    model = create_model("knn", {"n_neighbors": 7})
    assert model.n_neighbors == 7 == model.config.n_neighbors
    with pytest.raises(AttributeError):
        model.n_neighbors = 3


def test_unknown_parameter_names_the_valid_ones():
    with pytest.raises(ApcInputError) as e:
        create_model("knn", {"n_neighbours": 5})
    assert e.value.field == "n_neighbours" and "n_neighbors" in e.value.message
    with pytest.raises(ApcInputError):
        create_model("knn").set_params(bogus=1)


def test_fit_validates_before_touching_data():
    from apc.testing import checkerboard

    with pytest.raises(ApcInputError) as e:
        create_model("knn", {"n_neighbors": 0}).fit(checkerboard())
    assert e.value.field == "n_neighbors"


def test_model_specs_of_a_plain_class_come_from_its_signature():
    class Plain(ScoringRecommender):
        def __init__(self, *, alpha: float = 0.5) -> None:
            self.alpha = alpha

    (spec,) = params.model_specs(Plain)
    assert (spec.name, spec.default, spec.constraints) == ("alpha", 0.5, {})
    Plain(alpha="x").validate_params()  # a plain class declares nothing: nothing to check


def test_a_field_may_not_hide_a_method():
    @dataclass(frozen=True)
    class Bad:
        fit: int = param(1, doc="clashes with fit()")

    with pytest.raises(TypeError, match="hides a method"):
        type("BadModel", (ScoringRecommender,), {"config_class": Bad})


def test_files_of_another_format_are_refused(tmp_path):
    from apc.models.base import load_model

    path = tmp_path / "old.pkl"
    with open(path, "wb") as f:
        pickle.dump({"apc_model": "apc.models.knn:PlaylistKNN", "params": {}}, f)
        pickle.dump(object(), f)
    with pytest.raises(ApcInputError, match=f"format 1, this apc reads format {MODEL_FORMAT}"):
        load_model(path)


DOC_PAGES = {
    "artists": ["sagh", "cagh", "artist-popularity"],
    "content-knn": ["content-knn"],
    "knn": ["knn", "item-knn"],
    "lme": ["lme"],
    "markov": ["markov"],
    "membership": ["membership"],
    "popularity": ["popularity", "random"],
    "profile": ["profile"],
    "rules": ["sr", "ar"],
    "song2vec": ["song2vec"],
    "title": ["title"],
    "gru4rec": ["gru4rec"],
    "attn-gru": ["attn-gru"],
    "sasrec": ["sasrec"],
}


def _documented(page):
    """Backticked names in the parameter column of the page's parameter tables."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "models" / f"{page}.md").read_text()
    section = re.search(r"^## (Hyper-parameters|Defaults)\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    names, complete = set(), section.group(1) == "Hyper-parameters"
    column = 0
    for line in section.group(2).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or set(cells[0]) <= {"-"}:
            continue
        if cells[0].lower() in ("parameter", "model"):
            column = cells.index(next(c for c in cells if c.lower() == "parameter"))
            continue
        names |= set(re.findall(r"`(\w+)`", cells[column]))
    return names, complete


@pytest.mark.parametrize("page", sorted(DOC_PAGES))
def test_docs_pages_name_the_declared_parameters(page):
    declared = {s.name for n in DOC_PAGES[page] for s in params.model_specs(get_model_class(n))}
    documented, complete = _documented(page)
    assert documented, page
    assert documented <= declared, f"{page}.md names unknown parameters {documented - declared}"
    if complete:  # a Hyper-parameters table lists them all; a Defaults table compares some
        assert declared <= documented, f"{page}.md lacks {declared - documented}"


@dataclass(frozen=True)
class ListConfig:
    parts: list[dict | str] = param(({"model": "knn"},), doc="Tables or names.")


@pytest.mark.parametrize("value", [["knn", {"model": "cagh"}], ("a",), []])
def test_list_of_union_items_accepts_each_member(value):
    params.validate(ListConfig(parts=value))


@pytest.mark.parametrize("value", [[3], ["knn", 2.5], "knn"])
def test_list_of_union_items_names_the_members(value):
    with pytest.raises(ApcInputError) as e:
        params.validate(ListConfig(parts=value))
    assert e.value.field == "parts"
    assert "expected a list of tables or strings" in str(e.value)


def test_ensembles_take_plain_model_names():
    fusion = create_model("fusion", {"components": ["popularity", "item-knn"]})
    rerank = create_model("rerank", {"candidates": ["knn", {"model": "cagh", "n": 50}]})
    assert [c.model for c in fusion._components()] == ["popularity", "item-knn"]
    assert rerank.config.candidates[0] == "knn"
