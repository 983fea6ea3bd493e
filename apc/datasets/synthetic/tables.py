"""What the synthetic corpus draws from: genre, style and title words, genre audio values."""

from __future__ import annotations

import numpy as np

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
