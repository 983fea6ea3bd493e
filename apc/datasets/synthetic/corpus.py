"""The synthetic corpus generator: catalogue, playlists, titles, tags and metadata."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from apc.data.playlists import Playlists
from apc.datasets.synthetic.bios import artist_bios
from apc.datasets.synthetic.presets import PRESETS, SynthConfig, config
from apc.datasets.synthetic.tables import (
    _ARTIST_A,
    _ARTIST_B,
    _ERA_WEIGHTS,
    _SONG_A,
    _SONG_B,
    _STYLE_AUDIO,
    ERAS,
    GENERIC_WORDS,
    GENRE_AUDIO,
    MOODS,
    genre_vocabulary,
)


@dataclass
class _Catalogue:
    """The generator's internal catalogue: tracks contiguous by genre, then artist."""

    artist_genre: np.ndarray   # int64 (A,), sorted
    artist_start: np.ndarray   # int64 (A,): first track of each artist
    artist_size: np.ndarray    # int64 (A,)
    genre_first: np.ndarray    # int64 (G,): first artist of each genre
    genre_artists: np.ndarray  # int64 (G,)
    genre_weight: np.ndarray   # float64 (G,), sums to 1: playlist genre distribution
    track_artist: np.ndarray   # int64 (T,)
    track_pos: np.ndarray      # int64 (T,): position in the artist's catalogue
    cum: np.ndarray            # float64 (T + 1,): cumulative track weights, cum[0] = 0
    genre_lo: np.ndarray       # int64 (G,): first track of each genre
    genre_hi: np.ndarray       # int64 (G,): one past the last


def _catalogue(cfg: SynthConfig, rng: np.random.Generator) -> _Catalogue:
    G, A, T = cfg.n_genres, cfg.n_artists, cfg.n_tracks
    genre_weight = 1.0 / rng.permutation(np.arange(1, G + 1)) ** cfg.genre_zipf
    genre_weight /= genre_weight.sum()
    # every genre gets an artist (two when there are enough, so related artists exist)
    floor = 2 if A >= 2 * G else 1
    genre_artists = floor + rng.multinomial(A - floor * G, np.sqrt(genre_weight)
                                            / np.sqrt(genre_weight).sum())
    artist_genre = np.repeat(np.arange(G), genre_artists)
    genre_first = np.concatenate([[0], np.cumsum(genre_artists)[:-1]])
    artist_pop = 1.0 / rng.permutation(np.arange(1, A + 1)) ** cfg.artist_zipf
    # catalogue sizes: heavy-tailed, larger for popular artists
    size_w = (rng.pareto(1.5, size=A) + 1.0) * artist_pop ** 0.3
    artist_size = 1 + rng.multinomial(T - A, size_w / size_w.sum())
    artist_start = np.concatenate([[0], np.cumsum(artist_size)[:-1]])
    track_artist = np.repeat(np.arange(A), artist_size)
    track_pos = np.arange(T) - artist_start[track_artist]
    weight = artist_pop[track_artist] * (track_pos + 1.0) ** -cfg.track_decay
    weight *= rng.lognormal(0.0, cfg.track_noise, size=T)
    cum = np.concatenate([[0.0], np.cumsum(weight)])
    track_genre = artist_genre[track_artist]
    genre_lo = np.searchsorted(track_genre, np.arange(G))
    genre_hi = np.searchsorted(track_genre, np.arange(G), side="right")
    return _Catalogue(artist_genre, artist_start, artist_size, genre_first, genre_artists,
                      genre_weight, track_artist, track_pos, cum, genre_lo, genre_hi)


def _lengths(cfg: SynthConfig, rng: np.random.Generator) -> np.ndarray:
    mu = math.log(cfg.length_mean) - cfg.length_sigma**2 / 2
    raw = np.round(rng.lognormal(mu, cfg.length_sigma, size=cfg.n_playlists))
    return np.clip(raw, cfg.length_min, cfg.length_max).astype(np.int64)


