"""Knobs of the synthetic corpus: :class:`SynthConfig`, the presets and their validation."""

from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass
from typing import Any

from apc.datasets.synthetic.tables import max_genres
from apc.errors import ApcInputError


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
