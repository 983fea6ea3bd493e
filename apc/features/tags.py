"""Tag embeddings: word2vec on tag co-occurrence, a track = the mean of its tags.

Each track's tag list is one "sentence", so tags that label the same tracks get close
vectors (skip-gram with negative sampling, Mikolov et al. 2013, via gensim). The
context window spans the whole list (tags have no order). A track's vector is the
mean of its tags' vectors; a track without known tags gets zeros and
``available = False``.

gensim is trained with ``workers=1``, a fixed ``seed`` and a process-independent
string hash, so the same tags always give the same vectors (gensim's default hash is
Python's ``hash``, which is salted per process).

References
----------
T. Mikolov, I. Sutskever, K. Chen, G. Corrado and J. Dean. "Distributed representations
of words and phrases and their compositionality." NIPS 2013, 3111-3119.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable

import numpy as np
import pandas as pd

from apc.errors import ApcInputError

_SPLIT = re.compile(r"[|,;]")


def stable_hash(text: str) -> int:
    """Hash text the same way in every process (CRC-32).

    Parameters
    ----------
    text : str
        Text to hash (converted with ``str``).

    Returns
    -------
    int
        Unsigned 32-bit hash.
    """
    return zlib.crc32(str(text).encode("utf-8"))


def parse_tags(value: object) -> list[str]:
    """Parse a cell of a ``tags`` column into a list of normalised tags (lower case, stripped).

    Parameters
    ----------
    value : object
        A list/array of strings, one string separated by ``|``, ``,`` or ``;``, or a
        missing value (None, NaN).

    Returns
    -------
    list of str
        Distinct non-empty tags in order of first appearance.

    Examples
    --------
    >>> parse_tags("Rock| Pop"), parse_tags(["Jazz"]), parse_tags(None)
    (['rock', 'pop'], ['jazz'], [])
    """
    if value is None:
        return []
    if isinstance(value, float) and np.isnan(value):
        return []
    if isinstance(value, str):
        items: Iterable = _SPLIT.split(value)
    elif isinstance(value, Iterable):
        items = value
    else:
        items = [value]
    out = []
    for t in items:
        if t is None or (isinstance(t, float) and np.isnan(t)):
            continue
        t = str(t).strip().lower()
        if t and t not in out:
            out.append(t)
    return out


def tag_lists(tracks: pd.DataFrame, column: str = "tags") -> list[list[str]]:
    """Return the tag list of every row of ``tracks`` (empty where unknown).

    Parameters
    ----------
    tracks : pd.DataFrame
        Track table.
    column : str, default "tags"
        Column holding the tags (see :func:`parse_tags`).

    Returns
    -------
    list of list of str
        One list per row.

    Raises
    ------
    ApcInputError
        If the column does not exist.
    """
    if column not in tracks.columns:
        raise ApcInputError(f"tracks table has no {column!r} column", field=column)
    return [parse_tags(v) for v in tracks[column].to_numpy(dtype=object)]


class TagWord2Vec:
    """word2vec over per-track tag lists; a track's vector is the mean of its tags'.

    Parameters
    ----------
    vector_size : int
        Embedding dimension (default 32).
    epochs : int
        Passes over the tag lists (default 20).
    min_count : int
        Ignore tags on fewer tracks (default 1).
    negative : int
        Negative samples per positive pair (default 5).
    sg : bool
        Skip-gram (True, default) or CBOW.
    sample : float
        gensim's down-sampling of frequent tokens (default 0: off — with a vocabulary of
        a few dozen genres every tag is "frequent" and would mostly be dropped).
    seed : int
        Seed of gensim's initialisation and sampling.

    Attributes
    ----------
    tags_ : list of str
        The vocabulary.
    vectors_ : np.ndarray
        float32 (n_tags, vector_size).

    Examples
    --------
    >>> w2v = TagWord2Vec(vector_size=4, epochs=5).fit([["rock", "indie"], ["jazz"]])
    >>> w2v.transform([["rock"], []])[1].tolist(), w2v.available([["rock"], []]).tolist()
    ([0.0, 0.0, 0.0, 0.0], [True, False])
    """

    def __init__(
        self,
        *,
        vector_size: int = 32,
        epochs: int = 20,
        min_count: int = 1,
        negative: int = 5,
        sg: bool = True,
        sample: float = 0.0,
        seed: int = 0,
    ) -> None:
        self.vector_size = vector_size
        self.epochs = epochs
        self.min_count = min_count
        self.negative = negative
        self.sg = sg
        self.sample = sample
        self.seed = seed

    def fit(self, lists: list[list[str]]) -> TagWord2Vec:
        """Train on tag lists (one per track).

        Parameters
        ----------
        lists : list of list of str
            Tag list of each track (see :func:`tag_lists`).

        Returns
        -------
        TagWord2Vec
            ``self``, fitted.

        Raises
        ------
        ApcInputError
            If no track has tags.
        """
        from gensim.models import Word2Vec

        sentences = [lst for lst in lists if lst]
        if not sentences:
            raise ApcInputError("no track has tags", field="tags")
        window = max(1, max(len(s) for s in sentences))
        model = Word2Vec(
            sentences=sentences,
            vector_size=int(self.vector_size),
            window=window,
            min_count=int(self.min_count),
            sg=int(bool(self.sg)),
            negative=int(self.negative),
            sample=float(self.sample),
            epochs=int(self.epochs),
            workers=1,
            seed=int(self.seed),
            hashfxn=stable_hash,
        )
        self.tags_ = list(model.wv.index_to_key)
        self.index_ = {t: i for i, t in enumerate(self.tags_)}
        self.vectors_ = np.asarray(model.wv.vectors, dtype=np.float32)
        return self

    def _rows(self, lists: list[list[str]]):
        rows, cols = [], []
        for r, lst in enumerate(lists):
            for t in lst:
                j = self.index_.get(t)
                if j is not None:
                    rows.append(r)
                    cols.append(j)
        return np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)

    def transform(self, lists: list[list[str]]) -> np.ndarray:
        """Map tag lists to the mean of their known tag vectors.

        Parameters
        ----------
        lists : list of list of str
            Tag list of each track (see :func:`tag_lists`).

        Returns
        -------
        np.ndarray
            float32 (n, vector_size); zeros for a track without any known tag.
        """
        import scipy.sparse as sp

        rows, cols = self._rows(lists)
        m = sp.csr_array(
            (np.ones(len(rows), dtype=np.float32), (rows, cols)),
            shape=(len(lists), len(self.tags_)),
        )
        counts = np.asarray(m.sum(axis=1)).ravel()
        out = (m @ self.vectors_).astype(np.float32)
        has = counts > 0
        out[has] /= counts[has, None]
        return out

    def available(self, lists: list[list[str]]) -> np.ndarray:
        """Tell which tracks have at least one known tag.

        Parameters
        ----------
        lists : list of list of str
            Tag list of each track (see :func:`tag_lists`).

        Returns
        -------
        np.ndarray
            bool (n,).
        """
        rows, _ = self._rows(lists)
        out = np.zeros(len(lists), dtype=bool)
        out[rows] = True
        return out
