"""RecSys Challenge 2018 submission files: write them, and check them like the organisers.

The format (Chen et al. 2018; the challenge's ``verify_submission.py``)::

    team_info,<team name>,<contact email>
    <pid>, <track uri 1>, <track uri 2>, ..., <track uri 500>
    ...

* the first line that is not blank and not a ``#`` comment is ``team_info``;
* then one line per challenge playlist, every pid of the challenge set exactly once;
* each line lists exactly 500 distinct track URIs, none of them a seed track of that
  playlist (and, when the challenge set uses Spotify URIs, each ``spotify:track:...``).

:func:`check_submission` returns every problem it finds; :func:`validate_submission`
raises one :class:`~apc.errors.ApcInputError` naming the first; :func:`write_submission`
checks the rows before it writes, and writes atomically.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from apc._atomic import atomic_path, check_not_input
from apc.datasets.mpd_challenge import Challenge, read_challenge
from apc.errors import ApcInputError, not_utf8

#: Tracks per playlist in a submission.
N_TRACKS = 500
SPOTIFY_TRACK = re.compile(r"^spotify:track:[A-Za-z0-9]{22}$")
_EMAIL = re.compile(r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a submission: where (line, pid) and what.

    Parameters
    ----------
    line : int
        Line number in the file; 0 when the problem concerns no line (a pid missing
        from the file, an empty file): it is then named by its pid, or by nothing.
    pid : int or None
        The playlist concerned.
    message : str
        What is wrong.
    """

    line: int
    pid: int | None
    message: str

    def __str__(self) -> str:
        if not self.line:  # no line of the file holds it: never "line 0"
            return self.message if self.pid is None else f"pid {self.pid}: {self.message}"
        where = f"line {self.line}" + (f" (pid {self.pid})" if self.pid is not None else "")
        return f"{where}: {self.message}"


@dataclass
class Submission:
    """A parsed submission: team, email and the track list of each pid (file order).

    Parameters
    ----------
    team, email : str
        The ``team_info`` values.
    rows : dict
        Pid -> track URIs.
    lines : dict
        Pid -> line number.
    """

    team: str
    email: str
    rows: dict[int, list[str]] = field(default_factory=dict)
    lines: dict[int, int] = field(default_factory=dict)  # pid -> line number


def _team_problems(team: str, email: str, line: int) -> list[Problem]:
    out = []
    if not team.strip() or "," in team or "\n" in team:
        out.append(
            Problem(line, None, f"team name must be non-empty and contain no comma, got {team!r}")
        )
    if not _EMAIL.match(email.strip()):
        out.append(
            Problem(line, None, f"contact email {email!r} does not look like an email address")
        )
    return out


