"""8tracks playlist dumps: the long-format reader with the ``8tracks`` column preset.

The 8tracks data of the session-based recommendation literature (Jannach & Ludewig
2017; Ludewig & Jannach 2018; the session-rec framework) is not public; its
distributors hand it out as tab-separated tables with one row per playlist entry. The
preset (our assumption about the layout, see
:data:`apc.datasets.longformat.EIGHTTRACKS_COLUMNS`) accepts a header in session-rec's
spelling — ``SessionId`` (the playlist), ``ItemId`` (the track), ``Time`` and, where
present, ``ArtistId`` and ``UserId`` — or in the plain spelling ``playlist_id``,
``track_id``, ``position``, ``artist``, ``title``, ``user``. Entries are ordered by
position where there is one, else by time, else file order. Dumps with other column
names work through the ``*_col`` options of
:func:`apc.datasets.longformat.read_longformat`.

References
----------
D. Jannach and M. Ludewig, "When recurrent neural networks meet the neighborhood for
session-based recommendation", RecSys 2017.
M. Ludewig and D. Jannach, "Evaluation of session-based recommendation algorithms",
User Modeling and User-Adapted Interaction 28, 2018.
"""

from __future__ import annotations

from pathlib import Path

from apc.data.playlists import Playlists
from apc.datasets.longformat import read_longformat


def read_8tracks(path: str | Path, **options) -> Playlists:
    """Read an 8tracks dump: ``read_longformat(path, preset="8tracks", **options)``.

    Parameters
    ----------
    path : path
        Tab-separated file (optionally gzipped) or parquet, one row per entry.
    **options
        Any option of :func:`~apc.datasets.longformat.read_longformat`, e.g.
        ``position_col="pos"`` or ``tags_path=...``.

    Returns
    -------
    Playlists
        As :func:`~apc.datasets.longformat.read_longformat`, with
        ``info["dataset"] == "8tracks"``.

    Examples
    --------
    >>> pl = read_8tracks("8tracks.tsv.gz")  # doctest: +SKIP
    """
    options.setdefault("preset", "8tracks")
    pl = read_longformat(path, **options)
    pl.info["dataset"] = "8tracks"
    return pl
