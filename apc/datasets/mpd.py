"""Spotify Million Playlist Dataset (MPD) slices: read a folder of them, write a corpus as them.

An MPD slice ``mpd.slice.<start>-<end>.json`` is one JSON object: ``info`` and
``playlists[]``, each playlist with ``pid``, ``name``, ``collaborative``,
``modified_at``, ``num_followers``, ``num_edits``, ... and ``tracks[]`` of ``pos``,
``track_uri``, ``track_name``, ``artist_uri``, ``artist_name``, ``album_uri``,
``album_name``, ``duration_ms``. :func:`read_mpd` streams a folder of slices one file at
a time into a :class:`~apc.data.playlists.Playlists` (track URIs are the track ids,
artist URIs the artist ids). Reduced records are accepted and what was filled in is
reported in ``info["report"]`` (only non-zero counts appear):

* ``pos_from_order`` — entries without ``pos``: their order in ``tracks[]`` is the
  position;
* ``artist_keyed_by_name`` — catalogue tracks whose first record has no
  ``artist_uri``: the artist is keyed by its name; ``artist_missing`` — tracks whose
  first record has neither (artist ``-1``). A track's attributes come from its first
  record; later records never overwrite them;
* ``empty_playlists`` — playlists without tracks (kept); ``empty_slices`` — slice
  files without playlists; ``tracks_field_missing`` — playlists with no ``tracks`` key;
* ``name_missing`` — playlists without ``name``; ``num_tracks_mismatch`` — playlists
  whose ``num_tracks`` differs from the length of ``tracks[]``;
* ``playlists_below_min_tracks_dropped`` — with ``min_tracks``.

A track record without ``track_uri``, a playlist without an integer ``pid``, a
duplicate pid, a field of the wrong type or malformed JSON is an
:class:`~apc.errors.ApcInputError` naming the file, the playlist (``pid N``) and the
field.

:func:`write_mpd_slices` writes any corpus back as full-schema slices; the challenge-set
file is read by :mod:`apc.datasets.mpd_challenge`.

References
----------
C.-W. Chen, P. Lamere, M. Schedl and H. Zamani, "Recsys Challenge 2018: Automatic Music
Playlist Continuation", RecSys 2018, doi:10.1145/3240323.3240342. Licence: the MPD
terms allow research and non-commercial use only and forbid redistribution.
"""

from __future__ import annotations

import json
import re
from array import array
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from apc.data.playlists import Playlists
from apc.datasets._io import require_path
from apc.errors import ApcInputError

_SLICE = re.compile(r"^mpd\.slice\.(\d+)-(\d+)\.json$")
#: Integer playlist fields read into ``meta`` (``modified_at`` becomes ``timestamp``).
INT_FIELDS = ("modified_at", "num_tracks", "num_albums", "num_followers", "num_edits",
              "duration_ms", "num_artists")
#: Text playlist fields read into ``meta``.
TEXT_FIELDS = ("name", "description")


def slice_files(path: str | Path) -> list[Path]:
    """List the slice files of ``path`` (a folder or one file), sorted by slice start.

    A folder without ``mpd.slice.<start>-<end>.json`` files falls back to its
    ``*.json`` files in name order.

    Parameters
    ----------
    path : str or Path
        A slice file, or a folder of them.

    Returns
    -------
    list of Path
        ``[path]`` for a file, otherwise the slice files of the folder.

    Raises
    ------
    ApcInputError
        If ``path`` does not exist, or is a folder without any ``*.json`` file.
    """
    path = require_path(path, kind="any")
    if path.is_file():
        return [path]
    files = [p for p in path.iterdir() if _SLICE.match(p.name)]
    if not files:
        files = sorted(path.glob("*.json"))
        if not files:
            raise ApcInputError("no mpd.slice.*.json files in this directory", file=str(path))
        return files
    return sorted(files, key=lambda p: int(_SLICE.match(p.name).group(1)))


