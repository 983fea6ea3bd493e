import importlib.util

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from apc.errors import ApcInputError  # noqa: E402
from apc.models.popularity import Popularity  # noqa: E402
from apc.models.sequence.sasrec import SASRec, SASRecConfig, SASRecNet  # noqa: E402
from apc.testing import RecommenderContract, cycles, queries_from  # noqa: E402


@pytest.fixture(autouse=True)
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def cycle_task():
    """Walks around a 30-cycle; held-out prefixes (seed <= 7 tracks) ask for the next track."""
    train = cycles(30, n_playlists=150, seed=0)
    held = cycles(30, n_playlists=40, seed=1)
    rng = np.random.default_rng(7)
    seeds, targets = [], []
    for p in range(1, len(held)):
        s = held[p]
        cut = int(rng.integers(1, len(s)))
        seeds.append(s[:cut].tolist())
        targets.append([int(s[cut])])
    return train, queries_from(train, seeds, targets), np.array(targets)[:, 0]


def hit_at_1(model, train, q, y):
    return float((model.fit(train).recommend(q, 1).items[:, 0] == y).mean())


def small(**kw):
    args = dict(
        hidden=16, max_len=8, batch_size=32, epochs=8, lr=1e-2, dropout=0.1, val_k=1, patience=2
    )
    args.update(kw)
    return SASRec(**args)


class TestSASRecContract(RecommenderContract):
    def make_model(self):
        return SASRec(hidden=8, layers=1, max_len=4, epochs=1, batch_size=8, val_fraction=0)


def test_learns_order_that_popularity_cannot():
    train, q, y = cycle_task()
    assert hit_at_1(small(), train, q, y) >= 0.9
    assert hit_at_1(Popularity(), train, q, y) <= 0.2


@pytest.mark.parametrize(
    "kw",
    [dict(n_negatives=8, sample_alpha=0.5), dict(loss="bce"), dict(share_embedding=False, heads=2)],
)
def test_variants_learn(kw):
    train, q, y = cycle_task()
    assert hit_at_1(small(epochs=15, patience=4, **kw), train, q, y) >= 0.9


@pytest.mark.skipif(
    importlib.util.find_spec("apc.models.knn") is None, reason="apc.models.knn not present"
)
def test_beats_playlist_knn_on_order():
    from apc.models.knn import PlaylistKNN

    train, q, y = cycle_task()
    assert hit_at_1(small(), train, q, y) - hit_at_1(PlaylistKNN(), train, q, y) >= 0.3


def _net(**kw):
    torch.manual_seed(0)
    return SASRecNet(SASRecConfig(max_len=6, hidden=8, layers=2, heads=2, **kw), 20).eval()


def test_causal_mask_future_items_do_not_change_earlier_outputs():
    net = _net()
    a = torch.tensor([[1, 2, 3, 4, 5, 6]])
    b = a.clone()
    b[0, 3] = 17  # change the 4th track
    with torch.no_grad():
        ha, hb = net.encode(a)[0], net.encode(b)[0]
    np.testing.assert_allclose(ha[:3].numpy(), hb[:3].numpy(), rtol=1e-6, atol=1e-6)
    assert not torch.allclose(ha[3:], hb[3:])


def test_padding_does_not_change_the_last_position_logits():
    net = _net()
    pad = 20
    short = torch.tensor([[3, 7, 9]])
    padded = torch.tensor([[3, 7, 9, pad, pad, pad], [5, 6, pad, pad, pad, pad]])
    with torch.no_grad():
        l_short, _ = net(short)
        l_pad, _ = net(padded)
        l_other, _ = net(torch.tensor([[5, 6]]))
    np.testing.assert_allclose(l_pad[0].numpy(), l_short[0].numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(l_pad[1].numpy(), l_other[0].numpy(), rtol=1e-5, atol=1e-6)
    assert l_pad.shape == (2, 20)  # output head over the catalogue only (no pad column)


def test_forward_with_targets_returns_loss_over_valid_positions():
    net = _net()
    seq = torch.tensor([[1, 2, 3, 20], [4, 5, 20, 20]])
    targets = torch.tensor([[2, 3, 4, -1], [5, 6, -1, -1]])
    logits, loss = net(seq, targets)
    assert logits.shape == (5, 20)
    expected = torch.nn.functional.cross_entropy(logits, torch.tensor([2, 3, 4, 5, 6]))
    assert loss.item() == pytest.approx(expected.item())


def test_too_long_sequence_is_refused():
    with pytest.raises(ValueError):
        _net().encode(torch.zeros(1, 7, dtype=torch.long))


def test_long_seeds_use_the_last_max_len_tracks():
    train, _, _ = cycle_task()
    model = small(epochs=2).fit(train)
    long_seed = list(range(3, 15))  # 12 tracks > max_len = 8
    a = model.recommend(queries_from(train, [long_seed], [[15]]), 5)
    b = model.recommend(queries_from(train, [long_seed[-8:]], [[15]]), 5)
    # same context, only the excluded seed set differs: rankings agree on shared candidates
    common = [i for i in a.items[0] if i in set(b.items[0])]
    assert common == [i for i in b.items[0] if i in set(a.items[0])]


@pytest.mark.parametrize(
    "param, value", [("heads", 3), ("loss", "bpr"), ("max_len", 0), ("n_negatives", -2)]
)
def test_bad_parameters_raise(param, value):
    with pytest.raises(ApcInputError) as e:
        SASRec(hidden=16, **{param: value}).fit(cycles(6, n_playlists=5))
    assert e.value.field == param


@pytest.mark.gpu
def test_gpu_forward_matches_cpu(torch_device):
    net = _net()
    seq = torch.tensor([[1, 2, 3, 20], [4, 5, 20, 20]])
    with torch.no_grad():
        cpu, _ = net(seq)
        gpu, _ = net.to(torch_device)(seq.to(torch_device))
    assert gpu.device.type == "cuda"
    np.testing.assert_allclose(gpu.cpu().numpy(), cpu.numpy(), rtol=1e-3, atol=1e-4)
