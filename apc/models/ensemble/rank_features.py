r"""Features of (query, candidate) pairs for the learning-to-rank stage of :mod:`~.rerank`.

Every feature is computed for a whole block of candidate pairs at once
(:class:`~apc.models.ensemble._components.Pairs`): lookups of int64 keys
``query * n + id`` in sorted arrays, never a ``queries x catalogue`` matrix. The groups
follow the features of the RecSys Challenge 2018 winners (Volkovs et al. 2018, Section
3.2; Rubtsov et al. 2018, Section 3):

==================  =====================================================================
group               columns (one value per pair)
==================  =====================================================================
``components``      each candidate model's score and 0-based rank (NaN when it did not
                    list the track), and how many models listed it
``popularity``      :math:`\log(1 + \mathrm{pop}(t))`; the track's share of its artist's
                    popularity :math:`\mathrm{pop}(t) / \sum_{u: a(u) = a(t)} \mathrm{pop}(u)`
``artist``          share of the seed by the track's artist and by its album; the artist's
                    count in the seed
``cooccurrence``    max and mean over the seed tracks :math:`s` of the co-occurrence cosine
                    :math:`c_{st} / \sqrt{n_s n_t}` (top-``n`` neighbours per track)
``recency``         the same cosine with the last seed track, and its mean over the last
                    three (position-aware)
``seed``            seed length
``title``           the title model's match :math:`s_q(t)` (Zamani et al. 2019) and its
                    share of the best candidate's, where the query has a title (NaN
                    otherwise)
==================  =====================================================================

Adding a feature
----------------
A feature function takes a :class:`FeatureContext` and returns a dict of named float
arrays of shape ``(N,)``, one value per pair (or a single array, named after the
function). Give its import path in the model's ``extra_features``::

    # mypkg/features.py
    def seed_mean_popularity(ctx):
        pop = ctx.stats.popularity
        mean = np.bincount(ctx.seed_query, pop[ctx.seed_track], ctx.n_queries)
        mean /= np.maximum(ctx.seed_lengths, 1)
        return {"pop_vs_seed": pop[ctx.pairs.track] / (1 + mean[ctx.pairs.query])}

    # suite TOML:  extra_features = ["mypkg.features:seed_mean_popularity"]

References
----------
M. Volkovs, H. Rai, Z. Cheng, G. Wu, Y. Lu and S. Sanner, "Two-stage model for automatic
playlist continuation at scale", RecSys Challenge 2018. V. Rubtsov, M. Kamenshchikov,
I. Valyaev, V. Leksin and D. I. Ignatov, "A hybrid two-stage recommender system for
automatic playlist continuation", RecSys Challenge 2018. H. Zamani, M. Schedl,
P. Lamere and C.-W. Chen, ACM TIST 10(5), 2019.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from apc.data.playlists import Playlists
from apc.data.queries import Queries
from apc.errors import ApcInputError
from apc.models.ensemble._components import Pairs

#: Built-in feature groups, in column order.
FEATURE_GROUPS = ("components", "popularity", "artist", "cooccurrence", "recency", "seed",
                  "title")


@dataclass
class CorpusStats:
    """What the features need from the corpus the candidate models were fitted on.

    Attributes
    ----------
    popularity : np.ndarray
        float32 (n_tracks,): playlists holding each track.
    artist : np.ndarray
        int64 (n_tracks,): artist index, -1 unknown.
    album : np.ndarray or None
        int64 (n_tracks,): album code, -1 unknown; None without album data.
    artist_popularity : np.ndarray
        float32 (n_artists + 1,): summed popularity per artist (last slot: unknown).
    similarity : scipy.sparse.csr_array or None
        float32 (n_tracks, n_tracks): co-occurrence cosine, top neighbours per row.
    title : object or None
        A fitted title model, or None.
    """

    popularity: np.ndarray
    artist: np.ndarray
    album: np.ndarray | None
    artist_popularity: np.ndarray
    similarity: sp.csr_array | None
    title: Any = None


def corpus_stats(train: Playlists, *, n_neighbors: int, max_playlists: int | None,
                 seed: int, groups: tuple[str, ...], title: Any = None) -> CorpusStats:
    """Compute :class:`CorpusStats` of ``train`` for the feature ``groups`` asked for.

    The co-occurrence cosine is computed on at most ``max_playlists`` training playlists
    drawn with ``seed`` (all when None), which bounds its cost at MPD scale. ``title``
    is a title model already fitted on ``train`` (one is fitted when the ``title``
    group needs it and none is given).
    """
    pop = train.item_popularity().astype(np.float32)
    artist = train.track_artists.astype(np.int64)
    n_art = int(artist.max(initial=-1)) + 1
    art_pop = np.bincount(np.where(artist >= 0, artist, n_art), weights=pop,
                          minlength=n_art + 1).astype(np.float32)
    album = None
    if "album" in train.tracks.columns:
        codes = np.asarray(train.tracks["album"].astype("category").cat.codes, dtype=np.int64)
        album = codes if (codes >= 0).any() else None
    sim = None
    if {"cooccurrence", "recency"} & set(groups):
        from apc.models._similarity import cooccurrence_topn

        x = train.to_csr()
        if max_playlists is not None and x.shape[0] > max_playlists:
            rows = np.sort(np.random.default_rng(seed).choice(x.shape[0], max_playlists,
                                                              replace=False))
            x = x[rows]
        sim = cooccurrence_topn(x, n_neighbors, description="rerank co-occurrence")
    if "title" not in groups:
        title = None
    elif title is None:
        from apc.models.title import TitleModel

        title = TitleModel().fit(train)
    return CorpusStats(pop, artist, album, art_pop, sim, title)


@dataclass
class FeatureContext:
    """Everything a feature function may read for one block of queries.

    Attributes
    ----------
    stats : CorpusStats
        Corpus statistics.
    queries : Queries
        The block of queries (``B`` rows).
    pairs : Pairs
        Their candidate pairs (``N`` rows), sorted by query.
    labels : list of str
        The candidate models' labels, in the column order of ``pairs.scores``.
    """

    stats: CorpusStats
    queries: Queries
    pairs: Pairs
    labels: list[str]

    @property
    def n_queries(self) -> int:
        """B, the queries in the block."""
        return len(self.queries)

    @property
    def seed_lengths(self) -> np.ndarray:
        """int64 (B,): seed length of each query."""
        return self.queries.seed_lengths

    @property
    def seed_query(self) -> np.ndarray:
        """int64 (E,): query row of each seed entry."""
        return np.repeat(np.arange(self.n_queries, dtype=np.int64), self.seed_lengths)

    @property
    def seed_track(self) -> np.ndarray:
        """int64 (E,): track of each seed entry."""
        return self.queries.seeds.astype(np.int64)


FeatureFn = Callable[[FeatureContext], "dict[str, np.ndarray] | np.ndarray"]


def _group_reduce(keys: np.ndarray, values: np.ndarray):
    """Group equal keys: unique keys, max and sum of their values (sort + reduceat)."""
    if len(keys) == 0:
        return keys, values, values
    order = np.argsort(keys, kind="stable")
    k, v = keys[order], values[order]
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    return k[starts], np.maximum.reduceat(v, starts), np.add.reduceat(v, starts)


def _lookup(sorted_keys: np.ndarray, values: np.ndarray, keys: np.ndarray,
            default: float = 0.0) -> np.ndarray:
    """``values`` at ``keys`` in ``sorted_keys`` (``default`` where absent), float32."""
    out = np.full(len(keys), default, dtype=np.float32)
    if len(sorted_keys) == 0:
        return out
    pos = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    hit = sorted_keys[pos] == keys
    out[hit] = values[pos[hit]]
    return out


def components(ctx: FeatureContext) -> dict[str, np.ndarray]:
    """Each candidate model's score and rank, and how many models listed the track."""
    out = {}
    for m, label in enumerate(ctx.labels):
        out[f"score_{m}_{label}"] = ctx.pairs.scores[:, m]
        out[f"rank_{m}_{label}"] = ctx.pairs.ranks[:, m]
    out["n_lists"] = (~np.isnan(ctx.pairs.ranks)).sum(axis=1).astype(np.float32)
    return out


