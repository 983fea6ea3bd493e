"""Art of the Mix 2011 (McFee & Lanckriet): ``aotm2011_playlists.json`` (optionally gzipped).

The file is one JSON list of mixes; each record has ``mix_id``, ``user`` (an object
with ``name`` and ``link``, or a plain string), ``timestamp``
(``"2008-03-19T11:44:00"``), ``category`` and ``playlist`` — a list of
``[[artist, title], msd_track_id or null]``. :func:`read_aotm2011` decodes the list one
record at a time (``json.JSONDecoder.raw_decode`` over a buffered text stream, see
:func:`iter_json_list`), so memory holds the corpus and one buffer of text, never the
whole file as Python objects.

``msd_only=True`` (the usual choice in the literature) keeps only tracks matched to the
Million Song Dataset, keyed by their MSD id; ``msd_only=False`` also keeps unmatched
tracks, keyed ``aotm:<artist>|<title>`` after lower-casing and collapsing whitespace.
Dropped tracks, playlists left empty and unparseable timestamps are counted in
``info["report"]``.

References
----------
B. McFee and G. Lanckriet, "Hypergraph models of playlist dialects", ISMIR 2012
(the AotM-2011 data); "The natural language of playlists", ISMIR 2011.
T. Bertin-Mahieux, D. P. W. Ellis, B. Whitman and P. Lamere, "The Million Song
Dataset", ISMIR 2011.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from apc.data.builder import PlaylistsBuilder
from apc.data.playlists import Playlists
from apc.datasets._io import TextSource, decode_error, require_path
from apc.errors import ApcInputError

_WS = re.compile(r"\s+")
_SKIP = " \t\r\n,"
_END = " \t\r\n,]"


def iter_json_list(source: str | Path | TextSource, chunk: int = 1 << 20,
                   ) -> Iterator[tuple[int, Any]]:
    """Yield ``(index, element)`` of a top-level JSON list, decoding one element at a time.

    Parameters
    ----------
    source : path or TextSource
        A (possibly gzipped) UTF-8 JSON file whose top level is a list, or an open
        :class:`~apc.datasets._io.TextSource` (its progress bar is advanced).
    chunk : int
        Characters read at a time; the buffer holds about one chunk plus the element
        being decoded.

    Yields
    ------
    index : int
        Position of the element in the list (0-based).
    element : Any
        The decoded JSON value.

    Raises
    ------
    ApcInputError
        When the top level is not a list or an element is malformed (naming the element
        index and its line).
    """
    if not isinstance(source, TextSource):
        with TextSource(source, progress=False) as src:
            yield from iter_json_list(src, chunk)
        return
    path = source.path
    f = source.text
    dec = json.JSONDecoder()
    try:
        buf = f.read(chunk)
        line = 1  # line number of buf[0]
        while buf and not buf.strip():  # leading whitespace longer than a chunk
            line += buf.count("\n")
            buf = f.read(chunk)
        eof = len(buf) == 0
        pos = len(buf) - len(buf.lstrip())
        if buf[pos : pos + 1] != "[":
            raise ApcInputError("expected a JSON list (the file should start with '[')",
                                file=str(path))
        pos += 1
        i = 0
        while True:
            while True:  # skip whitespace and the commas between elements
                while pos < len(buf) and buf[pos] in _SKIP:
                    pos += 1
                if pos < len(buf) or eof:
                    break
                line += buf.count("\n", 0, pos)
                more = f.read(chunk)
                eof = not more
                buf, pos = more, 0
            if pos >= len(buf):
                raise ApcInputError("unexpected end of file (no closing ']')", file=str(path))
            if buf[pos] == "]":
                return
            while True:
                try:
                    obj, end = dec.raw_decode(buf, pos)
                    # a bare number may be cut by the chunk boundary ("-7" of "-7.5e3"):
                    # trust it only when a delimiter follows; objects, lists and strings
                    # end unambiguously
                    if eof or (end < len(buf) and (buf[end - 1] in '}]"' or buf[end] in _END)):
                        break
                except json.JSONDecodeError as e:
                    if eof:
                        at = line + buf.count("\n", 0, e.pos)
                        raise ApcInputError(f"malformed JSON ({e.msg})", file=str(path),
                                            record=f"#{i} (line {at})") from None
                more = f.read(chunk)
                eof = not more
                line += buf.count("\n", 0, pos)
                buf, pos = buf[pos:] + more, 0
            yield i, obj
            i += 1
            pos = end
            if pos > chunk:
                line += buf.count("\n", 0, pos)
                buf, pos = buf[pos:], 0
                source.tick()
    except (UnicodeDecodeError, gzip.BadGzipFile, EOFError) as e:
        raise decode_error(path, e) from None


def normalise(artist: Any, title: Any) -> str:
    r"""Return the key of an unmatched track, ``aotm:<artist>|<title>``.

    Parameters
    ----------
    artist, title : Any
        Artist and title as found in the record; None counts as empty.

    Returns
    -------
    str
        The key, lower-cased, with whitespace stripped and runs of it collapsed to
        one space.

    Examples
    --------
    >>> normalise("  The  Band ", "Song\tOne")
    'aotm:the band|song one'
    """
    a = _WS.sub(" ", str(artist or "").strip().lower())
    t = _WS.sub(" ", str(title or "").strip().lower())
    return f"aotm:{a}|{t}"


def parse_timestamp(value: Any) -> int | None:
    """Convert an AotM timestamp to seconds since the epoch.

    Parameters
    ----------
    value : Any
        An ISO 8601 string (naive times are taken as UTC); an int is returned as is.

    Returns
    -------
    int or None
        Seconds since the epoch, or None when ``value`` cannot be parsed.

    Examples
    --------
    >>> parse_timestamp("2008-03-19T11:44:00"), parse_timestamp("not a date")
    (1205927040, None)
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str) or not value:
        return None
    try:
        dt = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return int(dt.timestamp())