def _playlist_genres(cfg: SynthConfig, cat: _Catalogue, rng: np.random.Generator):
    G, P = cfg.n_genres, cfg.n_playlists
    g1 = rng.choice(G, size=P, p=cat.genre_weight)
    two = (rng.random(P) < cfg.p_second_genre) & (G > 1)
    # the second genre is a neighbour on the genre ring 60% of the time, else any other
    step = np.where(rng.random(P) < 0.6, rng.choice([1, -1], size=P),
                    rng.integers(1, max(2, G), size=P))
    g2 = np.where(two, (g1 + step) % G, g1)
    g2 = np.where(two & (g2 == g1), (g1 + 1) % G, g2)
    return g1, g2, two


class _Sampler:
    """Vectorised draws from the catalogue (all arguments are int64 arrays)."""

    def __init__(self, cfg: SynthConfig, cat: _Catalogue, rng: np.random.Generator) -> None:
        self.cat, self.rng = cat, rng
        offsets = np.array([o for d in range(1, cfg.n_related + 1) for o in (d, -d)])
        offsets = offsets[: cfg.n_related]
        w = 1.0 / np.abs(offsets) * np.where(offsets > 0, 1.5, 1.0)  # forward drift
        self.offsets, self.offset_p = offsets, w / w.sum()
        self.p_order = cfg.p_artist_order
        self.scene_width = cfg.scene_width

    def genre(self, g: np.ndarray) -> np.ndarray:
        """Draw a popularity-weighted track of each genre ``g``."""
        c = self.cat
        lo, hi = c.cum[c.genre_lo[g]], c.cum[c.genre_hi[g]]
        u = lo + self.rng.random(len(g)) * (hi - lo)
        order = np.argsort(u)  # sorted keys make searchsorted ~3x faster (cache, hints)
        t = np.empty(len(u), dtype=np.int64)
        t[order] = np.searchsorted(c.cum, u[order], side="right") - 1
        return np.clip(t, c.genre_lo[g], c.genre_hi[g] - 1)

    def hit(self, a: np.ndarray) -> np.ndarray:
        """Draw a track of each artist ``a``, biased towards its first (most popular) ones."""
        c = self.cat
        j = (c.artist_size[a] * self.rng.random(len(a)) ** 2).astype(np.int64)
        return c.artist_start[a] + j

    def same_artist(self, prev: np.ndarray) -> np.ndarray:
        """Draw the artist's next track (album order, wrapping) or one of its hits."""
        c = self.cat
        a = c.track_artist[prev]
        succ = prev + 1
        succ = np.where(succ < c.artist_start[a] + c.artist_size[a], succ, c.artist_start[a])
        in_order = self.rng.random(len(prev)) < self.p_order
        return np.where(in_order, succ, self.hit(a))

    def scene(self, centre: np.ndarray) -> np.ndarray:
        """Draw a hit of an artist near each scene ``centre`` (an artist) on its ring."""
        c = self.cat
        g = c.artist_genre[centre]
        o = np.rint(self.rng.normal(0.0, self.scene_width, len(centre))).astype(np.int64)
        a = c.genre_first[g] + (centre - c.genre_first[g] + o) % c.genre_artists[g]
        return self.hit(a)

    def related(self, prev: np.ndarray) -> np.ndarray:
        """Draw a hit of a ring neighbour of the previous track's artist."""
        c = self.cat
        a = c.track_artist[prev]
        g = c.artist_genre[a]
        o = self.rng.choice(self.offsets, size=len(prev), p=self.offset_p)
        r = c.genre_first[g] + (a - c.genre_first[g] + o) % c.genre_artists[g]
        return self.hit(r)


