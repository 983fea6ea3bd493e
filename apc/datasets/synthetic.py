"""The embedded synthetic corpus: seeded, realistic enough to rank models sensibly.

``generate(preset, seed=...)`` draws a :class:`~apc.data.Playlists` with the structure
playlist models exploit on real data:

* **genres and artists** — every artist belongs to one genre; artists of a genre sit
  on a ring and each has ``n_related`` *related* artists (its ring neighbours, the
  following ones more often than the preceding ones);
* **power-law popularity** — artist popularity is Zipf-distributed and decays along an
  artist's catalogue, so a few tracks fill many playlists over a long tail;
* **playlists of one or two genres** (the second one usually a neighbouring genre:
  rock next to punk, jazz next to blues) with a log-normal length as on the MPD;
* **sequential coherence** — the next track is, with probability ``p_same_artist``, by
  the same artist (then usually that artist's *next* track in album order: an order
  signal that Markov chains, rules and GRUs learn and bag-of-items models cannot), with
  ``p_related`` by a related artist, and otherwise a popularity-weighted draw from the
  playlist's genres;
* **metadata** — titles made of the playlist genre's words ("rock anthems", "Chill
  Sleep Mix") so that title-only queries are answerable; per-track tags (genre, mood,
  era, style); release years; MPD-like ``timestamp`` and ``num_followers``;
* **audio** — :func:`render_audio` synthesises a clip per track whose pitch, harmonic
  timbre, brightness, tempo and percussive onsets follow its genre and artist, so a CNN
  on log-mel spectrograms can learn both; :func:`write_audio` writes them as WAV files.

It is **not real data**: it makes the classic comparisons behave (popularity below
artist heuristics and k-NN on continuation; order-aware models ahead on next-track)
and runs in seconds, which is what tests, tutorials and the demo need. Everything is
drawn from ``np.random.default_rng`` streams spawned from ``seed``; the catalogue and
the playlists use separate streams, so changing ``n_playlists`` keeps the catalogue.

Examples
--------
>>> pl = generate("tiny", seed=0)
>>> pl.info["dataset"], len(pl), pl.n_tracks
('synth:tiny', 200, 300)
>>> render_audio(pl.tracks, [0, 1], sr=8000, seconds=0.5).shape
(2, 4000)
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from apc.data.playlists import Playlists
from apc.errors import ApcInputError

# ---------------------------------------------------------------------------- vocabularies
#: Base genre -> title words (the first is the genre's name, also its tag). The order is a
#: ring of musical neighbours: a playlist's second genre is often the next or previous one.
GENRE_WORDS: dict[str, tuple[str, ...]] = {
    "pop": ("pop", "hits", "catchy", "radio", "summer", "sing"),
    "electronic": ("electronic", "techno", "house", "rave", "synth", "club"),
    "hiphop": ("hiphop", "rap", "beats", "flow", "bars", "cypher"),
    "funk": ("funk", "groove", "bass", "disco", "slap", "boogie"),
    "blues": ("blues", "delta", "slide", "soul", "harmonica", "juke"),
    "jazz": ("jazz", "swing", "bebop", "smoky", "sax", "lounge"),
    "classical": ("classical", "symphony", "piano", "baroque", "strings", "opus"),
    "ambient": ("ambient", "chill", "drone", "calm", "sleep", "space"),
    "folk": ("folk", "acoustic", "campfire", "ballads", "banjo", "fireside"),
    "country": ("country", "nashville", "honky", "cowboy", "twang", "truck"),
    "rock": ("rock", "guitar", "riffs", "garage", "anthems", "loud"),
    "punk": ("punk", "hardcore", "diy", "fast", "mosh", "riot"),
    "metal": ("metal", "heavy", "thrash", "doom", "headbang", "shred"),
    "reggae": ("reggae", "dub", "roots", "island", "ska", "irie"),
    "latin": ("latin", "salsa", "reggaeton", "fiesta", "bachata", "tropical"),
}
#: Style prefixes that make more genres than the base ones: genre ``g`` for
#: ``g >= len(GENRE_WORDS)`` is ``"<style> <base>"`` ("indie rock"), its vocabulary the
#: base words plus the style word.
STYLE_WORDS = ("indie", "dark", "classic", "modern", "lofi", "acid", "nu", "dream")
#: Words any title may carry besides its genre words.
GENERIC_WORDS = ("mix", "playlist", "vibes", "favorites", "songs", "2016", "road trip", "party")
MOODS = ("happy", "sad", "energetic", "mellow", "dark", "romantic", "angry", "dreamy")
ERAS = ("60s", "70s", "80s", "90s", "00s", "10s")
_ERA_WEIGHTS = np.array([0.04, 0.07, 0.11, 0.16, 0.27, 0.35])
_SONG_A = ("Midnight", "Golden", "Broken", "Electric", "Silver", "Lonely", "Wild", "Burning",
           "Velvet", "Hollow", "Crystal", "Neon", "Quiet", "Summer", "Falling", "Paper",
           "Northern", "Secret", "Rolling", "Blue", "Wooden", "Sweet", "Empty", "Last")
_SONG_B = ("Fire", "Heart", "River", "Dreams", "Road", "Light", "Rain", "Sky", "Night",
           "Stars", "Lines", "Ghost", "Shadows", "Ocean", "Home", "Waves", "Love", "Train",
           "Echo", "Garden", "City", "Storm", "Days", "Mirror")
_ARTIST_A = ("The", "Black", "Little", "Young", "Royal", "Lazy", "Holy", "Saint", "Big",
             "Red", "Cold", "Lucky", "Modern", "Savage", "Pale", "Dead")
_ARTIST_B = ("Foxes", "Kings", "Machines", "Sisters", "Wolves", "Tigers", "Rivers",
             "Horses", "Parade", "Collective", "Ensemble", "Crew", "Orchestra", "Society",
             "Lights", "Hearts")

#: Base genre -> (tempo bpm, pitch Hz, brightness 0..1, percussiveness 0..1,
#: timbre 0..1 (share of even harmonics), mean duration s).
GENRE_AUDIO: dict[str, tuple[float, ...]] = {
    "pop": (118, 300, 0.60, 0.60, 0.60, 210), "electronic": (128, 330, 0.85, 0.95, 0.20, 320),
    "hiphop": (92, 110, 0.50, 0.90, 0.50, 230), "funk": (112, 120, 0.65, 0.70, 0.70, 250),
    "blues": (84, 150, 0.50, 0.35, 0.80, 260), "jazz": (100, 180, 0.45, 0.30, 0.30, 300),
    "classical": (72, 260, 0.30, 0.05, 0.90, 420), "ambient": (60, 400, 0.20, 0.00, 0.10, 380),
    "folk": (96, 200, 0.35, 0.20, 0.85, 220), "country": (110, 210, 0.50, 0.40, 0.65, 200),
    "rock": (125, 220, 0.75, 0.70, 0.40, 235), "punk": (180, 240, 0.90, 0.80, 0.25, 150),
    "metal": (160, 140, 0.95, 0.85, 0.15, 290), "reggae": (80, 160, 0.45, 0.60, 0.55, 240),
    "latin": (104, 250, 0.55, 0.75, 0.45, 215),
}
#: Style -> (tempo factor, pitch factor, brightness shift, percussiveness shift, timbre shift).
_STYLE_AUDIO = np.array([
    [0.92, 1.12, -0.10, -0.10, +0.15], [0.85, 0.80, -0.15, +0.05, -0.20],
    [1.00, 0.95, -0.05, -0.05, +0.20], [1.08, 1.05, +0.08, +0.10, -0.10],
    [0.80, 0.90, -0.25, +0.05, +0.05], [1.15, 1.25, +0.10, +0.15, -0.25],
    [1.05, 0.75, +0.12, +0.12, -0.05], [0.75, 1.35, -0.20, -0.20, +0.10],
])
#: Columns of ``tracks`` that :func:`render_audio` needs.
AUDIO_COLUMNS = ("tempo_bpm", "pitch_hz", "brightness", "percussiveness", "timbre")
_SCALE = np.array([0, 2, 4, 7, 9, 12, 14, 16], dtype=np.float64)  # major pentatonic, 2 octaves
_N_HARMONICS = 8
_PATTERN = 8  # melody steps (one per beat) before the pattern repeats


def max_genres() -> int:
    """Return the largest ``n_genres`` the vocabularies support."""
    return len(GENRE_WORDS) * (1 + len(STYLE_WORDS))


def genre_vocabulary(n_genres: int) -> dict[str, tuple[str, ...]]:
    """Return the title words of the first ``n_genres`` genres.

    The first ``len(GENRE_WORDS)`` are the base genres; later ones combine a style word
    with a base genre (``"indie rock"``) and add the style word to its vocabulary.

    Parameters
    ----------
    n_genres : int
        Number of genres, at most :func:`max_genres`.

    Returns
    -------
    dict[str, tuple[str, ...]]
        Genre name -> its title words, in genre order.

    Examples
    --------
    >>> voc = genre_vocabulary(16)
    >>> list(voc)[-1], voc["indie pop"][:2]
    ('indie pop', ('indie', 'pop'))
    """
    base = list(GENRE_WORDS)
    out: dict[str, tuple[str, ...]] = {}
    for g in range(n_genres):
        b = base[g % len(base)]
        if g < len(base):
            out[b] = GENRE_WORDS[b]
        else:
            style = STYLE_WORDS[g // len(base) - 1]
            out[f"{style} {b}"] = (style, *GENRE_WORDS[b])
    return out


# ---------------------------------------------------------------------------- config
@dataclass(frozen=True)
class SynthConfig:
    """Knobs of the synthetic corpus (see ``docs/datasets/synthetic.md``).

    Parameters
    ----------
    n_playlists : int
        Number of playlists.
    n_tracks : int
        Catalogue size (tracks no playlist draws stay in the catalogue, as cold items).
    n_artists : int
        Number of artists (each has at least one track).
    n_genres : int
        Number of genres, at most :func:`max_genres` (15 base genres, then styled ones).
    length_mean : float
        Mean of the log-normal playlist length before clipping (and before duplicate
        removal, which shortens a few playlists slightly).
    length_sigma : float
        Log-normal shape of the lengths (the MPD's is about 0.75).
    length_min, length_max : int
        Bounds of the lengths.
    genre_zipf : float
        Zipf exponent of genre popularity (how much the big genres dominate).
    artist_zipf : float
        Zipf exponent of artist popularity; track popularity follows it.
    track_decay : float
        Popularity decay along an artist's catalogue: track ``j`` weighs
        ``(j + 1) ** -track_decay`` (an artist's first tracks are its hits).
    track_noise : float
        Log-normal noise (sigma) on track popularity.
    album_size : int
        Tracks per album; an artist's catalogue is its albums in order.
    p_same_artist : float
        Probability that the next track is by the same artist as the previous one.
    p_artist_order : float
        Given the same artist, probability of the artist's *next* track (album order,
        wrapping around) instead of a popularity-weighted pick of its tracks.
    p_related : float
        Probability that the next track is by a related artist (same genre).
    p_revisit : float
        Probability that the next track is by an artist met earlier in the playlist
        (the track after a random earlier one, as for ``p_same_artist``): playlists
        keep coming back to their artists.
    n_related : int
        Related artists per artist (ring neighbours inside the genre).
    p_scene : float
        Share of a playlist's genre draws taken from its *scene* instead: the artists
        near a playlist-specific artist on the genre's ring (a sub-genre community that
        seed tracks reveal and titles do not).
    scene_width : float
        Spread (standard deviation, in artists along the ring) of a scene.
    p_second_genre : float
        Probability that a playlist mixes in a second genre.
    second_genre_share : float
        Share of a two-genre playlist's genre draws taken from the second genre.
    p_stray : float
        Share of the genre draws taken from any genre (noise: a stray track).
    p_title_genre : float
        Probability that a title names its genre at all; the others are one or two
        generic words ("party mix", "vibes"), as many real titles are.
    p_title_generic : float
        Probability that a genre title ends with a generic word ("rock mix").
    title_words_max : int
        Most genre words in a title (1 to ``title_words_max``, fewer more often).
    n_tags : int
        Tags per track, 1-4: genre, then mood, era and a style word of the genre.
    p_mood_artist : float
        Probability that a track's mood tag is its artist's mood (else a random mood).
    start_year, end_year : int
        Range of the playlists' ``timestamp`` (seconds since the epoch).
    timestamp_growth : float
        Yearly growth rate of playlist creation: timestamps follow a truncated
        exponential, most playlists recent, as on the MPD.
    followers_alpha : float
        Tail exponent of ``num_followers`` (1 + a Pareto draw; most playlists have 1).
    audio_spread : float
        Scale of the artist and track deviations of the audio parameters from their
        genre's values (0: every track of a genre sounds alike).
    """

    n_playlists: int = 4000
    n_tracks: int = 4000
    n_artists: int = 400
    n_genres: int = 10
    length_mean: float = 20.0
    length_sigma: float = 0.6
    length_min: int = 5
    length_max: int = 80
    genre_zipf: float = 0.6
    artist_zipf: float = 0.9
    track_decay: float = 0.7
    track_noise: float = 0.3
    album_size: int = 10
    p_same_artist: float = 0.3
    p_artist_order: float = 0.7
    p_related: float = 0.2
    p_revisit: float = 0.15
    n_related: int = 4
    p_scene: float = 0.4
    scene_width: float = 3.0
    p_second_genre: float = 0.3
    second_genre_share: float = 0.4
    p_stray: float = 0.05
    p_title_genre: float = 0.7
    p_title_generic: float = 0.25
    title_words_max: int = 3
    n_tags: int = 3
    p_mood_artist: float = 0.8
    start_year: int = 2010
    end_year: int = 2017
    timestamp_growth: float = 0.5
    followers_alpha: float = 1.3
    audio_spread: float = 1.0


PRESETS: dict[str, SynthConfig] = {
    "tiny": SynthConfig(n_playlists=200, n_tracks=300, n_artists=40, n_genres=4,
                        length_mean=12.0, length_min=5, length_max=30),
    "small": SynthConfig(),
    "medium": SynthConfig(n_playlists=50_000, n_tracks=40_000, n_artists=3_000, n_genres=15,
                          length_mean=30.0, length_sigma=0.7, length_max=150),
    "mpd-scale": SynthConfig(n_playlists=1_000_000, n_tracks=2_000_000, n_artists=300_000,
                             n_genres=45, length_mean=68.0, length_sigma=0.75, length_min=5,
                             length_max=250),
}

_COUNTS = ("n_playlists", "n_tracks", "n_artists")
_PROBABILITIES = ("p_same_artist", "p_artist_order", "p_related", "p_revisit", "p_scene",
                  "p_second_genre", "second_genre_share", "p_stray", "p_title_genre",
                  "p_title_generic", "p_mood_artist")


def _scaled(cfg: SynthConfig, factor: float) -> SynthConfig:
    counts = {k: max(1, int(round(getattr(cfg, k) * factor))) for k in _COUNTS}
    counts["n_artists"] = max(counts["n_artists"], cfg.n_genres * 2)
    counts["n_tracks"] = max(counts["n_tracks"], counts["n_artists"])
    return dataclasses.replace(cfg, **counts)


def config(preset: str | SynthConfig = "small", **overrides: Any) -> SynthConfig:
    """Return the :class:`SynthConfig` of a preset with ``overrides`` applied, validated.

    Parameters
    ----------
    preset : str or SynthConfig
        A name from :data:`PRESETS` or a config.
    **overrides
        Fields of :class:`SynthConfig`. ``size`` is an alias: a preset name replaces
        ``preset``; a number scales the preset's playlist, track and artist counts.

    Returns
    -------
    SynthConfig
        The validated configuration.

    Raises
    ------
    ApcInputError
        Unknown preset (``field="preset"``), unknown field (the field's name), or a value
        out of range (the field's name).
    """
    size = overrides.pop("size", None)
    if size is not None and not isinstance(size, numbers.Real):
        try:
            size = float(size)
        except ValueError:
            preset, size = str(size), None
    if isinstance(preset, SynthConfig):
        cfg = preset
    else:
        if str(preset) not in PRESETS:
            raise ApcInputError(
                f"unknown synthetic preset {str(preset)!r}; known: {', '.join(PRESETS)}",
                field="preset")
        cfg = PRESETS[str(preset)]
    if size is not None:
        if not size > 0:
            raise ApcInputError("size must be a preset name or a positive factor", field="size")
        cfg = _scaled(cfg, float(size))
    fields = {f.name: f for f in dataclasses.fields(SynthConfig)}
    for key, value in overrides.items():
        if key not in fields:
            raise ApcInputError(
                f"unknown synthetic corpus option; valid: size, {', '.join(fields)}", field=key)
        want = type(getattr(cfg, key))
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ApcInputError(f"expected a number, got {value!r}", field=key)
        if want is int and float(value) != int(value):
            raise ApcInputError(f"expected an integer, got {value!r}", field=key)
        overrides[key] = want(value)
    cfg = dataclasses.replace(cfg, **overrides)
    _validate(cfg)
    return cfg


def _validate(cfg: SynthConfig) -> None:
    def need(ok: bool, field: str, what: str) -> None:
        if not ok:
            raise ApcInputError(f"{what} (got {getattr(cfg, field)!r})", field=field)

    need(1 <= cfg.n_genres <= max_genres(), "n_genres", f"must lie in [1, {max_genres()}]")
    need(cfg.n_artists >= cfg.n_genres, "n_artists", "need n_artists >= n_genres")
    need(cfg.n_tracks >= cfg.n_artists, "n_tracks", "need n_tracks >= n_artists")
    need(cfg.n_playlists >= 1, "n_playlists", "need at least one playlist")
    need(cfg.length_min >= 1, "length_min", "must be >= 1")
    need(cfg.length_max >= cfg.length_min, "length_max", "must be >= length_min")
    need(cfg.length_mean > 0, "length_mean", "must be > 0")
    need(cfg.length_sigma >= 0, "length_sigma", "must be >= 0")
    for name in ("genre_zipf", "artist_zipf", "track_decay", "track_noise", "timestamp_growth",
                 "audio_spread", "scene_width"):
        need(getattr(cfg, name) >= 0, name, "must be >= 0")
    for name in _PROBABILITIES:
        need(0.0 <= getattr(cfg, name) <= 1.0, name, "must be a probability in [0, 1]")
    need(cfg.p_same_artist + cfg.p_related + cfg.p_revisit <= 1.0, "p_revisit",
         "p_same_artist + p_related + p_revisit must be <= 1")
    need(cfg.n_related >= 1, "n_related", "must be >= 1")
    need(cfg.album_size >= 1, "album_size", "must be >= 1")
    need(cfg.title_words_max >= 1, "title_words_max", "must be >= 1")
    need(1 <= cfg.n_tags <= 4, "n_tags", "must lie in [1, 4]")
    need(cfg.end_year >= cfg.start_year >= 1970, "end_year", "need end_year >= start_year >= 1970")
    need(cfg.followers_alpha > 0, "followers_alpha", "must be > 0")


# ---------------------------------------------------------------------------- generator
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
        ``genre``, ``tags`` (list of str), the audio parameters of :func:`render_audio`
        (``tempo_bpm``, ``pitch_hz``, ``brightness``, ``percussiveness``, ``timbre``,
        float32) and ``audio_seed``/``artist_seed`` (int64). ``artists``:
        ``artist_id``, ``name``, ``genre``. ``meta``: ``playlist_id``, ``name``,
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
    r_cat, r_trk, r_audio, r_pl, r_meta = (np.random.default_rng(s)
                                           for s in np.random.SeedSequence(int(seed)).spawn(5))
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
    info = {"dataset": f"synth:{name}", "adapter": "synthetic", "preset": name,
            "seed": int(seed), "config": dataclasses.asdict(cfg)}
    return Playlists(indptr, items, tracks, artists, meta, info)


# ---------------------------------------------------------------------------- audio
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLD = np.uint64(0x9E3779B97F4A7C15)


def _hash_uniform(seeds: np.ndarray, counters: np.ndarray) -> np.ndarray:
    """Counter-based uniform [0, 1) floats: splitmix64 of ``(seed, counter)``, float32.

    Depends only on each (seed, counter) pair, so a track's clip is the same whichever
    other tracks share its batch.
    """
    with np.errstate(over="ignore"):
        x = seeds.astype(np.uint64)[:, None] * _GOLD + counters.astype(np.uint64)[None, :]
        x ^= x >> np.uint64(30)
        x *= _M1
        x ^= x >> np.uint64(27)
        x *= _M2
        x ^= x >> np.uint64(31)
    return (x >> np.uint64(40)).astype(np.float32) * np.float32(2.0**-24)


def _track_seeds(tracks: pd.DataFrame, rows: np.ndarray, column: str) -> np.ndarray:
    if column in tracks.columns:
        return tracks[column].to_numpy()[rows].astype(np.int64)
    ids = tracks["track_id"].iloc[rows] if "track_id" in tracks.columns else pd.Series(rows)
    return pd.util.hash_pandas_object(ids.astype(str), index=False).to_numpy().astype(np.int64)


def render_audio(tracks: pd.DataFrame, rows, *, sr: int = 22050, seconds: float = 3.0,
                 block: int = 32) -> np.ndarray:
    """Synthesise a clip per track from its audio parameters.

    Each clip is a melody — one note per beat of ``tempo_bpm``, an eight-step pattern
    of a pentatonic scale above ``pitch_hz``, mostly the artist's motif (seeded by
    ``artist_seed``) with some notes of the track's own — played by a harmonic tone
    whose ``h``-th harmonic has amplitude ``brightness ** (h - 1)`` (even harmonics
    scaled by ``timbre``), plus percussive noise bursts and a low kick on the beats,
    weighted by ``percussiveness``. Every step is vectorised over the rows; noise comes
    from a counter-based hash of ``audio_seed``, so a track's clip does not depend on
    the other rows rendered with it.

    Parameters
    ----------
    tracks : pd.DataFrame
        A synthetic tracks table: needs the :data:`AUDIO_COLUMNS`; ``audio_seed`` and
        ``artist_seed`` are used when present (else a hash of ``track_id``).
    rows : array-like of int
        Rows of ``tracks`` to render, shape (B,).
    sr : int
        Sample rate (default 22050).
    seconds : float
        Clip length (default 3.0).
    block : int
        Rows synthesised at once (bounds the memory to ~``block * sr * seconds * 40``
        bytes).

    Returns
    -------
    np.ndarray
        float32 (B, ``int(sr * seconds)``), peak-normalised to 0.9.

    Raises
    ------
    ApcInputError
        ``tracks`` lacks an audio parameter column (``field`` names it).

    Examples
    --------
    >>> pl = generate("tiny")
    >>> x = render_audio(pl.tracks, [0, 1, 2], sr=8000, seconds=1.0)
    >>> x.shape, x.dtype
    ((3, 8000), dtype('float32'))
    """
    missing = [c for c in AUDIO_COLUMNS if c not in tracks.columns]
    if missing:
        raise ApcInputError(f"tracks lack the audio parameter column(s) {missing}; only the "
                            "synthetic corpus can be rendered", field=missing[0])
    rows = np.asarray(rows, dtype=np.int64).reshape(-1)
    if len(rows) and (rows.min() < 0 or rows.max() >= len(tracks)):
        raise ApcInputError(f"rows must lie in [0, {len(tracks)})", field="rows")
    n = int(sr * seconds)
    out = np.zeros((len(rows), n), dtype=np.float32)
    if n == 0 or len(rows) == 0:
        return out
    params = tracks.iloc[rows][list(AUDIO_COLUMNS)].to_numpy(dtype=np.float64)
    if not np.isfinite(params).all():
        raise ApcInputError("audio parameters must be finite numbers", field="tempo_bpm")
    seeds = _track_seeds(tracks, rows, "audio_seed")
    artist_seeds = _track_seeds(tracks, rows, "artist_seed") if "artist_seed" in tracks else seeds
    t = np.arange(n, dtype=np.float64) / sr
    steps = np.arange(_PATTERN)
    harmonics = np.arange(1, _N_HARMONICS + 1)
    for s in range(0, len(rows), block):
        e = min(len(rows), s + block)
        tempo, pitch, bright, perc, timbre = (params[s:e, j : j + 1] for j in range(5))
        beats = t[None, :] * (tempo / 60.0)  # (B, n) position in beats
        k = np.floor(beats).astype(np.int64)
        since = ((beats - k) * (60.0 / tempo)).astype(np.float32)  # seconds since the beat
        # melody: 3/4 of the notes from the artist's motif, the rest the track's own
        motif = _hash_uniform(artist_seeds[s:e], steps)  # (B, 8)
        own = _hash_uniform(seeds[s:e], steps + 1000)
        use_own = _hash_uniform(seeds[s:e], steps + 2000) < 0.25
        deg = _SCALE[((np.where(use_own, own, motif)) * len(_SCALE)).astype(np.int64)]
        f0 = pitch * 2.0 ** (np.take_along_axis(deg, k % _PATTERN, axis=1) / 12.0)  # (B, n)
        phase = np.mod(2 * np.pi * np.cumsum(f0, axis=1) / sr, 2 * np.pi).astype(np.float32)
        # harmonic tone by the Chebyshev recurrence sin((h+1)x) = 2cos(x)sin(hx) - sin((h-1)x)
        amp = (bright ** (harmonics - 1)) * np.where(harmonics % 2 == 0, timbre, 1.0)  # (B, H)
        amp = (amp / amp.sum(axis=1, keepdims=True)).astype(np.float32)
        two_cos = 2.0 * np.cos(phase)
        s_prev, s_cur = np.zeros_like(phase), np.sin(phase)
        tone = amp[:, :1] * s_cur
        for h in range(1, _N_HARMONICS):
            s_prev, s_cur = s_cur, two_cos * s_cur - s_prev
            tone += amp[:, h : h + 1] * s_cur
        del s_prev, s_cur, two_cos, phase
        tone *= 0.45 + 0.55 * np.exp(-since / np.float32(0.25))  # each note's attack
        noise = 2.0 * _hash_uniform(seeds[s:e], np.arange(n)) - 1.0
        hits = noise * np.exp(-since / np.float32(0.035))
        kick = np.sin(np.float32(2 * np.pi * 55.0) * since) * np.exp(-since / np.float32(0.09))
        p = perc.astype(np.float32)
        clip = (1.0 - 0.7 * p) * tone + p * (0.55 * hits + 0.45 * kick)
        peak = np.abs(clip).max(axis=1, keepdims=True)
        out[s:e] = clip * (np.float32(0.9) / np.maximum(peak, np.float32(1e-6)))
    return out


def write_audio(pl: Playlists, out_dir: str | Path, *, sr: int = 22050, seconds: float = 6.0,
                chunk: int = 256) -> list[str]:
    """Render every track's clip and write it as a 16-bit WAV file in ``out_dir``.

    Parameters
    ----------
    pl : Playlists
        A synthetic corpus (its tracks need the :data:`AUDIO_COLUMNS`).
    out_dir : str or Path
        Folder for the files (created); files are named by track row, ``000123.wav``
        (more digits for catalogues over a million tracks).
    sr : int
        Sample rate (default 22050).
    seconds : float
        Clip length (default 6.0).
    chunk : int
        Tracks rendered per batch (bounds memory).

    Returns
    -------
    list of str
        The file names relative to ``out_dir``, in track order.
    """
    import soundfile as sf

    from apc.progress import task

    missing = [c for c in AUDIO_COLUMNS if c not in pl.tracks.columns]
    if missing:
        raise ApcInputError(f"tracks lack the audio parameter column(s) {missing}; only the "
                            "synthetic corpus can be rendered", field=missing[0])
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    width = max(6, len(str(max(0, pl.n_tracks - 1))))
    names = [f"{i:0{width}d}.wav" for i in range(pl.n_tracks)]
    with task("rendering audio", total=pl.n_tracks) as bar:
        for s in range(0, pl.n_tracks, chunk):
            rows = np.arange(s, min(pl.n_tracks, s + chunk))
            audio = render_audio(pl.tracks, rows, sr=sr, seconds=seconds)
            for r, clip in zip(rows, audio, strict=True):  # one file per track
                sf.write(out_dir / names[r], clip, sr, subtype="PCM_16")
            bar.advance(len(rows))
    return names


__all__ = ["AUDIO_COLUMNS", "GENERIC_WORDS", "GENRE_WORDS", "PRESETS", "SynthConfig", "config",
           "generate", "genre_vocabulary", "max_genres", "render_audio", "write_audio"]