def _load_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise ApcInputError(f"malformed JSON at line {e.lineno} column {e.colno} ({e.msg})",
                            file=str(path)) from None
    except UnicodeDecodeError as e:
        raise ApcInputError(f"not UTF-8 text ({e.reason})", file=str(path)) from None


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _collaborative(v: Any, file: Path, pid: int) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.lower() in ("true", "false"):
        return v.lower() == "true"
    raise ApcInputError(f"expected \"true\" or \"false\", got {v!r}", file=str(file),
                        record=f"pid {pid}", field="collaborative")


class _SliceReader:
    """Accumulates MPD playlists into CSR buffers; one instance per :func:`read_mpd` call.

    Per entry the work is one dict lookup and one append; track attributes are parsed
    only the first time a track URI is seen (later records do not overwrite them).
    """

    def __init__(self, min_tracks: int) -> None:
        self.min_tracks = min_tracks
        self.track_index: dict[str, int] = {}
        self.uris: list[str] = []
        self.titles: list[Any] = []
        self.albums: list[Any] = []
        self.album_ids: list[Any] = []
        self.durations: list[Any] = []
        self.track_artist = array("i")
        self.artist_index: dict[str, int] = {}
        self.artist_ids: list[str] = []
        self.artist_names: list[Any] = []
        self.items = array("i")
        self.lengths = array("q")
        self.meta: list[dict[str, Any]] = []
        self.pids: set[int] = set()
        self.counts: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self.lengths)

    # ------------------------------------------------------------------ one playlist
    def add(self, p: Any, file: Path, i: int) -> None:
        if not isinstance(p, dict):
            raise ApcInputError("expected a playlist object", file=str(file),
                                record=f"playlists[{i}]")
        pid = p.get("pid")
        if not _is_int(pid):
            raise ApcInputError("missing or non-integer pid" if pid is None else
                                f"expected an integer pid, got {pid!r}", file=str(file),
                                record=f"playlists[{i}]", field="pid")
        if pid in self.pids:
            raise ApcInputError("duplicate pid (already read from an earlier record)",
                                file=str(file), record=f"pid {pid}", field="pid")
        tracks = p.get("tracks")
        if tracks is None:
            tracks = []
            self.counts["tracks_field_missing"] += 1
        if not isinstance(tracks, list):
            raise ApcInputError("expected a list of tracks", file=str(file),
                                record=f"pid {pid}", field="tracks")
        n = len(tracks)
        if n < self.min_tracks:
            self.counts["playlists_below_min_tracks_dropped"] += 1
            return
        self.pids.add(pid)
        meta = self._meta(p, pid, file)
        if n == 0:
            self.counts["empty_playlists"] += 1
        elif meta.get("num_tracks", n) != n:
            self.counts["num_tracks_mismatch"] += 1
        tracks = self._ordered(tracks, pid, file)
        self._add_tracks(tracks, pid, file)
        self.lengths.append(n)
        self.meta.append(meta)

    def _meta(self, p: dict[str, Any], pid: int, file: Path) -> dict[str, Any]:
        meta: dict[str, Any] = {"playlist_id": pid}
        for key in TEXT_FIELDS:
            v = p.get(key)
            if v is not None:
                if not isinstance(v, str):
                    raise ApcInputError(f"expected a string, got {v!r}", file=str(file),
                                        record=f"pid {pid}", field=key)
                meta[key] = v
        if "name" not in meta:
            self.counts["name_missing"] += 1
        if p.get("collaborative") is not None:
            meta["collaborative"] = _collaborative(p["collaborative"], file, pid)
        for key in INT_FIELDS:
            v = p.get(key)
            if v is not None:
                if not _is_int(v):
                    raise ApcInputError(f"expected an integer, got {v!r}", file=str(file),
                                        record=f"pid {pid}", field=key)
                meta["timestamp" if key == "modified_at" else key] = v
        return meta

    def _ordered(self, tracks: list[Any], pid: int, file: Path) -> list[Any]:
        """Tracks in ``pos`` order (list order when no record has ``pos``)."""
        try:
            pos = [t.get("pos") for t in tracks]
        except AttributeError:
            j = next(j for j, t in enumerate(tracks) if not isinstance(t, dict))
            raise ApcInputError(f"track {j} is not an object", file=str(file),
                                record=f"pid {pid}", field="tracks") from None
        if pos == list(range(len(tracks))):  # the common, already ordered case
            return tracks
        if all(v is None for v in pos):
            self.counts["pos_from_order"] += len(tracks)
            return tracks
        for j, v in enumerate(pos):
            if not _is_int(v):
                raise ApcInputError(f"track {j} has pos {v!r}; expected an integer on every "
                                    "track (or on none)", file=str(file), record=f"pid {pid}",
                                    field="pos")
        if len(set(pos)) != len(pos):
            raise ApcInputError("two tracks share one pos", file=str(file), record=f"pid {pid}",
                                field="pos")
        return [tracks[j] for j in np.argsort(pos, kind="stable")]

    def _add_tracks(self, tracks: list[dict[str, Any]], pid: int, file: Path) -> None:
        index = self.track_index
        append = self.items.append
        for j, t in enumerate(tracks):
            uri = t.get("track_uri")
            k = index.get(uri)
            if k is None:
                if type(uri) is not str or not uri:
                    raise ApcInputError(f"track {j} has no track_uri", file=str(file),
                                        record=f"pid {pid}", field="track_uri")
                k = self._new_track(uri, t, pid, file)
            append(k)

    def _new_track(self, uri: str, t: dict[str, Any], pid: int, file: Path) -> int:
        k = len(self.uris)
        self.track_index[uri] = k
        self.uris.append(uri)
        self.titles.append(t.get("track_name"))
        self.albums.append(t.get("album_name"))
        self.album_ids.append(t.get("album_uri") or None)
        d = t.get("duration_ms")
        if d is not None and not _is_int(d):
            raise ApcInputError(f"expected an integer duration, got {d!r}", file=str(file),
                                record=f"pid {pid} track {uri}", field="duration_ms")
        self.durations.append(d)
        a_uri, a_name = t.get("artist_uri") or None, t.get("artist_name") or None
        key = a_uri if a_uri is not None else a_name
        if a_uri is None:
            self.counts["artist_keyed_by_name" if a_name is not None else "artist_missing"] += 1
        if key is None:
            a = -1
        else:
            a = self.artist_index.get(key, -1)
            if a < 0:
                a = len(self.artist_ids)
                self.artist_index[key] = a
                self.artist_ids.append(key)
                self.artist_names.append(a_name if a_name is not None else key)
        self.track_artist.append(a)
        return k

    # ------------------------------------------------------------------ freeze
    def build(self, info: dict[str, Any]) -> Playlists:
        lengths = np.frombuffer(self.lengths, dtype=np.int64) if len(self.lengths) else \
            np.empty(0, np.int64)
        indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        items = np.frombuffer(self.items, dtype=np.int32).copy() if len(self.items) else \
            np.empty(0, np.int32)
        tracks = pd.DataFrame({"track_id": pd.Series(self.uris, dtype=object)})
        tracks["artist"] = np.frombuffer(self.track_artist, dtype=np.int32).copy() \
            if len(self.track_artist) else np.empty(0, np.int32)
        for name, col in (("title", self.titles), ("album", self.albums),
                          ("album_id", self.album_ids)):
            if any(v is not None for v in col):
                tracks[name] = pd.Series(col, dtype=object)
        if any(v is not None for v in self.durations):
            tracks["duration_ms"] = _int_column(self.durations)
        artists = pd.DataFrame({"artist_id": pd.Series(self.artist_ids, dtype=object),
                                "name": pd.Series(self.artist_names, dtype=object)})
        meta = _meta_frame(self.meta)
        info["report"] = {k: int(v) for k, v in self.counts.items() if v}
        return Playlists(indptr, items, tracks, artists, meta, info)


