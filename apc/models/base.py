"""The model interface: the ``Recommender`` protocol and the ``ScoringRecommender`` template.

Any object with ``fit(train, features=None) -> self`` and
``recommend(queries, k) -> Recommendations`` is a recommender (duck typing, as in
scikit-learn). Built-in models derive from :class:`ScoringRecommender`, which owns
validation, timing, blocking over queries, seed exclusion, the empty-seed fallback
and top-k; a subclass only writes ``_fit`` and ``_score``.
"""

from __future__ import annotations

import inspect
import os
import pickle
import tempfile
import time
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from apc.data.features import ItemFeatures
from apc.data.playlists import Playlists
from apc.data.queries import Queries, Recommendations
from apc.errors import ApcInputError, NotFittedError
from apc.models._topk import block_rows, top_k

try:
    from typing import Self
except ImportError:  # Python 3.10
    from typing_extensions import Self


@runtime_checkable
class Recommender(Protocol):
    """What the runner, the CLI and the metrics need from a model."""

    def fit(self, train: Playlists, features: ItemFeatures | None = None) -> Self:
        """Learn from the training playlists (and optional per-track features)."""
        ...

    def recommend(self, queries: Queries, k: int) -> Recommendations:
        """Return the top-``k`` tracks for every query, best first."""
        ...


def check_is_fitted(model: Any) -> None:
    """Raise :class:`NotFittedError` unless ``model`` has been fitted."""
    if not getattr(model, "is_fitted_", False):
        raise NotFittedError(f"{type(model).__name__} is not fitted yet; call fit() first")