def _sequences(cfg: SynthConfig, cat: _Catalogue, lengths: np.ndarray, g1: np.ndarray,
               g2: np.ndarray, two: np.ndarray, rng: np.random.Generator):
    """Draw every playlist position by position (vectorised over the playlists)."""
    sampler = _Sampler(cfg, cat, rng)
    P = len(lengths)
    indptr = np.zeros(P + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    items = np.empty(indptr[-1], dtype=np.int32)  # int32 halves the memory at MPD scale
    # longest first, so the playlists still growing at step t are a prefix
    order = np.argsort(-lengths, kind="stable")
    starts, sorted_len = indptr[:-1][order], lengths[order]
    # n_active[t]: playlists longer than t
    n_active = P - np.searchsorted(sorted_len[::-1], np.arange(int(sorted_len[0]) + 1),
                                   side="right")
    gs1, gs2 = g1[order], np.where(two, g2, g1)[order]
    share = cfg.second_genre_share

    def fresh(n: int) -> np.ndarray:
        g = np.where(rng.random(n) < share, gs2[:n], gs1[:n])
        return sampler.genre(g)

    current = fresh(P)
    # each playlist's scene: around the artist of a popularity-weighted track of its genre
    centre = cat.track_artist[sampler.genre(gs1)]
    items[starts] = current
    p_same = cfg.p_same_artist
    p_rel = p_same + cfg.p_related
    p_rev = p_rel + cfg.p_revisit
    for t in range(1, int(sorted_len[0])):
        n = int(n_active[t])
        prev = current[:n]
        u = rng.random(n)
        nxt = np.empty(n, dtype=np.int64)
        same, rel, rev = u < p_same, (u >= p_same) & (u < p_rel), (u >= p_rel) & (u < p_rev)
        other = u >= p_rev
        nxt[same] = sampler.same_artist(prev[same])
        nxt[rel] = sampler.related(prev[rel])
        back = np.flatnonzero(rev)  # a random earlier position of the same playlist
        earlier = items[starts[back] + (rng.random(len(back)) * t).astype(np.int64)]
        nxt[back] = sampler.same_artist(earlier.astype(np.int64))
        idx = np.flatnonzero(other)
        g = np.where(rng.random(len(idx)) < share, gs2[idx], gs1[idx])
        stray = rng.random(len(idx)) < cfg.p_stray
        g[stray] = rng.choice(cfg.n_genres, size=int(stray.sum()), p=cat.genre_weight)
        draw = sampler.genre(g)
        in_scene = (rng.random(len(idx)) < cfg.p_scene) & (g == gs1[idx])
        draw[in_scene] = sampler.scene(centre[idx[in_scene]])
        nxt[idx] = draw
        current[:n] = nxt
        items[starts[:n] + t] = nxt

    # a track appears at most once per playlist (as on most services): re-draw the
    # repeats from the playlist's genres a few times, then drop what is still repeated
    rows = np.repeat(np.arange(P, dtype=np.int32), lengths)
    g_row = np.where(two, g2, g1)
    dup = _repeats(rows, items, cfg.n_tracks)
    for _ in range(3):
        if len(dup) == 0:
            break
        r = rows[dup]
        g = np.where(rng.random(len(dup)) < share, g_row[r], g1[r])
        items[dup] = sampler.genre(g)
        touched = np.zeros(P, dtype=bool)  # only these playlists can hold new repeats
        touched[r] = True
        pos = np.flatnonzero(touched[rows])
        dup = pos[_repeats(rows[pos], items[pos], cfg.n_tracks)]
    if len(dup):
        keep = np.ones(len(items), dtype=bool)
        keep[dup] = False
        items, rows = items[keep], rows[keep]
        lengths = np.bincount(rows, minlength=P)
        np.cumsum(lengths, out=indptr[1:])
    return indptr, items


def _repeats(rows: np.ndarray, items: np.ndarray, n_tracks: int,
             chunk: int = 1 << 22) -> np.ndarray:
    """Positions of entries whose track already occurred earlier in the same playlist.

    ``rows`` (the playlist of each entry) must be non-decreasing. Works on blocks of
    whole playlists of about ``chunk`` entries, which bounds the memory of the sort.
    """
    cuts = np.searchsorted(rows, rows[np.arange(chunk, len(rows), chunk)], side="left")
    bounds = np.unique(np.concatenate([[0], cuts, [len(rows)]]))
    out = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):  # a few blocks, not per item
        keys = rows[a:b].astype(np.int64) * n_tracks + items[a:b]
        order = np.argsort(keys, kind="stable")  # stable: the first occurrence sorts first
        keys = keys[order]
        out.append(a + np.sort(order[1:][keys[1:] == keys[:-1]]))
    return np.concatenate(out) if out else np.empty(0, dtype=np.int64)


def _ids(prefix: str, n: int, width: int = 6) -> np.ndarray:
    """``prefix`` + zero-padded ``0..n-1`` as an object array of str."""
    width = max(width, len(str(max(0, n - 1))))
    digits = pd.Series(np.arange(n)).astype(str).str.zfill(width)
    return (prefix + digits).to_numpy(dtype=object)


