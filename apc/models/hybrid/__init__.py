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

import numpy as np

from apc.data.features import ItemFeatures
from apc.data.playlists import Playlists
from apc.errors import ApcInputError


def default_feature_names(train: Playlists) -> list[str]:
    """Apply the ``features="auto"`` rule.

    ``audio_cnn`` when the corpus has audio (an ``audio_path`` column or the synthetic
    corpus), plus ``tags_w2v`` when the tracks have a ``tags`` column; ``wmf`` (pure
    collaborative factors, no cold start) when neither exists.
    """
    from apc.features.store import has_audio

    names = []
    if has_audio(train):
        names.append("audio_cnn")
    if "tags" in train.tracks.columns:
        names.append("tags_w2v")
    return names or ["wmf"]


def feature_names(spec: str | Sequence[str], train: Playlists) -> list[str]:
    """Resolve a model's ``features`` parameter (``"auto"``, ``"a,b"`` or a list)."""
    from apc.features.store import parse_names

    if isinstance(spec, str) and spec.strip().lower() == "auto":
        return default_feature_names(train)
    return parse_names(spec)


def resolve_features(model, train: Playlists, features: ItemFeatures | None) -> ItemFeatures:
    """Return the features a hybrid model trains on.

    With ``features`` given: the blocks named by ``model.features`` when all of them are
    present, else the whole matrix. Without: built through the feature store from
    ``train`` with the model's ``cache_dir``, ``seed`` and ``feature_options``.
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
            return ItemFeatures(features.matrix[:, cols], features.available, blocks)
        parse_names(names)  # unknown names raise; known but absent -> use what was given
        return features
    from apc.features.store import build_features

    return build_features(
        train,
        feature_names(spec, train),
        cache_dir=model.cache_dir,
        seed=model.seed,
        options=model.feature_options,
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
    """``q @ mat.T`` accumulated in float64, returned as float32 (B, N).

    Scores of nearly tied tracks must not depend on how queries are blocked: float32
    products of different shapes round differently (BLAS picks other kernels), which
    would flip near-ties between a batch and a single query. In float64 the rounding
    is ~1e-16 and vanishes in the final float32 cast. ``mat`` is converted in chunks of
    rows, so no float64 copy of the whole catalogue is made.
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
