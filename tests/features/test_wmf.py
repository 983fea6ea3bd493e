import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from apc.data.playlists import Playlists
from apc.errors import ApcInputError
from apc.features.wmf import WMF, confidence


def test_confidence_formula():
    # c = 1 + alpha * log(1 + r / eps): r = 1, eps = 1, alpha = 2 -> 1 + 2 log 2
    np.testing.assert_allclose(
        confidence(np.array([0.0, 1.0, 3.0]), 2.0, 1.0),
        [1.0, 1 + 2 * np.log(2), 1 + 2 * np.log(4)],
        rtol=1e-6,
    )


def planted(seed: int, n_play=60, n_tracks=40, hide=0.2):
    """Two communities: playlist p likes tracks of its block (rank 2); some entries hidden."""
    rng = np.random.default_rng(seed)
    block_p = np.arange(n_play) % 2
    block_t = np.arange(n_tracks) % 2
    truth = (block_p[:, None] == block_t[None, :]) & (rng.random((n_play, n_tracks)) < 0.6)
    hidden = truth & (rng.random(truth.shape) < hide)
    observed = truth & ~hidden
    return observed, hidden, block_p, block_t


def test_recovers_planted_low_rank_structure(seed):
    observed, hidden, block_p, block_t = planted(seed)
    m = sp.csr_array(observed.astype(np.float32))
    wmf = WMF(n_factors=2, iterations=15, regularization=0.1, seed=seed).fit_matrix(m)
    scores = wmf.score()
    # held-out positives (same block) outrank every unobserved other-block entry of their playlist
    for p in range(observed.shape[0]):
        pos = np.flatnonzero(hidden[p])
        neg = np.flatnonzero(block_t != block_p[p])
        if len(pos):
            assert scores[p, pos].min() > scores[p, neg].max()
    # track factors of the two blocks point in different directions
    y = wmf.track_factors_ / np.linalg.norm(wmf.track_factors_, axis=1, keepdims=True)
    same = (y[block_t == 0] @ y[block_t == 0].T).mean()
    cross = (y[block_t == 0] @ y[block_t == 1].T).mean()
    assert same > 0.9 and cross < 0.2
    # with more factors than the planted rank, regularisation keeps the ranking (AUC ~ 1)
    scores = WMF(n_factors=4, regularization=1.0, seed=seed).fit_matrix(m).score()
    aucs = [
        (scores[p, hidden[p]][:, None] > scores[p, block_t != block_p[p]][None, :]).mean()
        for p in range(len(scores))
        if hidden[p].any()
    ]
    assert np.mean(aucs) > 0.99


def test_seeded_and_no_blas_warning(seed):
    observed, *_ = planted(seed)
    m = sp.csr_array(observed.astype(np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # implicit's BLAS-threads warning must not fire
        a = WMF(n_factors=3, seed=1).fit_matrix(m)
    b = WMF(n_factors=3, seed=1).fit_matrix(m)
    np.testing.assert_array_equal(a.track_factors_, b.track_factors_)
    assert a.track_factors_.dtype == np.float32


def test_tracks_in_no_playlist_are_unavailable_with_zero_factors():
    seqs = [["a", "b"], ["b", "c"]]
    pl = Playlists.from_sequences(seqs)
    import pandas as pd

    tracks = pd.concat([pl.tracks, pd.DataFrame({"track_id": ["cold"]})], ignore_index=True)
    pl2 = Playlists(pl.indptr, pl.items, tracks, pl.artists, pl.meta)
    wmf = WMF(n_factors=2, iterations=3).fit(pl2)
    assert wmf.available_.tolist() == [True, True, True, False]
    assert not wmf.track_factors_[3].any()


def test_weighted_error_equals_dense_objective(rng):
    counts = sp.csr_array(
        (rng.random((7, 9)) < 0.3).astype(np.float32) * rng.integers(1, 4, (7, 9))
    )
    wmf = WMF(n_factors=3, iterations=4, alpha=2.0, epsilon=0.5).fit_matrix(counts)
    y = rng.standard_normal((9, 3)).astype(np.float32)
    dense = counts.toarray()
    c = np.where(dense > 0, confidence(dense, 2.0, 0.5), 1.0)
    p = (dense > 0).astype(float)
    expected = (c * (p - wmf.playlist_factors_.astype(float) @ y.T.astype(float)) ** 2).sum()
    assert wmf.weighted_error(counts, y) == pytest.approx(expected, rel=1e-5)


def test_bad_parameters_raise():
    with pytest.raises(ApcInputError):
        WMF(n_factors=0).fit_matrix(sp.csr_array(np.eye(3, dtype=np.float32)))
    with pytest.raises(ApcInputError):
        WMF(epsilon=0).fit_matrix(sp.csr_array(np.eye(3, dtype=np.float32)))
