"""Song2vec / item2vec: word2vec over playlists, recommend by cosine to the seed's mean vector."""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np

from apc.data.playlists import Playlists
from apc.data.queries import Queries
from apc.errors import ApcInputError
from apc.models.base import ScoringRecommender
from apc.models.markov import _check_real


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
    vector_size : int
        Embedding dimension (default 64).
    window : int
        Context window, in positions on each side (default 10; playlists are more
        set-like than sentences).
    epochs : int
        Passes over the playlists (default 5).
    min_count : int
        Tracks occurring fewer times are dropped from the vocabulary (default 1).
    negative : int
        Negative samples per positive pair (default 5).
    ns_exponent : float
        Exponent of the negative-sampling distribution (default 0.75).
    sample : float
        Down-sampling threshold for frequent tracks (default 0: off). word2vec's 1e-3
        suits text, whose most frequent words are far more frequent than any track; on a
        small playlist corpus it would drop most occurrences of every track. Values of
        1e-4 to 1e-5 help on MPD-sized corpora (Barkan & Koenigstein use subsampling).
    alpha : float
        Initial learning rate, decayed linearly to ``alpha / 100`` (default 0.025).
    seed : int
        Seed of gensim's initialisation and sampling (default 0). Training uses one
        worker thread and a fixed string hash, so results are reproducible across runs
        and interpreters.

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

    def __init__(
        self,
        *,
        vector_size: int = 64,
        window: int = 10,
        epochs: int = 5,
        min_count: int = 1,
        negative: int = 5,
        ns_exponent: float = 0.75,
        sample: float = 0.0,
        alpha: float = 0.025,
        seed: int = 0,
    ) -> None:
        self.vector_size = vector_size
        self.window = window
        self.epochs = epochs
        self.min_count = min_count
        self.negative = negative
        self.ns_exponent = ns_exponent
        self.sample = sample
        self.alpha = alpha
        self.seed = seed

    def _validate(self, train: Playlists) -> None:
        for field in ("vector_size", "window", "epochs", "min_count", "negative"):
            v = getattr(self, field)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ApcInputError(f"{field} must be a positive integer, got {v!r}", field=field)
        _check_real(self.ns_exponent, "ns_exponent")
        _check_real(self.sample, "sample", low=0.0)
        _check_real(self.alpha, "alpha", low=0.0, open_=True)
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)):
            raise ApcInputError(f"seed must be an integer, got {self.seed!r}", field="seed")

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
