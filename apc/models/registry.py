"""Find models by name: built-ins, the ``apc.models`` entry-point group, or ``pkg.mod:Class``.

Built-ins are listed as import-path strings and imported lazily, so ``apc models``
and ``apc --help`` never import torch. A participant's model needs no change to apc:
pass ``--model mypkg.module:MyModel`` or declare an entry point::

    [project.entry-points."apc.models"]
    mymodel = "mypkg.module:MyModel"
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from apc.errors import ApcInputError


@dataclass(frozen=True)
class ModelSpec:
    """A registered model: its name, import path, one-line summary and origin.

    Attributes
    ----------
    name : str
        Name accepted by :func:`create_model` (e.g. ``"knn"``).
    path : str
        Import path of the class, ``pkg.module:Class``.
    summary : str
        One-line description shown by ``apc models``.
    source : str
        ``"builtin"``, or the distribution that declared the entry point.
    """

    name: str
    path: str
    summary: str
    source: str = "builtin"


# name -> (import path, summary). Entries whose module is not present are hidden.
BUILTIN: dict[str, tuple[str, str]] = {
    "random": ("apc.models.popularity:RandomRecommender", "uniformly random tracks (the floor)"),
    "popularity": ("apc.models.popularity:Popularity", "globally most popular tracks"),
    "title": ("apc.models.title:TitleModel", "playlist-name TF-IDF k-NN (MPD title-only queries)"),
    "artist-popularity": (
        "apc.models.artists:ArtistPopularity",
        "most popular tracks of the seed's artists",
    ),
    "sagh": (
        "apc.models.artists:SameArtistGreatestHits",
        "Same Artist - Greatest Hits (Bonnin & Jannach 2014)",
    ),
    "cagh": (
        "apc.models.artists:CollocatedArtistsGreatestHits",
        "Collocated Artists - Greatest Hits (Bonnin & Jannach 2014)",
    ),
    "knn": ("apc.models.knn:PlaylistKNN", "playlist k-NN with V-SKNN / STAN options"),
    "item-knn": ("apc.models.knn:ItemKNN", "item-based k-NN on track co-occurrence"),
    "markov": ("apc.models.markov:MarkovChain", "first/higher-order Markov chain with back-off"),
    "sr": ("apc.models.rules:SequentialRules", "sequential rules (Ludewig & Jannach 2018)"),
    "ar": ("apc.models.rules:AssociationRules", "association rules (Ludewig & Jannach 2018)"),
    "lme": (
        "apc.models.lme:LogisticMarkovEmbedding",
        "logistic Markov embedding (Chen et al. 2012)",
    ),
    "song2vec": ("apc.models.song2vec:Song2Vec", "word2vec over playlists (item2vec)"),
    "gru4rec": (
        "apc.models.sequence.gru4rec:GRU4Rec",
        "GRU4Rec session-parallel GRU (Hidasi et al.)",
    ),
    "attn-gru": (
        "apc.models.sequence.attn_gru:AttentiveBiGRU",
        "attentive bi-GRU (Sachdeva et al. 2018)",
    ),
    "sasrec": ("apc.models.sequence.sasrec:SASRec", "self-attention next-track model (SASRec)"),
    "profile": (
        "apc.models.hybrid.profile:ProfileModel",
        "profile-based hybrid DNN (Vall et al. 2019)",
    ),
    "membership": (
        "apc.models.hybrid.membership:MembershipModel",
        "membership-based hybrid DNN (Vall et al. 2019)",
    ),
    "content-knn": ("apc.models.hybrid.content_knn:ContentKNN", "cosine on content features"),
}


def _module_exists(path: str) -> bool:
    module = path.split(":", 1)[0]
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def available_models() -> list[ModelSpec]:
    """List the models that can be created by name: built-ins and entry points.

    Built-ins whose module cannot be found are left out; an entry point whose name
    is already taken by an available built-in is ignored.

    Returns
    -------
    list of ModelSpec
        Built-ins first (in :data:`BUILTIN` order), then the ``apc.models`` entry points.
    """
    specs = [
        ModelSpec(name, path, summary)
        for name, (path, summary) in BUILTIN.items()
        if _module_exists(path)
    ]
    known = {s.name for s in specs}
    for ep in entry_points(group="apc.models"):
        if ep.name not in known:
            specs.append(
                ModelSpec(
                    ep.name,
                    ep.value,
                    "third-party (entry point)",
                    ep.dist.name if ep.dist else "entry point",
                )
            )
    return specs


def import_path(path: str) -> Any:
    """Import ``pkg.module:Attr`` (or ``pkg.module.Attr``) and return the attribute.

    Parameters
    ----------
    path : str
        Module and attribute separated by ``:`` (the attribute may be dotted, e.g.
        ``pkg.mod:Outer.Inner``), or a dotted path whose last part is the attribute.

    Returns
    -------
    object
        The attribute.

    Raises
    ------
    ApcInputError
        When ``path`` is malformed, the module cannot be imported or lacks the
        attribute.

    Examples
    --------
    >>> import_path("apc.models.popularity:Popularity").__name__
    'Popularity'
    """
    if ":" in path:
        module, _, attr = path.partition(":")
    else:
        module, _, attr = path.rpartition(".")
    if not module or not attr:
        raise ApcInputError(
            f"not an import path: {path!r} (expected 'pkg.module:Class')", field="model"
        )
    try:
        mod = importlib.import_module(module)
    except ImportError as e:
        raise ApcInputError(f"cannot import {module!r}: {e}", field="model") from e
    try:
        obj = mod
        for part in attr.split("."):
            obj = getattr(obj, part)
    except AttributeError as e:
        raise ApcInputError(f"{module!r} has no attribute {attr!r}", field="model") from e
    return obj


def get_model_class(name: str) -> Any:
    """Resolve a registry name, entry-point name or import path to a model class.

    Parameters
    ----------
    name : str
        A name from :func:`available_models`, else an import path
        (``pkg.module:Class``, see :func:`import_path`).

    Returns
    -------
    type
        The model class (not instantiated).

    Raises
    ------
    ApcInputError
        When ``name`` is neither a known model nor an importable path.
    """
    for spec in available_models():
        if spec.name == name:
            return import_path(spec.path)
    if ":" in name or "." in name:
        return import_path(name)
    names = ", ".join(s.name for s in available_models())
    raise ApcInputError(f"unknown model {name!r}; available: {names}", field="model")


def create_model(name: str, params: dict[str, Any] | None = None) -> Any:
    """Instantiate a model by name with keyword hyper-parameters.

    Parameters
    ----------
    name : str
        Registry name, entry-point name or import path (see :func:`get_model_class`).
    params : dict, optional
        Keyword arguments of the model's ``__init__``.

    Returns
    -------
    object
        The new, unfitted model.

    Raises
    ------
    ApcInputError
        When the model is unknown or rejects ``params``.

    Examples
    --------
    >>> create_model("popularity").name
    'popularity'
    """
    cls = get_model_class(name)
    params = dict(params or {})
    try:
        return cls(**params)
    except TypeError as e:
        raise ApcInputError(f"bad parameters for model {name!r}: {e}", field="param") from e


def parse_value(text: str) -> Any:
    """Parse a ``--param`` value: Python/TOML literals (int, float, bool, list), else str.

    ``true``/``false`` (any case) are booleans and ``none``/``null`` is None; other
    text is tried as a Python literal, then as a comma-separated list (each part
    parsed the same way), and is otherwise returned unchanged.

    Parameters
    ----------
    text : str
        The text after ``key=``.

    Returns
    -------
    object
        The parsed value.

    Examples
    --------
    >>> parse_value("10"), parse_value("0.5"), parse_value("true"), parse_value("a,b")
    (10, 0.5, True, ['a', 'b'])
    """
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        pass
    if "," in text:
        return [parse_value(part) for part in text.split(",") if part.strip()]
    return text


def parse_params(pairs: list[str] | None, toml_file: str | Path | None = None) -> dict[str, Any]:
    """Turn ``["key=value", ...]`` (and optionally a TOML file) into a parameter dict.

    Values from ``pairs`` override those of the file.

    Parameters
    ----------
    pairs : list of str or None
        ``key=value`` strings; each value is parsed by :func:`parse_value`.
    toml_file : str or Path, optional
        TOML file whose top-level table gives the parameters.

    Returns
    -------
    dict
        Parameter name -> value.

    Raises
    ------
    ApcInputError
        When the file is missing or malformed, or a pair has no ``=`` or no key.

    Examples
    --------
    >>> parse_params(["n_neighbors=50", "similarity=jaccard"])
    {'n_neighbors': 50, 'similarity': 'jaccard'}
    """
    params: dict[str, Any] = {}
    if toml_file is not None:
        path = Path(toml_file)
        if not path.exists():
            raise ApcInputError("no such parameter file", file=str(path))
        try:
            params.update(tomllib.loads(path.read_text()))
        except tomllib.TOMLDecodeError as e:
            raise ApcInputError(f"malformed TOML ({e})", file=str(path)) from e
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ApcInputError(f"expected key=value, got {pair!r}", field="param")
        params[key.strip()] = parse_value(value)
    return params
