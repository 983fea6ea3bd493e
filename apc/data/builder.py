"""Streaming construction of a :class:`Playlists` corpus, used by every adapter.

Adapters call :meth:`PlaylistsBuilder.add_playlist` once per record; ids are mapped to
contiguous indices on the fly and entries are appended to compact ``array('i')``
buffers, so memory stays proportional to the corpus, never to the raw JSON.
"""

from __future__ import annotations

from array import array
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from apc.data.playlists import Playlists

TRACK_FIELDS = ("title", "album", "duration_ms", "tags")


class PlaylistsBuilder:
    """Accumulate playlists one at a time, then :meth:`build` a :class:`Playlists`.

    The first time a track id is seen its attributes (title, artist, album, ...) are
    recorded; later occurrences do not overwrite them. Artists are keyed by
    ``artist_id`` where given, otherwise by ``artist_name``.

    Examples
    --------
    >>> b = PlaylistsBuilder()
    >>> b.add_playlist({"playlist_id": 7, "name": "rock"}, ["t1", "t2"],
    ...                artist_names=["A", "B"])
    >>> pl = b.build()
    >>> pl.tracks["track_id"].tolist(), pl.artists["name"].tolist()
    (['t1', 't2'], ['A', 'B'])
    """

    def __init__(self) -> None:
        self._track_index: dict[Any, int] = {}
        self._track_ids: list[Any] = []
        self._track_artist = array("i")
        self._track_cols: dict[str, list[Any]] = {}
        self._artist_index: dict[Any, int] = {}
        self._artist_ids: list[Any] = []
        self._artist_names: list[Any] = []
        self._items = array("i")
        self._lengths = array("q")
        self._meta: list[dict[str, Any]] = []
        self.counts: Counter[str] = Counter()  # what was filled in or dropped, by reason

    def __len__(self) -> int:
        return len(self._lengths)

    def artist_index(self, artist_id: Any, name: Any = None) -> int:
        """Return the index of an artist, adding it if new.

        Parameters
        ----------
        artist_id : Any
            External artist id; the key of the artist unless None.
        name : Any, optional
            Artist name; the key when ``artist_id`` is None, and the stored name
            (defaulting to the key) when the artist is new.

        Returns
        -------
        int
            Contiguous artist index, or -1 when both ``artist_id`` and ``name`` are None.
        """
        key = artist_id if artist_id is not None else name
        if key is None:
            return -1
        j = self._artist_index.get(key)
        if j is None:
            j = len(self._artist_ids)
            self._artist_index[key] = j
            self._artist_ids.append(key)
            self._artist_names.append(name if name is not None else key)
        return j

    def track_index(self, track_id: Any, *, artist: int = -1, **attrs: Any) -> int:
        """Return the index of a track, adding it (with its attributes) if new.

        Parameters
        ----------
        track_id : Any
            External track id.
        artist : int, default -1
            Artist index of the track (see :meth:`artist_index`); -1 for unknown.
        **attrs : Any
            Track attributes (``title=...``, ``album=...``) recorded the first time the
            track is seen; ignored for a known track.

        Returns
        -------
        int
            Contiguous track index.
        """
        i = self._track_index.get(track_id)
        if i is None:
            i = len(self._track_ids)
            self._track_index[track_id] = i
            self._track_ids.append(track_id)
            self._track_artist.append(artist)
            for name, value in attrs.items():
                col = self._track_cols.get(name)
                if col is None:
                    col = self._track_cols[name] = [None] * i
                col.append(value)
            for name, col in self._track_cols.items():
                if name not in attrs:
                    col.append(None)
        return i

    def add_playlist(
        self,
        meta: dict[str, Any],
        track_ids: list[Any],
        *,
        artist_ids: list[Any] | None = None,
        artist_names: list[Any] | None = None,
        **track_attrs: list[Any] | None,
    ) -> None:
        """Append one playlist.

        Parameters
        ----------
        meta : dict
            Playlist metadata; must contain ``playlist_id``.
        track_ids : list
            External track ids in playlist order.
        artist_ids, artist_names : list, optional
            Per-position artist id / name (aligned with ``track_ids``).
        **track_attrs : list, optional
            Per-position track attributes such as ``title=[...]``, ``album=[...]``.
        """
        n = len(track_ids)
        for pos, tid in enumerate(track_ids):
            aid = artist_ids[pos] if artist_ids is not None else None
            aname = artist_names[pos] if artist_names is not None else None
            if tid in self._track_index:
                self._items.append(self._track_index[tid])
                continue
            attrs = {k: v[pos] for k, v in track_attrs.items() if v is not None}
            art = self.artist_index(aid, aname)
            self._items.append(self.track_index(tid, artist=art, **attrs))
        self._lengths.append(n)
        self._meta.append(meta)

    def build(self, info: dict[str, Any] | None = None) -> Playlists:
        """Freeze the accumulated playlists into a :class:`Playlists`.

        Parameters
        ----------
        info : dict, optional
            Corpus-level information stored as :attr:`Playlists.info`; the builder's
            :attr:`counts` (if any) are merged into its ``"report"`` entry.

        Returns
        -------
        Playlists
            The corpus, with playlists in the order they were added.
        """
        lengths = (
            np.frombuffer(self._lengths, dtype=np.int64)
            if len(self._lengths)
            else np.empty(0, np.int64)
        )
        indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        items = (
            np.frombuffer(self._items, dtype=np.int32).copy()
            if len(self._items)
            else np.empty(0, np.int32)
        )
        tracks = pd.DataFrame({"track_id": pd.Series(self._track_ids, dtype=object)})
        tracks["artist"] = (
            np.frombuffer(self._track_artist, dtype=np.int32).copy()
            if len(self._track_artist)
            else np.empty(0, np.int32)
        )
        for name, col in self._track_cols.items():
            tracks[name] = (
                pd.Series(col, dtype=object)
                if name in ("title", "album", "tags")
                else pd.Series(col)
            )
        artists = pd.DataFrame(
            {
                "artist_id": pd.Series(self._artist_ids, dtype=object),
                "name": pd.Series(self._artist_names, dtype=object),
            }
        )
        meta = pd.DataFrame(self._meta) if self._meta else pd.DataFrame({"playlist_id": []})
        info = dict(info or {})
        if self.counts:
            info.setdefault("report", {}).update(dict(self.counts))
        return Playlists(indptr, items, tracks, artists, meta, info)