def _int_column(values: list[Any]) -> pd.Series:
    """int64 when complete, else nullable ``Int64`` (missing stays missing, never 0)."""
    s = pd.Series(values, dtype="Int64")
    return s.astype(np.int64) if not s.isna().any() else s


def _meta_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    if not rows:
        return pd.DataFrame({"playlist_id": pd.Series([], dtype=np.int64)})
    cols: dict[str, list[Any]] = {}
    for r, row in enumerate(rows):
        for key, v in row.items():
            col = cols.get(key)
            if col is None:
                col = cols[key] = [None] * r
            col.append(v)
        for col in cols.values():
            if len(col) <= r:
                col.append(None)
    meta = pd.DataFrame(index=pd.RangeIndex(len(rows)))
    order = ["playlist_id", "name", "collaborative", "timestamp", "num_followers",
             "num_edits", "num_tracks", "num_albums", "num_artists", "duration_ms",
             "description"]
    for key in sorted(cols, key=lambda c: order.index(c) if c in order else len(order)):
        col = cols[key]
        if key == "collaborative":
            s = pd.Series(col, dtype="boolean")
            meta[key] = s.astype(bool) if not s.isna().any() else s
        elif key in ("name", "description"):
            meta[key] = pd.Series(col, dtype=object)
        else:
            meta[key] = _int_column(col)
    return meta


