"""Evaluation protocols: a corpus in, a leak-free ``Split`` (train + queries + report) out.

Every protocol splits *by playlist*: a held-out (test) playlist never appears in
``train`` (strong generalisation), except under ``Continuation(generalisation="weak")``
where a test playlist's seed part is also a training playlist (Vall et al. 2019). The
track vocabulary is fixed on ``train``: seed and target tracks unseen in training are
dropped and counted (only ``ColdStartTracks`` keeps such tracks, on purpose). A target
that repeats a seed track of its own query is removed and counted (recommenders do not
repeat seed tracks), targets are distinct, and queries left without a target are
dropped and counted — nothing is silent: see :class:`SplitReport`.

Held-out playlists are drawn at random with an explicit ``seed`` or, with
``split_by="time"``, after a global time cut-off on the playlists' real ``timestamp``
(no timestamp is ever invented).

References
----------
G. Bonnin and D. Jannach, "Automated generation of music playlists: survey and
experiments", ACM Computing Surveys 47(2), 2014. A. Vall, M. Dorfer, H. Eghbal-zadeh,
M. Schedl, K. Burjorjee and G. Widmer, "Feature-combination hybrid recommender systems
for automated music playlist continuation", UMUAI 29, 2019. M. Ludewig and D. Jannach,
"Evaluation of session-based recommendation algorithms", UMUAI 28, 2018. C.-W. Chen,
P. Lamere, M. Schedl and H. Zamani, "Recsys Challenge 2018: Automatic Music Playlist
Continuation", RecSys 2018.
"""

from __future__ import annotations

import hashlib
import inspect
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from apc.data.playlists import Playlists
from apc.data.queries import Queries
from apc.errors import ApcInputError

# ---------------------------------------------------------------------------- values


