"""Feature tables: per-track float32 matrices keyed by track id, stored as parquet.

A :class:`FeatureTable` is one named feature set; a :class:`FeatureStore` keeps tables
on disk, one parquet file per (name, key); :func:`align` lines several tables up with a
catalogue as an :class:`~apc.data.features.ItemFeatures`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from apc._atomic import atomic_path
from apc.data.features import ItemFeatures
from apc.errors import ApcInputError

#: Version of the on-disk table layout.
STORE_FORMAT = 1


@dataclass(eq=False)
class FeatureTable:
    """One named feature set: rows keyed by ``track_ids``.

    Parameters
    ----------
    name : str
        Feature set name (``wmf``, ``audio_cnn`` ...).
    track_ids : np.ndarray
        object (n,): external track ids (compared as strings when aligning).
    matrix : np.ndarray
        float32 (n, d).
    available : np.ndarray
        bool (n,): False where the track has no features (its row is zero).
    info : dict
        Provenance: settings, seed, counts.
    """

    name: str
    track_ids: np.ndarray
    matrix: np.ndarray
    available: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.track_ids = np.asarray(self.track_ids, dtype=object)
        self.matrix = np.ascontiguousarray(self.matrix, dtype=np.float32)
        self.available = np.asarray(self.available, dtype=bool)
        if (
            self.matrix.ndim != 2
            or len(self.matrix) != len(self.track_ids)
            or len(self.available) != len(self.track_ids)
        ):
            raise ApcInputError(
                f"feature table {self.name!r}: matrix {self.matrix.shape}, "
                f"{len(self.track_ids)} ids, "
                f"{len(self.available)} flags do not line up",
                field=self.name,
            )
        if (~self.available).any() and self.matrix[~self.available].any():
            self.matrix = self.matrix.copy()
            self.matrix[~self.available] = 0.0

    @property
    def dim(self) -> int:
        """Number of columns."""
        return self.matrix.shape[1]


class FeatureStore:
    """Parquet files ``<root>/<name>-<key>.parquet``, one per feature table.

    Parameters
    ----------
    root : str or Path
        Directory of the store (created on first save).

    Examples
    --------
    >>> import tempfile
    >>> store = FeatureStore(tempfile.mkdtemp())
    >>> t = FeatureTable("demo", np.array(["a", "b"], object), np.eye(2), np.array([True, False]))
    >>> _ = store.save(t, key="k1")
    >>> store.load("demo", "k1").matrix.tolist()
    [[1.0, 0.0], [0.0, 0.0]]
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, name: str, key: str) -> Path:
        """Return the file of the table ``name`` with key ``key``.

        Parameters
        ----------
        name : str
            Feature set name.
        key : str
            Cache key (see :func:`feature_key`).

        Returns
        -------
        Path
            ``<root>/<name>-<key>.parquet`` (which may not exist).
        """
        return self.root / f"{name}-{key}.parquet"

    def has(self, name: str, key: str) -> bool:
        """Tell whether the table is stored.

        Parameters
        ----------
        name : str
            Feature set name.
        key : str
            Cache key (see :func:`feature_key`).

        Returns
        -------
        bool
        """
        return self.path(name, key).is_file()

    def names(self) -> list[str]:
        """List the names of the stored tables (sorted, unique)."""
        if not self.root.is_dir():
            return []
        return sorted({p.name.rsplit("-", 1)[0] for p in self.root.glob("*-*.parquet")})

    def save(self, table: FeatureTable, key: str) -> Path:
        """Write a table atomically (temp file, then rename).

        Parameters
        ----------
        table : FeatureTable
            The table; stored under its ``name``.
        key : str
            Cache key.

        Returns
        -------
        Path
            The file written.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        d = table.dim
        flat = pa.array(table.matrix.reshape(-1), type=pa.float32())
        cols = {
            "track_id": pa.array([str(t) for t in table.track_ids], type=pa.string()),
            "available": pa.array(table.available, type=pa.bool_()),
            "x": pa.FixedSizeListArray.from_arrays(flat, d),
        }
        meta = {
            "format": STORE_FORMAT,
            "name": table.name,
            "key": key,
            "dim": d,
            "info": table.info,
        }
        schema_meta = {b"apc_feature": json.dumps(meta, default=str).encode()}
        tab = pa.table(cols).replace_schema_metadata(schema_meta)
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.path(table.name, key)
        with atomic_path(path) as tmp:
            pq.write_table(tab, tmp)
        return path

    def load(self, name: str, key: str | None = None) -> FeatureTable:
        """Read a stored table.

        Parameters
        ----------
        name : str
            Feature set name.
        key : str, optional
            Cache key; without it, the most recently written table of that name.

        Returns
        -------
        FeatureTable

        Raises
        ------
        ApcInputError
            If no such table is stored or the file is not an apc feature table.
        """
        import pyarrow.parquet as pq

        if key is not None:
            path = self.path(name, key)
        else:
            found = sorted(self.root.glob(f"{name}-*.parquet"), key=lambda p: p.stat().st_mtime)
            if not found:
                raise ApcInputError(
                    f"no feature table named {name!r}", file=str(self.root), field=name
                )
            path = found[-1]
        if not path.is_file():
            raise ApcInputError(
                f"no feature table named {name!r} with key {key}", file=str(path), field=name
            )
        try:
            tab = pq.read_table(path)
            meta = json.loads((tab.schema.metadata or {}).get(b"apc_feature", b"{}"))
            d = int(meta["dim"])
        except Exception as e:  # noqa: BLE001 - a damaged file is bad input, reported as such
            raise ApcInputError(f"not an apc feature table ({e})", file=str(path)) from e
        x = tab.column("x").combine_chunks()
        matrix = np.array(x.flatten().to_numpy(zero_copy_only=False), dtype=np.float32).reshape(
            -1, d
        )
        return FeatureTable(
            meta.get("name", name),
            np.asarray(tab.column("track_id").to_pylist(), dtype=object),
            matrix,
            tab.column("available").to_numpy(zero_copy_only=False),
            meta.get("info", {}),
        )


def align(tables: Sequence[FeatureTable], tracks: pd.DataFrame) -> ItemFeatures:
    """Concatenate tables side by side, rows in the order of ``tracks["track_id"]``.

    Tracks missing from a table get zeros there. ``available`` is True where at least
    one table has the track; ``blocks`` maps each table's name to its column slice.

    Parameters
    ----------
    tables : sequence of FeatureTable
        The tables (matched to ``tracks`` by track id, as text).
    tracks : pd.DataFrame
        Catalogue with a ``track_id`` column.

    Returns
    -------
    ItemFeatures

    Raises
    ------
    ApcInputError
        If ``tables`` is empty.
    """
    if not tables:
        raise ApcInputError("no feature sets given", field="features")
    ids = pd.Index([str(t) for t in tracks["track_id"].to_numpy(dtype=object)])
    mats, avail, blocks, start = [], np.zeros(len(ids), dtype=bool), {}, 0
    for t in tables:
        pos = pd.Index([str(x) for x in t.track_ids]).get_indexer(ids)
        found = pos >= 0
        m = np.zeros((len(ids), t.dim), dtype=np.float32)
        m[found] = t.matrix[pos[found]]
        a = np.zeros(len(ids), dtype=bool)
        a[found] = t.available[pos[found]]
        m[~a] = 0.0
        mats.append(m)
        avail |= a
        blocks[t.name] = slice(start, start + t.dim)
        start += t.dim
    return ItemFeatures(np.hstack(mats), avail, blocks)
