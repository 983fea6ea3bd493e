"""Per-track feature matrices aligned with a corpus' track catalogue.

They are what ``Recommender.fit(features=...)`` receives.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, eq=False)
class ItemFeatures:
    """Dense per-track features aligned with ``train.tracks`` rows.

    Parameters
    ----------
    matrix : np.ndarray
        float32 (n_tracks, d): row ``i`` describes track ``i`` of the train catalogue.
    available : np.ndarray
        bool (n_tracks,): False where a track has no features (rows are zero there).
    blocks : dict[str, slice]
        Column range of each named feature set (``audio_cnn``, ``tags_w2v`` ...).
    """

    matrix: np.ndarray
    available: np.ndarray | None = None
    blocks: dict[str, slice] = field(default_factory=dict)

    def __post_init__(self) -> None:
        m = np.ascontiguousarray(self.matrix, dtype=np.float32)
        if m.ndim != 2:
            raise ValueError("feature matrix must be 2-D (n_tracks, d)")
        avail = (
            np.ones(len(m), dtype=bool)
            if self.available is None
            else np.asarray(self.available, bool)
        )
        blocks = self.blocks or {"features": slice(0, m.shape[1])}
        object.__setattr__(self, "matrix", m)
        object.__setattr__(self, "available", avail)
        object.__setattr__(self, "blocks", blocks)

    def __len__(self) -> int:
        return len(self.matrix)

    @property
    def dim(self) -> int:
        """Number of feature columns."""
        return self.matrix.shape[1]
