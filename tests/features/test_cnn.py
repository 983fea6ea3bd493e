import pickle

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from apc.errors import ApcInputError, NotFittedError
from apc.features.audio import MelSettings, log_mel
from apc.features.cnn import _WPE, AudioCNN, AudioCNNConfig, AudioFactorCNN
from apc.features.wmf import WMF

SR = 22_050
TINY = AudioCNNConfig(channels=(16, 16), pool_sizes=(4, 2), hidden=32)


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tiny networks gain nothing from intra-op threads, and on a shared 2-core machine
    OpenMP spin-waiting makes them many times slower; restore the setting afterwards."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def tone_clip(freq: float, seconds: float = 4.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    y = 0.5 * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(len(t))
    return log_mel(y.astype(np.float32), MelSettings(n_mels=32))


@pytest.fixture(scope="module")
def clips():
    freqs = [200, 300, 450, 700, 1000, 1500, 2200, 3300]
    return [tone_clip(f, seed=i) for i, f in enumerate(freqs)]


def test_architecture_shapes():
    net = AudioCNN(AudioCNNConfig(n_mels=128, n_outputs=5))
    x = torch.zeros(3, 128, 129)  # three 3-second windows
    assert net(x).shape == (3, 5)
    assert net.embed(x).shape == (3, 3 * 64)  # mean, max and L2 pooling of 64 channels
    assert AudioCNNConfig().output_frames(129) == 15  # (129 - 3) / 4 -> 32, (32 - 3) / 2 -> 15
    assert AudioCNNConfig().output_frames(4) == 0


def test_overfits_a_tiny_set(clips, seed):
    rng = np.random.default_rng(seed)
    y = rng.standard_normal((len(clips), 3)).astype(np.float32)
    cnn = AudioFactorCNN(config=TINY, epochs=60, batch_size=8, lr=1e-2, seed=seed).fit(clips, y)
    pred = cnn.predict(clips)
    mse = float(((pred - y) ** 2).mean())
    assert mse < 0.1 * float(y.var())  # a tenth of the variance: memorised
    assert pred.dtype == np.float32 and pred.shape == (len(clips), 3)


def test_predict_averages_consecutive_windows(clips, seed):
    y = np.ones((len(clips), 2), np.float32)
    cnn = AudioFactorCNN(config=TINY, epochs=1, seed=seed).fit(clips, y)
    w = cnn.window_frames
    clip = clips[0]
    n = clip.shape[1] // w
    windows = torch.from_numpy(np.stack([clip[:, j * w : (j + 1) * w] for j in range(n)]))
    with torch.no_grad():
        manual = cnn.module_(windows).numpy().mean(axis=0)
    np.testing.assert_allclose(cnn.predict([clip])[0], manual, rtol=1e-5, atol=1e-6)
    # a clip shorter than a window is padded; a missing clip gives zeros
    out = cnn.predict([clip[:, :10], None])
    assert np.isfinite(out[0]).all() and not out[1].any()


def test_seeded_and_picklable(clips, seed):
    y = np.random.default_rng(0).standard_normal((len(clips), 2)).astype(np.float32)
    a = AudioFactorCNN(config=TINY, epochs=3, seed=seed).fit(clips, y)
    b = AudioFactorCNN(config=TINY, epochs=3, seed=seed).fit(clips, y)
    np.testing.assert_allclose(a.predict(clips), b.predict(clips), rtol=1e-5, atol=1e-6)
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_allclose(a.predict(clips), c.predict(clips), rtol=1e-6)


def test_wpe_loss_matches_the_wmf_objective(rng):
    counts = sp.csr_array((rng.random((6, 5)) < 0.4).astype(np.float32))
    wmf = WMF(n_factors=2, iterations=3, alpha=2.0, epsilon=0.5).fit_matrix(counts)
    wpe = _WPE(wmf.playlist_factors_, counts, wmf.alpha, wmf.epsilon)
    y = rng.standard_normal((5, 2)).astype(np.float32)
    idx = torch.tensor([0, 1, 2, 3, 4])
    got = float(wpe(torch.from_numpy(y), idx)) * 5 * 6  # mean per cell -> sum
    assert got == pytest.approx(wmf.weighted_error(counts, y), rel=1e-4)


def test_trains_with_wpe(clips, seed):
    rng = np.random.default_rng(seed)
    counts = sp.csr_array((rng.random((20, len(clips))) < 0.5).astype(np.float32))
    wmf = WMF(n_factors=3, iterations=5).fit_matrix(counts)
    cnn = AudioFactorCNN(config=TINY, epochs=40, loss="wpe", lr=3e-3, seed=seed)
    cnn.fit(clips, wmf.track_factors_, wmf=wmf, counts=counts)
    pred = cnn.predict(clips)
    zero = wmf.weighted_error(counts, np.zeros_like(pred))
    assert wmf.weighted_error(counts, pred) < zero  # better than predicting nothing


def test_errors(clips):
    with pytest.raises(NotFittedError):
        AudioFactorCNN().predict(clips)
    with pytest.raises(ApcInputError, match="loss"):
        AudioFactorCNN(loss="l1").fit(clips, np.zeros((len(clips), 2)))
    with pytest.raises(ApcInputError, match="wpe"):
        AudioFactorCNN(loss="wpe", epochs=1).fit(clips, np.zeros((len(clips), 2)))
    with pytest.raises(ApcInputError, match="too short"):
        AudioFactorCNN(window_seconds=0.05).fit(clips, np.zeros((len(clips), 2)))
