r"""Artist heuristics: artist-weighted popularity, SAGH and CAGH (Bonnin & Jannach 2014).

All three recommend popular tracks of artists related to the seed. With ``pop(t)`` the
number of training playlists holding track ``t`` and ``A(h)`` the set of artists of
the seed ``h``:

* :class:`ArtistPopularity`: :math:`P(a_t \mid h)\, P(t \mid a_t)` -- pick an artist
  in proportion to its share of the seed, then one of its tracks in proportion to
  popularity.
* :class:`SameArtistGreatestHits` (SAGH): :math:`\mathrm{pop}(t)\,[a_t \in A(h)]`.
* :class:`CollocatedArtistsGreatestHits` (CAGH):
  :math:`\mathrm{pop}(t) \sum_{a \in A(h)} \mathrm{sim}(a, a_t)`, with the cosine
  similarity of artists' playlist co-occurrence.

Scores are ``(B, n_artists)`` seed-artist matrices times an ``(n_artists, n_tracks)``
artist-to-track matrix, all sparse. See ``docs/models/artists.md``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from apc.data.playlists import Playlists
from apc.data.queries import Queries
from apc.errors import DataWarning
from apc.models._similarity import cooccurrence_topn
from apc.models.base import ScoringRecommender
from apc.models.params import param


class _ArtistModel(ScoringRecommender):
    """Shared fitting: track popularity, track -> artist and artist -> track matrices."""

    sparse_scores = True  # _score returns CSR blocks: no dense memory cap on blocks

    def _fit(self, train: Playlists, features) -> None:
        self.popularity_ = train.item_popularity().astype(np.float32)
        art = train.track_artists
        self.n_artists_ = train.n_artists
        known = np.flatnonzero(art >= 0)
        if len(known) == 0:
            warnings.warn(f"{type(self).__name__}: the corpus has no track artists, so only "
                          "the title fallback can recommend anything", DataWarning, stacklevel=3)
        # (n_tracks, n_artists): 1 where the track is by the artist
        self.track_artist_ = sp.csr_array(
            (np.ones(len(known), np.float32), (known, art[known])),
            shape=(train.n_tracks, self.n_artists_),
        )
        # (n_artists, n_tracks): what one unit of artist weight gives each track
        values = self._track_values(self.popularity_[known], art[known])
        self.artist_tracks_ = sp.csr_array(
            (values, (art[known], known)), shape=(self.n_artists_, train.n_tracks)
        )
        self.artist_tracks_.eliminate_zeros()

    def _track_values(self, pop: np.ndarray, artist: np.ndarray) -> np.ndarray:
        return pop.astype(np.float32)

    def _seed_artists(self, queries: Queries) -> sp.csr_array:
        """(B, n_artists) float32: number of distinct seed tracks by each artist."""
        return sp.csr_array(queries.seeds_csr() @ self.track_artist_)


class ArtistPopularity(_ArtistModel):
    r"""Artist-weighted popularity: the seed's artists, in proportion to their share.

    .. math::

        \hat{r}_{h,t} = P(a_t \mid h)\; P(t \mid a_t)
        = \frac{n_h(a_t)}{\sum_a n_h(a)} \cdot \frac{\mathrm{pop}(t)}
          {\sum_{t' : a_{t'} = a_t} \mathrm{pop}(t')}

    where :math:`n_h(a)` counts the distinct seed tracks by artist ``a``. Within one
    artist the ranking is by popularity, exactly as in SAGH; across artists a track is
    weighted by how much of the seed its artist makes up, and normalised by its
    artist's total popularity, so a niche artist that dominates the seed is not
    drowned by a star who appears once. Tracks by other artists (and tracks without
    an artist) score 0 and are ranked after, by track index; seed tracks without an
    artist are ignored; empty seeds are answered by the title fallback.

    Examples
    --------
    >>> from apc.testing import checkerboard, queries_from
    >>> pl = checkerboard()
    >>> r = ArtistPopularity().fit(pl).recommend(queries_from(pl, [[0]], [[1]]), 2)
    >>> r.items.tolist(), r.scores.tolist()
    ([[1, 2]], [[0.1666666716337204, 0.1666666716337204]])
    """

    name = "artist-popularity"

    def _track_values(self, pop: np.ndarray, artist: np.ndarray) -> np.ndarray:
        total = np.bincount(artist, weights=pop.astype(np.float64), minlength=self.n_artists_)
        share = np.divide(pop, total[artist], out=np.zeros(len(pop)), where=total[artist] > 0)
        return share.astype(np.float32)

    def _score(self, queries: Queries) -> sp.csr_array:
        counts = self._seed_artists(queries)
        total = np.asarray(counts.sum(axis=1)).ravel()
        weights = sp.csr_array(sp.diags_array(1.0 / np.maximum(total, 1.0)) @ counts)
        return sp.csr_array(weights.astype(np.float32) @ self.artist_tracks_)


class SameArtistGreatestHits(_ArtistModel):
    r"""SAGH -- Same Artists, Greatest Hits (Bonnin & Jannach 2014).

    .. math:: \hat{r}_{h,t} = \mathrm{pop}(t)\; \mathbb{1}[a_t \in A(h)]

    The most popular tracks of the artists that appear in the seed. Bonnin & Jannach
    measured popularity as last.fm play counts; we use the number of training playlists
    holding the track (the same counts as :class:`~apc.models.popularity.Popularity`),
    so the model needs nothing but the corpus.

    Ties (equal popularity) go to the lower track index. Tracks without an artist
    (``artist == -1``) are never scored, and seed tracks without one contribute no
    artist; every track outside the seed artists scores 0 and is ranked after them by
    track index. Empty seeds are answered by the title fallback.

    References
    ----------
    G. Bonnin and D. Jannach. Automated generation of music playlists: Survey and
    experiments. ACM Computing Surveys 47(2), article 26, 2014.

    Examples
    --------
    >>> from apc.testing import checkerboard, queries_from
    >>> pl = checkerboard()
    >>> r = SameArtistGreatestHits().fit(pl).recommend(queries_from(pl, [[0]], [[1]]), 2)
    >>> r.items.tolist(), r.scores.tolist()
    ([[1, 2]], [[10.0, 10.0]])
    """

    name = "sagh"

    def _score(self, queries: Queries) -> sp.csr_array:
        present = self._seed_artists(queries)
        present.data[:] = 1.0
        return sp.csr_array(present @ self.artist_tracks_)


@dataclass(frozen=True)
class CAGHConfig:
    """Hyper-parameters of :class:`CollocatedArtistsGreatestHits`."""

    n_neighbors: int | None = param(
        100, ge=1, doc="Similar artists kept per artist, besides itself (None: all)."
    )


class CollocatedArtistsGreatestHits(_ArtistModel):
    r"""CAGH -- Collocated Artists, Greatest Hits (Bonnin & Jannach 2014).

    .. math::

        \hat{r}_{h,t} = \mathrm{pop}(t) \sum_{a \in A(h)} \mathrm{sim}(a, a_t),
        \qquad
        \mathrm{sim}(a, b) = \frac{|P_a \cap P_b|}{\sqrt{|P_a|\,|P_b|}}

    with :math:`P_a` the set of training playlists holding a track by ``a`` (the cosine
    of binary artist/playlist vectors, so :math:`\mathrm{sim}(a, a) = 1` and the seed's
    own artists always count fully). The greatest hits of the seed's artists and of the
    artists that are played alongside them.

    ``n_neighbors`` keeps, for each seed artist, only its most similar other artists
    (plus itself), which bounds memory and time at MPD scale; ``None`` gives the
    unpruned rule. Popularity is the training-playlist count (Bonnin & Jannach used
    last.fm play counts). Ties, tracks without artist and empty seeds are handled as
    in :class:`SameArtistGreatestHits`.

    Parameters
    ----------
    **params
        Fields of :class:`CAGHConfig` as keywords.

    References
    ----------
    G. Bonnin and D. Jannach. Automated generation of music playlists: Survey and
    experiments. ACM Computing Surveys 47(2), article 26, 2014.

    Examples
    --------
    >>> from apc.testing import checkerboard, queries_from
    >>> pl = checkerboard()
    >>> CollocatedArtistsGreatestHits().fit(pl).recommend(
    ...     queries_from(pl, [[0]], [[1]]), 2).items.tolist()
    [[1, 2]]
    """

    name = "cagh"
    config_class = CAGHConfig

    def _fit(self, train: Playlists, features) -> None:
        super()._fit(train, features)
        art = train.track_artists[train.items]
        rows = train.playlist_rows
        known = art >= 0
        # (P, n_artists): 1 where the playlist holds a track by the artist
        by_artist = sp.csr_array(
            (np.ones(int(known.sum()), np.float32), (rows[known], art[known])),
            shape=(len(train), self.n_artists_),
        )
        sim = cooccurrence_topn(by_artist, self.n_neighbors, description="artist similarity")
        self.artist_similarity_ = sp.csr_array(
            sim + sp.eye_array(self.n_artists_, dtype=np.float32, format="csr")
        )

    def _score(self, queries: Queries) -> sp.csr_array:
        present = self._seed_artists(queries)
        present.data[:] = 1.0
        related = sp.csr_array(present @ self.artist_similarity_)  # (B, n_artists)
        return sp.csr_array(related @ self.artist_tracks_)