def popularity(ctx: FeatureContext) -> dict[str, np.ndarray]:
    """Log popularity, and the track's share of its artist's popularity."""
    s, t = ctx.stats, ctx.pairs.track
    art = s.artist[t]
    art = np.where(art >= 0, art, len(s.artist_popularity) - 1)
    return {"log_pop": np.log1p(s.popularity[t]),
            "pop_in_artist": s.popularity[t] / np.maximum(s.artist_popularity[art], 1.0)}


def _share(codes: np.ndarray, ctx: FeatureContext) -> tuple[np.ndarray, np.ndarray]:
    """Count and share of the seed whose code (artist/album) equals the candidate's."""
    n = int(codes.max(initial=0)) + 2
    seed_code = codes[ctx.seed_track]
    ok = seed_code >= 0
    keys, _, counts = _group_reduce(ctx.seed_query[ok] * n + seed_code[ok],
                                    np.ones(int(ok.sum()), dtype=np.float32))
    cand = codes[ctx.pairs.track]
    count = _lookup(keys, counts, ctx.pairs.query * n + np.where(cand >= 0, cand, n - 1))
    return count, count / np.maximum(ctx.seed_lengths[ctx.pairs.query], 1).astype(np.float32)


def artist(ctx: FeatureContext) -> dict[str, np.ndarray]:
    """Share (and count) of the seed by the candidate's artist; share by its album."""
    count, share = _share(ctx.stats.artist, ctx)
    out = {"artist_count": count, "artist_share": share}
    out["album_share"] = (_share(ctx.stats.album, ctx)[1] if ctx.stats.album is not None
                          else np.full(len(count), np.nan, dtype=np.float32))
    return out


