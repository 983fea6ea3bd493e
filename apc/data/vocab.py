"""Vocabulary: external ids <-> contiguous int32 indices (ids at the edge, numbers inside)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from apc.errors import ApcInputError


@dataclass(frozen=True, eq=False)
class Vocabulary:
    """An ordered set of external ids; position = index.

    Parameters
    ----------
    ids : np.ndarray
        External ids (strings or integers), unique; ``ids[i]`` has index ``i``.

    Examples
    --------
    >>> v = Vocabulary(np.array(["a", "b", "c"]))
    >>> v.index(["c", "a"]).tolist()
    [2, 0]
    >>> v.index(["x"], missing="negative").tolist()
    [-1]
    """

    ids: np.ndarray
    _index: pd.Index = field(init=False, repr=False)

    def __post_init__(self) -> None:
        ids = np.asarray(self.ids)
        index = pd.Index(ids)
        if not index.is_unique:
            dup = index[index.duplicated()][0]
            dup = dup.item() if hasattr(dup, "item") else dup
            raise ApcInputError(f"duplicate id {dup!r} in vocabulary")
        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "_index", index)

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, item: object) -> bool:
        return item in self._index

    def index(
        self, ids, *, missing: Literal["error", "negative"] = "error"
    ) -> np.ndarray:
        """Map external ids to int32 indices.

        Parameters
        ----------
        ids : array-like
            External ids to look up.
        missing : {"error", "negative"}
            Unknown ids raise :class:`ApcInputError` (default) or map to ``-1``.

        Returns
        -------
        np.ndarray
            int32 indices, same length as ``ids``.
        """
        ids = np.asarray(ids)
        if len(ids) == 0:
            return np.empty(0, dtype=np.int32)
        idx = self._index.get_indexer(ids).astype(np.int32)
        if missing == "error" and (idx < 0).any():
            bad = ids[idx < 0][0]
            bad = bad.item() if hasattr(bad, "item") else bad
            raise ApcInputError(f"unknown id {bad!r}", field="track_id")
        return idx

    def lookup(self, indices) -> np.ndarray:
        """Map int indices back to external ids.

        Parameters
        ----------
        indices : array-like of int
            Indices into the vocabulary.

        Returns
        -------
        np.ndarray
            External ids, same shape as ``indices``.
        """
        return self.ids[np.asarray(indices)]
