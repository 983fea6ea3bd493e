"""Score a RecSys Challenge 2018 submission offline with the challenge's three metrics.

``apc mpd score submission.csv --truth heldout.json`` computes, per challenge playlist,
the three metrics of the challenge (Chen et al. 2018; Zamani et al. 2019) in the
readings the organisers' own code used (see :mod:`apc.evaluation.metrics.mpd` for the
evidence and the other published readings), through
:func:`apc.evaluation.evaluate.score_recommendations` (the one scoring path):

* ``rprec_mpd`` — R-precision over the first R = |G| recommendations, distinct tracks,
  plus 0.25 per distinct held-out artist of a non-matching recommended track there
  (the organisers' artist-fallback gist; in [0, 1]);
* ``ndcg_mpd`` — NDCG over the 500 recommendations with discount 1/log2(rank + 1) and
  the ideal DCG of min(|G|, 500) hits (the organisers' ``metrics.py``);
* ``clicks_mpd`` — recommended-songs clicks: ``floor((rank of first relevant - 1) / 10)``,
  51 when no relevant track is among the 500 (lower is better);

``metrics=`` (``apc mpd score --all-readings``) adds the other readings side by side
(:data:`ALL_READINGS`: the paper's literal R-precision, apc's earlier strict one, the
winners' evaluator, the rules page's NDCG). Every rendered score ends with the
definition of each column.

and reports them overall (mean over playlists, each playlist weighing the same, as
in the challenge) and per category. ``heldout.json`` is the answer file written by
:func:`apc.mpd.offline.make_offline_challenge` (format ``apc-mpd-heldout``): for each
pid the held-out tracks as MPD track records. Artists of recommended tracks that do
not occur in the held-out file are looked up in ``train`` when given (an MPD slice
folder or a saved corpus); without it they count as unknown artists, which can only
lower ``rprec_mpd``'s artist credit.

References
----------
C.-W. Chen, P. Lamere, M. Schedl and H. Zamani, "Recsys Challenge 2018: Automatic
Music Playlist Continuation", RecSys 2018, doi:10.1145/3240323.3240342.

H. Zamani, M. Schedl, P. Lamere and C.-W. Chen, "An analysis of approaches taken in
the ACM RecSys Challenge 2018 for automatic music playlist continuation", *ACM TIST*
10(5), 2019, doi:10.1145/3344257.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from apc.datasets.mpd_categories import CATEGORIES, category_of
from apc.datasets.mpd_challenge import (
    Challenge,
    ChallengePlaylist,
    parse_playlist_tracks,
    read_challenge,
)
from apc.errors import ApcInputError, read_text
from apc.mpd.submission import N_TRACKS, check_rows, parse_submission

#: The challenge's three metrics, in the readings of the organisers' code.
OFFICIAL = ("rprec_mpd", "ndcg_mpd", "clicks_mpd")
#: Every published reading of the three metrics (see :mod:`apc.evaluation.metrics.mpd`).
ALL_READINGS = OFFICIAL + ("rprec_mpd_paper", "rprec_mpd_strict", "rprec_mpd_vl6",
                           "ndcg_mpd_rules")


@dataclass
class Truth:
    """Held-out tracks (and their artists) per pid, in file order.

    Parameters
    ----------
    pids : list of int
        Pids in file order.
    tracks : dict
        Pid -> held-out track URIs.
    categories : dict
        Pid -> challenge category.
    artists : dict
        Track URI -> artist key (URI or name).
    path : str
        The file read.
    """

    pids: list[int]
    tracks: dict[int, list[str]]
    categories: dict[int, str]
    artists: dict[str, str]  # track uri -> artist key
    path: str = ""


def read_heldout(path: str | Path) -> Truth:
    """Read a ``heldout.json`` answer file (see module docstring).

    Parameters
    ----------
    path : str or Path
        The answer file.

    Returns
    -------
    Truth
        Held-out track URIs per pid, the category of each pid (from ``category``, or
        derived from ``num_samples``; ``"unknown"`` when neither is given) and the
        artist of each held-out track where the file names one.

    Raises
    ------
    ApcInputError
        On a missing file, malformed JSON, a playlist without an integer ``pid``, a
        duplicate pid, a malformed track or a playlist without held-out tracks.
    """
    path = Path(path)
    file = str(path)
    if not path.is_file():
        raise ApcInputError("no such truth file", file=file)
    try:
        data = json.loads(read_text(path, what="truth file"))
    except json.JSONDecodeError as e:
        raise ApcInputError(f"malformed JSON ({e})", file=file) from e
    if not isinstance(data, dict) or not isinstance(data.get("playlists"), list):
        raise ApcInputError(
            "expected an object with a 'playlists' list", file=file, field="playlists"
        )
    pids, tracks, cats, artists = [], {}, {}, {}
    for i, p in enumerate(data["playlists"]):
        if (
            not isinstance(p, dict)
            or not isinstance(p.get("pid"), int)
            or isinstance(p.get("pid"), bool)
        ):
            raise ApcInputError(
                "playlist without an integer 'pid'",
                file=file,
                record=f"playlists[{i}]",
                field="pid",
            )
        pid = p["pid"]
        if pid in tracks:
            raise ApcInputError(
                f"duplicate pid {pid}", file=file, record=f"playlists[{i}]", field="pid"
            )
        uris, _ = parse_playlist_tracks(p.get("tracks", []), file, f"pid {pid}")
        if not uris:
            raise ApcInputError(
                "no held-out tracks", file=file, record=f"pid {pid}", field="tracks"
            )
        for t in p["tracks"]:
            key = t.get("artist_uri") or t.get("artist_name")
            if key:
                artists[t["track_uri"]] = str(key)
        pids.append(pid)
        tracks[pid] = uris
        cat = p.get("category")
        if not cat:
            n = p.get("num_samples")
            cat = (
                "unknown"
                if n is None
                else category_of(p.get("name") is not None, list(range(int(n))))
            )
        cats[pid] = str(cat)
    return Truth(pids, tracks, cats, artists, file)


def _artists_from_corpus(spec: str | Path) -> dict[str, str]:
    from apc.datasets import load_corpus

    pl = load_corpus(spec)
    art = pl.track_artists
    ids = pl.artists["artist_id"].astype(str).to_numpy() if "artist_id" in pl.artists else None
    uris = pl.tracks["track_id"].astype(str).to_numpy()
    if ids is None:
        return {}
    known = art >= 0
    return dict(zip(uris[known], ids[art[known]], strict=True))


@dataclass
class Score:
    """Per-playlist values, the overall means and the per-category means.

    Parameters
    ----------
    per_playlist : pd.DataFrame
        ``pid``, ``category`` and one column per metric of ``metrics``.
    overall : dict
        Metric -> mean over playlists.
    by_category : pd.DataFrame
        Indexed by category (challenge order): ``playlists`` and the metric means.
    metrics : tuple of str, default :data:`OFFICIAL`
        The metric names (columns), each a registered reading.
    """

    per_playlist: pd.DataFrame
    overall: dict[str, float]
    by_category: pd.DataFrame
    metrics: tuple[str, ...] = OFFICIAL

    def to_markdown(self) -> str:
        """Render the score as markdown tables (overall, per category, then what each is).

        Returns
        -------
        str
        """
        from apc.evaluation.metrics import describe

        lines = ["| metric | value |", "|---|---:|"]
        lines += [f"| {k} | {v:.4f} |" for k, v in self.overall.items()]
        lines += [
            "",
            "| category | playlists | " + " | ".join(self.metrics) + " |",
            "|---|---:|" + "---:|" * len(self.metrics),
        ]
        for cat, row in self.by_category.iterrows():
            lines.append(
                f"| {cat} | {int(row['playlists'])} | "
                + " | ".join(f"{row[m]:.4f}" for m in self.metrics)
                + " |"
            )
        lines += ["", "Readings:", ""] + [f"- {describe(m)}" for m in self.metrics]
        return "\n".join(lines) + "\n"


def score_rows(
    rows: dict[int, list[str]], truth: Truth, *, artists: dict[str, str] | None = None,
    metrics: tuple[str, ...] = OFFICIAL,
) -> Score:
    """Compute the challenge's metrics of ranked lists against the truth.

    Parameters
    ----------
    rows : dict[int, list of str]
        Pid -> ranked track URIs; a pid of ``truth`` missing here gets an empty list.
    truth : Truth
        The held-out tracks.
    artists : dict[str, str], optional
        Track URI -> artist key for recommended tracks not in ``truth`` (the truth's
        own artists take precedence).
    metrics : tuple of str, default :data:`OFFICIAL`
        Registered metrics without a cut-off, e.g. :data:`ALL_READINGS`.

    Returns
    -------
    Score
        Per-playlist values of ``metrics``, their means and per-category means.
    """
    from apc.data.playlists import Playlists
    from apc.data.queries import Queries, Recommendations
    from apc.evaluation.evaluate import score_recommendations

    art_of = dict(artists or {})
    art_of.update(truth.artists)
    pids = truth.pids
    vocab: dict[str, int] = {}
    for pid in pids:
        for u in truth.tracks[pid]:
            vocab.setdefault(u, len(vocab))
        for u in rows.get(pid, ()):
            vocab.setdefault(u, len(vocab))
    width = max([len(rows.get(pid, ())) for pid in pids] + [1])
    items = np.full((len(pids), width), -1, dtype=np.int32)
    for r, pid in enumerate(pids):
        ranked = rows.get(pid, [])
        items[r, : len(ranked)] = [vocab[u] for u in ranked]
    uris = np.array(list(vocab), dtype=object)
    artist_keys = [art_of.get(u) for u in uris]
    artist_ids = {
        a: i for i, a in enumerate(dict.fromkeys(a for a in artist_keys if a is not None))
    }
    track_artist = np.array(
        [artist_ids.get(a, -1) if a is not None else -1 for a in artist_keys], dtype=np.int32
    )
    catalogue = Playlists(
        np.zeros(1, dtype=np.int64),
        np.zeros(0, dtype=np.int32),
        pd.DataFrame({"track_id": uris, "artist": track_artist}),
        pd.DataFrame({"artist_id": pd.Series(list(artist_ids), dtype=object)}),
        pd.DataFrame({"playlist_id": pd.Series([], dtype=np.int64)}),
    )
    targets = [np.array([vocab[u] for u in truth.tracks[pid]], dtype=np.int32) for pid in pids]
    queries = Queries.from_lists(
        [[] for _ in pids],
        targets,
        n_tracks=len(uris),
        playlist_ids=np.array(pids),
        category=np.array([truth.categories[p] for p in pids], dtype=object),
    )
    scores = np.where(items >= 0, -np.arange(width, dtype=np.float32)[None, :], -np.inf).astype(
        np.float32
    )
    recs = Recommendations(items, scores)
    metrics = tuple(metrics)
    long = score_recommendations(recs, queries, catalogue, list(metrics), model="submission",
                                 dataset="mpd", protocol="mpd-challenge", seed=0)
    values = long.pivot(index="query", columns="label", values="value")
    frame = pd.DataFrame({"pid": pids, "category": [truth.categories[p] for p in pids]})
    for m in metrics:
        frame[m] = values[m].to_numpy(dtype=np.float64)
    overall = {m: float(frame[m].mean()) for m in metrics}
    by_cat = frame.groupby("category")[list(metrics)].mean()
    by_cat.insert(0, "playlists", frame.groupby("category").size())
    order = [c for c in CATEGORIES if c in by_cat.index] + sorted(
        c for c in by_cat.index if c not in CATEGORIES
    )
    return Score(frame, overall, by_cat.loc[order], metrics)


def score_submission(
    submission: str | Path,
    truth: str | Path | Truth,
    *,
    train: str | Path | None = None,
    challenge: str | Path | None = None,
    metrics: tuple[str, ...] = OFFICIAL,
) -> Score:
    """Validate a submission against the truth's pids (and ``challenge`` seeds) and score it.

    Parameters
    ----------
    submission : str or Path
        Submission CSV.
    truth : str, Path or Truth
        ``heldout.json`` or a parsed :class:`Truth`.
    train : str or Path, optional
        Corpus whose artists are used for recommended tracks not in the truth file.
    challenge : str or Path, optional
        ``challenge_set.json``; when given, recommending a seed track is an error too.
    metrics : tuple of str, default :data:`OFFICIAL`
        The readings to compute (:data:`ALL_READINGS` for every published one).

    Returns
    -------
    Score

    Raises
    ------
    ApcInputError
        When the submission is not valid (wrong counts, duplicates, missing or extra
        pids, seed tracks when ``challenge`` is given), naming the first problem.
    """
    from apc.mpd.submission import _raise

    truth = truth if isinstance(truth, Truth) else read_heldout(truth)
    sub, problems = parse_submission(submission)
    if challenge is not None:
        ch = read_challenge(challenge)
        if set(ch.pids) != set(truth.pids):
            raise ApcInputError(
                "the challenge set and the truth file hold different pids", file=str(challenge)
            )
    else:
        ch = Challenge([ChallengePlaylist(pid, None, [], []) for pid in truth.pids], truth.path)
    problems += check_rows(sub.rows, ch, lines=sub.lines, n_tracks=N_TRACKS)
    if problems:
        _raise(problems, str(submission))
    artists = _artists_from_corpus(train) if train is not None else None
    return score_rows(sub.rows, truth, artists=artists, metrics=metrics)


def overall_dict(score: Score) -> dict[str, Any]:
    """Convert a score to a JSON-friendly dict.

    Parameters
    ----------
    score : Score
        The score.

    Returns
    -------
    dict
        ``overall`` (metric -> mean) and ``by_category`` (a list of records).
    """
    return {
        "overall": score.overall,
        "by_category": json.loads(score.by_category.reset_index().to_json(orient="records")),
    }