def _similarity_to(ctx: FeatureContext, query: np.ndarray, track: np.ndarray):
    """Max and sum over the given seed entries of the cosine with each candidate."""
    sim = ctx.stats.similarity
    n = sim.shape[1]
    rows = sim[track]  # (E, n) sparse, at most n_neighbors per row
    lengths = np.diff(rows.indptr)
    keys = np.repeat(query, lengths) * n + rows.indices.astype(np.int64)
    uk, mx, total = _group_reduce(keys, rows.data.astype(np.float32))
    pk = ctx.pairs.query * n + ctx.pairs.track
    return _lookup(uk, mx, pk), _lookup(uk, total, pk)


def cooccurrence(ctx: FeatureContext) -> dict[str, np.ndarray]:
    """Max and mean co-occurrence cosine of the candidate with the seed tracks."""
    mx, total = _similarity_to(ctx, ctx.seed_query, ctx.seed_track)
    seed_len = np.maximum(ctx.seed_lengths[ctx.pairs.query], 1).astype(np.float32)
    return {"cooc_max": mx, "cooc_mean": total / seed_len}


def recency(ctx: FeatureContext) -> dict[str, np.ndarray]:
    """Cosine with the last seed track, and its mean over the last three seed tracks."""
    lengths = ctx.seed_lengths
    pos_from_end = np.repeat(ctx.queries.seeds_indptr[1:], lengths) - 1 - np.arange(
        int(lengths.sum()), dtype=np.int64)
    # 0 = the last seed track of its query (seeds_indptr starts at 0 in a block)
    q, t = ctx.seed_query, ctx.seed_track
    last1 = _similarity_to(ctx, q[pos_from_end == 0], t[pos_from_end == 0])[0]
    near = pos_from_end < 3
    total3 = _similarity_to(ctx, q[near], t[near])[1]
    n3 = np.minimum(lengths, 3)[ctx.pairs.query]
    return {"sim_last1": last1, "sim_last3": total3 / np.maximum(n3, 1).astype(np.float32)}


