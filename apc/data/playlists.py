"""The ``Playlists`` container: an immutable, columnar corpus of ordered playlists.

Playlists are stored as CSR — ``indptr`` (int64, P+1) and ``items`` (int32, N) in
playlist order — which is exactly Arrow's ``large_list<int32>`` layout, so parquet I/O
is zero-copy. Track, artist and playlist metadata are DataFrames whose row number is
the index used everywhere downstream.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from apc.errors import ApcInputError


@dataclass(frozen=True, eq=False)
class Playlists:
    """An immutable corpus of ordered playlists over a track catalogue.

    Parameters
    ----------
    indptr : np.ndarray
        int64, shape (P + 1,): playlist ``p`` is ``items[indptr[p]:indptr[p + 1]]``.
    items : np.ndarray
        int32, shape (N,): track indices (rows of ``tracks``) in playlist order.
    tracks : pd.DataFrame
        Row ``i`` describes track ``i``: ``track_id`` (external id) and, where known,
        ``title``, ``artist`` (int32 row of ``artists``, -1 if unknown), ``album``,
        ``duration_ms``, ``tags`` ...
    artists : pd.DataFrame
        Row ``j`` describes artist ``j``: ``artist_id`` and ``name``.
    meta : pd.DataFrame
        Row ``p`` describes playlist ``p``: ``playlist_id`` and, where known, ``name``,
        ``user``, ``timestamp``, ``category`` ...
    info : dict
        Free-form provenance: dataset name, adapter, what was filled in or dropped.

    Examples
    --------
    >>> pl = Playlists.from_sequences([["a", "b"], ["b", "c", "a"]])
    >>> len(pl), pl.n_tracks, pl[1].tolist()
    (2, 3, [1, 2, 0])
    """

    indptr: np.ndarray
    items: np.ndarray
    tracks: pd.DataFrame
    artists: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame({"artist_id": pd.Series([], dtype=object)})
    )
    meta: pd.DataFrame | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        indptr = np.ascontiguousarray(self.indptr, dtype=np.int64)
        items = np.ascontiguousarray(self.items, dtype=np.int32)
        if indptr.ndim != 1 or len(indptr) == 0 or indptr[0] != 0:
            raise ApcInputError("indptr must be 1-D and start at 0", field="indptr")
        if indptr[-1] != len(items):
            raise ApcInputError(
                f"indptr ends at {indptr[-1]} but there are {len(items)} items",
                field="indptr",
            )
        if len(indptr) > 1 and (np.diff(indptr) < 0).any():
            raise ApcInputError("indptr must be non-decreasing", field="indptr")
        if "track_id" not in self.tracks.columns:
            raise ApcInputError("tracks table needs a 'track_id' column", field="track_id")
        n_tracks = len(self.tracks)
        if len(items) and (items.min() < 0 or items.max() >= n_tracks):
            raise ApcInputError(
                f"items must lie in [0, {n_tracks}); found {items.min()}..{items.max()}",
                field="items",
            )
        meta = self.meta
        if meta is None:
            meta = pd.DataFrame({"playlist_id": np.arange(len(indptr) - 1)})
        if len(meta) != len(indptr) - 1:
            raise ApcInputError(
                f"meta has {len(meta)} rows for {len(indptr) - 1} playlists", field="meta"
            )
        tracks = self.tracks.reset_index(drop=True)
        if "artist" in tracks.columns:
            art = tracks["artist"].to_numpy()
            if len(art) and (art.max() >= len(self.artists) or art.min() < -1):
                raise ApcInputError("track artist index out of range", field="artist")
        object.__setattr__(self, "indptr", indptr)
        object.__setattr__(self, "items", items)
        object.__setattr__(self, "tracks", tracks)
        object.__setattr__(self, "artists", self.artists.reset_index(drop=True))
        object.__setattr__(self, "meta", meta.reset_index(drop=True))

    # ------------------------------------------------------------------ basics
    def __len__(self) -> int:
        return len(self.indptr) - 1

    def __getitem__(self, p: int) -> np.ndarray:
        """Track indices of playlist ``p`` in order (a view, no copy)."""
        if p < 0:
            p += len(self)
        return self.items[self.indptr[p] : self.indptr[p + 1]]

    def __iter__(self):
        for p in range(len(self)):
            yield self[p]

    def __repr__(self) -> str:
        return (
            f"Playlists(playlists={len(self):,}, tracks={self.n_tracks:,}, "
            f"artists={self.n_artists:,}, entries={self.n_entries:,})"
        )

    @property
    def n_tracks(self) -> int:
        """Size of the track catalogue (rows of ``tracks``)."""
        return len(self.tracks)

    @property
    def n_artists(self) -> int:
        """Number of artists (rows of ``artists``)."""
        return len(self.artists)

    @property
    def n_entries(self) -> int:
        """Total number of (playlist, position) entries."""
        return len(self.items)

    @property
    def lengths(self) -> np.ndarray:
        """int64 (P,): number of tracks of each playlist."""
        return np.diff(self.indptr)

    @property
    def playlist_rows(self) -> np.ndarray:
        """int64 (N,): the playlist each entry of ``items`` belongs to."""
        return np.repeat(np.arange(len(self), dtype=np.int64), self.lengths)

    @property
    def positions(self) -> np.ndarray:
        """int64 (N,): position of each entry inside its playlist (0-based)."""
        return np.arange(self.n_entries, dtype=np.int64) - np.repeat(
            self.indptr[:-1], self.lengths
        )

    @property
    def track_artists(self) -> np.ndarray:
        """int32 (n_tracks,): artist index of each track, -1 where unknown."""
        if "artist" not in self.tracks.columns:
            return np.full(self.n_tracks, -1, dtype=np.int32)
        return self.tracks["artist"].to_numpy(dtype=np.int32)

    # ------------------------------------------------------------------ views
    def to_csr(self, *, binary: bool = True) -> sp.csr_array:
        """Return the playlist x track sparse matrix (float32).

        Parameters
        ----------
        binary : bool
            If True, entries are 1 where a track occurs (repeats collapse); otherwise
            they count occurrences.

        Returns
        -------
        scipy.sparse.csr_array
            Shape (P, n_tracks).
        """
        data = np.ones(self.n_entries, dtype=np.float32)
        m = sp.csr_array(
            (data, self.items, self.indptr.copy()), shape=(len(self), self.n_tracks)
        )
        m.sum_duplicates()
        if binary:
            m.data[:] = 1.0
        return m

    def item_popularity(self, *, distinct: bool = True) -> np.ndarray:
        """Count the playlists containing each track.

        Parameters
        ----------
        distinct : bool, default True
            If False, every occurrence counts (repeats inside a playlist too).

        Returns
        -------
        np.ndarray
            int64, shape (n_tracks,).
        """
        if distinct:
            return np.bincount(self.to_csr().indices, minlength=self.n_tracks).astype(np.int64)
        return np.bincount(self.items, minlength=self.n_tracks).astype(np.int64)

    def subset(self, rows) -> Playlists:
        """Return a new corpus with the playlists ``rows``.

        The track and artist catalogue is unchanged; playlists come in the order given.

        Parameters
        ----------
        rows : array-like of int or bool mask
            Playlists to keep.

        Returns
        -------
        Playlists
            The selected playlists, with their metadata and a copy of ``info``.
        """
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        rows = rows.astype(np.int64)
        lengths = self.lengths[rows]
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        starts = np.repeat(self.indptr[rows], lengths)
        offsets = np.arange(indptr[-1], dtype=np.int64) - np.repeat(indptr[:-1], lengths)
        items = self.items[starts + offsets]
        return Playlists(
            indptr, items, self.tracks, self.artists, self.meta.iloc[rows], dict(self.info)
        )

    def with_items(self, indptr: np.ndarray, items: np.ndarray, meta: pd.DataFrame) -> Playlists:
        """Return a new corpus over the same catalogue with other playlists.

        Parameters
        ----------
        indptr : np.ndarray
            int64, shape (P' + 1,): CSR offsets of the new playlists.
        items : np.ndarray
            int32: track indices of the new playlists, in order.
        meta : pd.DataFrame
            One row per new playlist.

        Returns
        -------
        Playlists
            Same ``tracks`` and ``artists``, a copy of ``info``.
        """
        return Playlists(indptr, items, self.tracks, self.artists, meta, dict(self.info))

    def compact(self, *, keep: np.ndarray | None = None) -> tuple[Playlists, np.ndarray]:
        """Drop tracks (and artists) that occur in no playlist; re-index.

        Parameters
        ----------
        keep : np.ndarray, optional
            bool (n_tracks,): tracks to keep even when no playlist uses them (the
            cold tracks of a cold-start split).

        Returns
        -------
        playlists : Playlists
            The re-indexed corpus.
        kept : np.ndarray
            int64, old track index of each new track.
        """
        used = np.zeros(self.n_tracks, dtype=bool)
        used[self.items] = True
        if keep is not None:
            used |= np.asarray(keep, dtype=bool)
        kept = np.flatnonzero(used)
        remap = np.full(self.n_tracks, -1, dtype=np.int32)
        remap[kept] = np.arange(len(kept), dtype=np.int32)
        tracks = self.tracks.iloc[kept].reset_index(drop=True)
        artists = self.artists
        if "artist" in tracks.columns and len(artists):
            art = tracks["artist"].to_numpy()
            used_art = np.unique(art[art >= 0])
            amap = np.full(len(artists), -1, dtype=np.int32)
            amap[used_art] = np.arange(len(used_art), dtype=np.int32)
            tracks["artist"] = np.where(art >= 0, amap[np.maximum(art, 0)], -1).astype(np.int32)
            artists = artists.iloc[used_art].reset_index(drop=True)
        out = Playlists(self.indptr, remap[self.items], tracks, artists, self.meta, dict(self.info))
        return out, kept

    def stats(self) -> dict[str, float]:
        """Compute summary statistics of the corpus.

        Returns
        -------
        dict
            Counts (playlists, tracks, artists, entries, empty playlists, unused
            tracks), playlist length mean / median / max, popularity skew
            (``popularity_gini``, ``top1pct_share``), ``density`` of the playlist x
            track matrix and ``same_artist_transitions`` (share of consecutive pairs
            by the same artist; NaN without artists).
        """
        lengths = self.lengths
        pop = self.item_popularity()
        total = pop.sum()
        top1 = np.sort(pop)[::-1][: max(1, self.n_tracks // 100)].sum() / total if total else 0.0
        sorted_pop = np.sort(pop)
        n = len(sorted_pop)
        gini = (
            float((2 * np.arange(1, n + 1) - n - 1) @ sorted_pop / (n * sorted_pop.sum()))
            if total
            else 0.0
        )
        art = self.track_artists
        same_artist = float("nan")
        if (art >= 0).any() and self.n_entries > len(self):
            a = art[self.items]
            consecutive = np.ones(self.n_entries, dtype=bool)
            consecutive[self.indptr[:-1][lengths > 0]] = False
            prev = np.roll(a, 1)
            ok = consecutive & (a >= 0) & (prev >= 0)
            same_artist = float((a[ok] == prev[ok]).mean()) if ok.any() else float("nan")
        return {
            "playlists": len(self),
            "tracks": self.n_tracks,
            "artists": self.n_artists,
            "entries": self.n_entries,
            "empty_playlists": int((lengths == 0).sum()),
            "length_mean": float(lengths.mean()) if len(self) else 0.0,
            "length_median": float(np.median(lengths)) if len(self) else 0.0,
            "length_max": int(lengths.max()) if len(self) else 0,
            "tracks_unused": int((pop == 0).sum()),
            "popularity_gini": gini,
            "top1pct_share": float(top1),
            "density": float(self.to_csr().nnz / max(1, len(self) * self.n_tracks)),
            "same_artist_transitions": same_artist,
        }

    # ------------------------------------------------------------------ I/O
    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the corpus as parquet files plus ``manifest.json`` (atomically).

        Parameters
        ----------
        path : str or Path
            Target directory; missing or empty, or see ``overwrite``.
        overwrite : bool, default False
            Replace an existing apc corpus at ``path``; a folder holding anything else
            is never replaced.

        Returns
        -------
        Path
            ``path``.
        """
        from apc.data.io import save_playlists

        return save_playlists(self, path, overwrite=overwrite)

    @classmethod
    def load(cls, path: str | Path) -> Playlists:
        """Read a corpus written by :meth:`save`; checksums are verified.

        Parameters
        ----------
        path : str or Path
            Corpus directory.

        Returns
        -------
        Playlists
            The corpus.

        Raises
        ------
        ApcInputError
            If the directory is not a valid, intact corpus.
        """
        from apc.data.io import read_corpus

        return cls(**read_corpus(path))

    # ------------------------------------------------------------------ building
    @classmethod
    def from_sequences(
        cls,
        sequences,
        *,
        artists: dict | None = None,
        names=None,
        playlist_ids=None,
    ) -> Playlists:
        """Build a corpus from lists of external track ids (handy in tests and tutorials).

        Parameters
        ----------
        sequences : iterable of sequences of hashable
            Each a playlist, tracks in order.
        artists : dict, optional
            Track id -> artist name.
        names : sequence of str, optional
            Playlist titles.
        playlist_ids : sequence, optional
            External playlist ids (default 0..P-1).

        Returns
        -------
        Playlists
            Tracks are indexed in order of first appearance, artists in the order of
            their tracks (the same corpus :class:`~apc.data.builder.PlaylistsBuilder`
            builds from these records).
        """
        sequences = [list(seq) for seq in sequences]
        index: dict = {}
        items = np.array([index.setdefault(t, len(index)) for seq in sequences for t in seq],
                         dtype=np.int32)
        track_ids = list(index)
        artist_index: dict = {}
        names_of = artists or {}
        track_artist = [-1 if names_of.get(t) is None
                        else artist_index.setdefault(names_of[t], len(artist_index))
                        for t in track_ids]
        lengths = np.array([len(seq) for seq in sequences], dtype=np.int64)
        indptr = np.zeros(len(sequences) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        tracks = pd.DataFrame({"track_id": pd.Series(track_ids, dtype=object),
                               "artist": np.array(track_artist, dtype=np.int32)})
        artist_names = pd.Series(list(artist_index), dtype=object)
        meta = {"playlist_id": list(range(len(sequences))) if playlist_ids is None
                else list(playlist_ids)[: len(sequences)]}
        if names is not None:
            meta["name"] = list(names)[: len(sequences)]
        meta = pd.DataFrame(meta) if sequences else pd.DataFrame({"playlist_id": []})
        return cls(indptr, items, tracks,
                   pd.DataFrame({"artist_id": artist_names, "name": artist_names.copy()}), meta)
