"""Song2vec / item2vec: word2vec over playlists, recommend by cosine to the seed's mean vector."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from apc.data.playlists import Playlists
from apc.data.queries import Queries
from apc.models.base import ScoringRecommender
from apc.models.params import param


def stable_hash(text: str) -> int:
    """Hash a string with CRC32: gensim's per-word seeding without Python's salted ``hash``.

    Examples
    --------
    >>> stable_hash("12") == stable_hash("12")
    True
    """
    return zlib.crc32(text.encode("utf-8"))


class _Sentences:
    """Re-iterable playlists as lists of string tokens (track indices), for gensim."""

    def __init__(self, train: Playlists) -> None:
        self.indptr = train.indptr
        self.tokens = np.char.mod("%d", np.arange(train.n_tracks)).tolist()
        self.items = train.items

    def __iter__(self):
        tok, items = self.tokens, self.items
        for lo, hi in zip(self.indptr[:-1], self.indptr[1:], strict=True):
            if hi > lo:
                yield [tok[i] for i in items[lo:hi]]


@dataclass(frozen=True)
class Song2VecConfig:
    """Hyper-parameters of :class:`Song2Vec`."""

    vector_size: int = param(64, ge=1, doc="Embedding dimension.")
    window: int = param(
        10, ge=1, doc="Context window, in positions on each side (playlists are more "
        "set-like than sentences).",
    )
    epochs: int = param(5, ge=1, doc="Passes over the playlists.")
    min_count: int = param(
        1, ge=1, doc="Tracks occurring fewer times are dropped from the vocabulary."
    )
    negative: int = param(5, ge=1, doc="Negative samples per positive pair.")
    ns_exponent: float = param(0.75, doc="Exponent of the negative-sampling distribution.")
    sample: float = param(
        0.0, ge=0, doc="Down-sampling threshold for frequent tracks (0: off). word2vec's 1e-3 "
        "suits text; on a small playlist corpus it would drop most occurrences of every "
        "track; 1e-4 to 1e-5 help on MPD-sized corpora.",
    )
    alpha: float = param(
        0.025, gt=0, doc="Initial learning rate, decayed linearly to alpha / 100."
    )
    seed: int = param(0, ge=0, doc="Seed of gensim's initialisation and sampling.")


class Song2Vec(ScoringRecommender):
    r"""Word2vec skip-gram over playlists (item2vec), scored by cosine to the seed's centroid.

    Each training playlist is a sentence and each track a word; gensim's skip-gram with
    negative sampling learns a vector :math:`e_t` per track such that tracks sharing
    playlist contexts (within ``window`` positions) lie close (Mikolov et al. 2013;
    Barkan & Koenigstein 2016). A query is answered by the tracks nearest to the mean
    of its seed's normalised vectors,

    .. math::

        \bar e = \frac{1}{|s'|}\sum_{t \in s'} \frac{e_t}{\lVert e_t\rVert},\qquad
        \text{score}(j) = \frac{\bar e \cdot e_j}{\lVert\bar e\rVert\,\lVert e_j\rVert},

    where :math:`s'` are the seed tracks in the word2vec vocabulary.

    Out-of-vocabulary tracks (fewer than ``min_count`` occurrences in training, or
    absent from it) have no vector: they score ``-inf`` and are never recommended from
    an embedding. A query none of whose seed tracks has a vector is answered by
    popularity over the whole catalogue instead (score = share of training playlists
    holding the track, in ``[0, 1]``).

    Parameters
    ----------
    **params
        Fields of :class:`Song2VecConfig` as keywords. Training uses one worker thread
        and a fixed string hash, so results are reproducible across runs and
        interpreters.

    Attributes
    ----------
    vectors_ : np.ndarray
        float32 (n_vocab, vector_size): unit-normalised vectors of the vocabulary.
    vocab_tracks_ : np.ndarray
        int32 (n_vocab,): track index of each vector row.
    track_row_ : np.ndarray
        int32 (n_tracks,): row of ``vectors_`` for each track, -1 when out of vocabulary.

    Notes
    -----
    Training costs :math:`O(\text{epochs} \cdot N \cdot \text{window} \cdot
    (\text{negative} + 1) \cdot d)` for ``N`` playlist entries (one thread); scoring a
    query is one :math:`O(n\,d)` matrix-vector product.

    References
    ----------
    .. [1] O. Barkan and N. Koenigstein. "Item2Vec: neural item embedding for
       collaborative filtering". In Proc. IEEE MLSP 2016.
    .. [2] T. Mikolov, I. Sutskever, K. Chen, G. Corrado and J. Dean. "Distributed
       representations of words and phrases and their compositionality". In Proc.
       NIPS 2013.
    .. [3] R. Rehurek and P. Sojka. "Software framework for topic modelling with large
       corpora". In Proc. LREC 2010 Workshop on New Challenges for NLP Frameworks
       (gensim).

    Examples
    --------
    >>> from apc.testing import checkerboard, queries_from
    >>> pl = checkerboard()
    >>> model = Song2Vec(vector_size=8, epochs=10).fit(pl)
    >>> recs = model.recommend(queries_from(pl, [[0, 1]], [[2]]), 4)
    >>> sorted(pl.tracks["track_id"][recs.items[0]].str[0].unique().tolist())
    ['a']
    """

    name = "song2vec"
    config_class = Song2VecConfig

    def _callbacks(self) -> list[Any]:
        """Gensim callbacks for training (none; benchmarks override this to time epochs)."""
        return []

    def _fit(self, train: Playlists, features) -> None:
        from gensim.models import Word2Vec

        pop = train.item_popularity().astype(np.float64)
        self.popularity_ = (pop / max(1, len(train))).astype(np.float32)
        sentences = _Sentences(train)
        w2v = Word2Vec(
            vector_size=int(self.vector_size),
            window=int(self.window),
            min_count=int(self.min_count),
            sg=1,
            hs=0,
            negative=int(self.negative),
            ns_exponent=float(self.ns_exponent),
            sample=float(self.sample),
            alpha=float(self.alpha),
            min_alpha=float(self.alpha) / 100,
            seed=int(self.seed),
            workers=1,
            hashfxn=stable_hash,
        )
        w2v.build_vocab(corpus_iterable=sentences)
        self.n_words_ = int(train.n_entries)
        callbacks = self._callbacks()
        if len(w2v.wv.index_to_key):
            w2v.train(
                corpus_iterable=sentences,
                total_examples=w2v.corpus_count,
                epochs=int(self.epochs),
                callbacks=callbacks,
            )
        self._store(w2v.wv, train.n_tracks)

    def _store(self, wv, n_tracks: int) -> None:
        """Keep unit-normalised vectors and the track <-> row maps; drop the gensim model."""
        keys = np.asarray(wv.index_to_key, dtype=np.int64)
        vec = np.asarray(wv.vectors, dtype=np.float32).reshape(len(keys), -1)
        norms = np.linalg.norm(vec, axis=1, keepdims=True)
        self.vectors_ = vec / np.maximum(norms, 1e-12)
        self.vocab_tracks_ = keys.astype(np.int32)
        self.track_row_ = np.full(n_tracks, -1, dtype=np.int32)
        self.track_row_[keys] = np.arange(len(keys), dtype=np.int32)

    def _score(self, queries: Queries) -> np.ndarray:
        b = len(queries)
        n = len(self.track_row_)
        out = np.full((b, n), -np.inf, dtype=np.float32)
        rows_of_seed = np.repeat(np.arange(b), queries.seed_lengths)
        vrow = self.track_row_[queries.seeds]
        known = vrow >= 0
        centre = np.zeros((b, self.vectors_.shape[1]), dtype=np.float64)
        np.add.at(centre, rows_of_seed[known], self.vectors_[vrow[known]])
        has = np.bincount(rows_of_seed[known], minlength=b) > 0
        norms = np.linalg.norm(centre, axis=1, keepdims=True)
        centre = (centre / np.maximum(norms, 1e-12)).astype(np.float32)
        out[:, self.vocab_tracks_] = centre @ self.vectors_.T
        out[~has] = self.popularity_  # no seed track with a vector: popularity
        return out
