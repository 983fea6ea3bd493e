"""Wrappers that add behaviour around any recommender, outside the model template.

:class:`TitleFallback` answers the queries that have no seed track (the MPD
challenge's "title only" playlists) with the title model, and every other query with
the wrapped model. apc's front doors (:func:`apc.workflows.build_model`, the
benchmark runner, :func:`apc.mpd.submission.make_submission`) wrap every model that
declares ``empty_seed_fallback = True`` (the default of
:class:`~apc.models.base.ScoringRecommender`); a model used on its own answers such
queries from its own scores.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from apc.data.features import ItemFeatures
from apc.data.playlists import Playlists
from apc.data.queries import Queries, Recommendations
from apc.errors import ApcInputError
from apc.models.base import ScoringRecommender, check_is_fitted

try:
    from typing import Self
except ImportError:  # Python 3.10
    from typing_extensions import Self


class TitleFallback:
    """Answer empty-seed queries by playlist title, all others with ``model``.

    The title model (:class:`~apc.models.title.TitleModel`) is fitted on first use,
    the first time a batch of queries holds one with an empty seed, so a split without
    such queries (and the wrapped model's ``fit_time_``) pays nothing for it.

    Parameters
    ----------
    model : Recommender
        The wrapped model (unfitted or fitted).
    title : Recommender, optional
        The model for empty-seed queries (default: ``TitleModel()``).

    Examples
    --------
    >>> from apc.models.knn import PlaylistKNN
    >>> from apc.testing import checkerboard, queries_from
    >>> pl = checkerboard()
    >>> q = queries_from(pl, [[], [0]], [[1], [1]], titles=np.array(["rock", ""], object))
    >>> recs = TitleFallback(PlaylistKNN()).fit(pl).recommend(q, 3)
    >>> recs.items.shape
    (2, 3)
    """

    def __init__(self, model: Any, *, title: Any = None) -> None:
        self.model = model
        self.title = title

    # ------------------------------------------------------------------ delegation
    @property
    def name(self) -> str:
        """The wrapped model's registry name."""
        return getattr(self.model, "name", type(self.model).__name__)

    @property
    def allows_repeats(self) -> bool:
        """Whether the wrapped model may recommend seed tracks."""
        return bool(getattr(self.model, "allows_repeats", False))

    @property
    def identifier(self) -> str:
        """The wrapped model's identifier (cache keys do not change by wrapping)."""
        return getattr(self.model, "identifier", repr(self.model))

    def get_params(self) -> dict[str, Any]:
        """Return the wrapped model's hyper-parameters."""
        return self.model.get_params() if hasattr(self.model, "get_params") else {}

    def __getattr__(self, attr: str) -> Any:
        # fitted state and any other attribute read through to the wrapped model
        if attr.startswith("__") or attr in ("model", "title", "_train"):
            raise AttributeError(attr)
        return getattr(self.model, attr)

    def __repr__(self) -> str:
        return f"TitleFallback({self.model!r})"

    # ------------------------------------------------------------------ protocol
    def fit(self, train: Playlists, features: ItemFeatures | None = None) -> Self:
        """Fit the wrapped model; remember ``train`` for the title model.

        Returns
        -------
        Self
            The wrapper.
        """
        self.model = (self.model.fit(train) if features is None
                      else self.model.fit(train, features))
        self._train = train
        self.title_ = None
        return self

    def _title_model(self) -> Any:
        if getattr(self, "title_", None) is None:
            from apc.models.title import TitleModel

            title = self.title if self.title is not None else TitleModel()
            self.title_ = title.fit(self._train)
        return self.title_

    def recommend(self, queries: Queries, k: int) -> Recommendations:
        """Recommend with the wrapped model; empty-seed queries get the title model's list.

        Returns
        -------
        Recommendations
            As the wrapped model's (same width).
        """
        if getattr(self, "_train", None) is None:
            check_is_fitted(self.model)
            if getattr(self, "title_", None) is None:
                raise ApcInputError("TitleFallback was not fitted; call fit() first")
        empty = queries.seed_lengths == 0
        if not empty.any():
            return self.model.recommend(queries, k)
        full = np.flatnonzero(~empty)
        rest = np.flatnonzero(empty)
        main = self.model.recommend(queries.subset(full), k) if len(full) else None
        side = self._title_model().recommend(queries.subset(rest), k)
        width = max(side.items.shape[1], 0 if main is None else main.items.shape[1])
        items = np.full((len(queries), width), -1, dtype=np.int32)
        scores = np.full((len(queries), width), -np.inf, dtype=np.float32)
        for rows, recs in ((full, main), (rest, side)):
            if recs is not None:
                w = recs.items.shape[1]
                items[rows, :w] = recs.items
                scores[rows, :w] = recs.scores
        return Recommendations(items, scores)

    # ------------------------------------------------------------------ persistence
    def __getstate__(self) -> dict[str, Any]:
        # a pickle (save, cache) holds the fitted title model, never the training corpus
        state = dict(self.__dict__)
        if state.get("_train") is not None:
            state["title_"] = self._title_model()
        state.pop("_train", None)
        return state

    def save(self, path: str | Path) -> Path:
        """Save the wrapper (wrapped model and fitted title model) like a model."""
        check_is_fitted(self.model)
        return ScoringRecommender.save(self, path)

    @property
    def is_fitted_(self) -> bool:
        """Whether the wrapped model is fitted."""
        return bool(getattr(self.model, "is_fitted_", False))

    @classmethod
    def load(cls, path: str | Path) -> TitleFallback:
        """Load a wrapper written by :meth:`save` (see :func:`apc.models.base.load_model`)."""
        from apc.models.base import load_model

        model = load_model(path)  # any class: the check below names what the file holds
        if not isinstance(model, cls):
            raise ApcInputError(f"file holds {type(model).__name__}, not {cls.__name__}",
                                file=str(path))
        return model


def with_title_fallback(model: Any, *, train: Playlists | None = None) -> Any:
    """Wrap ``model`` in :class:`TitleFallback` when it declares ``empty_seed_fallback``.

    A model that answers empty seeds itself (``empty_seed_fallback = False``, e.g.
    popularity and the title model), an object without the attribute (a bare
    :class:`~apc.models.base.Recommender`) and an already wrapped model are returned
    unchanged.

    Parameters
    ----------
    model : Recommender
        Unfitted (the wrapper's ``fit`` fits it), or fitted on ``train``.
    train : Playlists, optional
        For a model that is already fitted (e.g. loaded from a cache): the corpus it
        was fitted on, which the title model will be fitted on when first needed.

    Examples
    --------
    >>> from apc.models.popularity import Popularity
    >>> from apc.models.knn import PlaylistKNN
    >>> type(with_title_fallback(PlaylistKNN())).__name__
    'TitleFallback'
    >>> type(with_title_fallback(Popularity())).__name__
    'Popularity'
    """
    if isinstance(model, TitleFallback) or not getattr(model, "empty_seed_fallback", False):
        return model
    wrapped = TitleFallback(model)
    if train is not None:
        wrapped._train, wrapped.title_ = train, None
    return wrapped


def unwrap(model: Any) -> Any:
    """Return the model inside a :class:`TitleFallback` (or ``model`` itself)."""
    return model.model if isinstance(model, TitleFallback) else model