def _titles(cfg: SynthConfig, vocab: dict[str, tuple[str, ...]], g1: np.ndarray,
            g2: np.ndarray, two: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """1..title_words_max distinct genre words (+ maybe a generic word) per playlist."""
    P = len(g1)
    words = list(vocab.values())
    width = max(len(w) for w in words)
    table = np.full((len(words), width), "", dtype=object)
    n_words = np.array([len(w) for w in words])
    for g, ws in enumerate(words):  # one row per genre (a few dozen), not per playlist
        table[g, : len(ws)] = ws
    m = min(cfg.title_words_max, width)
    # distinct words: the m smallest random keys among each genre's valid columns; the
    # genre's own name (column 0) is favoured, as in real titles ("rock anthems")
    keys = rng.random((P, width))
    keys[:, 0] *= 0.5
    keys[np.arange(width)[None, :] >= n_words[g1][:, None]] = np.inf
    pick = np.argsort(keys, axis=1)[:, :m]
    chosen = table[g1[:, None], pick]  # (P, m)
    # a two-genre playlist often names the second genre in its second word
    swap = two & (rng.random(P) < 0.5)
    if m > 1:
        alt = table[g2, (rng.random(P) * n_words[g2]).astype(np.int64)]
        chosen[:, 1] = np.where(swap, alt, chosen[:, 1])
    k = np.minimum(m, 1 + rng.binomial(m - 1, 0.35, size=P))
    k = np.where(swap, np.maximum(k, min(2, m)), k)
    name = chosen[:, 0].copy()
    for j in range(1, m):
        name = np.where(k > j, name + " " + chosen[:, j], name)
    generic = np.array(GENERIC_WORDS, dtype=object)[rng.integers(0, len(GENERIC_WORDS), P)]
    name = np.where(rng.random(P) < cfg.p_title_generic, name + " " + generic, name)
    # titles that say nothing about the genre: one or two generic words
    generic2 = np.array(GENERIC_WORDS, dtype=object)[rng.integers(0, len(GENERIC_WORDS), P)]
    bland = np.where((rng.random(P) < 0.5) & (generic2 != generic), generic + " " + generic2,
                     generic)
    name = np.where(rng.random(P) < cfg.p_title_genre, name, bland)
    # capitalisation varies as on real services; models normalise it
    style = rng.random(P)
    s = pd.Series(name)
    s = s.where(style >= 0.3, s.str.title()).where(style < 0.9, s.str.upper())
    return s.to_numpy(dtype=object)


def _timestamps(cfg: SynthConfig, n: int, rng: np.random.Generator) -> np.ndarray:
    t0 = pd.Timestamp(f"{cfg.start_year}-01-01").value // 10**9
    t1 = pd.Timestamp(f"{cfg.end_year + 1}-01-01").value // 10**9 - 1
    years = (t1 - t0) / (365.25 * 86400)
    r = cfg.timestamp_growth * years
    u = rng.random(n)
    x = u if r < 1e-9 else np.log1p(u * np.expm1(r)) / r  # truncated exponential on [0, 1]
    return (t0 + x * (t1 - t0)).astype(np.int64)


def _audio_params(cfg: SynthConfig, cat: _Catalogue, genres: list[str],
                  rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per-track audio parameters: genre value + artist deviation + track deviation."""
    base = list(GENRE_AUDIO)
    nb = len(base)
    g_idx = np.arange(len(genres))
    table = np.array([GENRE_AUDIO[base[g % nb]] for g in g_idx], dtype=np.float64)
    styled = g_idx >= nb
    if styled.any():
        st = _STYLE_AUDIO[g_idx[styled] // nb - 1]
        table[styled, 0] *= st[:, 0]
        table[styled, 1] *= st[:, 1]
        table[styled, 2:5] += st[:, 2:5]
    A, T = len(cat.artist_start), len(cat.track_artist)
    s = cfg.audio_spread
    ga, ta = cat.artist_genre, cat.track_artist
    tg = ga[ta]

    def dev(scale_artist: float, scale_track: float) -> np.ndarray:
        return (rng.normal(0, scale_artist * s, A)[ta] + rng.normal(0, scale_track * s, T))

    return {
        "tempo_bpm": np.clip(table[tg, 0] + dev(6.0, 2.0), 40, 220),
        "pitch_hz": table[tg, 1] * np.exp(dev(0.15, 0.03)),
        "brightness": np.clip(table[tg, 2] + dev(0.06, 0.02), 0.05, 0.97),
        "percussiveness": np.clip(table[tg, 3] + dev(0.05, 0.02), 0.0, 1.0),
        "timbre": np.clip(table[tg, 4] + dev(0.15, 0.03), 0.0, 1.0),
        "duration_ms": np.clip(table[tg, 5] * np.exp(dev(0.12, 0.15)), 45, 900) * 1000.0,
    }


def generate(preset: str | SynthConfig = "small", *, seed: int = 0, **overrides: Any) -> Playlists:
    """Draw a synthetic corpus.

    Parameters
    ----------
    preset : str or SynthConfig
        ``"tiny"`` (unit tests, 200 playlists), ``"small"`` (the demo, 4,000),
        ``"medium"`` (50,000), ``"mpd-scale"`` (1M playlists, ~66M entries, ~2M tracks:
        the size of the Spotify MPD), or a :class:`SynthConfig`.
    seed : int
        Same seed and options, same corpus (bit for bit).
    **overrides
        :class:`SynthConfig` fields to change, e.g. ``n_playlists=500``; ``size=`` is an
        alias: a preset name, or a factor scaling the preset's counts.

    Returns
    -------
    Playlists
        ``tracks``: ``track_id`` (``"synth:track:000123"``), ``title``, ``artist``
        (int32), ``album``, ``track_number``, ``duration_ms``, ``release_year``,
        ``genre``, ``tags`` (list of str), the audio parameters of
        :func:`apc.features.synth_audio.render_audio`
        (``tempo_bpm``, ``pitch_hz``, ``brightness``, ``percussiveness``, ``timbre``,
        float32) and ``audio_seed``/``artist_seed`` (int64). ``artists``:
        ``artist_id``, ``name``, ``genre``, ``bio`` (a short seeded biography from the
        genre, era and related artists, :mod:`apc.datasets.synthetic.bios`). ``meta``:
        ``playlist_id``, ``name``,
        ``timestamp`` (int64 s), ``num_followers``, ``genre``, ``second_genre`` (missing
        where single-genre). ``info``: ``dataset`` (``"synth:<preset>"``),
        ``adapter``, ``preset``, ``seed``, ``config``.

    Raises
    ------
    ApcInputError
        Unknown preset or option, or a value out of range; ``field`` names it.

    Examples
    --------
    >>> pl = generate("small", seed=1, n_playlists=300)
    >>> len(pl), pl.tracks["genre"].nunique()
    (300, 10)
    """
    size = overrides.get("size")
    cfg = config(preset, **overrides)
    if isinstance(preset, SynthConfig):
        name = "custom"
    elif isinstance(size, str) and size in PRESETS:
        name = size
    else:
        name = str(preset)
    # separate streams: the catalogue does not change with the playlist options
    # (a sixth stream, drawn only for the artist bios, leaves the other five unchanged)
    r_cat, r_trk, r_audio, r_pl, r_meta, r_bio = (
        np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(6))
    vocab = genre_vocabulary(cfg.n_genres)
    genres = list(vocab)
    g_names = np.array(genres, dtype=object)
    cat = _catalogue(cfg, r_cat)
    A, T, P = cfg.n_artists, cfg.n_tracks, cfg.n_playlists

    # ---------------------------------------------------------------- playlists
    lengths = _lengths(cfg, r_pl)
    g1, g2, two = _playlist_genres(cfg, cat, r_pl)
    indptr, items = _sequences(cfg, cat, lengths, g1, g2, two, r_pl)
    meta = pd.DataFrame({
        "playlist_id": np.arange(P, dtype=np.int64),
        "name": _titles(cfg, vocab, g1, g2, two, r_meta),
        "timestamp": _timestamps(cfg, P, r_meta),
        "num_followers": np.minimum(
            1 + np.floor(0.8 * r_meta.pareto(cfg.followers_alpha, P)), 10**7).astype(np.int64),
        "genre": g_names[g1],
        "second_genre": np.where(two, g_names[g2], None),
    })

    # ---------------------------------------------------------------- catalogue tables
    # hide the generator's block structure (tracks grouped by genre and artist) behind
    # random permutations, so no model can profit from index order
    t_perm = r_cat.permutation(T)  # generator track -> table row
    a_perm = r_cat.permutation(A)
    t_old = np.argsort(t_perm)  # table row -> generator track
    a_old = np.argsort(a_perm)
    items = t_perm[items].astype(np.int32)

    ta = cat.track_artist  # generator order throughout, reordered once at the end
    tg = cat.artist_genre[ta]
    pos = cat.track_pos
    album_of = pos // cfg.album_size
    albums_per_artist = (cat.artist_size + cfg.album_size - 1) // cfg.album_size
    album_start = np.concatenate([[0], np.cumsum(albums_per_artist)[:-1]])
    n_albums = int(albums_per_artist.sum())
    album_ids = _ids("synth:album:", n_albums)[r_trk.permutation(n_albums)]
    a_mood = r_trk.integers(0, len(MOODS), A)
    a_era = r_trk.choice(len(ERAS), size=A, p=_ERA_WEIGHTS)
    mood = np.where(r_trk.random(T) < cfg.p_mood_artist, a_mood[ta],
                    r_trk.integers(0, len(MOODS), T))
    era = a_era[ta]
    release = 1960 + 10 * era + np.minimum(9, album_of + r_trk.integers(0, 4, A)[ta])
    release = np.minimum(release, cfg.end_year)
    # the style tag: one of the genre's descriptive words (not its name), per artist
    words = list(vocab.values())
    width = max(len(w) for w in words)
    word_table = np.array([list(w) + [w[-1]] * (width - len(w)) for w in words], dtype=object)
    n_words = np.array([len(w) for w in words])
    a_style = 1 + (r_trk.random(A) * (n_words[cat.artist_genre] - 1)).astype(np.int64)
    tag_cols = [g_names[tg], np.array(MOODS, dtype=object)[mood],
                np.array(ERAS, dtype=object)[era], word_table[tg, a_style[ta]]]
    tags = np.stack(tag_cols[: cfg.n_tags], axis=1)[t_old].tolist()
    audio = _audio_params(cfg, cat, genres, r_audio)
    seeds = r_audio.integers(0, 2**62, size=T + A)
    song_a, song_b = np.array(_SONG_A, dtype=object), np.array(_SONG_B, dtype=object)
    titles = (song_a[r_trk.integers(0, len(song_a), T)] + " "
              + song_b[r_trk.integers(0, len(song_b), T)])
    tracks = pd.DataFrame({
        "track_id": _ids("synth:track:", T),
        "title": titles[t_old],
        "artist": a_perm[ta][t_old].astype(np.int32),
        "album": album_ids[album_start[ta] + album_of][t_old],
        "track_number": (pos % cfg.album_size + 1)[t_old].astype(np.int32),
        "duration_ms": audio.pop("duration_ms")[t_old].astype(np.int64),
        "release_year": release[t_old].astype(np.int32),
        "genre": g_names[tg][t_old],
        "tags": pd.Series(tags, dtype=object),
        **{k: v[t_old].astype(np.float32) for k, v in audio.items()},
        "audio_seed": seeds[:T],
        "artist_seed": seeds[T:][ta][t_old],
    })
    art_a, art_b = np.array(_ARTIST_A, dtype=object), np.array(_ARTIST_B, dtype=object)
    artists = pd.DataFrame({
        "artist_id": _ids("synth:artist:", A),
        "name": (art_a[r_trk.integers(0, len(art_a), A)] + " "
                 + art_b[r_trk.integers(0, len(art_b), A)]),
        "genre": g_names[cat.artist_genre][a_old],
    })
    artists["bio"] = artist_bios(
        artists["name"].to_numpy(dtype=object)[a_perm], cat.artist_genre, cat.genre_first,
        cat.genre_artists, a_era, a_mood, vocab, ERAS, MOODS, r_bio)[a_old]
    info = {"dataset": f"synth:{name}", "adapter": "synthetic", "preset": name,
            "seed": int(seed), "config": dataclasses.asdict(cfg)}
    return Playlists(indptr, items, tracks, artists, meta, info)
