"""Short artist "biographies" for the synthetic corpus: text that carries genre, era and scene.

Each artist gets a few sentences built from its genre's words, its era, its mood and the
names of two related artists (its neighbours in the genre's scene, the artists playlists
move between), plus filler. With probability ``p_noise`` the genre words come from a
random other genre, so the text is informative but not a label. The words are drawn
from their own random stream, so adding bios changed no other column of the corpus.
"""

from __future__ import annotations

import numpy as np

_FILLER = ("band", "songs", "album", "tour", "record", "sound", "debut", "live", "studio",
           "released", "known", "fans", "collaborations", "label", "career", "singles")


def artist_bios(
    names: np.ndarray,
    artist_genre: np.ndarray,
    genre_first: np.ndarray,
    genre_artists: np.ndarray,
    era: np.ndarray,
    mood: np.ndarray,
    vocab: dict[str, tuple[str, ...]],
    eras: tuple[str, ...],
    moods: tuple[str, ...],
    rng: np.random.Generator,
    *,
    p_noise: float = 0.15,
) -> np.ndarray:
    """Write one biography per artist (generator order).

    Parameters
    ----------
    names : np.ndarray
        object (A,): artist names, generator order.
    artist_genre, genre_first, genre_artists : np.ndarray
        The catalogue's genre of each artist, first artist and artist count per genre.
    era, mood : np.ndarray
        int (A,): each artist's era and mood index.
    vocab : dict
        Genre name -> its words (the first is the name).
    eras, moods : tuple of str
        Era and mood words.
    rng : np.random.Generator
        The bios' own stream.
    p_noise : float
        Chance that an artist's genre words come from another genre.

    Returns
    -------
    np.ndarray
        object (A,) of str.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> bios = artist_bios(np.array(["A", "B"], dtype=object), np.array([0, 0]),
    ...                    np.array([0]), np.array([2]), np.array([1, 2]), np.array([0, 1]),
    ...                    {"rock": ("rock", "guitar", "loud")}, ("60s", "70s", "80s"),
    ...                    ("happy", "sad"), rng)
    >>> "rock" in bios[0] or "guitar" in bios[0] or "loud" in bios[0]
    True
    """
    words = list(vocab.values())
    genres = list(vocab)
    n = len(names)
    g = np.asarray(artist_genre).copy()
    noisy = rng.random(n) < p_noise
    g_text = np.where(noisy, rng.integers(0, len(genres), n), g)
    pos = np.arange(n) - genre_first[g]
    size = genre_artists[g]
    left = genre_first[g] + (pos - 1) % size
    right = genre_first[g] + (pos + 1) % size
    u = rng.random((n, 6))
    filler = rng.integers(0, len(_FILLER), (n, 3))
    out = np.empty(n, dtype=object)
    for a in range(n):
        ws = words[g_text[a]]
        w1 = ws[int(u[a, 0] * len(ws))]
        w2 = ws[int(u[a, 1] * len(ws))]
        related = [names[r] for r in dict.fromkeys((int(left[a]), int(right[a]))) if r != a]
        parts = [
            f"{names[a]} is a {genres[g_text[a]]} act from the {eras[era[a]]}, "
            f"{moods[mood[a]]} {w1} and {w2}.",
            " ".join(_FILLER[j] for j in filler[a]) + ".",
        ]
        if related and u[a, 2] < 0.8:
            parts.append("Often heard with " + " and ".join(related) + ".")
        out[a] = " ".join(parts)
    return out


__all__ = ["artist_bios"]
