"""8tracks playlist dumps: the long-format reader with the ``8tracks`` column preset.

The dumps used in the session-based recommendation literature (Jannach & Ludewig 2017,
"When recurrent neural networks meet the neighborhood for session-based
recommendation"; Ludewig & Jannach 2018) are tab-separated tables with one row per
playlist entry. The preset assumes the columns ``playlist_id, track_id, position,
artist, title``; dumps with other names work through the ``*_col`` options of
:func:`apc.datasets.longformat.read_longformat`.
"""

from __future__ import annotations

from pathlib import Path

from apc.data.playlists import Playlists
from apc.datasets.longformat import read_longformat


def read_8tracks(path: str | Path, **options) -> Playlists:
    """Read an 8tracks dump (``read_longformat(path, preset="8tracks", **options)``)."""
    options.setdefault("preset", "8tracks")
    pl = read_longformat(path, **options)
    pl.info["dataset"] = "8tracks"
    return pl