def read_mpd(path: str | Path, *, progress: bool = True, min_tracks: int = 0,
             limit: int | None = None) -> Playlists:
    """Read MPD slice files into a corpus, one file at a time.

    Parameters
    ----------
    path : path
        A folder of ``mpd.slice.*.json`` files (read in slice order) or one slice file.
    progress : bool
        Show a progress bar over the files (when there is more than one).
    min_tracks : int
        Drop playlists with fewer tracks (counted as
        ``playlists_below_min_tracks_dropped``); 0 keeps every playlist, empty ones too.
    limit : int, optional
        Stop after this many (kept) playlists.

    Returns
    -------
    Playlists
        ``meta``: ``playlist_id`` (the pid), ``name``, ``collaborative`` (bool),
        ``timestamp`` (``modified_at``, seconds), ``num_followers``, ``num_edits``,
        ``num_tracks``, ``num_albums``, ``num_artists``, ``duration_ms``,
        ``description`` — those present in the files; ``tracks``: ``track_id`` (URI),
        ``artist``, ``title``, ``album``, ``album_id`` (album URI), ``duration_ms``
        (a column is left out when no record has it); ``artists``: ``artist_id``
        (URI, or the name where there is none) and ``name``; ``info``: ``dataset``,
        ``adapter``, ``source``, ``files`` and ``report`` (see the module docs).

    Raises
    ------
    ApcInputError
        Missing path, malformed JSON, a playlist without integer ``pid`` or with a
        duplicate one, a track without ``track_uri``, or a field of the wrong type.

    Examples
    --------
    >>> pl = read_mpd("datasets/samples/mpd", progress=False)  # doctest: +SKIP
    >>> len(pl), pl.info["report"]["empty_playlists"]  # doctest: +SKIP
    (4, 1)
    """
    from apc.progress import progress as bar

    if not _is_int(min_tracks) or min_tracks < 0:
        raise ApcInputError(f"min_tracks must be an integer >= 0, got {min_tracks!r}",
                            field="min_tracks")
    if limit is not None and (not _is_int(limit) or limit < 0):
        raise ApcInputError(f"limit must be an integer >= 0, got {limit!r}", field="limit")
    files = slice_files(path)
    reader = _SliceReader(min_tracks)
    n_files = 0
    iterator = bar(files, "reading MPD slices", unit="file") if progress and len(files) > 1 \
        else files
    for file in iterator:
        if limit is not None and len(reader) >= limit:
            break
        n_files += 1
        data = _load_json(file)
        playlists = data.get("playlists") if isinstance(data, dict) else None
        if not isinstance(playlists, list):
            raise ApcInputError("expected an object with a 'playlists' list", file=str(file),
                                field="playlists")
        if not playlists:
            reader.counts["empty_slices"] += 1
        for i, p in enumerate(playlists):
            if limit is not None and len(reader) >= limit:
                break
            reader.add(p, file, i)
        del data, playlists  # one slice's raw JSON at a time
    info = {"dataset": "mpd", "adapter": "mpd", "source": str(path), "files": n_files}
    return reader.build(info)


# ---------------------------------------------------------------------------- writing
def _column(frame: pd.DataFrame, name: str) -> np.ndarray | None:
    return frame[name].to_numpy(dtype=object) if name in frame.columns else None


