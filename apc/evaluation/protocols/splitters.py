"""The parts protocols are made of: held-out entries, the training corpus, queries.

Each protocol (:mod:`~apc.evaluation.protocols.next_track`,
:mod:`~apc.evaluation.protocols.continuation`, ...) picks its seed and target entries
and hands them to :func:`make_queries`, which maps them onto the training catalogue
built by :func:`train_corpus` and counts everything it drops (recpack's
``scenarios/splitters.py`` plays the same part).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from apc.data.playlists import Playlists
from apc.data.queries import Queries


def offsets(lengths: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(l)`` for each length (vectorised)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.arange(total, dtype=np.int64) - starts


def csr_indptr(lengths: np.ndarray) -> np.ndarray:
    """Return the CSR offsets (int64, ``len(lengths) + 1``) of rows with these lengths."""
    out = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=out[1:])
    return out


def train_corpus(data: Playlists, train_rows: np.ndarray, extra=None,
                 keep_tracks: np.ndarray | None = None) -> tuple[Playlists, np.ndarray]:
    """Training playlists on their own catalogue; returns (train, old->new track map).

    The catalogue is cut down to the tracks (and artists) the training playlists use,
    by :meth:`Playlists.compact <apc.data.playlists.Playlists.compact>`.

    Parameters
    ----------
    data : Playlists
        The corpus.
    train_rows : np.ndarray
        Rows of ``data`` that train.
    extra : tuple, optional
        ``(indptr, items, meta)`` of playlists appended to training (weak
        generalisation), over ``data``'s catalogue.
    keep_tracks : np.ndarray, optional
        bool (n_tracks,): tracks kept in the catalogue even when unused (cold tracks).

    Returns
    -------
    train : Playlists
        The training corpus (``info["split"] == "train"``).
    remap : np.ndarray
        int64 (n_tracks,): ``data`` track index -> ``train`` track index, -1 if dropped.
    """
    sub = data.subset(train_rows)
    indptr, items, meta = sub.indptr, sub.items, sub.meta
    if extra is not None:
        e_indptr, e_items, e_meta = extra
        indptr = np.concatenate([indptr, indptr[-1] + e_indptr[1:]])
        items = np.concatenate([items, e_items])
        meta = pd.concat([meta, e_meta], ignore_index=True)
    sub = Playlists(indptr, items, data.tracks, data.artists, meta, dict(data.info, split="train"))
    train, kept = sub.compact(keep=keep_tracks)
    remap = np.full(data.n_tracks, -1, dtype=np.int64)
    remap[kept] = np.arange(len(kept))
    return train, remap


def _dedupe_keep_first(q: np.ndarray, items: np.ndarray, n: int) -> np.ndarray:
    """Bool mask of the first occurrence of each (query, item) pair (order preserved)."""
    keep = np.zeros(len(q), dtype=bool)
    if len(q):
        _, first = np.unique(q.astype(np.int64) * n + items, return_index=True)
        keep[first] = True
    return keep


def _dedupe_keep_last(q: np.ndarray, items: np.ndarray, n: int) -> np.ndarray:
    """Bool mask of the last occurrence of each (query, item) pair (order preserved)."""
    keep = np.zeros(len(q), dtype=bool)
    if len(q):
        key = q.astype(np.int64) * n + items
        _, last = np.unique(key[::-1], return_index=True)
        keep[len(q) - 1 - last] = True
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
        The surviving queries, renumbered in order; seeds are de-duplicated too, each
        track kept at its last occurrence (``[a, b, a]`` becomes ``[b, a]``).
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
    # a replayed seed track counts where it was last played: order-aware models (V-SKNN,
    # STAN, Markov's last track, the sequence models) read recency from the seed order
    seed_q_dedup = _dedupe_keep_last(seed_q, s_new, n)
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
        csr_indptr(s_len), s_new.astype(np.int32), csr_indptr(t_len), t_new.astype(np.int32),
        n_tracks,
        playlist_ids=np.asarray(playlist_ids)[alive], titles=pick(titles),
        category=pick(category), seed_positions=pick(seed_positions),
    )


def playlist_titles(data: Playlists, rows: np.ndarray) -> np.ndarray | None:
    """Return the titles (None where missing) of the playlists ``rows``; None without names."""
    if data.meta is None or "name" not in data.meta.columns:
        return None
    names = data.meta["name"].to_numpy(dtype=object)[rows]
    return np.array([None if (v is None or (isinstance(v, float) and np.isnan(v))) else str(v)
                     for v in names], dtype=object)


def playlist_ids_of(data: Playlists, rows: np.ndarray) -> np.ndarray:
    """Return the ``playlist_id`` of the playlists ``rows``."""
    return data.meta["playlist_id"].to_numpy()[rows]


def playlist_keys(data: Playlists, rows: np.ndarray) -> np.ndarray:
    """Hash each playlist to 64 bits (order-sensitive), vectorised."""
    lengths = data.lengths[rows]
    if len(rows) == 0:
        return np.empty(0, dtype=np.uint64)
    starts = np.repeat(data.indptr[rows], lengths)
    pos = offsets(lengths)
    ids = data.items[starts + pos].astype(np.uint64)
    with np.errstate(over="ignore"):
        x = (ids + np.uint64(0x9E3779B97F4A7C15)) * np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(31)
        x *= (pos.astype(np.uint64) * np.uint64(2) + np.uint64(1)) * np.uint64(0x94D049BB133111EB)
        sums = np.zeros(len(rows), dtype=np.uint64)
        np.add.at(sums, np.repeat(np.arange(len(rows)), lengths), x)
        return sums ^ (lengths.astype(np.uint64) * np.uint64(0xD6E8FEB86659FD93))


def duplicates_across(data: Playlists, train_rows: np.ndarray, test: np.ndarray) -> int:
    """Held-out playlists whose exact track sequence also occurs among training playlists."""
    train_keys = playlist_keys(data, train_rows)
    test_keys = playlist_keys(data, test)
    return int(np.isin(test_keys, train_keys).sum())


def entries(data: Playlists, rows: np.ndarray):
    """Per entry of the playlists ``rows``: (row index into ``rows``, position, track)."""
    lengths = data.lengths[rows]
    r = np.repeat(np.arange(len(rows)), lengths)
    pos = offsets(lengths)
    items = data.items[np.repeat(data.indptr[rows], lengths) + pos].astype(np.int64)
    return r, pos, items
