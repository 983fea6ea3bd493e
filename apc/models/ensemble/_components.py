"""What the ensemble models share: component specs, the validation carve-out, candidate pairs.

A *component* is any registered model (built-in name, entry-point name or import path
``pkg.mod:Class``) with its own parameters, given as one TOML table::

    components = [{ model = "knn", params = { n_neighbors = 200 }, n = 300 },
                  { model = "mypkg.models:MyModel", weight = 0.5 }]

Components are used only through the :class:`~apc.models.base.Recommender` protocol
(``fit`` and ``recommend``), so every model works, including a participant's plug-in.
Each is wrapped in :class:`~apc.models.fallback.TitleFallback` when it declares
``empty_seed_fallback`` (as apc's front doors do), so title-only queries get
candidates too.

Candidate *pairs* are the vectorised currency of the ensembles: for a block of ``B``
queries, the union of the components' lists is a flat array of ``(query row, track)``
pairs sorted by query, with one column per component for its score and rank (NaN where
the component did not list the track). Nothing of size ``B x n_tracks`` is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from apc.data.playlists import Playlists
from apc.data.queries import Queries, Recommendations
from apc.errors import ApcInputError

_COMPONENT_KEYS = {"model", "params", "n", "weight"}


@dataclass(frozen=True)
class Component:
    """One component of an ensemble: a model, its parameters, its list length and weight.

    Attributes
    ----------
    model : str
        Registry name, entry-point name or import path.
    params : dict
        Keyword parameters of the model.
    n : int or None
        Candidates taken from it (rerank) or list depth (fusion); None: the default.
    weight : float or None
        Fusion weight; None: fitted (or 1 when weights are not fitted).
    """

    model: str
    params: dict
    n: int | None = None
    weight: float | None = None

    @property
    def label(self) -> str:
        """Short name for feature columns and logs, e.g. ``knn``."""
        return self.model.rsplit(":", 1)[-1].rsplit(".", 1)[-1]


def parse_components(value: Any, *, field: str = "components") -> list[Component]:
    """Check a list of component tables and return them as :class:`Component` values.

    Parameters
    ----------
    value : list of dict
        Each table has ``model`` (str) and optionally ``params`` (table), ``n`` (int >=
        1) and ``weight`` (number >= 0).
    field : str
        Name of the parameter, for error messages (``components[1].n``).

    Returns
    -------
    list of Component

    Raises
    ------
    ApcInputError
        With ``field`` naming the offending entry and key, before any model is built.
    """
    if not isinstance(value, (list, tuple)) or not value:
        raise ApcInputError("expected a non-empty list of component tables", field=field)
    out = []
    for i, entry in enumerate(value):
        where = f"{field}[{i}]"
        if isinstance(entry, str):
            entry = {"model": entry}
        if not isinstance(entry, dict):
            raise ApcInputError(f"expected a table with 'model', got {entry!r}", field=where)
        unknown = sorted(set(entry) - _COMPONENT_KEYS)
        if unknown:
            raise ApcInputError(f"unknown key(s) {unknown}; valid: "
                                f"{', '.join(sorted(_COMPONENT_KEYS))}", field=where)
        model = entry.get("model")
        if not isinstance(model, str) or not model:
            raise ApcInputError("expected a model name or import path", field=f"{where}.model")
        params = entry.get("params", {})
        if not isinstance(params, dict):
            raise ApcInputError(f"expected a table, got {params!r}", field=f"{where}.params")
        n = entry.get("n")
        if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer))
                              or n < 1):
            raise ApcInputError(f"expected an integer >= 1, got {n!r}", field=f"{where}.n")
        w = entry.get("weight")
        if w is not None and (isinstance(w, bool) or not isinstance(w, (int, float))
                              or not np.isfinite(w) or w < 0):
            raise ApcInputError(f"expected a number >= 0, got {w!r}", field=f"{where}.weight")
        out.append(Component(model, dict(params), None if n is None else int(n),
                             None if w is None else float(w)))
    return out


def check_component_models(components: list[Component], *, field: str = "components") -> None:
    """Resolve every component's model and check its parameters, without data.

    Raises
    ------
    ApcInputError
        When a model is unknown or rejects its parameters (``field`` names the entry).
    """
    for i, c in enumerate(components):
        try:
            model = build_component(c, wrap=False)
            check = getattr(model, "validate_params", None)
            if callable(check):
                check()
        except ApcInputError as e:
            sub = e.field if e.field not in (None, "model", "param") else None
            where = f"{field}[{i}].params.{sub}" if sub else f"{field}[{i}].model"
            raise ApcInputError(e.message, field=where) from e


def build_component(component: Component, *, wrap: bool = True) -> Any:
    """Create an unfitted component model (wrapped for empty seeds when it asks to be)."""
    from apc.models.fallback import with_title_fallback
    from apc.models.registry import create_model

    model = create_model(component.model, component.params)
    return with_title_fallback(model) if wrap else model


def fit_components(components: list[Component], train: Playlists, *,
                   title: Any = None) -> list[Any]:
    """Fit a fresh model for every component on ``train``; return them in order.

    ``title``, a title model already fitted on ``train``, answers the empty-seed queries
    of every wrapped component, so the corpus is indexed by title once, not once per
    component.
    """
    from apc.models.fallback import TitleFallback

    models = [build_component(c).fit(train) for c in components]
    if title is not None:
        for m in models:
            if isinstance(m, TitleFallback):
                m.title_ = title
    return models


def carve_validation(train: Playlists, protocol: str, options: dict, seed: int):
    """Split the *training* playlists with an evaluation protocol: ``(sub_train, val_queries)``.

    The ensembles learn their weights or ranker on these validation queries only, never
    on the test queries (which are not in ``train`` at all): held-out validation
    playlists are removed from ``sub_train`` exactly as the test protocol removes test
    playlists, so the learnt combination sees the same kind of seeds as at test time.

    Raises
    ------
    ApcInputError
        When the protocol or an option is unknown, or the split leaves no query
        (``field`` is ``val_protocol``).
    """
    from apc.evaluation.protocols import make_protocol

    split = make_protocol(protocol, **dict(options)).split(train, seed=int(seed))
    if len(split.queries) == 0:
        raise ApcInputError(
            f"the validation split ({protocol}, {options}) of {len(train)} training "
            "playlists holds no query; use more data or other val_params",
            field="val_protocol",
        )
    return split.train, split.queries


@dataclass
class Pairs:
    """Candidate ``(query, track)`` pairs of a block of queries, sorted by query then track.

    Attributes
    ----------
    query : np.ndarray
        int64 (N,): row of the query in the block.
    track : np.ndarray
        int32 (N,): candidate track index.
    scores : np.ndarray
        float32 (N, M): each component's score, NaN where it did not list the track.
    ranks : np.ndarray
        float32 (N, M): each component's 0-based rank, NaN where not listed.
    n_queries : int
        B, the number of queries in the block.
    """

    query: np.ndarray
    track: np.ndarray
    scores: np.ndarray
    ranks: np.ndarray
    n_queries: int

    @property
    def indptr(self) -> np.ndarray:
        """int64 (B + 1,): where each query's pairs start."""
        out = np.zeros(self.n_queries + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.query, minlength=self.n_queries), out=out[1:])
        return out


