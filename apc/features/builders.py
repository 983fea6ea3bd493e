"""The built-in feature sets (:data:`FEATURES`): how each is built from a corpus."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from apc.data.playlists import Playlists
from apc.errors import ApcInputError
from apc.features.audio import MelSettings
from apc.features.sources import corpus_log_mels
from apc.features.table import FeatureTable


def options_for(options: dict | None, name: str) -> dict:
    """Return a copy of the options of feature set ``name`` (a builder may pop from it)."""
    return dict((options or {}).get(name, {}))


def _build_wmf(pl: Playlists, *, seed: int, opts: dict, cache_dir, report: list) -> FeatureTable:
    from apc.features.wmf import WMF

    wmf = WMF(seed=seed, **opts).fit(pl)
    return FeatureTable(
        "wmf",
        pl.tracks["track_id"].to_numpy(dtype=object),
        wmf.track_factors_,
        wmf.available_,
        {"params": opts, "seed": seed},
    )


def _build_tags(pl: Playlists, *, seed: int, opts: dict, cache_dir, report: list) -> FeatureTable:
    from apc.features.tags import TagWord2Vec, tag_lists

    column = opts.pop("column", "tags")
    lists = tag_lists(pl.tracks, column)
    w2v = TagWord2Vec(seed=seed, **opts).fit(lists)
    return FeatureTable(
        "tags_w2v",
        pl.tracks["track_id"].to_numpy(dtype=object),
        w2v.transform(lists),
        w2v.available(lists),
        {"params": opts, "seed": seed, "n_tags": len(w2v.tags_)},
    )


def _mel_settings(opts: dict) -> tuple[MelSettings, float]:
    mel = MelSettings(**opts.pop("mel", {}))
    return mel, float(opts.pop("render_seconds", 6.0))


def _build_mfcc(pl: Playlists, *, seed: int, opts: dict, cache_dir, report: list) -> FeatureTable:
    from apc.features.mfcc_bow import MFCCBagOfWords

    mel, seconds = _mel_settings(opts)
    specs, rep = corpus_log_mels(pl, settings=mel, cache_dir=cache_dir, render_seconds=seconds)
    report.append(rep)
    has = np.array([s is not None for s in specs], dtype=bool)
    bow = MFCCBagOfWords(seed=seed, settings=mel, **opts).fit([s for s in specs if s is not None])
    return FeatureTable(
        "mfcc_bow",
        pl.tracks["track_id"].to_numpy(dtype=object),
        bow.transform(specs),
        has,
        {"params": opts, "seed": seed, "audio_failed": int(len(rep))},
    )


def _build_audio_cnn(
    pl: Playlists, *, seed: int, opts: dict, cache_dir, report: list
) -> FeatureTable:
    from apc.features.cnn import AudioCNNConfig, AudioFactorCNN
    from apc.features.wmf import WMF

    mel, seconds = _mel_settings(opts)
    wmf_opts = opts.pop("wmf", {})
    cfg = opts.pop("config", None)
    if isinstance(cfg, dict):
        cfg = AudioCNNConfig(**cfg)
    specs, rep = corpus_log_mels(pl, settings=mel, cache_dir=cache_dir, render_seconds=seconds)
    report.append(rep)
    counts = pl.to_csr()
    wmf = WMF(seed=seed, **wmf_opts).fit_matrix(counts)
    has = np.array([s is not None for s in specs], dtype=bool)
    train = np.flatnonzero(has & wmf.available_)
    if len(train) < 2:
        raise ApcInputError(
            "audio_cnn needs at least two tracks with audio that occur in playlists; "
            f"found {len(train)}",
            field="audio",
        )
    cnn = AudioFactorCNN(seed=seed, config=cfg, frames_per_second=mel.frames_per_second, **opts)
    cnn.fit(
        [specs[i] for i in train],
        wmf.track_factors_[train],
        wmf=wmf,
        counts=counts,
        track_index=train,
    )
    matrix = cnn.predict(specs)
    return FeatureTable(
        "audio_cnn",
        pl.tracks["track_id"].to_numpy(dtype=object),
        matrix,
        has,
        {
            "params": {k: v for k, v in opts.items()},
            "wmf": wmf_opts,
            "seed": seed,
            "trained_on": int(len(train)),
            "audio_failed": int(len(rep)),
        },
    )


#: name -> revision of the builder's default settings, part of the cache key of the sets
#: listed (so tables built with older defaults are not reused). audio_cnn 2: the CNN's
#: default epochs went from 30 to 15 (issue 13 item 4).
DEFAULTS_REVISION: dict[str, int] = {"audio_cnn": 2}

#: name -> (builder, what the features depend on besides settings and seed)
FEATURES: dict[str, tuple[Callable[..., FeatureTable], tuple[str, ...]]] = {
    "wmf": (_build_wmf, ("playlists",)),
    "tags_w2v": (_build_tags, ("tags",)),
    "mfcc_bow": (_build_mfcc, ("audio",)),
    "audio_cnn": (_build_audio_cnn, ("audio", "playlists")),
}
