"""The model interface: the ``Recommender`` protocol and the ``ScoringRecommender`` template.

Any object with ``fit(train, features=None) -> self`` and
``recommend(queries, k) -> Recommendations`` is a recommender (duck typing, as in
scikit-learn). Built-in models derive from :class:`ScoringRecommender`, a template
that owns validation, timing, blocking over queries, seed exclusion and top-k; a
subclass only writes ``_fit`` and ``_score``. Extra behaviour is a wrapper, not a
step of the template: the title answer for queries with an empty seed is
:class:`apc.models.fallback.TitleFallback`.
"""

from __future__ import annotations

import hashlib
import inspect
import pickle
import time
import warnings
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from apc._atomic import atomic_path
from apc.data.features import ItemFeatures
from apc.data.playlists import Playlists
from apc.data.queries import Queries, Recommendations
from apc.errors import ApcInputError, NotFittedError, ParameterWarning
from apc.models import params as hparams
from apc.models._topk import block_rows, top_k

try:
    from typing import Self
except ImportError:  # Python 3.10
    from typing_extensions import Self


@runtime_checkable
class Recommender(Protocol):
    """What the runner, the CLI and the metrics need from a model: ``fit`` and ``recommend``.

    This is the whole contract that :class:`apc.testing.RecommenderContract` checks:

    * ``fit(train, features=None)`` learns from :class:`~apc.data.playlists.Playlists`
      and returns the model itself;
    * ``recommend(queries, k)`` returns :class:`~apc.data.queries.Recommendations` with
      one row per query and at most ``k`` columns: int32 track indices in
      ``[0, n_tracks)``, best first, with float32 scores that do not increase along a
      row. A row may end early: its unused slots hold ``-1`` (and ``-inf`` scores), and
      once a row has a ``-1`` it holds nothing else. Unless the model declares
      ``allows_repeats = True`` a list holds no seed track and no track twice. The same
      model fitted on the same data gives the same lists, and a batch of queries gets
      the same lists as the queries one at a time.

    Optional (checked by :class:`apc.testing.OptionalChecks` where a model has them):
    raising :class:`~apc.errors.NotFittedError` from ``recommend`` before ``fit``, and
    ``save(path)`` with a class-level ``load(path)`` that round-trips the lists.

    Optional too: ``validate_params()``, which checks the hyper-parameters without data
    and raises :class:`~apc.errors.ApcInputError` with ``field`` set to the offending
    parameter's name; the benchmark runner calls it, where present, for every model of
    a suite before any cell runs (:class:`ScoringRecommender` provides it from its
    ``config_class``).

    Optional capability: a generative model with a normalised next-track distribution
    P(j | seed) over the catalogue exposes
    ``next_track_log_proba(queries) -> np.ndarray``, float64 ``(Q,)``: the
    log-probability of each query's first target. :mod:`apc.evaluation.loglik` finds it
    by duck typing for the ``loglik`` metric (``markov``, ``feature-markov``, ``lme`` and
    the neural sequence models have it).
    """

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


def check_train(train: Any) -> Playlists:
    """Check that ``train`` is a non-empty :class:`Playlists` corpus; return it.

    Raises
    ------
    TypeError
        When ``train`` is not :class:`Playlists`.
    ApcInputError
        When the corpus has no playlists, no tracks or no playlist entries.
    """
    if not isinstance(train, Playlists):
        raise TypeError(f"fit() expects Playlists, got {type(train).__name__}")
    if len(train) == 0 or train.n_tracks == 0 or len(train.items) == 0:
        raise ApcInputError(
            f"cannot fit on an empty corpus ({len(train)} playlists, {train.n_tracks} tracks, "
            f"{len(train.items)} entries)",
            field="train",
        )
    return train


def corpus_fingerprint(train: Playlists) -> str:
    """Return a short hash of the training corpus: its track ids in index order and its playlists.

    Two corpora with the same fingerprint map track indices to the same track ids and
    hold the same playlists, so a saved model can tell whether the corpus given to
    ``apc recommend`` is the one it was fitted on (a corpus of the same size with other
    ids, or the same catalogue with other playlists, has another fingerprint).

    Examples
    --------
    >>> from apc.testing import checkerboard
    >>> len(corpus_fingerprint(checkerboard()))
    16
    """
    h = hashlib.blake2b(digest_size=8)
    ids = train.tracks["track_id"].astype(str).tolist() if "track_id" in train.tracks else []
    h.update(str(len(ids)).encode())
    step = 1 << 16
    for lo in range(0, len(ids), step):
        h.update("\x1f".join(ids[lo : lo + step]).encode("utf-8", "surrogatepass"))
        h.update(b"\x1e")
    h.update(np.ascontiguousarray(train.indptr, dtype=np.int64).tobytes())
    h.update(np.ascontiguousarray(train.items, dtype=np.int32).tobytes())
    return h.hexdigest()


