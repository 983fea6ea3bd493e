"""The RecSys Challenge 2018 challenge-set file: pids, titles, seed tracks, categories.

A light reader of ``challenge_set.json`` for validating and scoring submissions; it
needs no training data (``apc.datasets.mpd.read_challenge_set`` maps seeds onto a
training catalogue for recommending). The ten categories of the official challenge
set (Chen et al. 2018) are recognised from each playlist's title and seed positions:

===================  =====  ==========================
label                title  seed tracks
===================  =====  ==========================
``title_only``       yes    none
``title_first1``     yes    first 1
``title_first5``     yes    first 5
``first5``           no     first 5
``title_first10``    yes    first 10
``first10``          no     first 10
``title_first25``    yes    first 25
``title_random25``   yes    25 at random positions
``title_first100``   yes    first 100
``title_random100``  yes    100 at random positions
===================  =====  ==========================

References
----------
C.-W. Chen, P. Lamere, M. Schedl and H. Zamani, "Recsys Challenge 2018: Automatic
Music Playlist Continuation", RecSys 2018, doi:10.1145/3240323.3240342.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apc.errors import ApcInputError

#: Official category labels in challenge order.
CATEGORIES = (
    "title_only",
    "title_first1",
    "title_first5",
    "first5",
    "title_first10",
    "first10",
    "title_first25",
    "title_random25",
    "title_first100",
    "title_random100",
)


def category_of(has_title: bool, positions: list[int]) -> str:
    """Return the category label of a challenge playlist.

    Parameters
    ----------
    has_title : bool
        Whether the playlist's title is given.
    positions : list of int
        Positions of its seed tracks in the original playlist.

    Returns
    -------
    str
        ``title_only`` (``empty`` without a title) for no seed tracks, else
        ``[title_]first<n>`` when the seeds are the first ``n`` tracks and
        ``[title_]random<n>`` otherwise.

    Examples
    --------
    >>> category_of(True, []), category_of(False, [0, 1, 2, 3, 4]), category_of(True, [3, 9])
    ('title_only', 'first5', 'title_random2')
    """
    n = len(positions)
    if n == 0:
        return "title_only" if has_title else "empty"
    order = "first" if sorted(positions) == list(range(n)) else "random"
    return f"{'title_' if has_title else ''}{order}{n}"


@dataclass
class ChallengePlaylist:
    """One challenge playlist: pid, optional title, seed tracks and their positions.

    Parameters
    ----------
    pid : int
        Playlist id.
    name : str or None
        Title; None when hidden.
    seed_uris : list of str
        Seed track URIs.
    seed_positions : list of int
        Their positions in the original playlist.
    num_holdouts, num_tracks : int, optional
        Held-out and total track counts, as given in the file.
    """

    pid: int
    name: str | None
    seed_uris: list[str]
    seed_positions: list[int]
    num_holdouts: int | None = None
    num_tracks: int | None = None

    @property
    def category(self) -> str:
        """Challenge category label (see :data:`CATEGORIES`)."""
        return category_of(self.name is not None, self.seed_positions)


@dataclass
class Challenge:
    """A parsed challenge set, playlists in file order.

    Parameters
    ----------
    playlists : list of ChallengePlaylist
        The playlists.
    path : str
        The file read.
    info : dict
        The file's other top-level keys (``date``, ``version`` ...).
    """

    playlists: list[ChallengePlaylist]
    path: str = ""
    info: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.playlists)

    @property
    def pids(self) -> list[int]:
        """Pids in file order."""
        return [p.pid for p in self.playlists]

    def by_pid(self) -> dict[int, ChallengePlaylist]:
        """Index the playlists by pid.

        Returns
        -------
        dict[int, ChallengePlaylist]
            Pid -> playlist, in file order.
        """
        return {p.pid: p for p in self.playlists}


def _load_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ApcInputError("no such file", file=str(path))
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except json.JSONDecodeError as e:
        raise ApcInputError(f"malformed JSON ({e})", file=str(path)) from e
    if not isinstance(data, dict) or not isinstance(data.get("playlists"), list):
        raise ApcInputError(
            "expected an object with a 'playlists' list", file=str(path), field="playlists"
        )
    return data


def _int(value: Any, file: str, record: str, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApcInputError(
            f"expected an integer, got {value!r}", file=file, record=record, field=name
        )
    return value


def parse_playlist_tracks(tracks: Any, file: str, record: str) -> tuple[list[str], list[int]]:
    """Read the track URIs and positions of an MPD track list.

    Parameters
    ----------
    tracks : Any
        The record's ``tracks`` value: a list of objects with ``track_uri`` and,
        optionally, ``pos``.
    file : str
        Source file, for error messages.
    record : str
        Record description (``pid 7``), for error messages.

    Returns
    -------
    track_uris : list of str
    positions : list of int
        Each track's ``pos``, or its index in the list when absent.

    Raises
    ------
    ApcInputError
        If ``tracks`` is not a list, a track has no ``track_uri`` or a ``pos`` is not
        an integer.
    """
    if not isinstance(tracks, list):
        raise ApcInputError("expected a list of tracks", file=file, record=record, field="tracks")
    uris, positions = [], []
    for j, t in enumerate(tracks):
        if not isinstance(t, dict) or not isinstance(t.get("track_uri"), str) or not t["track_uri"]:
            raise ApcInputError(
                "track without a 'track_uri'",
                file=file,
                record=f"{record} track {j}",
                field="track_uri",
            )
        uris.append(t["track_uri"])
        positions.append(_int(t.get("pos", j), file, f"{record} track {j}", "pos"))
    return uris, positions


def read_challenge(path: str | Path) -> Challenge:
    """Read ``challenge_set.json`` (official format, or one written by :mod:`apc.mpd.offline`).

    Parameters
    ----------
    path : str or Path
        The challenge-set file.

    Returns
    -------
    Challenge
        The playlists in file order; the other top-level keys go to ``info``.

    Raises
    ------
    ApcInputError
        On a missing file, malformed JSON, a playlist without ``pid`` or a track
        without ``track_uri``, or a duplicate pid.
    """
    path = Path(path)
    data = _load_json(path)
    out, seen = [], set()
    for i, p in enumerate(data["playlists"]):
        record = f"playlists[{i}]"
        if not isinstance(p, dict) or "pid" not in p:
            raise ApcInputError(
                "playlist without 'pid'", file=str(path), record=record, field="pid"
            )
        pid = _int(p["pid"], str(path), record, "pid")
        if pid in seen:
            raise ApcInputError(f"duplicate pid {pid}", file=str(path), record=record, field="pid")
        seen.add(pid)
        uris, positions = parse_playlist_tracks(p.get("tracks", []), str(path), f"pid {pid}")
        name = p.get("name")
        out.append(
            ChallengePlaylist(
                pid,
                None if name is None else str(name),
                uris,
                positions,
                p.get("num_holdouts"),
                p.get("num_tracks"),
            )
        )
    info = {k: v for k, v in data.items() if k != "playlists"}
    return Challenge(out, str(path), info)
