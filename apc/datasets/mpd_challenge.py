"""The RecSys Challenge 2018 challenge-set file: pids, titles, seed tracks, categories.

:func:`read_challenge` is a light reader of ``challenge_set.json`` for validating and
scoring submissions; it needs no training data. :func:`read_challenge_set` maps the
seeds onto a training catalogue, as queries to recommend for. Each playlist's
category (:data:`apc.datasets.mpd_categories.CATEGORIES`) is recognised from its
title and seed positions.

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

import numpy as np

from apc.data.playlists import Playlists
from apc.data.queries import Queries
from apc.data.vocab import Vocabulary
from apc.datasets.mpd_categories import category_of
from apc.errors import ApcInputError, read_text


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
        """Challenge category label (see :data:`~apc.datasets.mpd_categories.CATEGORIES`)."""
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
        data = json.loads(read_text(path, what="challenge file"))
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


# ---------------------------------------------------------------------------- queries
def read_challenge_set(path: str | Path, train: Playlists) -> tuple[Queries, dict[str, int]]:
    """Read a RecSys Challenge 2018 ``challenge_set.json`` as queries over ``train``.

    The file is parsed and validated by :func:`read_challenge`
    (integer unique pids, a ``track_uri`` on every seed track); playlists may lack
    ``name`` and may have no tracks. Seeds are put in ``pos`` order and mapped onto
    ``train``'s catalogue by track URI; unknown seed tracks are dropped and counted.
    Targets are empty (the answers are not public).

    Parameters
    ----------
    path : path
        ``challenge_set.json`` (official, or written by :mod:`apc.mpd.offline`).
    train : Playlists
        The training corpus whose ``tracks["track_id"]`` are the recommendable URIs.

    Returns
    -------
    queries : Queries
        ``playlist_ids`` = pids (int64), ``titles`` (object, None where no name),
        ``category`` = the challenge category (``title_only``, ``title_first1``, ...,
        ``title_random100``; see :data:`apc.datasets.mpd_categories.CATEGORIES`),
        ``seed_positions`` = the number of seed tracks given in the file.
    report : dict
        ``queries``, ``unknown_seed_tracks_dropped``, ``title_missing``,
        ``empty_seeds`` (queries left without a seed track) and of those
        ``all_seeds_unknown`` (seed tracks given, none known to ``train``): like the
        title-only playlists, these are answered by the title fallback where the model
        is wrapped in it (as ``apc mpd submit`` does), not by the model itself.

    Examples
    --------
    >>> q, report = read_challenge_set("challenge_set.json", train)  # doctest: +SKIP
    """
    ch = read_challenge(path)
    seed_uris: list[str] = []
    n_given = np.zeros(len(ch), dtype=np.int64)
    for q, p in enumerate(ch.playlists):
        order = np.argsort(p.seed_positions, kind="stable")
        seed_uris.extend(p.seed_uris[j] for j in order)
        n_given[q] = len(order)
    vocab = Vocabulary(train.tracks["track_id"].astype(str).to_numpy(dtype=object))
    idx = vocab.index(np.asarray(seed_uris, dtype=object), missing="negative") if seed_uris \
        else np.empty(0, np.int32)
    known = idx >= 0
    rows = np.repeat(np.arange(len(ch)), n_given)
    kept = np.bincount(rows[known], minlength=len(ch)).astype(np.int64)
    seeds_indptr = np.zeros(len(ch) + 1, dtype=np.int64)
    np.cumsum(kept, out=seeds_indptr[1:])
    titles = np.array([p.name for p in ch.playlists], dtype=object)
    queries = Queries(
        seeds_indptr, idx[known], np.zeros(len(ch) + 1, dtype=np.int64),
        np.empty(0, np.int32), train.n_tracks,
        playlist_ids=np.asarray(ch.pids, dtype=np.int64), titles=titles,
        category=np.array([p.category for p in ch.playlists], dtype=object),
        seed_positions=n_given,
    )
    report = {
        "queries": len(queries),
        "unknown_seed_tracks_dropped": int((~known).sum()),
        "title_missing": int(sum(p.name is None for p in ch.playlists)),
        "empty_seeds": int((kept == 0).sum()),
        "all_seeds_unknown": int(((kept == 0) & (n_given > 0)).sum()),
    }
    return queries, report


__all__ = ["Challenge", "ChallengePlaylist", "parse_playlist_tracks", "read_challenge",
           "read_challenge_set"]