def _user(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("name")
    return None if value is None else str(value)


def read_aotm2011(path: str | Path, *, msd_only: bool = True, progress: bool = True) -> Playlists:
    """Read AotM-2011 mixes into a corpus.

    Parameters
    ----------
    path : path
        ``aotm2011_playlists.json`` or ``.json.gz`` (gzip is recognised by content).
    msd_only : bool
        Keep only MSD-matched tracks (default) or also the others, keyed by
        ``aotm:<artist>|<title>`` (see :func:`normalise`).
    progress : bool
        Show a progress bar over the bytes of the file.

    Returns
    -------
    Playlists
        ``meta``: ``playlist_id`` (``mix_id``), ``user`` (the user's name),
        ``timestamp`` (seconds, UTC; missing where unparseable), ``category``;
        ``tracks``: ``track_id`` (MSD id or normalised key), ``title``, ``artist``
        (keyed by name); ``info["report"]``: ``unmatched_tracks_dropped`` or
        ``unmatched_tracks_keyed_by_name``, ``empty_playlists_dropped``,
        ``timestamp_missing``, ``artist_missing`` (non-zero counts only).

    Raises
    ------
    ApcInputError
        Missing file, malformed JSON (naming the record index and line), a record that
        is not an object or lacks ``playlist``, or an entry that is not
        ``[[artist, title], msd_id]`` (naming ``mix N`` and the field ``playlist``).

    Examples
    --------
    >>> pl = read_aotm2011("aotm2011_playlists.json.gz")  # doctest: +SKIP
    >>> pl.info["report"]["empty_playlists_dropped"]  # doctest: +SKIP
    """
    path = require_path(path)
    b = PlaylistsBuilder()
    with TextSource(path, "reading AotM-2011 mixes", progress=progress) as src:
        for i, rec in iter_json_list(src):
            _add_mix(b, rec, i, path, msd_only)
    info = {"dataset": "aotm2011", "adapter": "aotm2011", "source": str(path),
            "msd_only": bool(msd_only)}
    pl = b.build(info)
    pl.info["report"] = {k: int(v) for k, v in pl.info.get("report", {}).items() if v}
    if "timestamp" in pl.meta.columns:  # missing stays missing (nullable), never 0
        ts = pd.Series(pl.meta["timestamp"].to_numpy(dtype=object), dtype="Int64")
        pl.meta["timestamp"] = ts.astype(np.int64) if not ts.isna().any() else ts
    return pl


def _add_mix(b: PlaylistsBuilder, rec: Any, i: int, path: Path, msd_only: bool) -> None:
    c = b.counts
    if not isinstance(rec, dict):
        raise ApcInputError("expected a mix object", file=str(path), record=f"#{i}")
    mix = rec.get("mix_id", i)
    record = f"mix {mix}"
    entries = rec.get("playlist")
    if entries is None:
        raise ApcInputError("missing field", file=str(path), record=record, field="playlist")
    if not isinstance(entries, list):
        raise ApcInputError("expected a list of [[artist, title], msd_id] entries",
                            file=str(path), record=record, field="playlist")
    ids, artists, titles = [], [], []
    for j, entry in enumerate(entries):
        try:
            (artist, title), msd = entry
        except (TypeError, ValueError):
            raise ApcInputError(f"entry {j} is not [[artist, title], msd_id]",
                                file=str(path), record=record, field="playlist") from None
        if msd is not None and not isinstance(msd, str):
            raise ApcInputError(f"entry {j} has MSD id {msd!r}; expected a string or null",
                                file=str(path), record=record, field="playlist")
        if msd:
            ids.append(msd)
        elif msd_only:
            c["unmatched_tracks_dropped"] += 1
            continue
        else:
            ids.append(normalise(artist, title))
            c["unmatched_tracks_keyed_by_name"] += 1
        artist = None if artist is None or str(artist).strip() == "" else str(artist)
        if artist is None:
            c["artist_missing"] += 1
        artists.append(artist)
        titles.append(None if title is None else str(title))
    if not ids:
        c["empty_playlists_dropped"] += 1
        return
    stamp = parse_timestamp(rec.get("timestamp"))
    if stamp is None:
        c["timestamp_missing"] += 1
    category = rec.get("category")
    meta = {"playlist_id": mix, "user": _user(rec.get("user")),
            "timestamp": stamp, "category": None if category is None else str(category)}
    b.add_playlist(meta, ids, artist_names=artists, title=titles)