def union_pairs(lists: list[Recommendations], n_tracks: int) -> Pairs:
    """Union of several components' lists for one block of queries, as :class:`Pairs`.

    Parameters
    ----------
    lists : list of Recommendations
        One per component, each ``(B, n_m)``, ``-1`` padded.
    n_tracks : int
        Catalogue size (for the int64 pair keys ``row * n_tracks + track``).

    Returns
    -------
    Pairs
    """
    b = lists[0].items.shape[0]
    keys, cols, vals, rks = [], [], [], []
    for m, recs in enumerate(lists):
        items = recs.items
        ok = items >= 0
        rows, pos = np.nonzero(ok)
        keys.append(rows.astype(np.int64) * n_tracks + items[rows, pos])
        cols.append(np.full(len(rows), m, dtype=np.int64))
        vals.append(recs.scores[rows, pos].astype(np.float32))
        rks.append(pos.astype(np.float32))
    key = np.concatenate(keys)
    uniq, inv = np.unique(key, return_inverse=True)
    n_models = len(lists)
    scores = np.full((len(uniq), n_models), np.nan, dtype=np.float32)
    ranks = np.full((len(uniq), n_models), np.nan, dtype=np.float32)
    col = np.concatenate(cols)
    scores[inv, col] = np.concatenate(vals)
    ranks[inv, col] = np.concatenate(rks)
    return Pairs((uniq // n_tracks).astype(np.int64), (uniq % n_tracks).astype(np.int32),
                 scores, ranks, b)


def top_pairs(pairs: Pairs, value: np.ndarray, k: int) -> Recommendations:
    """Keep the ``k`` best pairs of each query by ``value``, ties by best component rank.

    Parameters
    ----------
    pairs : Pairs
        Candidates of a block of queries.
    value : np.ndarray
        float (N,): the pairs' final scores (higher is better).
    k : int
        List length.

    Returns
    -------
    Recommendations
        ``(B, k)``, ``-1`` / ``-inf`` padded where a query has fewer than ``k`` candidates.
    """
    best_rank = np.nanmin(np.where(np.isnan(pairs.ranks), np.inf, pairs.ranks), axis=1) \
        if pairs.ranks.shape[1] else np.zeros(len(value))
    order = np.lexsort((pairs.track, best_rank, -value.astype(np.float64), pairs.query))
    q = pairs.query[order]
    start = pairs.indptr
    pos = np.arange(len(order), dtype=np.int64) - start[q]
    keep = pos < k
    items = np.full((pairs.n_queries, k), -1, dtype=np.int32)
    scores = np.full((pairs.n_queries, k), -np.inf, dtype=np.float32)
    items[q[keep], pos[keep]] = pairs.track[order[keep]]
    scores[q[keep], pos[keep]] = value[order[keep]]
    return Recommendations(items, scores)


def lists_of(models: list[Any], queries: Queries, depths: list[int]) -> list[Recommendations]:
    """Each fitted component's top-``depth`` lists for ``queries`` (capped at the catalogue)."""
    import warnings

    from apc.errors import ParameterWarning

    out = []
    for model, depth in zip(models, depths, strict=True):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ParameterWarning)  # depth above a tiny catalogue
            out.append(model.recommend(queries, int(min(depth, queries.n_tracks))))
    return out


__all__ = ["Component", "Pairs", "build_component", "carve_validation",
           "check_component_models", "fit_components", "lists_of", "parse_components",
           "top_pairs", "union_pairs"]
