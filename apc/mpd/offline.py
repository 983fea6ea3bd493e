"""An offline RecSys Challenge: a (train slices, challenge_set.json, heldout.json) triple.

The official ground truth of the 2018 challenge set was never published, so offline
scoring needs a challenge set built from playlists whose full track lists are known.
:func:`make_offline_challenge` draws held-out playlists from a corpus (usually MPD
slices) into the ten official categories (Chen et al. 2018;
:data:`apc.datasets.mpd_categories.CATEGORIES`), writes

* ``train/`` — the remaining playlists as MPD slice files (``mpd.slice.*.json``);
* ``challenge_set.json`` — the official challenge format: for each held-out playlist
  its ``pid``, ``name`` (only in title categories), ``num_samples``, ``num_holdouts``,
  ``num_tracks`` and the seed ``tracks`` with their ``pos``;
* ``heldout.json`` — the answers (format ``apc-mpd-heldout``, version 1)::

      {"info": {"format": "apc-mpd-heldout", "version": 1, ...},
       "playlists": [{"pid": 7, "name": "...", "category": "title_first5",
                      "num_samples": 5, "num_holdouts": 40, "num_tracks": 45,
                      "tracks": [{"pos": 5, "track_uri": "...", "artist_uri": "...",
                                  "artist_name": "...", "track_name": "..."}, ...]}]}

  ``tracks`` lists the *held-out* tracks only (MPD track records, with ``pos``);
  ``artist_uri``/``artist_name`` give the artist matches of ``rprec_mpd``.

Choices made here (the official sampling constraints were not published in full):
a playlist is eligible for a category with ``n`` seeds when it has at least
``n + min_holdouts`` tracks (and a non-empty name for title categories); categories
are filled from the largest ``n`` down, so long playlists are not used up by short
categories; random-seed categories draw their seed positions uniformly. A held-out
track that repeats one of its playlist's seed tracks can never be recommended (seed
tracks are excluded from every answer), so it is dropped from the answers and counted
(``heldout_seed_repeats_dropped``), as the evaluation protocols drop targets that repeat
a seed; ``num_holdouts`` counts the answers kept (a playlist left with none stays in
training, counted as ``playlists_left_in_train_no_answer``). The official set holds out 10,000 of
1,000,000 playlists (1%); holding out more than :data:`MAX_CHALLENGE_SHARE` of a corpus
raises a :class:`~apc.errors.DataWarning`, because the training side then differs from
the corpus much more than in the challenge.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from apc._atomic import atomic_dir, check_out_dir, check_separate
from apc.datasets.mpd_categories import CATEGORIES, check_categories, eligible, fill_order
from apc.errors import ApcInputError, DataWarning

#: Share of the corpus above which holding playlists out warns (the official set: 1%).
MAX_CHALLENGE_SHARE = 0.10


@dataclass
class OfflineChallenge:
    """Paths written and counts of an offline challenge.

    Parameters
    ----------
    out : Path
        The output folder.
    train_dir : Path
        MPD slice files of the training playlists.
    challenge : Path
        ``challenge_set.json``.
    heldout : Path
        ``heldout.json`` (the answers).
    counts : dict
        Category -> challenge playlists drawn.
    report : dict
        Corpus, train and challenge sizes, the challenge's share of the corpus,
        held-out tracks (distinct, unseen in training), answers dropped for repeating a
        seed track, seed and ``min_holdouts``.
    """

    out: Path
    train_dir: Path
    challenge: Path
    heldout: Path
    counts: dict[str, int] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)


def _column(frame, *names):
    for name in names:
        if name in frame.columns:
            return frame[name].to_numpy()
    return None


class _TrackRecords:
    """MPD track records (``track_uri``, ``track_name``, ``artist_*``) by track index."""

    def __init__(self, pl) -> None:
        self.uris = pl.tracks["track_id"].astype(str).to_numpy()
        self.names = _column(pl.tracks, "track_name", "title", "name")
        art = pl.track_artists
        artist_names = _column(pl.artists, "name", "artist_name")
        artist_ids = _column(pl.artists, "artist_id")
        self.artist_name = np.full(len(art), None, dtype=object)
        self.artist_uri = np.full(len(art), None, dtype=object)
        known = art >= 0
        if artist_names is not None:
            self.artist_name[known] = artist_names[art[known]]
        if artist_ids is not None:
            self.artist_uri[known] = artist_ids[art[known]]

    def record(self, i: int, pos: int) -> dict[str, Any]:
        rec: dict[str, Any] = {"pos": int(pos), "track_uri": str(self.uris[i])}
        if self.names is not None and self.names[i] is not None:
            rec["track_name"] = str(self.names[i])
        if self.artist_name[i] is not None:
            rec["artist_name"] = str(self.artist_name[i])
        # artists keyed by name (no URI in the source) get no artist_uri
        if self.artist_uri[i] is not None and str(self.artist_uri[i]).startswith("spotify:artist:"):
            rec["artist_uri"] = str(self.artist_uri[i])
        return rec


def assign_categories(
    lengths: np.ndarray,
    has_title: np.ndarray,
    n_per_category: int,
    *,
    min_holdouts: int = 5,
    seed: int = 0,
    categories: tuple[str, ...] = tuple(CATEGORIES),
) -> dict[str, np.ndarray]:
    """Draw playlist rows for each category (no playlist twice), largest seed count first.

    Parameters
    ----------
    lengths : np.ndarray
        int (P,): length of each playlist.
    has_title : np.ndarray
        bool (P,): whether each playlist has a title.
    n_per_category : int
        Playlists per category; fewer when not enough are eligible.
    min_holdouts : int, default 5
        Least number of held-out tracks: a category with ``n`` seeds needs playlists of
        at least ``n + min_holdouts`` tracks (and a title for the title categories).
    seed : int, default 0
        Seed of the draw.
    categories : tuple of str
        Categories to fill (default all ten).

    Returns
    -------
    dict[str, np.ndarray]
        Category -> sorted playlist rows, in the order of ``categories``.
    """
    rng = np.random.default_rng(seed)
    taken = np.zeros(len(lengths), dtype=bool)
    out: dict[str, np.ndarray] = {}
    for cat in fill_order(list(categories)):
        cand = np.flatnonzero(~taken & eligible(cat, lengths, has_title, min_holdouts=min_holdouts))
        pick = np.sort(rng.choice(cand, size=min(n_per_category, len(cand)), replace=False))
        taken[pick] = True
        out[cat] = pick
    return {c: out[c] for c in categories}


def make_offline_challenge(
    source,
    out: str | Path,
    *,
    n_per_category: int = 1000,
    min_holdouts: int = 5,
    seed: int = 0,
    categories: tuple[str, ...] = tuple(CATEGORIES),
    overwrite: bool = False,
) -> OfflineChallenge:
    """Build an offline challenge from a corpus and write it to ``out`` (atomically).

    Parameters
    ----------
    source : Playlists or str or Path
        The corpus: a :class:`~apc.data.playlists.Playlists`, or anything
        :func:`apc.datasets.load_corpus` reads (an MPD slice folder, a saved corpus).
    out : path
        Output folder; receives ``train/``, ``challenge_set.json`` and ``heldout.json``.
    n_per_category : int
        Playlists per category (the official set has 1,000); fewer when not enough
        playlists are eligible (a :class:`~apc.errors.DataWarning` says so).
    min_holdouts : int
        Least number of held-out tracks per challenge playlist.
    seed : int
        Seed of the draw.
    categories : tuple of str
        Categories to build (default all ten).
    overwrite : bool, default False
        Replace an existing offline challenge at ``out``; a folder holding anything
        else is never replaced.

    Returns
    -------
    OfflineChallenge

    Raises
    ------
    ApcInputError
        Before anything is read, when ``out`` is the source, lies inside it or holds
        it, or may not be replaced (:func:`apc._atomic.check_out_dir`); when no
        playlist is eligible for any category (an empty or too-short corpus).
    """
    from apc.data.playlists import Playlists
    from apc.datasets.mpd import write_mpd_slices

    if not isinstance(source, Playlists) and Path(str(source)).exists():
        check_separate(source, out)
    check_out_dir(out, "challenge", overwrite=overwrite)
    if isinstance(source, Playlists):
        pl = source
    else:
        from apc.datasets import load_corpus

        pl = load_corpus(source)
    check_categories(categories)
    if n_per_category < 1 or min_holdouts < 1:
        raise ApcInputError("n_per_category and min_holdouts must be >= 1", field="n_per_category")
    names = _column(pl.meta, "name")
    names = np.full(len(pl), None, dtype=object) if names is None else names
    has_title = np.array([isinstance(n, str) and n.strip() != "" for n in names], dtype=bool)
    pids = _column(pl.meta, "pid", "playlist_id")
    pids = np.arange(len(pl)) if pids is None else pids
    try:
        pids = np.asarray(pids).astype(np.int64)
    except (TypeError, ValueError):  # non-numeric playlist ids: number them
        pids = np.arange(len(pl), dtype=np.int64)
    rows = assign_categories(
        pl.lengths,
        has_title,
        n_per_category,
        min_holdouts=min_holdouts,
        seed=seed,
        categories=categories,
    )
    if not any(len(r) for r in rows.values()):
        raise ApcInputError(
            f"no playlist of {len(pl):,} is long enough for any challenge category "
            f"(with min_holdouts={min_holdouts}); nothing to hold out",
            file=None if isinstance(source, Playlists) else str(source),
        )
    short = {c: len(r) for c, r in rows.items() if len(r) < n_per_category}
    if short:
        warnings.warn(
            f"not enough eligible playlists for {short} (asked {n_per_category} each)",
            DataWarning,
            stacklevel=2,
        )
    rng = np.random.default_rng([seed, 1])
    records = _TrackRecords(pl)
    challenge, heldout = [], []
    held_rows = []
    seed_repeats = no_answer = 0
    for cat in categories:
        n, title, random = CATEGORIES[cat]
        for p in rows[cat]:
            tracks = pl[int(p)]
            positions = (
                np.sort(rng.choice(len(tracks), size=n, replace=False)) if random else np.arange(n)
            )
            hidden = np.setdiff1d(np.arange(len(tracks)), positions)
            # an answer repeating a seed track can never be hit: drop it, count it
            repeats = np.isin(tracks[hidden], tracks[positions])
            seed_repeats += int(repeats.sum())
            hidden = hidden[~repeats]
            if len(hidden) == 0:  # every answer repeats a seed: nothing to score, keep it
                no_answer += 1  # in training
                continue
            entry = {"pid": int(pids[p])}
            if title:
                entry["name"] = str(names[p])
            entry.update(
                num_samples=int(n), num_holdouts=int(len(hidden)), num_tracks=int(len(tracks))
            )
            challenge.append(
                {**entry, "tracks": [records.record(int(tracks[i]), i) for i in positions]}
            )
            truth = {
                "pid": int(pids[p]),
                "name": None if names[p] is None else str(names[p]),
                "category": cat,
                "num_samples": int(n),
                "num_holdouts": int(len(hidden)),
                "num_tracks": int(len(tracks)),
                "tracks": [records.record(int(tracks[i]), i) for i in hidden],
            }
            heldout.append(truth)
            held_rows.append(int(p))
    held = np.zeros(len(pl), dtype=bool)
    held[held_rows] = True
    train = pl.subset(~held)
    seen = np.zeros(pl.n_tracks, dtype=bool)
    seen[train.items] = True
    hidden_uris = {t["track_uri"] for h in heldout for t in h["tracks"]}
    uri_index = {u: i for i, u in enumerate(records.uris)}
    unseen = sum(not seen[uri_index[u]] for u in hidden_uris)
    share = len(challenge) / max(1, len(pl))
    if share > MAX_CHALLENGE_SHARE:
        warnings.warn(
            f"the challenge holds out {len(challenge):,} of {len(pl):,} playlists "
            f"({share:.0%}, above {MAX_CHALLENGE_SHARE:.0%}; the official set holds out 1%): "
            f"training keeps {len(train):,}; lower per_category for a training side closer "
            "to the corpus",
            DataWarning,
            stacklevel=2,
        )
    report = {
        "corpus_playlists": len(pl),
        "train_playlists": len(train),
        "challenge_playlists": len(challenge),
        "challenge_share": round(share, 4),
        "heldout_tracks_distinct": len(hidden_uris),
        "heldout_tracks_unseen_in_train": int(unseen),
        "heldout_seed_repeats_dropped": seed_repeats,
        "playlists_left_in_train_no_answer": no_answer,
        "seed": seed,
        "min_holdouts": min_holdouts,
    }
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    out = Path(out)
    with atomic_dir(out, kind="challenge", overwrite=overwrite) as tmp:
        write_mpd_slices(train, tmp / "train")
        (tmp / "challenge_set.json").write_text(
            json.dumps(
                {"date": now, "version": "apc-offline-v1", "playlists": challenge},
                ensure_ascii=False,
            )
        )
        (tmp / "heldout.json").write_text(
            json.dumps(
                {
                    "info": {"format": "apc-mpd-heldout", "version": 1, "date": now, **report},
                    "playlists": heldout,
                },
                ensure_ascii=False,
            )
        )
    counts = {c: sum(h["category"] == c for h in heldout) for c in rows}
    return OfflineChallenge(
        out, out / "train", out / "challenge_set.json", out / "heldout.json", counts, report
    )
