import numpy as np
import pytest

from apc.errors import ApcInputError
from apc.features.audio import log_mel
from apc.features.mfcc_bow import FactorRegressor, MFCCBagOfWords, mfcc_frames

SR = 22_050


def clip(kind: str, seed: int, seconds: float = 2.0) -> np.ndarray:
    """'low': a 150 Hz tone; 'high': band noise around 4 kHz — two clearly different timbres."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    if kind == "low":
        y = 0.5 * np.sin(2 * np.pi * (150 + 10 * rng.random()) * t)
    else:
        y = (
            0.3
            * np.sin(2 * np.pi * (4000 + 200 * rng.random()) * t)
            * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
        )
    y = y + 0.005 * rng.standard_normal(len(t))
    return log_mel(y.astype(np.float32))


@pytest.fixture(scope="module")
def clips():
    kinds = ["low", "high"] * 6
    return [clip(k, i) for i, k in enumerate(kinds)], np.array([k == "high" for k in kinds])


def test_mfcc_frames_have_deltas():
    f = mfcc_frames(clip("low", 0))
    assert f.shape == (1 + 2 * SR // 512, 39) and f.dtype == np.float32
    # a stationary tone has near-zero time derivatives compared with the coefficients
    assert np.abs(f[5:-5, 13:]).mean() < 0.05 * np.abs(f[:, :13]).mean()


def test_bag_of_words_separates_timbres(clips, seed):
    specs, high = clips
    bow = MFCCBagOfWords(n_words=16, n_components=4, seed=seed)
    x = bow.fit_transform(specs)
    assert x.shape == (len(specs), 4) and x.dtype == np.float32
    # nearest class centroid classifies every clip correctly
    c0, c1 = x[~high].mean(axis=0), x[high].mean(axis=0)
    pred = np.linalg.norm(x - c1, axis=1) < np.linalg.norm(x - c0, axis=1)
    assert (pred == high).all()
    # deterministic under the seed; None clips give zeros
    again = (
        MFCCBagOfWords(n_words=16, n_components=4, seed=seed).fit(specs).transform(specs + [None])
    )
    np.testing.assert_allclose(again[:-1], x, rtol=1e-5, atol=1e-6)
    assert not again[-1].any()


def test_components_capped_by_data(clips):
    specs, _ = clips
    bow = MFCCBagOfWords(n_words=4, n_components=50).fit(specs[:3])
    assert bow.pca_.n_components_ == 3
    with pytest.raises(ApcInputError):
        MFCCBagOfWords().fit([specs[0], None])


@pytest.mark.parametrize("kind", ["ridge", "mlp"])
def test_factor_regressor_recovers_a_linear_map(kind, rng):
    x = rng.standard_normal((200, 6))
    w = rng.standard_normal((6, 3))
    y = (x @ w).astype(np.float32)
    reg = FactorRegressor(kind=kind, alpha=1e-3, hidden=(32,), max_iter=500, seed=0).fit(
        x[:150], y[:150]
    )
    pred = reg.predict(x[150:])
    assert pred.dtype == np.float32
    r2 = 1 - ((pred - y[150:]) ** 2).sum() / ((y[150:] - y[150:].mean(axis=0)) ** 2).sum()
    assert r2 > 0.95


def test_regressor_kind_is_checked():
    with pytest.raises(ApcInputError, match="kind"):
        FactorRegressor(kind="svm").fit(np.zeros((3, 2)), np.zeros((3, 1)))
