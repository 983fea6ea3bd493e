"""The ten categories of the RecSys Challenge 2018 challenge set, defined once.

Each challenge playlist shows its title or not and some seed tracks, the first ``n``
or ``n`` at random positions (Chen et al. 2018):

===================  =====  ==========================
label                title  seed tracks
===================  =====  ==========================
``title_only``       yes    none
``title_first1``     yes    first 1
``title_first5``     yes    first 5
``first5``           no     first 5
``title_first10``    yes    first 10
``first10``          no     first 10
``title_first25``    yes    first 25
``title_random25``   yes    25 at random positions
``title_first100``   yes    first 100
``title_random100``  yes    100 at random positions
===================  =====  ==========================

The challenge-set reader (:mod:`apc.datasets.mpd_challenge`), the ``mpd-challenge``
protocol (:class:`apc.evaluation.protocols.MPDChallenge`) and the offline challenge
builder (:mod:`apc.mpd.offline`) all read :data:`CATEGORIES`.

References
----------
C.-W. Chen, P. Lamere, M. Schedl and H. Zamani, "Recsys Challenge 2018: Automatic
Music Playlist Continuation", RecSys 2018, doi:10.1145/3240323.3240342.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from apc.errors import ApcInputError


class Category(NamedTuple):
    """How a challenge category shows a playlist.

    Attributes
    ----------
    n_seeds : int
        Number of seed tracks given.
    title : bool
        Whether the title is given.
    random : bool
        Seeds at random positions (else the first ``n_seeds``).
    """

    n_seeds: int
    title: bool
    random: bool


#: label -> :class:`Category`, in the official challenge order.
CATEGORIES: dict[str, Category] = {
    "title_only": Category(0, True, False),
    "title_first1": Category(1, True, False),
    "title_first5": Category(5, True, False),
    "first5": Category(5, False, False),
    "title_first10": Category(10, True, False),
    "first10": Category(10, False, False),
    "title_first25": Category(25, True, False),
    "title_random25": Category(25, True, True),
    "title_first100": Category(100, True, False),
    "title_random100": Category(100, True, True),
}


def category_of(has_title: bool, positions: list[int]) -> str:
    """Return the category label of a challenge playlist.

    Parameters
    ----------
    has_title : bool
        Whether the playlist's title is given.
    positions : list of int
        Positions of its seed tracks in the original playlist.

    Returns
    -------
    str
        ``title_only`` (``empty`` without a title) for no seed tracks, else
        ``[title_]first<n>`` when the seeds are the first ``n`` tracks and
        ``[title_]random<n>`` otherwise.

    Examples
    --------
    >>> category_of(True, []), category_of(False, [0, 1, 2, 3, 4]), category_of(True, [3, 9])
    ('title_only', 'first5', 'title_random2')
    """
    n = len(positions)
    if n == 0:
        return "title_only" if has_title else "empty"
    order = "first" if sorted(positions) == list(range(n)) else "random"
    return f"{'title_' if has_title else ''}{order}{n}"


def check_categories(names) -> list[str]:
    """Validate category labels.

    Parameters
    ----------
    names : iterable of str, or str
        Labels, or one comma-separated string of them.

    Returns
    -------
    list of str
        The labels, in the order given.

    Raises
    ------
    ApcInputError
        If a label is not in :data:`CATEGORIES` (``field`` is ``categories``).
    """
    if isinstance(names, str):
        names = [c.strip() for c in names.split(",") if c.strip()]
    names = list(names)
    bad = [c for c in names if c not in CATEGORIES]
    if bad:
        raise ApcInputError(f"unknown category {bad[0]!r}; known: {', '.join(CATEGORIES)}",
                            field="categories")
    return names


def fill_order(names: list[str]) -> list[str]:
    """Order categories for drawing their playlists: most seed tracks first.

    Long playlists are then not used up by the categories that need few tracks; ties
    keep the order of :data:`CATEGORIES`, so the same set of categories is drawn the
    same way however it is listed.

    Parameters
    ----------
    names : list of str
        Category labels.

    Returns
    -------
    list of str
        The labels, in drawing order.

    Examples
    --------
    >>> fill_order(["first5", "title_only", "title_random100", "title_first5"])
    ['title_random100', 'title_first5', 'first5', 'title_only']
    """
    official = list(CATEGORIES)
    return sorted(names, key=lambda c: (-CATEGORIES[c].n_seeds, official.index(c)))


def eligible(name: str, lengths: np.ndarray, has_title: np.ndarray, *,
             min_holdouts: int) -> np.ndarray:
    """Tell which playlists can be shown as category ``name``.

    A playlist is eligible when it keeps at least ``min_holdouts`` tracks besides the
    category's seed tracks and, for a title category, has a non-empty title.

    Parameters
    ----------
    name : str
        Category label.
    lengths : np.ndarray
        int (P,): playlist lengths.
    has_title : np.ndarray
        bool (P,): whether each playlist has a non-empty title.
    min_holdouts : int
        Least number of held-out tracks.

    Returns
    -------
    np.ndarray
        bool (P,).
    """
    n_seeds, title, _ = CATEGORIES[name]
    ok = np.asarray(lengths) >= n_seeds + int(min_holdouts)
    return ok & np.asarray(has_title, dtype=bool) if title else ok


__all__ = ["CATEGORIES", "Category", "category_of", "check_categories", "eligible", "fill_order"]
