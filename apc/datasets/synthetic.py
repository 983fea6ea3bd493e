"""The embedded synthetic corpus: seeded, realistic enough to rank models sensibly.

``generate(preset, seed=...)`` draws a :class:`~apc.data.Playlists` with the structure
playlist models exploit on real data:

* **genres and artists** — artists belong to one genre; each artist has a few *related*
  artists of the same genre (neighbours on a per-genre ring);
* **power-law popularity** — artist popularity is Zipf-distributed and decays along an
  artist's catalogue, so a few tracks fill many playlists (a long tail of the rest);
* **playlists from one or two genres** with a log-normal length;
* **sequential coherence** — each next track is, with probability ``p_same_artist``, by
  the same artist (then usually that artist's *next* track in a fixed order: an order
  signal Markov and GRU models can learn and bag-of-items models cannot), with
  ``p_related`` by a related artist, and otherwise a popularity-weighted draw from the
  playlist's genres;
* **titles** made of the playlist genre's words (so title-only queries are answerable),
  per-track **tags** (genre, mood, era) and real-looking **timestamps**;
* **audio** — :func:`render_audio` synthesises a clip per track whose pitch, timbre
  (harmonic brightness) and tempo follow its genre and artist, for the content models.

It is not real data: it makes the classic comparisons behave (popularity < artist
heuristics and k-NN on continuation; order-aware models ahead on next-track) and runs
in seconds, which is what tests, tutorials and the demo need.

Examples
--------
>>> pl = generate("tiny", seed=0)
>>> pl.info["dataset"], len(pl) > 0
('synth:tiny', True)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from apc.data.playlists import Playlists
from apc.errors import ApcInputError

#: Genre -> title words (the first is the genre's name, also its tag).
GENRE_WORDS: dict[str, tuple[str, ...]] = {
    "rock": ("rock", "guitar", "riffs", "garage", "anthems", "loud"),
    "jazz": ("jazz", "swing", "bebop", "smoky", "sax", "lounge"),
    "hiphop": ("hiphop", "rap", "beats", "flow", "bars", "cypher"),
    "electronic": ("electronic", "techno", "house", "rave", "synth", "club"),
    "classical": ("classical", "symphony", "piano", "baroque", "strings", "opus"),
    "folk": ("folk", "acoustic", "campfire", "ballads", "banjo", "roots"),
    "metal": ("metal", "heavy", "thrash", "doom", "headbang", "shred"),
    "pop": ("pop", "hits", "dance", "catchy", "radio", "summer"),
    "latin": ("latin", "salsa", "reggaeton", "fiesta", "bachata", "tropical"),
    "country": ("country", "nashville", "honky", "cowboy", "twang", "truck"),
    "reggae": ("reggae", "dub", "roots", "island", "ska", "irie"),
    "blues": ("blues", "delta", "slide", "soul", "harmonica", "juke"),
    "ambient": ("ambient", "chill", "drone", "calm", "sleep", "space"),
    "punk": ("punk", "hardcore", "diy", "fast", "mosh", "riot"),
    "funk": ("funk", "groove", "bass", "disco", "slap", "boogie"),
}
GENERIC_WORDS = ("mix", "playlist", "vibes", "favorites", "songs", "2016", "road trip", "party")
MOODS = ("happy", "sad", "energetic", "mellow", "dark", "romantic", "angry", "dreamy")
ERAS = ("60s", "70s", "80s", "90s", "00s", "10s")
#: Genre -> (base tempo bpm, base pitch Hz, brightness 0..1, percussiveness 0..1).
GENRE_AUDIO = {
    "rock": (125, 220, 0.75, 0.7), "jazz": (100, 180, 0.45, 0.3), "hiphop": (92, 110, 0.5, 0.9),
    "electronic": (128, 330, 0.85, 0.95), "classical": (72, 260, 0.3, 0.05),
    "folk": (96, 200, 0.35, 0.2), "metal": (160, 140, 0.95, 0.85), "pop": (118, 300, 0.6, 0.6),
    "latin": (104, 250, 0.55, 0.75), "country": (110, 210, 0.5, 0.4),
    "reggae": (80, 160, 0.45, 0.6), "blues": (84, 150, 0.5, 0.35), "ambient": (60, 400, 0.2, 0.0),
    "punk": (180, 240, 0.9, 0.8), "funk": (112, 120, 0.65, 0.7),
}
AUDIO_COLUMNS = ("tempo_bpm", "pitch_hz", "brightness", "percussiveness")


@dataclass(frozen=True)
class SynthConfig:
    """Knobs of the synthetic corpus.

    Parameters
    ----------
    n_playlists, n_tracks, n_artists, n_genres : int
        Corpus size (``n_genres`` <= 15).
    length_mean, length_min, length_max : float, int, int
        Log-normal playlist length (mean before clipping) and its bounds.
    length_sigma : float
        Log-normal shape of the lengths.
    artist_zipf : float
        Zipf exponent of artist popularity (power-law track popularity follows).
    track_decay : float
        Popularity decay along an artist's catalogue: weight ``(j + 1) ** -track_decay``.
    p_same_artist : float
        Probability that the next track is by the same artist.
    p_artist_order : float
        Given the same artist, probability of the artist's *next* track in catalogue order.
    p_related : float
        Probability that the next track is by a related artist (same genre).
    n_related : int
        Related artists per artist.
    p_second_genre : float
        Probability that a playlist mixes a second genre.
    p_title_generic : float
        Probability that a title word is a generic word ("mix", "vibes", ...).
    start_year, end_year : int
        Range of the playlists' ``timestamp``.
    """

    n_playlists: int = 4000
    n_tracks: int = 4000
    n_artists: int = 400
    n_genres: int = 10
    length_mean: float = 20.0
    length_sigma: float = 0.6
    length_min: int = 5
    length_max: int = 80
    artist_zipf: float = 0.9
    track_decay: float = 0.7
    p_same_artist: float = 0.3
    p_artist_order: float = 0.7
    p_related: float = 0.25
    n_related: int = 4
    p_second_genre: float = 0.3
    p_title_generic: float = 0.25
    start_year: int = 2010
    end_year: int = 2017


PRESETS: dict[str, SynthConfig] = {
    "tiny": SynthConfig(n_playlists=200, n_tracks=300, n_artists=40, n_genres=4,
                        length_mean=12.0, length_min=5, length_max=30),
    "small": SynthConfig(),
    "medium": SynthConfig(n_playlists=50_000, n_tracks=40_000, n_artists=3_000, n_genres=12,
                          length_mean=30.0, length_max=150),
    "mpd-scale": SynthConfig(n_playlists=1_000_000, n_tracks=2_000_000, n_artists=300_000,
                             n_genres=15, length_mean=66.0, length_sigma=0.75, length_min=5,
                             length_max=250),
}


def config(preset: str | SynthConfig = "small", **overrides) -> SynthConfig:
    """The :class:`SynthConfig` of a preset with ``overrides`` applied (validated)."""
    if isinstance(preset, SynthConfig):
        cfg = preset
    else:
        size = overrides.pop("size", None)
        name = str(size if size is not None else preset)
        if name not in PRESETS:
            raise ApcInputError(f"unknown synthetic preset {name!r}; known: {', '.join(PRESETS)}",
                                field="preset")
        cfg = PRESETS[name]
    fields = {f.name for f in dataclasses.fields(SynthConfig)}
    for key in overrides:
        if key not in fields:
            raise ApcInputError(f"unknown synthetic corpus option; valid: {', '.join(sorted(fields))}",
                                field=key)
    cfg = dataclasses.replace(cfg, **overrides)
    if not 1 <= cfg.n_genres <= len(GENRE_WORDS):
        raise ApcInputError(f"n_genres must lie in [1, {len(GENRE_WORDS)}]", field="n_genres")
    if cfg.n_artists < cfg.n_genres or cfg.n_tracks < cfg.n_artists:
        raise ApcInputError("need n_tracks >= n_artists >= n_genres", field="n_artists")
    if cfg.n_playlists < 1 or not 1 <= cfg.length_min <= cfg.length_max:
        raise ApcInputError("need n_playlists >= 1 and 1 <= length_min <= length_max",
                            field="length_min")
    if cfg.p_same_artist + cfg.p_related > 1:
        raise ApcInputError("p_same_artist + p_related must be <= 1", field="p_related")
    return cfg


def _preset_name(preset) -> str:
    return preset if isinstance(preset, str) else "custom"


def generate(preset: str | SynthConfig = "small", *, seed: int = 0, **overrides) -> Playlists:
    """Draw a synthetic corpus.

    Parameters
    ----------
    preset : str or SynthConfig
        ``tiny`` (tests), ``small`` (the demo, ~1 s), ``medium``, ``mpd-scale`` (1M
        playlists, ~66M entries), or a config.
    seed : int
        Same seed, same corpus.
    **overrides
        :class:`SynthConfig` fields to change (``size=`` is an alias of ``preset``).

    Returns
    -------
    Playlists
        Tracks carry ``genre``, ``tags`` and the audio parameters of :func:`render_audio`.
    """
    name = str(overrides.get("size") or _preset_name(preset))
    cfg = config(preset, **overrides)
    rng = np.random.default_rng(seed)
    genres = list(GENRE_WORDS)[: cfg.n_genres]
    G, A, T, P = cfg.n_genres, cfg.n_artists, cfg.n_tracks, cfg.n_playlists

    # ---------------------------------------------------------------- artists and tracks
    artist_genre = np.sort(rng.integers(0, G, size=A))
    artist_genre[:G] = np.arange(G)  # every genre has an artist
    artist_genre = np.sort(artist_genre)  # artists contiguous by genre (ring neighbours)
    artist_pop = 1.0 / rng.permutation(np.arange(1, A + 1)) ** cfg.artist_zipf
    # tracks per artist: at least one, the rest proportional to a heavy-tailed size
    size_w = rng.pareto(1.5, size=A) + 1.0
    extra = rng.multinomial(T - A, size_w / size_w.sum())
    n_per_artist = 1 + extra
    track_artist = np.repeat(np.arange(A), n_per_artist)
    artist_start = np.concatenate([[0], np.cumsum(n_per_artist)[:-1]])
    pos_in_artist = np.arange(T) - artist_start[track_artist]
    track_w = artist_pop[track_artist] * (pos_in_artist + 1.0) ** -cfg.track_decay
    track_w *= rng.lognormal(0.0, 0.3, size=T)
    track_genre = artist_genre[track_artist]
    # per-genre popularity CDFs in one global array (tracks are contiguous by genre)
    genre_start = np.searchsorted(track_genre, np.arange(G))
    genre_end = np.searchsorted(track_genre, np.arange(G), side="right")
    cum = np.cumsum(track_w)
    base = np.concatenate([[0.0], cum])
    genre_lo, genre_hi = base[genre_start], base[genre_end]
    genre_pop = genre_hi - genre_lo
    # related artists: ring neighbours inside the genre
    g_first = np.searchsorted(artist_genre, np.arange(G))
    g_count = np.bincount(artist_genre, minlength=G)
    offs = np.array([o for d in range(1, cfg.n_related // 2 + 2) for o in (d, -d)])[: cfg.n_related]

    def draw_genre(g: np.ndarray) -> np.ndarray:
        u = genre_lo[g] + rng.random(len(g)) * genre_pop[g]
        return np.minimum(np.searchsorted(cum, u, side="right"), genre_end[g] - 1)

    def draw_in_artist(a: np.ndarray) -> np.ndarray:
        # bias towards the artist's first (most popular) tracks
        return artist_start[a] + (n_per_artist[a] * rng.random(len(a)) ** 2).astype(np.int64)

    # ---------------------------------------------------------------- playlists
    mu = np.log(cfg.length_mean) - cfg.length_sigma**2 / 2
    lengths = np.clip(np.round(rng.lognormal(mu, cfg.length_sigma, size=P)),
                      cfg.length_min, cfg.length_max).astype(np.int64)
    g1 = rng.choice(G, size=P, p=genre_pop / genre_pop.sum())
    two = rng.random(P) < cfg.p_second_genre
    g2 = np.where(two, (g1 + rng.integers(1, max(2, G), size=P)) % G, g1)
    indptr = np.zeros(P + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    items = np.empty(indptr[-1], dtype=np.int64)
    current = draw_genre(g1)
    items[indptr[:-1]] = current
    active = np.arange(P)
    for step in range(1, int(lengths.max())):
        active = active[lengths[active] > step]
        if len(active) == 0:
            break
        cur = current[active]
        art = track_artist[cur]
        u = rng.random(len(active))
        nxt = np.empty(len(active), dtype=np.int64)
        same = u < cfg.p_same_artist
        rel = (~same) & (u < cfg.p_same_artist + cfg.p_related)
        other = ~(same | rel)
        if same.any():
            a = art[same]
            in_order = rng.random(same.sum()) < cfg.p_artist_order
            succ = cur[same] + 1
            succ = np.where(succ < artist_start[a] + n_per_artist[a], succ, artist_start[a])
            nxt[same] = np.where(in_order, succ, draw_in_artist(a))
        if rel.any():
            a = art[rel]
            g = artist_genre[a]
            o = offs[rng.integers(0, len(offs), size=rel.sum())]
            r = g_first[g] + (a - g_first[g] + o) % g_count[g]
            nxt[rel] = draw_in_artist(r)
        if other.any():
            pick2 = rng.random(other.sum()) < 0.5
            g = np.where(pick2, g2[active[other]], g1[active[other]])
            nxt[other] = draw_genre(g)
        current[active] = nxt
        items[indptr[active] + step] = nxt

    # a track appears at most once per playlist (as on most real services): keep the first
    rows = np.repeat(np.arange(P, dtype=np.int64), lengths)
    _, first = np.unique(rows * T + items, return_index=True)
    keep = np.zeros(len(items), dtype=bool)
    keep[first] = True
    items = items[keep]
    lengths = np.bincount(rows[keep], minlength=P)
    indptr = np.zeros(P + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])

    # hide the generator's index structure (genre/artist blocks) behind a permutation
    perm = rng.permutation(T)  # old index -> new index
    inv = np.argsort(perm)  # new index -> old index
    items = perm[items].astype(np.int32)

    # ---------------------------------------------------------------- tables
    gw = [GENRE_WORDS[g] for g in genres]
    words = np.array([w for ws in gw for w in ws], dtype=object)
    w_off = np.arange(G) * 6
    n_words = rng.integers(1, 4, size=P)
    parts = []
    for j in range(3):
        gsrc = np.where((j == 1) & two, g2, g1)
        wi = w_off[gsrc] + rng.integers(0, 6, size=P)
        word = words[wi]
        generic = rng.random(P) < cfg.p_title_generic
        word = np.where(generic, np.array(GENERIC_WORDS, dtype=object)[rng.integers(0, len(GENERIC_WORDS), size=P)], word)
        parts.append(np.where(n_words > j, word, ""))
    names = pd.Series(parts[0]).str.cat([pd.Series(parts[1]), pd.Series(parts[2])], sep=" ").str.strip()
    names = names.str.replace(r"\s+", " ", regex=True)
    t0 = pd.Timestamp(f"{cfg.start_year}-01-01").value // 10**9
    t1 = pd.Timestamp(f"{cfg.end_year}-12-31").value // 10**9
    meta = pd.DataFrame({
        "playlist_id": np.arange(P, dtype=np.int64),
        "name": names.to_numpy(dtype=object),
        "timestamp": rng.integers(t0, t1, size=P),
        "num_followers": rng.geometric(0.3, size=P).astype(np.int64),
        "genre": np.array(genres, dtype=object)[g1],
    })
    a_mood = rng.integers(0, len(MOODS), size=A)
    a_era = rng.integers(0, len(ERAS), size=A)
    old = inv  # row i of the tracks table describes generator track inv[i]
    ta, tg = track_artist[old], track_genre[old]
    mood = np.where(rng.random(T) < 0.8, a_mood[ta], rng.integers(0, len(MOODS), size=T))
    g_names = np.array(genres, dtype=object)
    tags = [[g, m, e] for g, m, e in zip(g_names[tg].tolist(), np.array(MOODS)[mood].tolist(),
                                          np.array(ERAS)[a_era[ta]].tolist(), strict=True)]
    audio = np.array([GENRE_AUDIO[g] for g in genres], dtype=np.float64)  # (G, 4)
    a_tempo = rng.normal(0, 6, size=A)
    a_pitch = rng.lognormal(0, 0.15, size=A)
    a_bright = rng.normal(0, 0.05, size=A)
    tracks = pd.DataFrame({
        "track_id": pd.Series([f"synth:track:{i:07d}" for i in range(T)], dtype=object),
        "title": pd.Series([f"Song {j + 1}" for j in pos_in_artist[old]], dtype=object),
        "artist": ta.astype(np.int32),
        "album": pd.Series([f"synth:album:{a:06d}-{j // 10}" for a, j in
                            zip(ta.tolist(), pos_in_artist[old].tolist(), strict=True)], dtype=object),
        "duration_ms": np.clip(rng.normal(215_000, 45_000, size=T), 60_000, 600_000).astype(np.int64),
        "genre": g_names[tg],
        "tags": pd.Series(tags, dtype=object),
        "tempo_bpm": (audio[tg, 0] + a_tempo[ta] + rng.normal(0, 2, size=T)).clip(40, 220),
        "pitch_hz": audio[tg, 1] * a_pitch[ta] * rng.lognormal(0, 0.03, size=T),
        "brightness": (audio[tg, 2] + a_bright[ta] + rng.normal(0, 0.02, size=T)).clip(0.05, 0.98),
        "percussiveness": (audio[tg, 3] + rng.normal(0, 0.03, size=T)).clip(0.0, 1.0),
    })
    artists = pd.DataFrame({
        "artist_id": pd.Series([f"synth:artist:{a:06d}" for a in range(A)], dtype=object),
        "name": pd.Series([f"Artist {a}" for a in range(A)], dtype=object),
        "genre": g_names[artist_genre],
    })
    info = {"dataset": f"synth:{name}", "adapter": "synthetic", "preset": name, "seed": int(seed),
            "config": dataclasses.asdict(cfg)}
    return Playlists(indptr, items, tracks, artists, meta, info)


# ---------------------------------------------------------------------------- audio
def render_audio(tracks: pd.DataFrame, rows, *, sr: int = 22050, seconds: float = 3.0,
                 block: int = 64) -> np.ndarray:
    """Synthesise a clip per track: float32 ``(len(rows), int(sr * seconds))`` in [-1, 1].

    Each clip is a melody of harmonic tones at the track's ``pitch_hz`` (a four-note
    pattern changing every beat; harmonic ``h`` has amplitude ``brightness ** h``) plus
    percussive noise bursts on the beats of ``tempo_bpm`` weighted by
    ``percussiveness``. Deterministic per track (seeded by the row of ``tracks``).
    """
    missing = [c for c in AUDIO_COLUMNS if c not in tracks.columns]
    if missing:
        raise ApcInputError(f"tracks lack the audio parameter column(s) {missing}; only the "
                            "synthetic corpus can be rendered", field=missing[0])
    rows = np.asarray(rows, dtype=np.int64)
    n = int(round(sr * seconds))
    out = np.empty((len(rows), n), dtype=np.float32)
    t = np.arange(n, dtype=np.float64) / sr
    params = tracks.iloc[rows][list(AUDIO_COLUMNS)].to_numpy(dtype=np.float64)
    for s in range(0, len(rows), block):
        e = min(len(rows), s + block)
        tempo, pitch, bright, perc = (params[s:e, j][:, None] for j in range(4))
        beat = 60.0 / tempo  # (B, 1) seconds
        k = np.floor(t[None, :] / beat).astype(np.int64)  # beat index (B, n)
        pattern = np.empty((e - s, 4))
        for i, r in enumerate(rows[s:e]):  # per-track seeded pattern (4 numbers per row)
            pattern[i] = np.random.default_rng(int(r) + 7919).choice([1.0, 1.25, 1.5, 2.0], 4)
        f0 = pitch * np.take_along_axis(pattern, k % 4, axis=1)
        phase = 2 * np.pi * np.cumsum(f0, axis=1) / sr
        tone = np.zeros_like(phase)
        for h in range(1, 7):
            tone += bright**h * np.sin(h * phase)
        tone /= np.maximum(1e-6, (bright ** np.arange(1, 7)).sum(axis=1, keepdims=True))
        since = t[None, :] - k * beat
        noise = np.random.default_rng(int(rows[s]) + 104729).standard_normal((e - s, n))
        hits = np.exp(-since / 0.03) * noise
        clip = 0.6 * (1 - 0.6 * perc) * tone + 0.5 * perc * hits
        out[s:e] = (clip / np.maximum(1e-6, np.abs(clip).max(axis=1, keepdims=True)) * 0.9).astype(np.float32)
    return out


def write_audio(pl: Playlists, out_dir: str | Path, *, sr: int = 22050, seconds: float = 6.0,
                chunk: int = 256) -> list[str]:
    """Render every track's clip and write it as 16-bit WAV ``{row:06d}.wav`` in ``out_dir``.

    Returns the file names relative to ``out_dir``, in track order.
    """
    import soundfile as sf

    from apc.progress import task

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = [f"{i:06d}.wav" for i in range(pl.n_tracks)]
    with task("rendering audio", total=pl.n_tracks) as bar:
        for s in range(0, pl.n_tracks, chunk):
            rows = np.arange(s, min(pl.n_tracks, s + chunk))
            audio = render_audio(pl.tracks, rows, sr=sr, seconds=seconds)
            for r, clip in zip(rows, audio, strict=True):
                sf.write(out_dir / names[r], clip, sr, subtype="PCM_16")
            bar.advance(len(rows))
    return names