@dataclass(frozen=True)
class SplitReport:
    """What a split did: counts of queries, dropped targets, empty seeds, duplicates.

    Parameters
    ----------
    protocol : str
        Registry name of the protocol.
    options : dict
        The protocol's options.
    seed : int
        Seed of the split.
    counts : dict
        ``train_playlists``, ``test_playlists``, ``queries``, ``empty_seeds``,
        ``oov_seed_tracks_dropped``, ``oov_targets_dropped``, ``seed_repeat_targets_dropped``,
        ``repeated_targets_dropped``, ``queries_without_target_dropped``,
        ``duplicate_playlists_across_sides``, and protocol-specific counts.
    notes : list of str
        Human-readable warnings (e.g. an unusually small side).
    """

    protocol: str
    options: dict[str, Any]
    seed: int
    counts: dict[str, int]
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return the report as a JSON-ready dict.

        Returns
        -------
        dict
            ``protocol``, ``options``, ``seed``, ``counts`` and ``notes``, with numpy
            scalars converted to Python numbers.
        """
        return {
            "protocol": self.protocol,
            "options": dict(self.options),
            "seed": int(self.seed),
            "counts": {k: _py(v) for k, v in self.counts.items()},
            "notes": list(self.notes),
        }


def _py(v):
    return v.item() if hasattr(v, "item") else v


@dataclass(frozen=True, eq=False)
class Split:
    """A split: the training corpus, the queries over its catalogue, and the report.

    Parameters
    ----------
    train : Playlists
        Training playlists, on their own track catalogue.
    queries : Queries
        Seeds and targets as indices into ``train.tracks``.
    report : SplitReport
        What the split did.
    """

    train: Playlists
    queries: Queries
    report: SplitReport

    def hash(self) -> str:
        """Hash the train playlists and the queries (identifies the split's content).

        Returns
        -------
        str
            Hex sha256 of the train CSR arrays, the seed and target arrays and the train
            track ids.
        """
        h = hashlib.sha256()
        for arr in (self.train.indptr, self.train.items, self.queries.seeds_indptr,
                    self.queries.seeds, self.queries.targets_indptr, self.queries.targets):
            h.update(np.ascontiguousarray(arr).tobytes())
        h.update(repr(self.train.tracks["track_id"].tolist()).encode())
        return h.hexdigest()


class SplitProtocol:
    """Base of the protocols: options in ``__init__``, ``split(data, seed=...)`` out.

    The parameters below are common to all protocols.

    Parameters
    ----------
    test_fraction : float
        Share of the playlists held out (default 0.1); ignored when ``n_test`` is set.
    n_test : int, optional
        Number of held-out playlists.
    split_by : {"random", "time"}
        Random held-out playlists, or the latest ones after a global cut-off on the
        ``timestamp`` column (training playlists all lie before it).
    """

    name: ClassVar[str] = ""
    min_length: int = 2

    def __init__(self, *, test_fraction: float = 0.1, n_test: int | None = None,
                 split_by: str = "random") -> None:
        self.test_fraction = test_fraction
        self.n_test = n_test
        self.split_by = split_by

    # -------------------------------------------------------------- options
    @classmethod
    def _option_names(cls) -> list[str]:
        names: list[str] = []
        for klass in cls.__mro__:
            if "__init__" in vars(klass):
                for p in inspect.signature(klass.__init__).parameters.values():
                    if p.name != "self" and p.kind == p.KEYWORD_ONLY and p.name not in names:
                        names.append(p.name)
        return names

    def options(self) -> dict[str, Any]:
        """Return the protocol's options (for reports and cache keys).

        Returns
        -------
        dict
            Keyword-only ``__init__`` parameter name -> current value, over the class
            hierarchy.
        """
        return {n: getattr(self, n) for n in self._option_names()}

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options().items())
        return f"{type(self).__name__}({opts})"

    def _check(self) -> None:
        if self.split_by not in ("random", "time"):
            raise ApcInputError(f"split_by must be 'random' or 'time', got {self.split_by!r}",
                                field="split_by")
        if self.n_test is None and not (0.0 < float(self.test_fraction) < 1.0):
            raise ApcInputError(f"test_fraction must lie in (0, 1), got {self.test_fraction}",
                                field="test_fraction")
        if self.n_test is not None and int(self.n_test) < 1:
            raise ApcInputError(f"n_test must be >= 1, got {self.n_test}", field="n_test")

    # -------------------------------------------------------------- template
    def split(self, data: Playlists, *, seed: int = 0) -> Split:
        """Split a corpus into train and queries (same ``seed`` -> same split).

        Parameters
        ----------
        data : Playlists
            The corpus.
        seed : int, default 0
            Seed of the random draws (held-out playlists, random seed positions, cold
            tracks).

        Returns
        -------
        Split
            The training corpus, the queries over its catalogue and the
            :class:`SplitReport`.

        Raises
        ------
        ApcInputError
            If an option is invalid, the corpus is empty, no playlist is long enough,
            or a time split finds no usable ``timestamp``.
        """
        self._check()
        if len(data) == 0:
            raise ApcInputError("cannot split an empty corpus", field="playlists")
        rng = np.random.default_rng(seed)
        test, train_rows = self._held_out(data, rng)
        counts: dict[str, int] = {}
        split = self._build(data, test, train_rows, rng, counts)
        counts["duplicate_playlists_across_sides"] = _duplicates_across(
            data, train_rows, test)
        notes = _notes(split, counts)
        report = SplitReport(self.name, self.options(), int(seed), counts, notes)
        return Split(split.train, split.queries, report)

    def _eligible(self, data: Playlists) -> np.ndarray:
        """Bool (P,): playlists that can be held out."""
        return data.lengths >= self.min_length

    def _held_out(self, data: Playlists, rng: np.random.Generator):
        eligible = np.flatnonzero(self._eligible(data))
        if len(eligible) == 0:
            raise ApcInputError(
                f"no playlist is long enough for {self.name} (needs >= {self.min_length} tracks)",
                field="playlists",
            )
        n = (
            int(self.n_test)
            if self.n_test is not None
            else int(round(self.test_fraction * len(data)))
        )
        n = max(1, min(n, len(eligible), len(data) - 1))
        if self.split_by == "random":
            test = np.sort(rng.choice(eligible, size=n, replace=False))
            train = np.setdiff1d(np.arange(len(data)), test)
            return test, train
        if data.meta is None or "timestamp" not in data.meta.columns:
            raise ApcInputError("split_by='time' needs a real 'timestamp' column in the playlist "
                                "metadata; this corpus has none", field="timestamp")
        ts = pd.to_numeric(data.meta["timestamp"], errors="coerce").to_numpy(dtype=np.float64)
        if np.isnan(ts).any():
            raise ApcInputError(f"{int(np.isnan(ts).sum())} playlists have no timestamp",
                                field="timestamp")
        order = np.argsort(ts, kind="stable")
        cutoff = ts[order[len(data) - n]]  # the latest n playlists (ties: all of them)
        after = ts >= cutoff
        test = np.flatnonzero(after & self._eligible(data))
        train = np.flatnonzero(~after)
        if len(train) == 0:
            raise ApcInputError("the time cut-off leaves no training playlist", field="timestamp")
        return test, train

    def _build(self, data, test, train_rows, rng, counts) -> Split:  # pragma: no cover
        raise NotImplementedError


# ---------------------------------------------------------------------------- helpers
def _offsets(lengths: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(l)`` for each length (vectorised)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.arange(total, dtype=np.int64) - starts


def _indptr(lengths: np.ndarray) -> np.ndarray:
    out = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=out[1:])
    return out


def _train_corpus(data: Playlists, train_rows: np.ndarray, extra=None,
                  keep_tracks: np.ndarray | None = None) -> tuple[Playlists, np.ndarray]:
    """Training playlists on their own catalogue; returns (train, old->new track map).

    ``extra`` = (indptr, items, meta) appended playlists (weak generalisation).
    ``keep_tracks`` = bool mask of tracks kept in the catalogue even when unused
    (cold-start tracks).
    """
    sub = data.subset(train_rows)
    if extra is not None:
        e_indptr, e_items, e_meta = extra
        indptr = np.concatenate([sub.indptr, sub.indptr[-1] + e_indptr[1:]])
        items = np.concatenate([sub.items, e_items])
        meta = pd.concat([sub.meta, e_meta], ignore_index=True)
        sub = sub.with_items(indptr, items, meta)
    used = np.zeros(data.n_tracks, dtype=bool)
    used[sub.items] = True
    if keep_tracks is not None:
        used |= keep_tracks
    kept = np.flatnonzero(used)
    remap = np.full(data.n_tracks, -1, dtype=np.int64)
    remap[kept] = np.arange(len(kept))
    tracks = data.tracks.iloc[kept].reset_index(drop=True)
    artists = data.artists
    if "artist" in tracks.columns and len(artists):
        art = tracks["artist"].to_numpy()
        used_art = np.unique(art[art >= 0])
        amap = np.full(len(artists), -1, dtype=np.int32)
        amap[used_art] = np.arange(len(used_art), dtype=np.int32)
        tracks["artist"] = np.where(art >= 0, amap[np.maximum(art, 0)], -1).astype(np.int32)
        artists = artists.iloc[used_art].reset_index(drop=True)
    info = dict(data.info, split="train")
    train = Playlists(
        sub.indptr, remap[sub.items].astype(np.int32), tracks, artists, sub.meta, info
    )
    return train, remap


def _dedupe_keep_first(q: np.ndarray, items: np.ndarray, n: int) -> np.ndarray:
    """Bool mask of the first occurrence of each (query, item) pair (order preserved)."""
    keep = np.zeros(len(q), dtype=bool)
    if len(q):
        _, first = np.unique(q.astype(np.int64) * n + items, return_index=True)
        keep[first] = True
    return keep


def make_queries(
    n_queries: int,
    seed_q: np.ndarray,
    seed_items: np.ndarray,
    target_q: np.ndarray,
    target_items: np.ndarray,
    remap: np.ndarray,
    n_tracks: int,
    counts: dict[str, int],
    *,
    playlist_ids: np.ndarray,
    titles: np.ndarray | None = None,
    category: np.ndarray | None = None,
    seed_positions: np.ndarray | None = None,
    drop_queries_with_oov_target: bool = False,
) -> Queries:
    """Map raw (query, track) seed and target entries onto the train catalogue.

    Entries must be grouped by query in ascending order and, inside a query, in
    playlist order. Unseen tracks are dropped and counted; targets repeating a seed
    track or an earlier target are dropped and counted; queries left without a target
    are dropped and counted; empty seeds are counted (and kept).

    Parameters
    ----------
    n_queries : int
        Number of candidate queries.
    seed_q, seed_items : np.ndarray
        Query index and source track index of each seed entry.
    target_q, target_items : np.ndarray
        Query index and source track index of each target entry.
    remap : np.ndarray
        Source track index -> train track index, -1 for tracks not in training.
    n_tracks : int
        Size of the train catalogue.
    counts : dict
        Split report counts, updated in place (``oov_seed_tracks_dropped``,
        ``oov_targets_dropped``, ``seed_repeat_targets_dropped``,
        ``repeated_targets_dropped``, ``queries_without_target_dropped``, ``queries``,
        ``empty_seeds``).
    playlist_ids : np.ndarray
        ``(n_queries,)``: source playlist id of each query.
    titles, category, seed_positions : np.ndarray, optional
        ``(n_queries,)`` per-query metadata, kept for the surviving queries.
    drop_queries_with_oov_target : bool, default False
        Drop a whole query when any of its targets is unseen in training (NextTrack),
        instead of dropping only those targets.

    Returns
    -------
    Queries
        The surviving queries, renumbered in order; seeds are de-duplicated too.
    """
    s_new = remap[seed_items] if len(seed_items) else np.empty(0, np.int64)
    t_new = remap[target_items] if len(target_items) else np.empty(0, np.int64)
    counts["oov_seed_tracks_dropped"] = (
        counts.get("oov_seed_tracks_dropped", 0) + int((s_new < 0).sum())
    )
    oov_t = t_new < 0
    counts["oov_targets_dropped"] = counts.get("oov_targets_dropped", 0) + int(oov_t.sum())
    alive = np.ones(n_queries, dtype=bool)
    if drop_queries_with_oov_target and oov_t.any():
        alive[np.unique(target_q[oov_t])] = False
    ok = s_new >= 0
    seed_q, s_new = seed_q[ok], s_new[ok]
    ok = t_new >= 0
    target_q, t_new = target_q[ok], t_new[ok]
    n = max(1, n_tracks)
    seed_keys = np.unique(seed_q.astype(np.int64) * n + s_new)
    in_seed = np.isin(target_q.astype(np.int64) * n + t_new, seed_keys)
    counts["seed_repeat_targets_dropped"] = int(in_seed.sum())
    target_q, t_new = target_q[~in_seed], t_new[~in_seed]
    first = _dedupe_keep_first(target_q, t_new, n)
    counts["repeated_targets_dropped"] = int((~first).sum())
    target_q, t_new = target_q[first], t_new[first]
    seed_q_dedup = _dedupe_keep_first(seed_q, s_new, n)
    seed_q, s_new = seed_q[seed_q_dedup], s_new[seed_q_dedup]
    n_t = np.bincount(target_q, minlength=n_queries)
    alive &= n_t > 0
    counts["queries_without_target_dropped"] = int((~alive).sum())
    new_index = np.cumsum(alive) - 1
    keep_s = alive[seed_q]
    keep_t = alive[target_q]
    seed_q, s_new = new_index[seed_q[keep_s]], s_new[keep_s]
    target_q, t_new = new_index[target_q[keep_t]], t_new[keep_t]
    m = int(alive.sum())
    s_len = np.bincount(seed_q, minlength=m)[:m]
    t_len = np.bincount(target_q, minlength=m)[:m]
    counts["queries"] = m
    counts["empty_seeds"] = int((s_len == 0).sum())
    pick = lambda v: None if v is None else np.asarray(v)[alive]  # noqa: E731
    return Queries(
        _indptr(s_len), s_new.astype(np.int32), _indptr(t_len), t_new.astype(np.int32), n_tracks,
        playlist_ids=np.asarray(playlist_ids)[alive], titles=pick(titles),
        category=pick(category), seed_positions=pick(seed_positions),
    )


def _titles(data: Playlists, rows: np.ndarray) -> np.ndarray | None:
    if data.meta is None or "name" not in data.meta.columns:
        return None
    names = data.meta["name"].to_numpy(dtype=object)[rows]
    return np.array([None if (v is None or (isinstance(v, float) and np.isnan(v))) else str(v)
                     for v in names], dtype=object)


def _pids(data: Playlists, rows: np.ndarray) -> np.ndarray:
    return data.meta["playlist_id"].to_numpy()[rows]


def _playlist_keys(data: Playlists, rows: np.ndarray) -> np.ndarray:
    """Hash each playlist to 64 bits (order-sensitive), vectorised."""
    lengths = data.lengths[rows]
    if len(rows) == 0:
        return np.empty(0, dtype=np.uint64)
    starts = np.repeat(data.indptr[rows], lengths)
    pos = _offsets(lengths)
    ids = data.items[starts + pos].astype(np.uint64)
    with np.errstate(over="ignore"):
        x = (ids + np.uint64(0x9E3779B97F4A7C15)) * np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(31)
        x *= (pos.astype(np.uint64) * np.uint64(2) + np.uint64(1)) * np.uint64(0x94D049BB133111EB)
        sums = np.zeros(len(rows), dtype=np.uint64)
        np.add.at(sums, np.repeat(np.arange(len(rows)), lengths), x)
        return sums ^ (lengths.astype(np.uint64) * np.uint64(0xD6E8FEB86659FD93))


def _duplicates_across(data: Playlists, train_rows: np.ndarray, test: np.ndarray) -> int:
    """Held-out playlists whose exact track sequence also occurs among training playlists."""
    train_keys = _playlist_keys(data, train_rows)
    test_keys = _playlist_keys(data, test)
    return int(np.isin(test_keys, train_keys).sum())


def _notes(split: Split, counts: dict[str, int]) -> list[str]:
    notes = []
    q = counts.get("queries", len(split.queries))
    if q < 10:
        notes.append(f"unusually few queries ({q})")
    if len(split.train) < 10:
        notes.append(f"unusually small training side ({len(split.train)} playlists)")
    dropped = counts.get("oov_targets_dropped", 0)
    if dropped:
        notes.append(f"{dropped} target tracks unseen in training were dropped")
    if counts.get("duplicate_playlists_across_sides"):
        notes.append(f"{counts['duplicate_playlists_across_sides']} held-out playlists have an "
                     "identical copy in training")
    return notes


def _entries(data: Playlists, rows: np.ndarray):
    """Per entry of the playlists ``rows``: (row index into ``rows``, position, track)."""
    lengths = data.lengths[rows]
    r = np.repeat(np.arange(len(rows)), lengths)
    pos = _offsets(lengths)
    items = data.items[np.repeat(data.indptr[rows], lengths) + pos].astype(np.int64)
    return r, pos, items


# ---------------------------------------------------------------------------- protocols
class NextTrack(SplitProtocol):
    r"""Predict each next track of held-out playlists from its prefix.

    ::

        held-out playlist   t0  t1  t2  t3  t4
        query 1             [t0] -> t1
        query 2             [t0  t1] -> t2
        ...                 (mode="last": only [t0 .. t3] -> t4)

    One query per position :math:`t \ge 1` (``mode="all"``, Vall et al. 2018; Ludewig &
    Jannach 2018) or only the last one (``mode="last"``). The target is the single next
    track; a query whose target is unseen in training, or repeats a track of its own
    prefix, is dropped and counted.

    Parameters
    ----------
    mode : {"all", "last"}
        Every position or only the last.
    max_seed_length : int, optional
        Keep only the last ``max_seed_length`` tracks of each prefix.
    test_fraction, n_test, split_by
        Held-out playlists, see :class:`SplitProtocol`.
    """

    name = "next-track"

    def __init__(self, *, mode: str = "all", max_seed_length: int | None = None,
                 test_fraction: float = 0.1, n_test: int | None = None,
                 split_by: str = "random") -> None:
        super().__init__(test_fraction=test_fraction, n_test=n_test, split_by=split_by)
        self.mode = mode
        self.max_seed_length = max_seed_length

    def _check(self) -> None:
        super()._check()
        if self.mode not in ("all", "last"):
            raise ApcInputError(f"mode must be 'all' or 'last', got {self.mode!r}", field="mode")
        if self.max_seed_length is not None and int(self.max_seed_length) < 1:
            raise ApcInputError("max_seed_length must be >= 1", field="max_seed_length")

    def _build(self, data, test, train_rows, rng, counts) -> Split:
        train, remap = _train_corpus(data, train_rows)
        lengths = data.lengths[test]
        if self.mode == "all":
            n_per = lengths - 1
            q_row = np.repeat(np.arange(len(test)), n_per)
            t_pos = _offsets(n_per) + 1  # target position in its playlist
        else:
            q_row = np.arange(len(test))
            t_pos = lengths - 1
        start = data.indptr[test][q_row]
        n_q = len(q_row)
        seed_len = (
            t_pos
            if self.max_seed_length is None
            else np.minimum(t_pos, int(self.max_seed_length))
        )
        seed_q = np.repeat(np.arange(n_q), seed_len)
        seed_idx = np.repeat(start + t_pos - seed_len, seed_len) + _offsets(seed_len)
        seed_items = data.items[seed_idx].astype(np.int64)
        target_items = data.items[start + t_pos].astype(np.int64)
        counts["train_playlists"] = len(train)
        counts["test_playlists"] = len(test)
        rows = test[q_row]
        queries = make_queries(
            n_q, seed_q, seed_items, np.arange(n_q), target_items, remap, train.n_tracks,
            counts, playlist_ids=_pids(data, rows), seed_positions=t_pos,
            category=np.minimum(t_pos, 10).astype(np.int64),
            drop_queries_with_oov_target=True,
        )
        return Split(train, queries, None)


class Continuation(SplitProtocol):
    r"""Continue held-out playlists: the first tracks are given, the rest is the target.

    ::

        held-out playlist   t0  t1  t2 | t3  t4  t5  t6
                            seed (n=3) | targets (ordered)

    The seed is the first ``n_seed`` tracks, or the first ``ceil(seed_fraction * L)``
    (Bonnin & Jannach 2014; Vall et al. 2019). With ``generalisation="weak"`` the seed
    part of every held-out playlist is also a training playlist (Vall et al.'s weak
    generalisation: the playlists being continued are known at training time).

    Parameters
    ----------
    n_seed : int
        Seed length (default 5) unless ``seed_fraction`` is given.
    seed_fraction : float, optional
        Seed as a share of each playlist's length (at least one track).
    min_targets : int
        Held-out playlists must keep at least this many target tracks (default 1).
    generalisation : {"strong", "weak"}
        Strong (default): held-out playlists are unseen in training.
    test_fraction, n_test, split_by
        Held-out playlists, see :class:`SplitProtocol`.
    """

    name = "continuation"

    def __init__(self, *, n_seed: int = 5, seed_fraction: float | None = None,
                 min_targets: int = 1, generalisation: str = "strong",
                 test_fraction: float = 0.1, n_test: int | None = None,
                 split_by: str = "random") -> None:
        super().__init__(test_fraction=test_fraction, n_test=n_test, split_by=split_by)
        self.n_seed = n_seed
        self.seed_fraction = seed_fraction
        self.min_targets = min_targets
        self.generalisation = generalisation

    def _check(self) -> None:
        super()._check()
        if self.seed_fraction is None and int(self.n_seed) < 0:
            raise ApcInputError("n_seed must be >= 0", field="n_seed")
        if self.seed_fraction is not None and not (0.0 < float(self.seed_fraction) < 1.0):
            raise ApcInputError("seed_fraction must lie in (0, 1)", field="seed_fraction")
        if int(self.min_targets) < 1:
            raise ApcInputError("min_targets must be >= 1", field="min_targets")
        if self.generalisation not in ("strong", "weak"):
            raise ApcInputError("generalisation must be 'strong' or 'weak'", field="generalisation")
        if self.generalisation == "weak" and self.seed_fraction is None and int(self.n_seed) == 0:
            raise ApcInputError("weak generalisation needs a non-empty seed", field="n_seed")

    def _seed_lengths(self, lengths: np.ndarray) -> np.ndarray:
        if self.seed_fraction is not None:
            return np.maximum(1, np.ceil(float(self.seed_fraction) * lengths)).astype(np.int64)
        return np.full(len(lengths), int(self.n_seed), dtype=np.int64)

    def _eligible(self, data: Playlists) -> np.ndarray:
        lengths = data.lengths
        return lengths >= self._seed_lengths(lengths) + int(self.min_targets)

    @property
    def min_length(self) -> int:  # type: ignore[override]
        """Shortest playlist that can be held out: seed length plus ``min_targets``."""
        return (1 if self.seed_fraction is not None else int(self.n_seed)) + int(self.min_targets)

    def _build(self, data, test, train_rows, rng, counts) -> Split:
        r, pos, items = _entries(data, test)
        n_seed = self._seed_lengths(data.lengths[test])
        is_seed = pos < n_seed[r]
        extra = None
        if self.generalisation == "weak":
            s_len = n_seed
            extra = (_indptr(s_len), items[is_seed].astype(np.int32),
                     data.meta.iloc[test].reset_index(drop=True))
        train, remap = _train_corpus(data, train_rows, extra)
        counts["train_playlists"] = len(train)
        counts["test_playlists"] = len(test)
        queries = make_queries(
            len(test), r[is_seed], items[is_seed], r[~is_seed], items[~is_seed], remap,
            train.n_tracks, counts, playlist_ids=_pids(data, test), titles=_titles(data, test),
            category=n_seed, seed_positions=n_seed,
        )
        return Split(train, queries, None)


#: The ten RecSys Challenge 2018 categories: (seed tracks, title given, random positions).
MPD_CATEGORIES: dict[str, tuple[int, bool, bool]] = {
    "title_only": (0, True, False),
    "title_first1": (1, True, False),
    "title_first5": (5, True, False),
    "first5": (5, False, False),
    "title_first10": (10, True, False),
    "first10": (10, False, False),
    "title_first25": (25, True, False),
    "title_random25": (25, True, True),
    "title_first100": (100, True, False),
    "title_random100": (100, True, True),
}


class MPDChallenge(SplitProtocol):
    r"""The ten RecSys Challenge 2018 categories, built from held-out playlists.

    ::

        title_only        "road trip"  | t0 t1 t2 ... (all targets)
        title_first5      "road trip"  t0..t4 | t5 ...
        first5            (no title)   t0..t4 | t5 ...
        title_random25    "road trip"  25 tracks at random positions | the others

    Held-out playlists are assigned to categories from the largest seed count down (so
    long playlists are not used up by short categories); a playlist is eligible for a
    category with ``n`` seeds when it has at least ``n + min_holdouts`` tracks and, for
    the title categories, a non-empty name. Titles are hidden in ``first5``/``first10``.
    ``Queries.category`` holds the category label.

    Parameters
    ----------
    categories : list of str, optional
        Subset of :data:`MPD_CATEGORIES` (default all ten).
    min_holdouts : int
        Minimum number of target tracks (default 5).
    test_fraction, n_test, split_by
        Held-out playlists, see :class:`SplitProtocol`; held-out playlists that no
        category can use go back to training.
    """

    name = "mpd-challenge"

    def __init__(self, *, categories: list[str] | None = None, min_holdouts: int = 5,
                 test_fraction: float = 0.1, n_test: int | None = None,
                 split_by: str = "random") -> None:
        super().__init__(test_fraction=test_fraction, n_test=n_test, split_by=split_by)
        self.categories = categories
        self.min_holdouts = min_holdouts

    def _cats(self) -> list[str]:
        cats = list(self.categories) if self.categories else list(MPD_CATEGORIES)
        if isinstance(self.categories, str):
            cats = [c.strip() for c in self.categories.split(",") if c.strip()]
        bad = [c for c in cats if c not in MPD_CATEGORIES]
        if bad:
            raise ApcInputError(f"unknown category {bad[0]!r}; known: {', '.join(MPD_CATEGORIES)}",
                                field="categories")
        return cats

    def _check(self) -> None:
        super()._check()
        self._cats()
        if int(self.min_holdouts) < 1:
            raise ApcInputError("min_holdouts must be >= 1", field="min_holdouts")

    @property
    def min_length(self) -> int:  # type: ignore[override]
        """Shortest playlist that can be held out: smallest seed count plus ``min_holdouts``."""
        return min(MPD_CATEGORIES[c][0] for c in self._cats()) + int(self.min_holdouts)

    def _build(self, data, test, train_rows, rng, counts) -> Split:
        cats = self._cats()
        lengths = data.lengths[test]
        titles_all = _titles(data, test)
        has_title = (np.array([bool(t and str(t).strip()) for t in titles_all])
                     if titles_all is not None else np.zeros(len(test), dtype=bool))
        # assign categories: largest seed count first, round-robin over eligible playlists
        assigned = np.full(len(test), -1, dtype=np.int64)
        per_cat = int(np.ceil(len(test) / len(cats)))
        order = sorted(range(len(cats)), key=lambda i: (-MPD_CATEGORIES[cats[i]][0], i))
        for ci in order:
            n, need_title, _ = MPD_CATEGORIES[cats[ci]]
            ok = (
                (assigned < 0)
                & (lengths >= n + int(self.min_holdouts))
                & (has_title | (not need_title))
            )
            cand = np.flatnonzero(ok)
            pick = (
                rng.choice(cand, size=min(per_cat, len(cand)), replace=False)
                if len(cand)
                else cand
            )
            assigned[pick] = ci
        counts["test_playlists_unassigned"] = int((assigned < 0).sum())
        # unassigned held-out playlists go back to training
        train_rows = np.sort(np.concatenate([train_rows, test[assigned < 0]]))
        keep = assigned >= 0
        test, lengths, assigned = test[keep], lengths[keep], assigned[keep]
        titles = titles_all[keep] if titles_all is not None else np.full(len(test), None, object)
        train, remap = _train_corpus(data, train_rows)
        r, pos, items = _entries(data, test)
        n_seed = np.array([MPD_CATEGORIES[cats[c]][0] for c in assigned], dtype=np.int64)
        random_cat = np.array([MPD_CATEGORIES[cats[c]][2] for c in assigned], dtype=bool)
        # random categories: a uniform random rank per entry; seed = the n smallest ranks
        rank = np.empty(len(r), dtype=np.int64)
        if len(r):
            noise = rng.random(len(r))
            order_e = np.lexsort((noise, r))  # by playlist, then random
            rank[order_e] = _offsets(np.bincount(r, minlength=len(test)))
        is_seed = np.where(random_cat[r], rank < n_seed[r], pos < n_seed[r])
        show_title = np.array([MPD_CATEGORIES[cats[c]][1] for c in assigned], dtype=bool)
        titles = np.where(show_title, titles, None).astype(object)
        labels = np.array([cats[c] for c in assigned], dtype=object)
        counts["train_playlists"] = len(train)
        counts["test_playlists"] = len(test)
        for c in cats:
            counts[f"category_{c}"] = int((labels == c).sum())
        queries = make_queries(
            len(test), r[is_seed], items[is_seed], r[~is_seed], items[~is_seed], remap,
            train.n_tracks, counts, playlist_ids=_pids(data, test), titles=titles,
            category=labels, seed_positions=n_seed,
        )
        return Split(train, queries, None)


class ColdStartTracks(Continuation):
    r"""Continuation where a share of the tracks exists only on the test side.

    ::

        cold tracks C (drawn from the held-out playlists' tracks)
        train playlists:   every occurrence of a track in C removed
        held-out playlist  t0 c1 t2 | c3 t4 t5     (c = cold: in no training playlist)

    A share ``cold_fraction`` of the distinct tracks of the held-out playlists is made
    *cold*: removed from every training playlist but kept in the catalogue (with its
    metadata and audio), so only content-aware models can score them (Vall et al. 2019,
    cold-start song scenario). Seeds and targets may contain cold tracks.

    Parameters
    ----------
    cold_fraction : float
        Share of the held-out playlists' distinct tracks made cold (default 0.2).
    n_seed, seed_fraction, min_targets
        Seed and targets, see :class:`Continuation` (always strong generalisation).
    test_fraction, n_test, split_by
        Held-out playlists, see :class:`SplitProtocol`.
    """

    name = "cold-start"

    def __init__(self, *, cold_fraction: float = 0.2, n_seed: int = 5,
                 seed_fraction: float | None = None, min_targets: int = 1,
                 test_fraction: float = 0.1, n_test: int | None = None,
                 split_by: str = "random") -> None:
        super().__init__(n_seed=n_seed, seed_fraction=seed_fraction, min_targets=min_targets,
                         test_fraction=test_fraction, n_test=n_test, split_by=split_by)
        self.cold_fraction = cold_fraction

    @classmethod
    def _option_names(cls) -> list[str]:
        return [n for n in super()._option_names() if n != "generalisation"]

    def _check(self) -> None:
        super()._check()
        if not (0.0 < float(self.cold_fraction) < 1.0):
            raise ApcInputError("cold_fraction must lie in (0, 1)", field="cold_fraction")

    def _build(self, data, test, train_rows, rng, counts) -> Split:
        r, pos, items = _entries(data, test)
        test_tracks = np.unique(items)
        n_cold = max(1, int(round(float(self.cold_fraction) * len(test_tracks))))
        cold = np.zeros(data.n_tracks, dtype=bool)
        cold[rng.choice(test_tracks, size=min(n_cold, len(test_tracks)), replace=False)] = True
        # remove cold tracks from the training playlists
        sub = data.subset(train_rows)
        keep = ~cold[sub.items]
        counts["cold_entries_removed_from_train"] = int((~keep).sum())
        lengths = np.bincount(np.repeat(np.arange(len(sub)), sub.lengths)[keep], minlength=len(sub))
        stripped = sub.with_items(_indptr(lengths), sub.items[keep], sub.meta)
        everything = Playlists(
            stripped.indptr, stripped.items, data.tracks, data.artists, stripped.meta, data.info)
        train, remap = _train_corpus(everything, np.arange(len(everything)), keep_tracks=cold)
        n_seed = self._seed_lengths(data.lengths[test])
        is_seed = pos < n_seed[r]
        counts["train_playlists"] = len(train)
        counts["test_playlists"] = len(test)
        counts["cold_tracks"] = int(cold.sum())
        counts["cold_targets"] = int(cold[items[~is_seed]].sum())
        queries = make_queries(
            len(test), r[is_seed], items[is_seed], r[~is_seed], items[~is_seed], remap,
            train.n_tracks, counts, playlist_ids=_pids(data, test), titles=_titles(data, test),
            category=n_seed, seed_positions=n_seed,
        )
        return Split(train, queries, None)


PROTOCOLS: dict[str, type[SplitProtocol]] = {
    NextTrack.name: NextTrack,
    Continuation.name: Continuation,
    MPDChallenge.name: MPDChallenge,
    ColdStartTracks.name: ColdStartTracks,
}
_ALIASES = {"nexttrack": "next-track", "next_track": "next-track", "mpd": "mpd-challenge",
            "mpd_challenge": "mpd-challenge", "cold_start": "cold-start", "coldstart": "cold-start",
            "cold-start-tracks": "cold-start"}


def make_protocol(name: str, **options: Any) -> SplitProtocol:
    """Build a protocol by name with its options.

    Parameters
    ----------
    name : str
        A key of :data:`PROTOCOLS` (``next-track``, ``continuation``,
        ``mpd-challenge``, ``cold-start``) or an alias such as ``mpd`` or
        ``next_track``; case-insensitive.
    **options
        Keyword options of the protocol class.

    Returns
    -------
    SplitProtocol
        The protocol (options are validated when it splits).

    Raises
    ------
    ApcInputError
        If the name or an option is unknown.

    Examples
    --------
    >>> make_protocol("continuation", n_seed=3)  # doctest: +NORMALIZE_WHITESPACE
    Continuation(n_seed=3, seed_fraction=None, min_targets=1, generalisation='strong',
                 test_fraction=0.1, n_test=None, split_by='random')
    """
    key = _ALIASES.get(str(name).lower(), str(name).lower())
    cls = PROTOCOLS.get(key)
    if cls is None:
        raise ApcInputError(f"unknown protocol {name!r}; known: {', '.join(PROTOCOLS)}",
                            field="protocol")
    valid = cls._option_names()
    for opt in options:
        if opt not in valid:
            raise ApcInputError(f"unknown option for {key}; valid: {', '.join(valid)}", field=opt)
    return cls(**options)