def check_recommend(model: Any, queries: Any, k: Any) -> int:
    """Check a ``recommend`` call: the model is fitted, ``k`` is valid, same catalogue.

    The one check every ``recommend`` runs first (:meth:`ScoringRecommender.recommend`,
    the ensembles).

    Returns
    -------
    int
        ``k`` capped at the catalogue size (:func:`check_k`).

    Raises
    ------
    NotFittedError
        When the model is not fitted.
    ApcInputError
        When ``k`` is not an integer >= 1, or the queries refer to another catalogue.
    """
    check_is_fitted(model)
    k = check_k(k, model.n_tracks_)
    if queries.n_tracks != model.n_tracks_:
        raise ApcInputError(
            f"queries refer to {queries.n_tracks} tracks, the model was fitted on "
            f"{model.n_tracks_}",
            field="n_tracks",
        )
    return k


def check_k(k: Any, n_tracks: int) -> int:
    """Validate a list length and cap it at the catalogue size (with a warning).

    Returns
    -------
    int
        ``min(k, n_tracks)`` (``k`` when the catalogue is empty).

    Raises
    ------
    ApcInputError
        When ``k`` is not an integer >= 1.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise ApcInputError(f"k must be an integer >= 1, got {k!r}", field="k")
    if k < 1:
        raise ApcInputError(f"k must be >= 1, got {k}", field="k")
    if k > n_tracks >= 1:
        warnings.warn(
            f"k={k} exceeds the catalogue ({n_tracks} tracks); lists hold at most "
            f"{n_tracks} tracks",
            ParameterWarning,
            stacklevel=3,
        )
        return int(n_tracks)
    return int(k)


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
        True (default) when the model has nothing sensible to say for a query with an
        empty seed (MPD "title only" queries). The model itself answers such queries
        from ``_score`` as usual; apc's front doors (:func:`apc.workflows.build_model`,
        the benchmark runner, the MPD tools) wrap it in
        :class:`apc.models.fallback.TitleFallback`, which answers them by title.
    batch_size : int
        Upper bound on queries scored per block (dense blocks are also capped by
        memory, :data:`apc.models._topk.BLOCK_CELLS`).
    sparse_scores : bool
        True when ``_score`` returns sparse blocks, so blocks are not capped by
        the dense memory bound (default False).
    config_class : type or None
        The frozen dataclass that declares the hyper-parameters (names, types,
        defaults, bounds, meaning; see :mod:`apc.models.params`). When set,
        ``Model(**params)`` builds ``self.config`` from flat keywords, each field is
        readable as ``self.<name>``, and :meth:`validate_params` checks them all.
    """

    name: ClassVar[str] = ""
    allows_repeats: ClassVar[bool] = False
    empty_seed_fallback: ClassVar[bool] = True
    batch_size: ClassVar[int] = 1024
    sparse_scores: ClassVar[bool] = False
    config_class: ClassVar[type | None] = None

    # ------------------------------------------------------------------ params
    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("config_class") is not None:
            hparams.install(cls)  # keyword signature + read-only views of the fields

    def __init__(self, **params_: Any) -> None:
        """Store the hyper-parameters of a ``config_class`` model as ``self.config``.

        Raises
        ------
        ApcInputError
            When a name is not a field of ``config_class`` (the message lists them).
        """
        if self.config_class is None:
            if params_:
                self.set_params(**params_)  # raises: no parameters
            return
        self.config = hparams.build(self.config_class, params_, owner=type(self).__name__)

    @classmethod
    def _param_names(cls) -> list[str]:
        if cls.config_class is not None:
            return [s.name for s in hparams.specs(cls.config_class)]
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
        if self.config_class is not None:
            merged = {**self.get_params(), **params}
            self.config = hparams.build(self.config_class, merged, owner=type(self).__name__)
            return self
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

    def validate_params(self) -> None:
        """Check the hyper-parameters' types and ranges without data (cheap; no fitting).

        :meth:`fit` calls it first; the benchmark runner calls it for every model of a
        suite before any cell runs. Built-ins declare their parameters in a
        ``config_class`` dataclass (see :mod:`apc.models.params`); a subclass without
        one may override this method. Checks that need the training data belong in
        :meth:`_validate`.

        Raises
        ------
        ApcInputError
            With ``field`` set to the offending parameter's name, e.g. ``field
            'hidden': expected an integer >= 1, got 'abc'``.
        """
        if self.config_class is not None:
            hparams.validate(self.config)

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

    def _block_scores(self, queries: Queries, k: int) -> Any:
        """Scores of one block in any form :func:`~apc.models._topk.top_k` takes.

        ``_score(queries)`` by default; a family whose scores have a compact form
        (:class:`~apc.models._topk.PriorScores`) overrides this instead of ``recommend``.
        """
        return self._score(queries)

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
            When the corpus is empty, ``features`` has the wrong number of rows or a
            hyper-parameter is invalid for the data.
        """
        check_train(train)
        if features is not None and len(features) != train.n_tracks:
            raise ApcInputError(
                f"features have {len(features)} rows for {train.n_tracks} tracks",
                field="features",
            )
        self.validate_params()
        self._validate(train)
        start = time.perf_counter()
        self._fit(train, features)
        self.n_tracks_ = train.n_tracks
        self.fit_time_ = time.perf_counter() - start
        self.corpus_fingerprint_ = corpus_fingerprint(train)  # bookkeeping, not fit time
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
            List length, >= 1; capped at the catalogue size with a
            :class:`~apc.errors.ParameterWarning`.

        Returns
        -------
        Recommendations
            (len(queries), min(k, n_tracks)) items and scores, best first, ``-1`` /
            ``-inf`` padded.

        Raises
        ------
        NotFittedError
            When the model is not fitted.
        ApcInputError
            When ``k < 1``, the queries refer to another catalogue size, or ``_score``
            returns a block of the wrong shape.
        """
        k = check_recommend(self, queries, k)
        n = len(queries)
        items = np.full((n, k), -1, dtype=np.int32)
        scores = np.full((n, k), -np.inf, dtype=np.float32)
        step = self.batch_size if self.sparse_scores else block_rows(self.n_tracks_,
                                                                     self.batch_size)
        from contextlib import nullcontext

        from apc.progress import task as progress_task

        # one bar for every model (neural ones take minutes here); none for a single block
        text = f"{type(self).__name__}: recommending for {n:,} queries"
        with progress_task(text, total=n, transient=True) if n > step else nullcontext() as bar:
            for start in range(0, n, step):
                rows = np.arange(start, min(n, start + step))
                block = queries.subset(rows)
                s = self._block_scores(block, k)
                _check_block(self, s, len(rows))
                exclude = None if self.allows_repeats else block.seeds_csr()
                items[rows], scores[rows] = top_k(s, k, exclude=exclude)
                if bar is not None:
                    bar.advance(len(rows))
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
            "format": MODEL_FORMAT,
            "params": self.get_params(),
            "n_tracks": getattr(self, "n_tracks_", None),
            "corpus_fingerprint": getattr(self, "corpus_fingerprint_", None),
        }
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            pickle.dump(header, f, protocol=5)
            pickle.dump(self, f, protocol=5)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Load a model written by :meth:`save`.

        The file is unpickled, which can run arbitrary code: load only trusted files.

        Raises
        ------
        ApcInputError
            When the file is missing or a folder, is not an apc model file, names a
            module or class that cannot be imported, or holds a model that is not an
            instance of this class.
        """
        header, model = read_model_file(path)
        if not isinstance(model, cls):
            raise ApcInputError(
                f"file holds {header['apc_model']}, not {cls.__name__}", file=str(path)
            )
        return model


def _check_block(model: ScoringRecommender, s: Any, n_rows: int) -> None:
    """Raise ApcInputError naming the expected shape when ``_score`` returned another."""
    shape = tuple(getattr(getattr(s, "sparse", s), "shape", ()) or ())
    want = (n_rows, model.n_tracks_)
    if shape != want:
        got = shape if shape else type(s).__name__
        raise ApcInputError(
            f"{type(model).__name__}._score returned scores of shape {got}; expected "
            f"(B, n_tracks) = {want} for a block of {n_rows} queries",
            field="_score",
        )


#: Version of the file :meth:`ScoringRecommender.save` writes; other versions are refused.
#: 2: hyper-parameters live in ``model.config`` (``config_class``), not in attributes.
MODEL_FORMAT = 2


def read_model_file(path: str | Path) -> tuple[dict[str, Any], Any]:
    """Read a file written by :meth:`ScoringRecommender.save`: ``(header, model)``.

    The file is unpickled, which can run arbitrary code: load only trusted files.

    Raises
    ------
    ApcInputError
        When the file is missing or a folder, is not an apc model file, or names a
        module or class that cannot be imported (a model saved by another version or
        a plug-in that is not installed).
    """
    path = Path(path)
    if not path.exists():
        raise ApcInputError("no such model file", file=str(path))
    if path.is_dir():
        raise ApcInputError("is a folder, not a model file (written by `apc fit -o`)",
                            file=str(path))
    try:
        with open(path, "rb") as f:
            header = pickle.load(f)
            if not isinstance(header, dict) or "apc_model" not in header:
                raise ApcInputError("not an apc model file (no header)", file=str(path))
            if header.get("format", 1) != MODEL_FORMAT:
                raise ApcInputError(
                    f"model file format {header.get('format', 1)}, this apc reads format "
                    f"{MODEL_FORMAT} (models keep their hyper-parameters in a config since "
                    "format 2): fit the model again",
                    file=str(path),
                )
            model = pickle.load(f)
    except (ModuleNotFoundError, AttributeError) as e:
        raise ApcInputError(
            f"cannot load the model: {e} (is the package that defines it installed?)",
            file=str(path),
        ) from e
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError) as e:
        if isinstance(e, ApcInputError):
            raise
        raise ApcInputError(f"not an apc model file ({e})", file=str(path)) from e
    except OSError as e:
        raise ApcInputError(f"cannot read the model file ({e.strerror or e})",
                            file=str(path)) from e
    return header, model


def load_model(path: str | Path) -> Any:
    """Load any model saved by :meth:`ScoringRecommender.save`, whatever its class.

    Raises
    ------
    ApcInputError
        As :func:`read_model_file`.
    """
    return read_model_file(path)[1]
