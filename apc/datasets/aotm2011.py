"""Art of the Mix 2011 (McFee & Lanckriet): ``aotm2011_playlists.json`` (optionally gzipped).

The file is one JSON list of mixes; each record has ``mix_id``, ``user``,
``timestamp`` (``"2008-03-19T11:44:00"``), ``category`` and ``playlist`` — a list of
``[[artist, title], msd_track_id or null]``. :func:`read_aotm2011` decodes the list one
record at a time (``json.JSONDecoder.raw_decode`` over a buffered text stream), so the
raw file is never held in memory as Python objects.

``msd_only=True`` (the usual choice in the literature) keeps only tracks matched to the
Million Song Dataset, keyed by their MSD id; ``msd_only=False`` also keeps unmatched
tracks, keyed ``aotm:<artist>|<title>`` after lower-casing and collapsing whitespace.
Dropped tracks, playlists left empty and unparseable timestamps are counted in
``info["report"]``.

References
----------
B. McFee and G. Lanckriet, "Hypergraph models of playlist dialects", ISMIR 2012
(the AotM-2011 data); "The natural language of playlists", ISMIR 2011.
T. Bertin-Mahieux et al., "The Million Song Dataset", ISMIR 2011.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from apc.data.builder import PlaylistsBuilder
from apc.data.playlists import Playlists
from apc.errors import ApcInputError

_WS = re.compile(r"\s+")


def open_text(path: Path):
    """Open a text file, transparently gunzipping ``*.gz``."""
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def iter_json_list(path: Path, chunk: int = 1 << 20) -> Iterator[tuple[int, Any]]:
    """Yield ``(index, element)`` of a top-level JSON list, decoding one element at a time."""
    dec = json.JSONDecoder()
    with open_text(path) as f:
        buf = f.read(chunk)
        pos = len(buf) - len(buf.lstrip())
        if buf[pos : pos + 1] != "[":
            raise ApcInputError("expected a JSON list of mixes", file=str(path))
        pos += 1
        i = 0
        eof = False
        while True:
            while True:  # skip whitespace and commas
                while pos < len(buf) and buf[pos] in " \t\r\n,":
                    pos += 1
                if pos < len(buf) or eof:
                    break
                more = f.read(chunk)
                eof = not more
                buf, pos = buf[pos:] + more, 0
            if pos >= len(buf):
                raise ApcInputError("unexpected end of file (no closing ']')", file=str(path))
            if buf[pos] == "]":
                return
            while True:
                try:
                    obj, end = dec.raw_decode(buf, pos)
                    break
                except json.JSONDecodeError as e:
                    if eof:
                        raise ApcInputError(f"malformed JSON ({e.msg})", file=str(path),
                                            record=f"#{i}") from None
                    more = f.read(chunk)
                    eof = not more
                    buf, pos = buf[pos:] + more, 0
            yield i, obj
            i += 1
            pos = end
            if pos > chunk:
                buf, pos = buf[pos:], 0


def normalise(artist: Any, title: Any) -> str:
    """Key of an unmatched track: ``aotm:<artist>|<title>``, lower-cased, spaces collapsed."""
    a = _WS.sub(" ", str(artist or "").strip().lower())
    t = _WS.sub(" ", str(title or "").strip().lower())
    return f"aotm:{a}|{t}"


def read_aotm2011(path: str | Path, *, msd_only: bool = True, progress: bool = True) -> Playlists:
    """Read AotM-2011 mixes into a corpus.

    Parameters
    ----------
    path : path
        ``aotm2011_playlists.json`` or ``.json.gz``.
    msd_only : bool
        Keep only MSD-matched tracks (default) or key the others by artist + title.
    progress : bool
        Show a progress spinner over records.

    Returns
    -------
    Playlists
        ``meta``: ``playlist_id`` (``mix_id``), ``user``, ``timestamp`` (seconds),
        ``category``; ``tracks``: ``track_id`` (MSD id or normalised key), ``title``,
        ``artist``.
    """
    from apc.progress import task

    path = Path(path)
    if not path.exists():
        raise ApcInputError("no such file", file=str(path))
    b = PlaylistsBuilder()
    c = b.counts
    with task("reading AotM-2011 mixes") as bar:
        for i, rec in iter_json_list(path):
            if not isinstance(rec, dict):
                raise ApcInputError("expected a mix object", file=str(path), record=f"#{i}")
            if "playlist" not in rec:
                raise ApcInputError("missing field", file=str(path),
                                    record=f"mix {rec.get('mix_id', '#' + str(i))}",
                                    field="playlist")
            mix = rec.get("mix_id", i)
            ids, artists, titles = [], [], []
            entries = rec["playlist"] or []
            if not isinstance(entries, list):
                raise ApcInputError("expected a list", file=str(path), record=f"mix {mix}",
                                    field="playlist")
            for j, entry in enumerate(entries):
                try:
                    (artist, title), msd = entry
                except (TypeError, ValueError):
                    raise ApcInputError(f"entry {j} is not [[artist, title], msd_id]",
                                        file=str(path), record=f"mix {mix}",
                                        field="playlist") from None
                if msd:
                    ids.append(str(msd))
                elif msd_only:
                    c["unmatched_tracks_dropped"] += 1
                    continue
                else:
                    ids.append(normalise(artist, title))
                    c["unmatched_tracks_keyed_by_name"] += 1
                artists.append(str(artist) if artist is not None else None)
                titles.append(title)
            if not ids:
                c["empty_playlists_dropped"] += 1
                continue
            ts = rec.get("timestamp")
            stamp = pd.to_datetime(ts, errors="coerce") if ts else pd.NaT
            if pd.isna(stamp):
                c["timestamp_missing"] += 1
            meta = {"playlist_id": mix, "user": rec.get("user"), "category": rec.get("category"),
                    "timestamp": None if pd.isna(stamp) else int(stamp.value // 10**9)}
            b.add_playlist(meta, ids, artist_names=artists, title=titles)
            if progress:
                bar.advance(1)
    info = {"dataset": "aotm2011", "adapter": "aotm2011", "source": str(path),
            "msd_only": msd_only}
    pl = b.build(info)
    pl.info.setdefault("report", {})
    return pl
