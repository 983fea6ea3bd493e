"""Model registry: names, import paths, and what is not a model."""

import pytest

from apc.errors import ApcInputError
from apc.models.registry import create_model, get_model_class


@pytest.mark.parametrize(
    "path, what",
    [
        ("collections:OrderedDict", "is a class without fit() and recommend()"),
        ("os.path:join", "is a function without"),
        ("apc.models.base:Recommender", None),  # the protocol itself has both: allowed
    ],
)
def test_an_import_path_that_is_not_a_model(path, what):
    if what is None:
        assert get_model_class(path).__name__ == "Recommender"
        return
    with pytest.raises(ApcInputError, match="not a model") as e:
        get_model_class(path)
    assert path in str(e.value) and what in str(e.value)


def test_names_and_import_paths_resolve_to_classes():
    assert get_model_class("knn").__name__ == "PlaylistKNN"
    assert get_model_class("apc.models.popularity:Popularity").__name__ == "Popularity"
    assert create_model("popularity").name == "popularity"


@pytest.mark.parametrize("name", ["nosuch", "nosuch_pkg:Model", "apc.models.knn:Nope"])
def test_unknown_models_are_input_errors(name):
    with pytest.raises(ApcInputError):
        get_model_class(name)