def _missing(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))


def _distinct_per_row(rows: np.ndarray, codes: np.ndarray, n_rows: int) -> np.ndarray:
    """int64 (n_rows,): number of distinct non-negative ``codes`` in each row."""
    ok = codes >= 0
    if not ok.any():
        return np.zeros(n_rows, dtype=np.int64)
    keys = np.unique(rows[ok] * (int(codes.max()) + 1) + codes[ok])
    return np.bincount(keys // (int(codes.max()) + 1), minlength=n_rows).astype(np.int64)


def _pids(meta: pd.DataFrame) -> np.ndarray:
    """Integer pids from ``playlist_id`` where they are integers and unique, else 0..P-1."""
    try:
        pids = np.asarray(meta["playlist_id"]).astype(np.int64)
    except (KeyError, TypeError, ValueError, OverflowError):
        return np.arange(len(meta), dtype=np.int64)
    if len(np.unique(pids)) != len(pids):
        return np.arange(len(meta), dtype=np.int64)
    return pids


def _track_fragments(pl: Playlists, used: np.ndarray) -> dict[int, str]:
    """Track index -> its JSON record without ``pos`` (the text after ``"pos": k, ``)."""
    tr = pl.tracks
    uris = tr["track_id"].astype(str).to_numpy(dtype=object)
    names = _column(tr, "title")
    albums = _column(tr, "album")
    album_ids = _column(tr, "album_id")
    durations = _column(tr, "duration_ms")
    art = pl.track_artists
    a_ids = _column(pl.artists, "artist_id")
    a_names = _column(pl.artists, "name")
    frags = {}
    for i in used.tolist():
        rec: dict[str, Any] = {}
        a = art[i]
        if a >= 0 and a_ids is not None:
            aid = a_ids[a]
            name = a_names[a] if a_names is not None and not _missing(a_names[a]) else aid
            rec["artist_name"] = str(name)
        rec["track_uri"] = uris[i]
        # artists keyed by name (no URI in the source) get no artist_uri
        if a >= 0 and a_ids is not None and str(a_ids[a]) != rec["artist_name"]:
            rec["artist_uri"] = str(a_ids[a])
        if names is not None and not _missing(names[i]):
            rec["track_name"] = str(names[i])
        if album_ids is not None and not _missing(album_ids[i]):
            rec["album_uri"] = str(album_ids[i])
        if durations is not None and not _missing(durations[i]):
            rec["duration_ms"] = int(durations[i])
        if albums is not None and not _missing(albums[i]):
            rec["album_name"] = str(albums[i])
        frags[i] = json.dumps(rec, ensure_ascii=False)[1:]
    return frags


def write_mpd_slices(pl: Playlists, out_dir: str | Path, *, slice_size: int = 1000,
                     overwrite: bool = False) -> list[Path]:
    """Write a corpus as full-schema MPD slice files, atomically.

    The files are written to a staging sibling folder that then replaces ``out_dir``
    as a whole, so a crash never leaves a half-written folder. An existing
    ``out_dir`` is replaced only when it holds slices apc wrote and ``overwrite`` is
    true (never the organisers' slices or any other file). :func:`read_mpd` reads the
    result back to the same sequences, track ids, artists and playlist ids.

    Parameters
    ----------
    pl : Playlists
        The corpus.
    out_dir : path
        Output folder; receives ``mpd.slice.<start>-<end>.json`` files.
    slice_size : int
        Playlists per file (the MPD has 1,000).
    overwrite : bool, default False
        Replace slices apc wrote before at ``out_dir``.

    Returns
    -------
    list of Path
        The files written, in slice order (one, empty, for an empty corpus).

    Notes
    -----
    Playlist ``p`` gets ``pid`` = its ``playlist_id`` when the ids are unique integers
    (or integer strings), else ``p``. Known fields are written, none is invented:
    ``name``, ``collaborative`` (``"true"``/``"false"``), ``modified_at`` (from
    ``timestamp``), ``num_followers``, ``num_edits``, ``description`` from ``meta``;
    ``num_tracks``, ``num_artists`` and — where albums / durations are known —
    ``num_albums`` and ``duration_ms`` computed from the tracks. Each track record has
    ``pos``, ``track_uri`` (the track id), ``track_name``, ``artist_name``,
    ``artist_uri`` (only for artists with an id other than their name),
    ``album_uri``, ``album_name`` and ``duration_ms`` where known.

    Examples
    --------
    >>> write_mpd_slices(pl, "train/", slice_size=1000)  # doctest: +SKIP
    [PosixPath('train/mpd.slice.0-999.json'), ...]
    """
    from apc._atomic import atomic_dir

    if not _is_int(slice_size) or slice_size < 1:
        raise ApcInputError(f"slice_size must be an integer >= 1, got {slice_size!r}",
                            field="slice_size")
    out_dir = Path(out_dir)
    n = len(pl)
    rows = pl.playlist_rows
    lengths = pl.lengths
    n_artists = _distinct_per_row(rows, pl.track_artists[pl.items], n)
    album_key = _column(pl.tracks, "album_id")
    if album_key is None:
        album_key = _column(pl.tracks, "album")
    n_albums = None
    if album_key is not None:
        codes = pd.factorize(pd.Series(album_key, dtype=object))[0].astype(np.int64)
        n_albums = _distinct_per_row(rows, codes[pl.items], n)
    duration = None
    if "duration_ms" in pl.tracks.columns:
        d = pd.to_numeric(pl.tracks["duration_ms"], errors="coerce").to_numpy(dtype=float)
        complete = np.bincount(rows, weights=np.isnan(d[pl.items]), minlength=n) == 0
        duration = np.where(complete, np.bincount(rows, weights=np.nan_to_num(d[pl.items]),
                                                  minlength=n), np.nan)
    frags = _track_fragments(pl, np.unique(pl.items))
    meta = pl.meta
    pids = _pids(meta)
    names, descs = _column(meta, "name"), _column(meta, "description")
    collab = _column(meta, "collaborative")
    ints = {key: _column(meta, col) for col, key in (("timestamp", "modified_at"),
                                                     ("num_followers", "num_followers"),
                                                     ("num_edits", "num_edits"))}
    now = datetime.now().isoformat(sep=" ")
    files: list[Path] = []
    with atomic_dir(out_dir, kind="mpd-slices", overwrite=overwrite) as tmp:
        for start in range(0, max(n, 1), slice_size):
            stop = min(n, start + slice_size)
            parts = []
            for p in range(start, stop):
                head: dict[str, Any] = {}
                if names is not None and not _missing(names[p]):
                    head["name"] = str(names[p])
                if collab is not None and not _missing(collab[p]):
                    head["collaborative"] = "true" if bool(collab[p]) else "false"
                head["pid"] = int(pids[p])
                if ints["modified_at"] is not None and not _missing(ints["modified_at"][p]):
                    head["modified_at"] = int(ints["modified_at"][p])
                head["num_tracks"] = int(lengths[p])
                if n_albums is not None:
                    head["num_albums"] = int(n_albums[p])
                for key in ("num_followers", "num_edits"):
                    if ints[key] is not None and not _missing(ints[key][p]):
                        head[key] = int(ints[key][p])
                if duration is not None and not np.isnan(duration[p]):
                    head["duration_ms"] = int(duration[p])
                head["num_artists"] = int(n_artists[p])
                if descs is not None and not _missing(descs[p]):
                    head["description"] = str(descs[p])
                entries = ",".join(f'{{"pos": {k}, {frags[i]}'
                                   for k, i in enumerate(pl[p].tolist()))
                parts.append(f'{json.dumps(head, ensure_ascii=False)[:-1]}, '
                             f'"tracks": [{entries}]}}')
            end = start + slice_size - 1
            info = {"generated_on": now, "slice": f"{start}-{end}", "version": "v1",
                    "generator": "apc write_mpd_slices"}
            name = f"mpd.slice.{start}-{end}.json"
            text = f'{{"info": {json.dumps(info)}, "playlists": [{",".join(parts)}]}}'
            (tmp / name).write_text(text, encoding="utf-8")
            files.append(out_dir / name)
    return files
