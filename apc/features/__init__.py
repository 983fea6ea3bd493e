"""Content features for hybrid models: audio log-mels, WMF factors, an audio CNN, tags.

Pipeline stages, one module each (heavy libraries are imported inside functions, so
importing this package does not import torch, librosa or gensim):

- :mod:`apc.features.audio` — decode clips, 128-band log-mel spectrograms, cache.
- :mod:`apc.features.wmf` — weighted matrix factorisation (Hu et al. 2008) of playlists.
- :mod:`apc.features.cnn` — CNN from spectrograms to WMF factors (van den Oord et al. 2013).
- :mod:`apc.features.mfcc_bow` — the paper's MFCC bag-of-words baseline.
- :mod:`apc.features.tags` — word2vec tag embeddings.
- :mod:`apc.features.synth_audio` — the synthetic corpus' audio, rendered from its parameters.
- :mod:`apc.features.store` — named feature sets built, cached and aligned to a catalogue
  (with :mod:`~apc.features.table`: tables and their parquet store,
  :mod:`~apc.features.sources`: a corpus' audio, :mod:`~apc.features.builders`: the sets).

Examples
--------
>>> from apc.features import build_features
>>> from apc.testing import checkerboard
>>> build_features(checkerboard(), "wmf", options={"wmf": {"n_factors": 2}}).dim
2
"""

from apc.features.audio import MelSettings
from apc.features.store import (
    FEATURES,
    FeatureStore,
    FeatureTable,
    align,
    build_features,
    build_tables,
)

__all__ = [
    "FEATURES",
    "FeatureStore",
    "FeatureTable",
    "MelSettings",
    "align",
    "build_features",
    "build_tables",
]
