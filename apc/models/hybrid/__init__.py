"""Content-aware (hybrid) playlist continuation models.

- :class:`~apc.models.hybrid.profile.ProfileModel` — "Profiles" (Vall et al. 2019).
- :class:`~apc.models.hybrid.membership.MembershipModel` — "Membership" (Vall et al. 2019).
- :class:`~apc.models.hybrid.content_knn.ContentKNN` — cosine on content features.

All three take ``features`` (names of feature sets of :mod:`apc.features.store`, e.g.
``"audio_cnn,tags_w2v"``) and, when ``fit`` receives no
:class:`~apc.data.features.ItemFeatures`, build them from the training corpus. They
score every track that has features, including tracks that occur in no training
playlist (cold start).

This module holds what the three share: resolving the feature sets and
preprocessing the feature matrix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from apc.data.features import ItemFeatures
from apc.data.playlists import Playlists
from apc.errors import ApcInputError
from apc.models.params import param


@dataclass(frozen=True)
class FeatureConfig:
    """Feature settings shared by the content-aware models (extended by each model)."""

    features: str | list[str] = param(
        "auto", doc="Feature sets (audio_cnn,tags_w2v, wmf ...; auto picks from the corpus, "
        "see default_feature_names).",
    )
    standardize: bool = param(True, doc="Standardise each column before L2 normalisation.")
    seed: int = param(
        0, ge=0, doc="Seed of the feature building (and of initialisation and sampling)."
    )
    cache_dir: str | None = param(
        None, doc="Feature store / spectrogram cache directory. None: only the feature tables "
        "are kept, in the user cache folder (apc.features.store.default_cache_dir; "
        "APC_CACHE_DIR=off turns it off).",
    )
    feature_options: dict[str, Any] | None = param(
        None, doc="Per-feature-set options passed to apc.features.store.build_features."
    )
    num_threads: int = param(
        1, ge=0, doc="Torch intra-op threads while building features and training (0: torch's "
        "default). One by default: the networks are small, and on a loaded 2-core machine "
        "two spin-waiting OpenMP threads took 13x the CPU time per step (issue 13).",
    )


def default_feature_names(train: Playlists) -> list[str]:
    """Apply the ``features="auto"`` rule.

    ``audio_cnn`` when the corpus has audio (an ``audio_path`` column or the synthetic
    corpus), plus ``tags_w2v`` when the tracks have a ``tags`` column; ``wmf`` (pure
    collaborative factors, no cold start) when neither exists.

    Parameters
    ----------
    train : Playlists
        The training corpus.

    Returns
    -------
    list of str
        Feature-set names for :func:`apc.features.store.build_features`.
    """
    from apc.features.store import has_audio

    names = []
    if has_audio(train):
        names.append("audio_cnn")
    if "tags" in train.tracks.columns:
        names.append("tags_w2v")
    return names or ["wmf"]


def feature_names(spec: str | Sequence[str], train: Playlists) -> list[str]:
    """Resolve a model's ``features`` parameter (``"auto"``, ``"a,b"`` or a list).

    Parameters
    ----------
    spec : str or sequence of str
        ``"auto"`` (see :func:`default_feature_names`), comma-separated names or a list.
    train : Playlists
        The training corpus (used by ``"auto"``).

    Returns
    -------
    list of str
        Feature-set names, validated by :func:`apc.features.store.parse_names`.
    """
    from apc.features.store import parse_names

    if isinstance(spec, str) and spec.strip().lower() == "auto":
        return default_feature_names(train)
    return parse_names(spec)


def resolve_features(model, train: Playlists, features: ItemFeatures | None) -> ItemFeatures:
    """Return the features a hybrid model trains on.

    With ``features`` given: the blocks named by ``model.features`` when all of them are
    present, else the whole matrix. Without: built through the feature store from
    ``train`` with the model's ``cache_dir``, ``seed`` and ``feature_options``; with no
    ``cache_dir``, the tables are kept in :func:`apc.features.store.default_cache_dir`.

    Parameters
    ----------
    model : object
        A hybrid model: reads ``features``, ``cache_dir``, ``seed`` and
        ``feature_options``.
    train : Playlists
        The training corpus.
    features : ItemFeatures or None
        Features passed to ``fit``, aligned with ``train.tracks``.

    Returns
    -------
    ItemFeatures
        One row per track of ``train``.
    """
    spec = model.features
    if features is not None:
        if isinstance(spec, str) and spec.strip().lower() == "auto":
            return features
        from apc.features.store import parse_names

        names = [n.strip() for n in (spec.split(",") if isinstance(spec, str) else spec)]
        if names and all(n in features.blocks for n in names):
            if list(features.blocks) == names:
                return features
            cols = np.concatenate([np.arange(features.dim)[features.blocks[n]] for n in names])
            blocks, start = {}, 0
            for n in names:
                width = len(range(*features.blocks[n].indices(features.dim)))
                blocks[n] = slice(start, start + width)
                start += width
            matrix = features.matrix[:, cols]
            # ``available`` of a concatenation means "in at least one table"; a track that
            # only the dropped blocks have is all zeros here (align() fills misses with 0)
            available = features.available & np.any(matrix != 0, axis=1)
            return ItemFeatures(matrix, available, blocks)
        parse_names(names)  # unknown names raise; known but absent -> use what was given
        return features
    from apc._threads import torch_threads
    from apc.features.store import build_features, default_cache_dir

    with torch_threads(int(getattr(model, "num_threads", 0))):
        return build_features(
            train,
            feature_names(spec, train),
            cache_dir=model.cache_dir,
            seed=model.seed,
            options=model.feature_options,
            # the tables (not spectrograms) of an in-memory corpus such as synth:small are
            # reused by the next run on the same split instead of being rendered again
            table_dir=default_cache_dir() if model.cache_dir is None else None,
        )


def preprocess(
    features: ItemFeatures,
    fit_rows: np.ndarray,
    *,
    standardize: bool = True,
    normalize: bool = True,
) -> np.ndarray:
    """Standardise (statistics of ``fit_rows``) and L2-normalise rows; float32 (n, d).

    Rows of unavailable tracks stay zero. Vall et al. (2019) standardise song features
    and L2-normalise them before the networks.

    Parameters
    ----------
    features : ItemFeatures
        The feature matrix and its availability mask.
    fit_rows : np.ndarray
        Rows (indices or a bool mask) whose mean and standard deviation are used;
        unavailable ones are skipped.
    standardize : bool
        Subtract the mean and divide by the standard deviation (default True).
    normalize : bool
        Scale every row to unit L2 norm (default True).

    Returns
    -------
    np.ndarray
        float32 (n_tracks, d).

    Raises
    ------
    ApcInputError
        When no row of ``fit_rows`` has features.
    """
    x = features.matrix.astype(np.float32, copy=True)
    avail = features.available
    rows = np.asarray(fit_rows)
    if rows.dtype == bool:
        rows = np.flatnonzero(rows)
    rows = rows[avail[rows]]
    if len(rows) == 0:
        raise ApcInputError("no training track has features", field="features")
    if standardize:
        mean = x[rows].mean(axis=0)
        std = x[rows].std(axis=0)
        std[std < 1e-8] = 1.0
        x = (x - mean) / std
    if normalize:
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        x = x / np.maximum(norms, 1e-8)
    x[~avail] = 0.0
    return x.astype(np.float32)


def dot64(q: np.ndarray, mat: np.ndarray, *, max_cells: int = 1 << 22) -> np.ndarray:
    """Compute ``q @ mat.T`` in float64 and return it as float32 (B, N).

    Scores of nearly tied tracks must not depend on how queries are blocked: float32
    products of different shapes round differently (BLAS picks other kernels), which
    would flip near-ties between a batch and a single query. In float64 the rounding
    is ~1e-16 and vanishes in the final float32 cast. ``mat`` is converted in chunks of
    rows, so no float64 copy of the whole catalogue is made.

    Parameters
    ----------
    q : np.ndarray
        (B, d) query vectors.
    mat : np.ndarray
        (N, d) item vectors.
    max_cells : int
        Upper bound on the cells of one float64 chunk of ``mat`` (default 2**22).

    Returns
    -------
    np.ndarray
        float32 (B, N).
    """
    q = np.asarray(q, dtype=np.float64)
    n = len(mat)
    out = np.empty((len(q), n), dtype=np.float32)
    step = max(1, int(max_cells) // max(1, mat.shape[1]))
    for start in range(0, n, step):
        out[:, start : start + step] = q @ np.asarray(mat[start : start + step], dtype=np.float64).T
    return out


def floor_unavailable(scores: np.ndarray, available: np.ndarray) -> np.ndarray:
    """Give tracks without features a score below every other score of their row.

    They stay recommendable (last), so lists are never shorter than the catalogue.

    Parameters
    ----------
    scores : np.ndarray
        (B, n_tracks) scores; modified in place.
    available : np.ndarray
        bool (n_tracks,): tracks that have features.

    Returns
    -------
    np.ndarray
        ``scores``, with unavailable tracks set to the row minimum over available
        tracks minus 1 (0 when no track has features).
    """
    if available.all():
        return scores
    if available.any():
        floor = scores[:, available].min(axis=1, keepdims=True) - 1.0
    else:
        floor = np.zeros((len(scores), 1), dtype=scores.dtype)
    scores[:, ~available] = floor
    return scores


__all__ = [
    "dot64",
    "default_feature_names",
    "feature_names",
    "floor_unavailable",
    "preprocess",
    "resolve_features",
]
