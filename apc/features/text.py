"""TF-IDF vectors of artist text (biographies), the text branch of Oramas et al. (2017).

Oramas et al. describe each artist by a TF-IDF vector of its biography; here the text is
a column of the corpus' ``artists`` table (``bio`` in the synthetic corpus). Artists
without text get a zero row and ``has_text = False``.

References
----------
S. Oramas, O. Nieto, M. Sordo and X. Serra. "A deep multimodal approach for cold-start
music recommendation." DLRS 2017 (RecSys workshop), 32-37.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp


def artist_texts(artists: pd.DataFrame, column: str = "bio") -> list[str]:
    """Return one string per artist row ("" where the column is absent or the cell empty)."""
    if column not in artists.columns:
        return [""] * len(artists)
    out = []
    for v in artists[column].to_numpy(dtype=object):
        out.append("" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
    return out


def tfidf(texts: list[str], *, max_features: int = 2000, min_df: int = 2
          ) -> tuple[sp.csr_array, np.ndarray, list[str]]:
    """Fit a TF-IDF vocabulary on ``texts`` and transform them (sublinear tf, L2 rows).

    Parameters
    ----------
    texts : list of str
        One document per artist ("" = no text).
    max_features : int
        Most frequent terms kept.
    min_df : int
        Terms in fewer documents are dropped (1 when fewer than 50 documents have text:
        a tiny corpus has few shared words).

    Returns
    -------
    matrix : scipy.sparse.csr_array
        float32 (n, V).
    has_text : np.ndarray
        bool (n,): the document has at least one kept term.
    terms : list of str
        The vocabulary.

    Examples
    --------
    >>> m, has, terms = tfidf(["rock guitar", "rock loud", ""], min_df=1)
    >>> m.shape, has.tolist()
    ((3, 3), [True, True, False])
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    n_docs = sum(bool(t.strip()) for t in texts)
    if n_docs == 0:
        return sp.csr_array((len(texts), 0), dtype=np.float32), np.zeros(len(texts), bool), []
    vec = TfidfVectorizer(max_features=int(max_features), min_df=int(min_df) if n_docs >= 50 else 1,
                          sublinear_tf=True, dtype=np.float32)
    try:
        m = vec.fit_transform(texts)
    except ValueError:  # every term pruned (e.g. only stop words)
        return sp.csr_array((len(texts), 0), dtype=np.float32), np.zeros(len(texts), bool), []
    m = sp.csr_array(m, dtype=np.float32)
    return m, np.diff(m.indptr) > 0, list(vec.get_feature_names_out())


__all__ = ["artist_texts", "tfidf"]
