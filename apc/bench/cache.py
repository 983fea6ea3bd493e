"""Content-addressed cache of splits and fitted models (default folder ``.apc-cache/``).

Keys are sha256 digests of everything the cached object depends on:

* a split: the corpus content (arrays and tables), the protocol name and options,
  the split seed, the apc version and the source of the protocols module;
* a fitted model: the split key, the model's class, hyper-parameters and seed, the
  apc version and the source file of the model's module.

So an edited model or protocol never reuses a stale entry, and two suites that share
a split or a model configuration share the cache. Entries are written atomically
(temp file, then rename), so an interrupted run never leaves a half-written entry.
The cache holds pickles: only point it at folders you trust.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import pickle
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import apc
from apc._atomic import atomic_write_bytes  # re-exported: the bench writers use it

#: Bump when the layout of cached objects changes.
CACHE_VERSION = 1


def _update_frame(h, frame: pd.DataFrame) -> None:
    h.update(repr(list(frame.columns)).encode())
    for col in frame.columns:
        s = frame[col]
        try:
            hashed = pd.util.hash_pandas_object(s, index=False).to_numpy()
        except TypeError:  # unhashable cells (lists of tags): hash their text
            hashed = pd.util.hash_pandas_object(s.map(repr), index=False).to_numpy()
        h.update(np.ascontiguousarray(hashed).tobytes())


def corpus_hash(pl) -> str:
    """Hash a corpus' content (arrays and tables).

    Parameters
    ----------
    pl : Playlists
        The corpus.

    Returns
    -------
    str
        Hex sha256 of ``indptr``, ``items`` and the tracks, artists and meta tables.
    """
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(pl.indptr).tobytes())
    h.update(np.ascontiguousarray(pl.items).tobytes())
    for frame in (pl.tracks, pl.artists, pl.meta):
        _update_frame(h, frame)
    return h.hexdigest()


@lru_cache(maxsize=256)
def _file_digest(path: str) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return "unknown"


def source_digest(obj: Any) -> str:
    """Hash the source file defining an object (every module file of a package).

    Parameters
    ----------
    obj : Any
        A module, package or class; for any other object, its class.

    Returns
    -------
    str
        Hex sha256 of the file, or ``"unknown"`` when there is no readable source file.
        For a package, a digest of its ``.py`` files' digests, by relative path.
    """
    if inspect.ismodule(obj) and hasattr(obj, "__path__"):
        return digest(*[(str(p.relative_to(d)), _file_digest(str(p)))
                        for d in obj.__path__ for p in sorted(Path(d).rglob("*.py"))])
    try:
        path = inspect.getsourcefile(
            obj if inspect.ismodule(obj) or inspect.isclass(obj) else type(obj)
        )
    except TypeError:
        path = None
    return _file_digest(path) if path else "unknown"


def digest(*parts: Any) -> str:
    """Hash the canonical JSON of ``parts``.

    Parameters
    ----------
    *parts : Any
        JSON-serialisable values (others are encoded by their ``repr``); dict keys are
        sorted.

    Returns
    -------
    str
        Hex sha256.
    """
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=repr).encode()).hexdigest()


def split_key(corpus_digest: str, protocol: str, options: dict[str, Any], seed: int) -> str:
    """Compute the cache key of a split.

    Parameters
    ----------
    corpus_digest : str
        :func:`corpus_hash` of the corpus.
    protocol : str
        Protocol name.
    options : dict
        Protocol options.
    seed : int
        Split seed.

    Returns
    -------
    str
        A :func:`digest` that also covers the apc version and the source of
        :mod:`apc.evaluation.protocols` and :mod:`apc.data.playlists`.
    """
    import apc.data.playlists as playlists  # Playlists.compact cuts the train catalogue
    import apc.evaluation.protocols as protocols

    code = [source_digest(protocols), source_digest(playlists)]
    return digest(
        "split", CACHE_VERSION, apc.__version__, code, corpus_digest, protocol, options, int(seed)
    )


def model_key(split: str, cls: type, params: dict[str, Any]) -> str:
    """Compute the cache key of a model of class ``cls`` fitted on a split.

    Parameters
    ----------
    split : str
        :func:`split_key` of the split.
    cls : type
        The model class.
    params : dict
        Its hyper-parameters (including any seed).

    Returns
    -------
    str
        A :func:`digest` that also covers the apc version and the source file of
        ``cls``.
    """
    path = f"{cls.__module__}:{cls.__qualname__}"
    return digest("model", CACHE_VERSION, apc.__version__, source_digest(cls), split, path, params)


class Cache:
    """The split and model cache under ``root``.

    Parameters
    ----------
    root : path or None
        Cache folder; ``None`` disables caching (every lookup misses, nothing is written).
    """

    def __init__(self, root: str | Path | None) -> None:
        self.root = None if root is None else Path(root)

    @property
    def enabled(self) -> bool:
        """Whether anything is read or written."""
        return self.root is not None

    # ------------------------------------------------------------------ splits
    def _split_path(self, key: str) -> Path:
        return self.root / "splits" / f"{key}.pkl"

    def load_split(self, key: str):
        """Return the cached split for ``key``, or None.

        Parameters
        ----------
        key : str
            A :func:`split_key`.

        Returns
        -------
        Split or None
            None when caching is off, the entry is missing or it cannot be unpickled.
        """
        if not self.enabled:
            return None
        path = self._split_path(key)
        if not path.is_file():
            return None
        try:
            with open(path, "rb") as f:
                return pickle.load(f)
        except Exception:  # a corrupt entry is a miss, not an error
            return None

    def save_split(self, key: str, split) -> None:
        """Store a split under ``key`` (nothing happens when caching is off).

        Parameters
        ----------
        key : str
            A :func:`split_key`.
        split : Split
            The split to pickle.
        """
        if self.enabled:
            atomic_write_bytes(self._split_path(key), pickle.dumps(split, protocol=5))

    # ------------------------------------------------------------------ models
    def model_path(self, key: str) -> Path | None:
        """Return where the model for ``key`` lives.

        Parameters
        ----------
        key : str
            A :func:`model_key`.

        Returns
        -------
        Path or None
            None when caching is off.
        """
        return None if not self.enabled else self.root / "models" / f"{key}.pkl"

    def load_model(self, key: str, cls: type):
        """Return the cached fitted model for ``key`` (via ``cls.load``), or None.

        Parameters
        ----------
        key : str
            A :func:`model_key`.
        cls : type
            The model class; its ``load`` reads the entry.

        Returns
        -------
        object or None
            None when caching is off, the entry is missing, ``cls`` has no ``load``
            or loading fails.
        """
        path = self.model_path(key)
        if path is None or not path.is_file() or not hasattr(cls, "load"):
            return None
        try:
            return cls.load(path)
        except Exception:  # stale or corrupt: refit
            return None

    def save_model(self, key: str, model) -> bool:
        """Store a fitted model through its own ``save``.

        Parameters
        ----------
        key : str
            A :func:`model_key`.
        model : object
            The fitted model.

        Returns
        -------
        bool
            False when caching is off or the model has no ``save``/``load`` pair.
        """
        path = self.model_path(key)
        if (
            path is None
            or not callable(getattr(model, "save", None))
            or not hasattr(type(model), "load")
        ):
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        model.save(path)
        return True
