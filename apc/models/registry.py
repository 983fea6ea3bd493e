"""Find models by name: built-ins, the ``apc.models`` entry-point group, or ``pkg.mod:Class``.

Built-ins are listed as import-path strings and imported lazily, so ``apc models``
and ``apc --help`` never import torch. A participant's model needs no change to apc:
pass ``--model mypkg.module:MyModel`` or declare an entry point::

    [project.entry-points."apc.models"]
    mymodel = "mypkg.module:MyModel"
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from apc.errors import ApcInputError
from apc.parsing import parse_params, parse_value  # noqa: F401 - the CLI's --param parser


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
    "feature-markov": (
        "apc.models.feature_markov:FeatureMarkov",
        "mixture of feature edge sets (McFee & Lanckriet 2011)",
    ),
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
    "hkann": (
        "apc.models.sequence.hkann:HKANN",
        "knowledge-graph attentive next-track model (Lin et al. HKANN)",
    ),
    "profile": (
        "apc.models.hybrid.profile:ProfileModel",
        "profile-based hybrid DNN (Vall et al. 2019)",
    ),
    "membership": (
        "apc.models.hybrid.membership:MembershipModel",
        "membership-based hybrid DNN (Vall et al. 2019)",
    ),
    "content-knn": ("apc.models.hybrid.content_knn:ContentKNN", "cosine on content features"),
    "dbn-content": (
        "apc.models.content.dbn:DBNContent",
        "deep belief network from spectrograms to WMF factors (Wang & Wang 2014)",
    ),
    "dbn-hybrid": (
        "apc.models.content.dbn:DBNHybrid",
        "DBN content factors + CF offset learned jointly (Wang & Wang 2014)",
    ),
    "content-prior-mf": (
        "apc.models.content.content_prior_mf:ContentPriorMF",
        "WMF with a tag-MLP content prior on item factors (Liang et al. 2015)",
    ),
    "multimodal": (
        "apc.models.content.multimodal:Multimodal",
        "audio CNN + artist-text MLP, late fusion (Oramas et al. 2017)",
    ),
    "fusion": ("apc.models.ensemble.fusion:ScoreFusion",
               "weighted fusion of any models' normalised scores"),
    "rerank": ("apc.models.ensemble.rerank:Rerank",
               "two-stage: union of models' candidates, LightGBM learning-to-rank"),
}

#: session-rec names of the playlist k-NN's variants: name -> (model, preset
#: parameters, summary). ``--param`` values override the preset (docs/models/knn.md).
ALIASES: dict[str, tuple[str, dict[str, Any], str]] = {
    "sknn": ("knn", {"weighting": "none"}, "SKNN, session k-NN: knn weighting=none"),
    "vsknn": ("knn", {"weighting": "vsknn"}, "V-SKNN (Ludewig & Jannach 2018): knn "
              "weighting=vsknn"),
    "stan": ("knn", {"weighting": "stan"}, "STAN (Garg et al. 2019): knn weighting=stan"),
    "vstan": ("knn", {"weighting": "stan", "lambda_ipw": 1.02, "idf_weight": 5.0,
                      "idf_count": "entries"},
              "VSTAN (Ludewig et al. 2021): knn weighting=stan lambda_ipw=1.02 "
              "idf_weight=5 idf_count=entries"),
}


def alias_params(name: str) -> dict[str, Any]:
    """Return the preset parameters of an alias in :data:`ALIASES` (``{}`` for other names).

    Parameters
    ----------
    name : str
        A model name.

    Returns
    -------
    dict
        A fresh copy; explicit parameters override it.
    """
    return dict(ALIASES[name][1]) if name in ALIASES else {}


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
    specs += [
        ModelSpec(name, BUILTIN[target][0], summary)
        for name, (target, _, summary) in ALIASES.items()
        if _module_exists(BUILTIN[target][0])
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
        mod = _import_module(module)
    except ImportError as e:
        hint = ""
        if isinstance(e, ModuleNotFoundError) and e.name == module.split(".")[0]:
            hint = (" (apc looks in the installed packages and the current folder; for a "
                    "module elsewhere, set PYTHONPATH to the folder that holds it)")
        raise ApcInputError(f"cannot import {module!r}: {e}{hint}", field="model") from e
    try:
        obj = mod
        for part in attr.split("."):
            obj = getattr(obj, part)
    except AttributeError as e:
        raise ApcInputError(f"{module!r} has no attribute {attr!r}", field="model") from e
    return obj


def _import_module(module: str) -> Any:
    """Import ``module``; a top-level module in the current folder is found too.

    The ``apc`` console script does not put the current folder on ``sys.path`` (as
    ``python -m`` does), so ``-m mymodel:MyModel`` beside the user's data would not be
    found; the folder is added when it holds ``mymodel.py`` or a ``mymodel/`` package.
    """
    import os
    import sys

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        top, here = module.split(".")[0], os.getcwd()
        if e.name != top or here in sys.path:
            raise
        if not (os.path.isfile(os.path.join(here, f"{top}.py"))
                or os.path.isdir(os.path.join(here, top))):
            raise
        sys.path.insert(0, here)
        return importlib.import_module(module)


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
        When ``name`` is neither a known model nor an importable path, or names
        something that is not a model class (a class with ``fit`` and ``recommend``).
    """
    for spec in available_models():
        if spec.name == name:
            return _check_model_class(name, import_path(spec.path))
    if ":" in name or "." in name:
        return _check_model_class(name, import_path(name))
    names = ", ".join(s.name for s in available_models())
    raise ApcInputError(f"unknown model {name!r}; available: {names}", field="model")


def _check_model_class(name: str, obj: Any) -> Any:
    """Return ``obj`` if it is a class following the Recommender protocol, else raise."""
    missing = [m for m in ("fit", "recommend") if not callable(getattr(obj, m, None))]
    if not isinstance(obj, type) or missing:
        what = f"a {type(obj).__name__}" if not isinstance(obj, type) else "a class"
        lacks = " without " + " and ".join(f"{m}()" for m in missing) if missing else ""
        raise ApcInputError(
            f"{name!r} is {what}{lacks}, not a model: a model is a class with "
            "fit(train) and recommend(queries, k)",
            field="model",
        )
    return obj


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
    params = {**alias_params(name), **(params or {})}
    try:
        return cls(**params)
    except TypeError as e:
        raise ApcInputError(f"bad parameters for model {name!r}: {e}", field="param") from e