class ScoringRecommender:
    """Template for models that score the whole catalogue per query.

    Subclasses implement :meth:`_fit` (set ``_``-suffixed state) and :meth:`_score`
    (return ``(B, n_tracks)`` scores for a block of queries). ``__init__`` of a
    subclass only stores keyword arguments (scikit-learn convention); validation
    happens in :meth:`fit`.

    Class attributes
    ----------------
    name : str
        Registry name.
    allows_repeats : bool
        If False (default) seed tracks are never recommended.
    empty_seed_fallback : bool
        If True (default) queries with an empty seed are answered by the title model
        (MPD "title only" queries) instead of by ``_score``.
    batch_size : int
        Upper bound on queries scored per block (also capped by memory).
    """

    name: ClassVar[str] = ""
    allows_repeats: ClassVar[bool] = False
    empty_seed_fallback: ClassVar[bool] = True
    batch_size: ClassVar[int] = 1024

    # ------------------------------------------------------------------ params
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [
            p.name
            for p in sig.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]

    def get_params(self) -> dict[str, Any]:
        """Return the hyper-parameters as given to ``__init__`` (scikit-learn style)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Self:
        """Set hyper-parameters; unknown names raise :class:`ApcInputError`.

        Values are stored as given; they are validated by the next :meth:`fit`.

        Returns
        -------
        Self
            The model itself.
        """
        valid = set(self._param_names())
        for key, value in params.items():
            if key not in valid:
                raise ApcInputError(
                    f"unknown parameter for {type(self).__name__}; "
                    f"valid: {', '.join(sorted(valid)) or '(none)'}",
                    field=key,
                )
            setattr(self, key, value)
        return self

    @property
    def identifier(self) -> str:
        """Stable name + parameters, e.g. ``knn(n_neighbors=100)``; used for cache keys."""
        params = ",".join(f"{k}={v!r}" for k, v in sorted(self.get_params().items()))
        return f"{self.name or type(self).__name__}({params})"

    def __repr__(self) -> str:
        return self.identifier

    # ------------------------------------------------------------------ template
    def _validate(self, train: Playlists) -> None:
        """Check hyper-parameters against the data; raise ApcInputError. Override."""

    def _fit(self, train: Playlists, features: ItemFeatures | None) -> None:
        raise NotImplementedError

    def _score(self, queries: Queries) -> Any:
        """(B, n_tracks) scores for a block of queries (numpy, scipy sparse or torch)."""
        raise NotImplementedError

    def fit(self, train: Playlists, features: ItemFeatures | None = None) -> Self:
        """Fit the model on ``train``; returns ``self``.

        Parameters
        ----------
        train : Playlists
            Training playlists; its track catalogue defines the item indices.
        features : ItemFeatures, optional
            Per-track features aligned with ``train.tracks`` (content-aware models).

        Returns
        -------
        Self
            The fitted model.

        Raises
        ------
        TypeError
            When ``train`` is not :class:`Playlists`.
        ApcInputError
            When ``features`` has the wrong number of rows or a hyper-parameter is
            invalid for the data.
        """
        if not isinstance(train, Playlists):
            raise TypeError(f"fit() expects Playlists, got {type(train).__name__}")
        if features is not None and len(features) != train.n_tracks:
            raise ApcInputError(
                f"features have {len(features)} rows for {train.n_tracks} tracks",
                field="features",
            )
        self._validate(train)
        start = time.perf_counter()
        self._fit(train, features)
        self.n_tracks_ = train.n_tracks
        self.fallback_ = None
        if self.empty_seed_fallback and self.name != "title":
            from apc.models.title import TitleModel

            self.fallback_ = TitleModel()._fit_fallback(train)
        self.fit_time_ = time.perf_counter() - start
        self.is_fitted_ = True
        return self

    def recommend(self, queries: Queries, k: int) -> Recommendations:
        """Recommend the top-``k`` tracks for each query (see :class:`Recommendations`).

        Queries are scored in blocks of at most ``batch_size`` rows (and at most
        ``BLOCK_CELLS`` scores), so the full queries x catalogue matrix never exists.

        Parameters
        ----------
        queries : Queries
            Queries over the catalogue the model was fitted on.
        k : int
            List length, >= 1.

        Returns
        -------
        Recommendations
            (len(queries), k) items and scores, best first, ``-1`` / ``-inf`` padded.

        Raises
        ------
        NotFittedError
            When the model is not fitted.
        ApcInputError
            When ``k < 1`` or the queries refer to another catalogue size.
        """
        check_is_fitted(self)
        if k < 1:
            raise ApcInputError(f"k must be >= 1, got {k}", field="k")
        if queries.n_tracks != self.n_tracks_:
            raise ApcInputError(
                f"queries refer to {queries.n_tracks} tracks, the model was fitted on "
                f"{self.n_tracks_}",
                field="n_tracks",
            )
        n = len(queries)
        items = np.full((n, k), -1, dtype=np.int32)
        scores = np.full((n, k), -np.inf, dtype=np.float32)
        step = block_rows(self.n_tracks_, self.batch_size)
        empty = queries.seed_lengths == 0
        for start in range(0, n, step):
            rows = np.arange(start, min(n, start + step))
            block = queries.subset(rows)
            s = self._score(block)
            if self.fallback_ is not None and empty[rows].any():
                s = _as_dense(s)
                e = empty[rows]
                s[e] = _as_dense(self.fallback_._score(block.subset(e)))
            exclude = None if self.allows_repeats else block.seeds_csr()
            items[rows], scores[rows] = top_k(s, k, exclude=exclude)
        return Recommendations(items, scores)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Pickle the fitted model to ``path`` (atomically: temp file, then rename).

        The file holds a small header (class path and parameters), then the model.

        Returns
        -------
        Path
            ``path``; its parent directories are created when missing.
        """
        check_is_fitted(self)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        header = {
            "apc_model": f"{type(self).__module__}:{type(self).__qualname__}",
            "params": self.get_params(),
        }
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(header, f, protocol=5)
                pickle.dump(self, f, protocol=5)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Load a model written by :meth:`save`.

        The file is unpickled, which can run arbitrary code: load only trusted files.

        Raises
        ------
        ApcInputError
            When the file is missing, is not an apc model file or holds a model that
            is not an instance of this class.
        """
        path = Path(path)
        if not path.exists():
            raise ApcInputError("no such model file", file=str(path))
        try:
            with open(path, "rb") as f:
                header = pickle.load(f)
                model = pickle.load(f)
        except (pickle.UnpicklingError, EOFError) as e:
            raise ApcInputError(f"not an apc model file ({e})", file=str(path)) from e
        if not isinstance(header, dict) or "apc_model" not in header:
            raise ApcInputError("not an apc model file (no header)", file=str(path))
        if not isinstance(model, cls):
            raise ApcInputError(
                f"file holds {header['apc_model']}, not {cls.__name__}", file=str(path)
            )
        return model


def _as_dense(s) -> np.ndarray:
    import scipy.sparse as sp

    if sp.issparse(s):
        return s.toarray().astype(np.float32)
    if not isinstance(s, np.ndarray):
        return s.detach().float().cpu().numpy()
    return np.asarray(s, dtype=np.float32)


def load_model(path: str | Path) -> Any:
    """Load any model saved by :meth:`ScoringRecommender.save`, whatever its class."""
    return ScoringRecommender.load(path)
