"""The RecSys Challenge 2018 protocol: the ten challenge categories from held-out playlists."""

from __future__ import annotations

import numpy as np

from apc.datasets.mpd_categories import CATEGORIES as MPD_CATEGORIES
from apc.datasets.mpd_categories import check_categories, eligible, fill_order
from apc.errors import ApcInputError
from apc.evaluation.protocols.base import Split, SplitProtocol
from apc.evaluation.protocols.splitters import (
    entries,
    make_queries,
    offsets,
    playlist_ids_of,
    playlist_titles,
    train_corpus,
)


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
        return check_categories(self.categories or list(MPD_CATEGORIES))

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
        titles_all = playlist_titles(data, test)
        has_title = (np.array([bool(t and str(t).strip()) for t in titles_all])
                     if titles_all is not None else np.zeros(len(test), dtype=bool))
        # assign categories: largest seed count first, an equal share of the held-out
        # playlists each
        assigned = np.full(len(test), -1, dtype=np.int64)
        per_cat = int(np.ceil(len(test) / len(cats)))
        position = {c: i for i, c in enumerate(cats)}
        for name in fill_order(cats):
            ok = (assigned < 0) & eligible(name, lengths, has_title,
                                           min_holdouts=self.min_holdouts)
            cand = np.flatnonzero(ok)
            ci = position[name]
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
        train, remap = train_corpus(data, train_rows)
        r, pos, items = entries(data, test)
        n_seed = np.array([MPD_CATEGORIES[cats[c]][0] for c in assigned], dtype=np.int64)
        random_cat = np.array([MPD_CATEGORIES[cats[c]][2] for c in assigned], dtype=bool)
        # random categories: a uniform random rank per entry; seed = the n smallest ranks
        rank = np.empty(len(r), dtype=np.int64)
        if len(r):
            noise = rng.random(len(r))
            order_e = np.lexsort((noise, r))  # by playlist, then random
            rank[order_e] = offsets(np.bincount(r, minlength=len(test)))
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
            train.n_tracks, counts, playlist_ids=playlist_ids_of(data, test), titles=titles,
            category=labels, seed_positions=n_seed,
        )
        return Split(train, queries, None)