def parse_submission(path: str | Path) -> tuple[Submission, list[Problem]]:
    """Read a submission file leniently; return it with the format problems found.

    Duplicate pid lines keep the first occurrence (and are reported).

    Parameters
    ----------
    path : str or Path
        Submission CSV; blank lines and ``#`` comments are skipped.

    Returns
    -------
    submission : Submission
        What could be read (team and email are empty when the ``team_info`` line is
        missing or malformed).
    problems : list of Problem
        Format problems: ``team_info`` line, pids that are not integers, duplicate
        pids, an empty file.

    Raises
    ------
    ApcInputError
        If the file does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise ApcInputError("no such submission file", file=str(path))
    problems: list[Problem] = []
    sub: Submission | None = None
    with open(path, "rb") as f:  # bytes, so a bad byte is reported with its line
        for n, raw_bytes in enumerate(f, start=1):
            try:
                raw = raw_bytes.decode("utf-8-sig" if n == 1 else "utf-8")
            except UnicodeDecodeError as e:
                raise not_utf8(path, raw_bytes, e, line=n) from None
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            fields = [x.strip() for x in line.split(",")]
            if sub is None:
                if fields[0] != "team_info":
                    problems.append(
                        Problem(n, None, "the first line must be 'team_info,<team>,<email>'")
                    )
                    sub = Submission("", "")
                    # fall through: treat this line as a pid line as well
                else:
                    if len(fields) == 4 and fields[1] in ("main", "creative"):  # 2018 draft format
                        fields = [fields[0], fields[2], fields[3]]
                    if len(fields) != 3:
                        problems.append(
                            Problem(
                                n,
                                None,
                                f"team_info needs 2 values (team, email), got {len(fields) - 1}",
                            )
                        )
                        sub = Submission("", "")
                    else:
                        sub = Submission(fields[1], fields[2])
                        problems.extend(_team_problems(fields[1], fields[2], n))
                    continue
            try:
                pid = int(fields[0])
            except ValueError:
                problems.append(
                    Problem(n, None, f"expected a playlist id first, got {fields[0]!r}")
                )
                continue
            if pid in sub.rows:
                problems.append(
                    Problem(n, pid, f"pid {pid} appears again (first on line {sub.lines[pid]})")
                )
                continue
            sub.rows[pid] = fields[1:]
            sub.lines[pid] = n
    if sub is None:
        problems.append(Problem(0, None, "empty file: no team_info line and no playlists"))
        sub = Submission("", "")
    return sub, problems


def check_rows(
    rows: Mapping[int, Sequence[str]],
    challenge: Challenge,
    *,
    lines: Mapping[int, int] | None = None,
    n_tracks: int = N_TRACKS,
) -> list[Problem]:
    """Check pid -> track rows against a challenge set (counts, duplicates, seeds, pids).

    Parameters
    ----------
    rows : mapping of int to sequence of str
        Pid -> recommended track URIs.
    challenge : Challenge
        The challenge set.
    lines : mapping of int to int, optional
        Pid -> line number in the file, for the messages.
    n_tracks : int, default N_TRACKS
        Exact number of tracks each row must hold.

    Returns
    -------
    list of Problem
        Unknown and missing pids, wrong track counts, empty or duplicate URIs, seed
        tracks and (when the challenge set uses Spotify URIs) malformed URIs; empty
        when the rows are valid.
    """
    problems: list[Problem] = []
    lines = lines or {}
    by_pid = challenge.by_pid()
    spotify = (
        bool(challenge.playlists)
        and all(SPOTIFY_TRACK.match(u) for p in challenge.playlists for u in p.seed_uris)
        and any(p.seed_uris for p in challenge.playlists)
    )
    for pid, tracks in rows.items():
        line = lines.get(pid, 0)
        if pid not in by_pid:
            problems.append(Problem(line, pid, f"pid {pid} is not in the challenge set"))
            continue
        tracks = list(tracks)
        empty = [t for t in tracks if not t]
        if empty:
            problems.append(Problem(line, pid, f"{len(empty)} empty track URI(s)"))
        if len(tracks) != n_tracks:
            problems.append(
                Problem(line, pid, f"{len(tracks)} tracks, expected exactly {n_tracks}")
            )
        uniq, counts = np.unique(np.asarray(tracks, dtype=object).astype(str), return_counts=True)
        dups = uniq[counts > 1]
        if len(dups):
            problems.append(Problem(line, pid, f"{len(dups)} duplicate track(s), e.g. {dups[0]}"))
        seeds = set(by_pid[pid].seed_uris) & set(tracks)
        if seeds:
            problems.append(
                Problem(
                    line, pid, f"{len(seeds)} seed track(s) recommended, e.g. {sorted(seeds)[0]}"
                )
            )
        if spotify:
            bad = [t for t in tracks if t and not SPOTIFY_TRACK.match(t)]
            if bad:
                problems.append(
                    Problem(line, pid, f"{len(bad)} malformed track URI(s), e.g. {bad[0]!r}")
                )
    missing = [pid for pid in challenge.pids if pid not in rows]
    if missing:
        shown = ", ".join(map(str, missing[:5])) + (" ..." if len(missing) > 5 else "")
        problems.append(
            Problem(
                0, None, f"{len(missing)} challenge-set pid(s) missing from the file: {shown}"
            )
        )
    return problems


def check_submission(
    path: str | Path, challenge: Challenge | str | Path
) -> tuple[Submission, list[Problem]]:
    """Find every problem of a submission file against a challenge set.

    Parameters
    ----------
    path : str or Path
        Submission CSV.
    challenge : Challenge, str or Path
        The challenge set, or its ``challenge_set.json``.

    Returns
    -------
    submission : Submission
        What could be read.
    problems : list of Problem
        Format problems followed by those of :func:`check_rows`.
    """
    if not isinstance(challenge, Challenge):
        challenge = read_challenge(challenge)
    sub, problems = parse_submission(path)
    problems += check_rows(sub.rows, challenge, lines=sub.lines)
    return sub, problems


def _raise(problems: list[Problem], file: str) -> None:
    first = problems[0]
    more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
    raise ApcInputError(
        first.message + more,
        file=file,
        record=(f"line {first.line}" + (f", pid {first.pid}" if first.pid is not None else ""))
        if first.line
        else None,
    )


def validate_submission(path: str | Path, challenge: Challenge | str | Path) -> Submission:
    """Parse and check a submission; raise :class:`ApcInputError` on the first problem.

    Parameters
    ----------
    path : str or Path
        Submission CSV.
    challenge : Challenge, str or Path
        The challenge set, or its ``challenge_set.json``.

    Returns
    -------
    Submission
        The valid submission.

    Raises
    ------
    ApcInputError
        Naming the first problem (and how many more there are).

    Examples
    --------
    >>> validate_submission("submission.csv", "challenge_set.json")  # doctest: +SKIP
    """
    sub, problems = check_submission(path, challenge)
    if problems:
        _raise(problems, str(path))
    return sub


def write_submission(
    rows: Mapping[int, Sequence[str]],
    path: str | Path,
    *,
    team: str,
    email: str,
    challenge: Challenge | str | Path,
) -> Path:
    """Check ``rows`` (pid -> 500 track URIs) and write them in challenge order, atomically.

    Parameters
    ----------
    rows : mapping of int to sequence of str
        Pid -> recommended track URIs.
    path : str or Path
        Submission CSV to write; parent folders are created.
    team, email : str
        The ``team_info`` line.
    challenge : Challenge, str or Path
        The challenge set, or its ``challenge_set.json``.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ApcInputError
        When the rows or team information would make an invalid submission; nothing
        is written then.
    """
    if not isinstance(challenge, Challenge):
        challenge = read_challenge(challenge)
    path = Path(path)
    problems = _team_problems(team, email, 1) + check_rows(rows, challenge)
    if problems:
        _raise(problems, str(path))
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(f"team_info,{team.strip()},{email.strip()}\n")
        for pid in challenge.pids:
            f.write(f"{pid}, " + ", ".join(rows[pid]) + "\n")
    return path


def fill_rows(
    pids: Sequence[int],
    ranked: Sequence[Sequence[str]],
    seeds: Mapping[int, Sequence[str]],
    fallback: Sequence[str],
    *,
    n_tracks: int = N_TRACKS,
) -> tuple[dict[int, list[str]], dict[str, Any]]:
    """Turn model rankings into valid rows: drop seeds and repeats, top up from ``fallback``.

    Parameters
    ----------
    pids : sequence of int
        Challenge pids, aligned with ``ranked``.
    ranked : sequence of sequences of str
        Each pid's recommended track URIs, best first (may be shorter than ``n_tracks``
        or contain seeds when a model allows repeats).
    seeds : mapping
        pid -> seed track URIs.
    fallback : sequence of str
        A global ranking (e.g. most popular tracks) used to fill short lists.
    n_tracks : int, default N_TRACKS
        Length of every row.

    Returns
    -------
    rows : dict
        pid -> exactly ``n_tracks`` distinct non-seed URIs.
    report : dict
        ``filled_rows`` (rows that needed the fallback) and ``filled_tracks``.

    Raises
    ------
    ApcInputError
        If a row cannot reach ``n_tracks`` distinct non-seed tracks.
    """
    rows: dict[int, list[str]] = {}
    filled_rows = filled_tracks = 0
    for pid, ranking in zip(pids, ranked, strict=True):
        banned = set(seeds.get(pid, ()))
        out: list[str] = []
        taken: set[str] = set()
        for uri in ranking:
            if uri and uri not in banned and uri not in taken:
                out.append(uri)
                taken.add(uri)
                if len(out) == n_tracks:
                    break
        if len(out) < n_tracks:
            before = len(out)
            for uri in fallback:
                if uri not in banned and uri not in taken:
                    out.append(uri)
                    taken.add(uri)
                    if len(out) == n_tracks:
                        break
            filled_rows += 1
            filled_tracks += len(out) - before
        if len(out) < n_tracks:
            raise ApcInputError(
                f"only {len(out)} distinct non-seed tracks available for pid {pid}; "
                "the catalogue is too small "
                f"for a {n_tracks}-track submission",
                record=f"pid {pid}",
            )
        rows[pid] = out
    return rows, {"filled_rows": filled_rows, "filled_tracks": filled_tracks}


@dataclass
class SubmissionResult:
    """What :func:`make_submission` wrote and how many rows needed the fallback.

    Parameters
    ----------
    path : Path
        The submission file.
    report : dict
        Counts and timings (see :func:`make_submission`).
    """

    path: Path
    report: dict[str, Any]


def make_submission(
    model: str,
    train: str | Path,
    challenge: str | Path,
    out: str | Path,
    *,
    team: str,
    email: str,
    params: dict[str, Any] | None = None,
) -> SubmissionResult:
    """Fit ``model`` on ``train``, continue every challenge playlist, write a valid submission.

    Each list holds the model's top tracks with seeds and repeats removed, topped up
    from the training popularity ranking when the model returns fewer than 500
    (how often that happened is in the report). The file is validated before it is
    written, atomically.

    Parameters
    ----------
    model : str
        Registry name, entry point or ``pkg.module:Class``.
    train : path
        MPD slice folder or saved corpus to fit on (the catalogue of recommendable tracks).
    challenge : path
        ``challenge_set.json``.
    out : path
        Submission CSV to write.
    team, email : str
        The ``team_info`` line.
    params : dict, optional
        Model hyper-parameters.

    Returns
    -------
    SubmissionResult
        The path written and a report: playlists, fit and recommend seconds, rows
        and tracks filled from the fallback, pids the model returned nothing for,
        and counts from reading the challenge set (prefixed ``challenge_``).

    Raises
    ------
    ApcInputError
        On bad team information (before fitting), unreadable inputs, or rows that
        cannot make a valid submission.
    """
    import time

    from apc.datasets import load_corpus
    from apc.datasets.mpd_challenge import read_challenge_set
    from apc.models.fallback import with_title_fallback
    from apc.models.registry import create_model

    check_not_input(out, challenge, train)
    ch = read_challenge(challenge)
    _team = _team_problems(team, email, 1)  # fail before the (possibly long) fit
    if _team:
        _raise(_team, str(out))
    train_pl = load_corpus(str(train))
    queries, read_report = read_challenge_set(challenge, train_pl)
    m = with_title_fallback(create_model(model, params))  # title-only playlists
    t0 = time.perf_counter()
    m.fit(train_pl)
    fit_seconds = time.perf_counter() - t0
    longest = max([len(p.seed_uris) for p in ch.playlists] + [0])
    t0 = time.perf_counter()
    recs = m.recommend(queries, N_TRACKS + longest)
    rec_seconds = time.perf_counter() - t0
    uris = train_pl.tracks["track_id"].astype(str).to_numpy()
    items = np.asarray(recs.items)
    ranked = [[uris[i] for i in row if i >= 0] for row in items]
    by_pid = dict(zip([int(p) for p in queries.playlist_ids], ranked, strict=True))
    popularity = train_pl.item_popularity()
    order = np.argsort(-popularity, kind="stable")[: N_TRACKS + longest]
    rows, fill = fill_rows(
        ch.pids,
        [by_pid.get(pid, []) for pid in ch.pids],
        {p.pid: p.seed_uris for p in ch.playlists},
        uris[order],
    )
    path = write_submission(rows, out, team=team, email=email, challenge=ch)
    report = {
        "playlists": len(ch),
        "fit_seconds": round(fit_seconds, 3),
        "recommend_seconds": round(rec_seconds, 3),
        **fill,
        "missing_from_model": sum(pid not in by_pid for pid in ch.pids),
    }
    if isinstance(read_report, dict):
        report.update(
            {
                f"challenge_{k}": v
                for k, v in read_report.items()
                if isinstance(v, (int, float, str))
            }
        )
    return SubmissionResult(path, report)