def seed(ctx: FeatureContext) -> dict[str, np.ndarray]:
    """Seed length."""
    return {"seed_length": ctx.seed_lengths[ctx.pairs.query].astype(np.float32)}


def title(ctx: FeatureContext) -> dict[str, np.ndarray]:
    """Title match where the query has a title (NaN otherwise).

    ``title_sum`` is the title model's :math:`s_q(t)` (TF-IDF cosine of the query title
    with the names of the playlists holding the track, summed), ``title_score`` the same
    divided by its largest value among the query's candidates. Computed at the pairs
    only (:meth:`~apc.models.title.TitleModel.title_similarity_at`).
    """
    n_pairs = len(ctx.pairs.track)
    total = np.full(n_pairs, np.nan, dtype=np.float32)
    share = total.copy()
    titles = ctx.queries.titles
    model = ctx.stats.title
    if titles is None or model is None:
        return {"title_score": share, "title_sum": total}
    has = np.array([isinstance(x, str) and bool(x.strip()) for x in titles], dtype=bool)
    titled = has[ctx.pairs.query]
    if titled.any():
        q = ctx.pairs.query[titled]
        s = model.title_similarity_at(titles, q, ctx.pairs.track[titled])
        best = np.zeros(ctx.n_queries, dtype=np.float32)
        np.maximum.at(best, q, s)
        total[titled] = s
        share[titled] = s / np.where(best[q] > 0, best[q], 1.0)
    return {"title_score": share, "title_sum": total}


BUILTIN: dict[str, FeatureFn] = {
    "components": components, "popularity": popularity, "artist": artist,
    "cooccurrence": cooccurrence, "recency": recency, "seed": seed, "title": title,
}


def resolve_features(groups: list[str], extra: list[str]) -> list[tuple[str, FeatureFn]]:
    """Resolve the feature functions to run: built-in groups, then extra import paths.

    Raises
    ------
    ApcInputError
        When a group is unknown or an import path does not name a callable
        (``field`` is ``features`` or ``extra_features``).
    """
    from apc.models.registry import import_path

    out = []
    for g in groups:
        if g not in BUILTIN:
            raise ApcInputError(f"unknown feature group {g!r}; known: "
                                f"{', '.join(FEATURE_GROUPS)}", field="features")
        out.append((g, BUILTIN[g]))
    for path in extra:
        try:
            fn = import_path(path)
        except ApcInputError as e:
            raise ApcInputError(e.message, field="extra_features") from e
        if not callable(fn):
            raise ApcInputError(f"{path!r} is not a function", field="extra_features")
        out.append((path.rsplit(":", 1)[-1], fn))
    return out


def build_features(ctx: FeatureContext,
                   functions: list[tuple[str, FeatureFn]]) -> tuple[np.ndarray, list[str]]:
    """Run the feature functions on one block: ``(X, names)``.

    Returns
    -------
    X : np.ndarray
        float32 (N, F), one row per candidate pair.
    names : list of str
        The F column names.

    Raises
    ------
    ApcInputError
        When a feature function returns an array that is not one value per pair.
    """
    n = len(ctx.pairs.track)
    cols, names = [], []
    for label, fn in functions:
        got = fn(ctx)
        if not isinstance(got, dict):
            got = {label: got}
        for name, values in got.items():
            v = np.asarray(values, dtype=np.float32)
            if v.shape != (n,):
                raise ApcInputError(f"feature {name!r} has shape {v.shape}; expected ({n},), "
                                    "one value per candidate pair", field="extra_features")
            cols.append(v)
            names.append(name)
    x = np.column_stack(cols) if cols else np.empty((n, 0), dtype=np.float32)
    return np.ascontiguousarray(x, dtype=np.float32), names


__all__ = ["BUILTIN", "FEATURE_GROUPS", "CorpusStats", "FeatureContext", "FeatureFn",
           "build_features", "corpus_stats", "resolve_features"]
