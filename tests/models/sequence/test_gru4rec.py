import importlib.util
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from apc.data import Playlists  # noqa: E402
from apc.errors import ApcInputError  # noqa: E402
from apc.models.popularity import Popularity  # noqa: E402
from apc.models.sequence.data import SessionParallelDataset  # noqa: E402
from apc.models.sequence.gru4rec import (  # noqa: E402
    AdagradM,
    GRU4Rec,
    GRU4RecConfig,
    GRU4RecLightning,
    GRU4RecNet,
    bpr_max_loss,
    xe_loss,
)
from apc.testing import RecommenderContract, cycles, queries_from  # noqa: E402


@pytest.fixture(autouse=True)
def one_thread():
    # tiny networks: one thread avoids OpenMP stalls on a shared 2-core machine
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def cycle_task():
    """Train on walks around a 30-cycle; query held-out prefixes for their next track.

    The catalogue is large next to the seeds (at most 7 tracks), so excluding the seed
    leaves popularity a near-random guess among 23+ equally popular tracks.
    """
    train = cycles(30, n_playlists=150, seed=0)
    held = cycles(30, n_playlists=40, seed=1)  # same catalogue order (track index = position)
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


class TestGRU4RecContract(RecommenderContract):
    def make_model(self):
        return GRU4Rec(hidden=8, epochs=1, batch_size=8, n_negatives=16, val_fraction=0)


@pytest.mark.parametrize("loss", ["cross-entropy", "bpr-max"])
def test_learns_order_that_popularity_cannot(loss):
    train, q, y = cycle_task()
    gru = GRU4Rec(
        hidden=16, loss=loss, n_negatives=32, batch_size=16, epochs=6, val_k=1, patience=2
    )
    assert hit_at_1(gru, train, q, y) >= 0.9
    assert hit_at_1(Popularity(), train, q, y) <= 0.2


@pytest.mark.skipif(
    importlib.util.find_spec("apc.models.knn") is None, reason="apc.models.knn not present"
)
def test_beats_playlist_knn_on_order():
    from apc.models.knn import PlaylistKNN

    train, q, y = cycle_task()
    gru = hit_at_1(
        GRU4Rec(hidden=16, n_negatives=32, batch_size=16, epochs=6, val_k=1), train, q, y
    )
    knn = hit_at_1(PlaylistKNN(), train, q, y)
    # co-occurrence sees both neighbours of the seed window equally: order is invisible to it
    assert gru - knn >= 0.3, (gru, knn)


def test_one_hot_and_separate_embedding_inputs_learn():
    train, q, y = cycle_task()
    onehot = GRU4Rec(
        hidden=16,
        constrained_embedding=False,
        embedding=0,
        n_negatives=32,
        batch_size=16,
        epochs=6,
        val_k=1,
    )
    assert hit_at_1(onehot, train, q, y) >= 0.9
    assert onehot.network_.onehot is not None  # one-hot input layer, as in the 2016 paper
    sep = GRU4Rec(
        hidden=16,
        layers=2,
        constrained_embedding=False,
        embedding=8,
        n_negatives=32,
        batch_size=16,
        epochs=6,
        val_k=1,
    )
    assert hit_at_1(sep, train, q, y) >= 0.9


def test_xe_and_bpr_max_known_answers():
    s = torch.tensor(
        [[2.0, 0.0, 1.0], [0.0, 1.0, -1.0]]
    )  # 2 rows, target on the diagonal, 1 sample
    e = math.exp
    xe = -math.log(e(2) / (e(2) + e(0) + e(1))) - math.log(e(1) / (e(0) + e(1) + e(-1)))
    assert xe_loss(s).item() == pytest.approx(xe, rel=1e-6)

    def bprmax_row(
        r, t, lam
    ):  # hand-written BPR-max (Hidasi & Karatzoglou 2018, Eq. 9), linear activation
        neg = [j for j in range(len(r)) if j != t]
        z = sum(e(r[j]) for j in neg)
        sj = {j: e(r[j]) / z for j in neg}
        sig = lambda x: 1 / (1 + e(-x))  # noqa: E731
        return -math.log(sum(sj[j] * sig(r[t] - r[j]) for j in neg)) + lam * sum(
            sj[j] * r[j] ** 2 for j in neg
        )

    rows = s.tolist()
    expected = bprmax_row(rows[0], 0, 0.5) + bprmax_row(rows[1], 1, 0.5)
    assert bpr_max_loss(s, bpreg=0.5, elu_param=0.0).item() == pytest.approx(expected, rel=1e-5)
    # with ELU the scores are transformed first
    elu = torch.nn.functional.elu(s, 0.5)
    assert bpr_max_loss(s, bpreg=0.5, elu_param=0.5).item() == pytest.approx(
        bpr_max_loss(elu, bpreg=0.5, elu_param=0.0).item(), rel=1e-6
    )


def test_adagradm_sparse_updates_equal_dense():
    torch.manual_seed(0)
    dense = torch.nn.Embedding(6, 3)
    sparse = torch.nn.Embedding(6, 3, sparse=True)
    sparse.weight.data.copy_(dense.weight.data)
    od, os_ = (
        AdagradM(dense.parameters(), lr=0.1, momentum=0.3),
        AdagradM(sparse.parameters(), lr=0.1, momentum=0.3),
    )
    before = dense.weight.data.clone()
    for idx in ([0, 2, 2], [1, 2], [2, 5]):
        for emb, opt in ((dense, od), (sparse, os_)):
            opt.zero_grad()
            (emb(torch.tensor(idx)) ** 2).sum().backward()
            opt.step()
    # row 2, touched at every step, gets exactly the dense update
    np.testing.assert_allclose(
        sparse.weight.data[2].numpy(), dense.weight.data[2].numpy(), rtol=1e-6
    )
    # rows never touched do not move in either
    np.testing.assert_array_equal(sparse.weight.data[[3, 4]].numpy(), before[[3, 4]].numpy())
    # rows touched once then left: the sparse update skips the momentum-only steps (lazy momentum,
    # as the reference IndexedAdagradM) while the dense one keeps coasting
    assert not torch.allclose(sparse.weight.data[0], dense.weight.data[0])
    # without momentum the two are identical everywhere
    d2, s2 = torch.nn.Embedding(6, 3), torch.nn.Embedding(6, 3, sparse=True)
    s2.weight.data.copy_(d2.weight.data)
    o1, o2 = AdagradM(d2.parameters(), lr=0.1), AdagradM(s2.parameters(), lr=0.1)
    for idx in ([0, 2, 2], [1, 2], [0, 5]):
        for emb, opt in ((d2, o1), (s2, o2)):
            opt.zero_grad()
            (emb(torch.tensor(idx)) ** 2).sum().backward()
            opt.step()
    np.testing.assert_allclose(s2.weight.data.numpy(), d2.weight.data.numpy(), rtol=1e-6)
    # one plain Adagrad step by hand: w - lr * g / sqrt(g^2 + eps) = w - lr * sign(g) (approx.)
    w = torch.nn.Embedding(1, 2)
    w.weight.data = torch.tensor([[1.0, -2.0]])
    o = AdagradM(w.parameters(), lr=0.1)
    (w(torch.tensor([0])) ** 2).sum().backward()
    o.step()
    g = np.array([2.0, -4.0])
    np.testing.assert_allclose(
        w.weight.data[0].numpy(), np.array([1.0, -2.0]) - 0.1 * g / np.sqrt(g**2 + 1e-6), rtol=1e-6
    )


@pytest.mark.parametrize(
    "config",
    [
        dict(),
        dict(constrained_embedding=False, embedding=5, layers=2),
        dict(constrained_embedding=False, embedding=0, layers=2),
    ],
)
def test_step_by_step_equals_sequence_forward(config):
    torch.manual_seed(0)
    net = GRU4RecNet(GRU4RecConfig(hidden=6, **config), 10).eval()
    seq = torch.tensor([[3, 1, 4, 1, 5]])
    with torch.no_grad():
        full = net.hidden_states(seq)[0]  # (T, H)
        hidden = [torch.zeros(1, 6) for _ in range(net.config.layers)]
        for t in range(seq.shape[1]):
            out, hidden = net.step(seq[:, t], hidden)
            np.testing.assert_allclose(out[0].numpy(), full[t].numpy(), rtol=1e-5, atol=1e-6)
        logits, _ = net(torch.tensor([[3, 1, 4, 10, 10]]))  # right-padded with pad = 10
        np.testing.assert_allclose(
            logits[0].numpy(),
            net.score_candidates(full[2:3], torch.arange(10))[0].numpy(),
            rtol=1e-5,
        )


def test_training_resets_hidden_state_at_playlist_boundaries():
    # track index == name; every track occurs once, so an input tells its playlist and position
    seqs = [["0", "1", "2"], ["3", "4"], ["5"], ["6", "7", "8", "9"], ["10", "11"]]
    pl = Playlists.from_sequences(seqs)
    torch.manual_seed(0)
    net = GRU4RecNet(
        GRU4RecConfig(hidden=4, layers=2, constrained_embedding=False, embedding=3, n_negatives=0),
        pl.n_tracks,
    ).eval()
    lit = GRU4RecLightning(net, popularity=pl.item_popularity())
    where = {int(t): (p, j) for p in range(len(pl)) for j, t in enumerate(pl[p])}
    checked = 0
    steps = []
    for chunk in SessionParallelDataset(pl, batch_size=2, chunk=2):  # packed runs of steps
        ptr, rptr, kptr = (chunk[k].tolist() for k in ("ptr", "reset_ptr", "keep_ptr"))
        for i in range(len(ptr) - 1):
            keep = chunk["keep"][kptr[i] : kptr[i + 1]] if kptr[i] < kptr[i + 1] else None
            steps.append((chunk["inputs"][ptr[i] : ptr[i + 1]],
                          chunk["reset"][rptr[i] : rptr[i + 1]], keep))
    with torch.no_grad():
        for inputs, reset, keep in steps:
            out, hidden = net.step(inputs, lit._carry(inputs, reset, keep))
            lit._hidden = [h.clone() for h in hidden]
            for row, x in enumerate(inputs.tolist()):
                p, j = where[x]
                prefix = torch.from_numpy(pl[p][: j + 1].astype(np.int64))[None]
                expected = net.hidden_states(prefix)[0, -1]  # the playlist alone, from a zero state
                np.testing.assert_allclose(out[row].numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)
                checked += 1
    assert checked == 7  # every transition of the corpus


def test_fit_records_history_and_leaves_no_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    train, q, y = cycle_task()
    m = GRU4Rec(hidden=8, n_negatives=8, batch_size=16, epochs=3, val_k=1, patience=5).fit(train)
    assert list(tmp_path.iterdir()) == []  # no lightning_logs/, no checkpoints in the cwd
    assert len(m.epoch_times_) == 3 and all(t > 0 for t in m.epoch_times_)
    assert "val_recall@1" in m.history_.columns and len(m.history_) == 3
    assert m.best_epoch_ == int(m.history_["val_recall@1"].to_numpy().argmax())
    assert m.n_train_events_ == int(np.maximum(m_fit_lengths(train, m) - 1, 0).sum())


def m_fit_lengths(train, model):
    from apc.models.sequence.data import validation_split

    fit_rows, _ = validation_split(train.lengths, model.val_fraction, model.seed)
    return train.lengths[fit_rows]


@pytest.mark.parametrize(
    "param, value",
    [
        ("loss", "top1"),
        ("hidden", 0),
        ("dropout_hidden", 1.0),
        ("n_negatives", -1),
        ("optimizer", "sgd"),
        ("val_fraction", 1.5),
    ],
)
def test_bad_parameters_raise(param, value):
    train = cycles(6, n_playlists=5)
    with pytest.raises(ApcInputError) as e:
        GRU4Rec(**{param: value}).fit(train)
    assert e.value.field == param


@pytest.mark.gpu
def test_gpu_forward_matches_cpu(torch_device):
    torch.manual_seed(0)
    net = GRU4RecNet(GRU4RecConfig(hidden=8), 50, sparse=False).eval()
    seq = torch.tensor([[1, 2, 3, 50], [4, 5, 50, 50]])
    with torch.no_grad():
        cpu, _ = net(seq)
        gpu, _ = net.to(torch_device)(seq.to(torch_device))
    assert gpu.device.type == "cuda" and gpu.shape == (2, 50)
    np.testing.assert_allclose(gpu.cpu().numpy(), cpu.numpy(), rtol=1e-4, atol=1e-5)


def _reference_gru_embedding(seq, wx, w_rz, w_h, b):
    """The official ``GRUEmbedding`` in numpy (issue 13: the reset gate before the product).

    z, r = sigmoid(x W_xzr + h W_hzr); h~ = tanh(x W_xh + (r * h) W_hh);
    h' = (1 - z) h + z h~, with x one-hot (a row of ``wx``, laid out [candidate | r | z]).
    """
    sigmoid = lambda a: 1.0 / (1.0 + np.exp(-a))  # noqa: E731
    n = w_h.shape[0]
    h = np.zeros((len(seq), n))
    states = []
    for t in range(seq.shape[1]):
        vx = wx[seq[:, t]] + b
        vh = h @ w_rz
        r = sigmoid(vx[:, n : 2 * n] + vh[:, :n])
        z = sigmoid(vx[:, 2 * n :] + vh[:, n:])
        cand = np.tanh(vx[:, :n] + (r * h) @ w_h)
        h = (1.0 - z) * h + z * cand
        states.append(h)
    return np.stack(states, axis=1)  # (B, T, H)


def test_one_hot_input_matches_the_official_gru_embedding():
    torch.manual_seed(0)
    net = GRU4RecNet(GRU4RecConfig(hidden=5, constrained_embedding=False, embedding=0), 12)
    net.eval()
    cell = net.onehot
    with torch.no_grad():
        cell.b.uniform_(-0.5, 0.5)  # non-zero biases, as after training
        cell.wh.mul_(3.0)  # large enough that r * (h W) and (r * h) W differ clearly
    wx, wh, b = (t.detach().double().numpy() for t in (cell.wx.weight, cell.wh, cell.b))
    seq = torch.tensor([[3, 1, 4, 1, 5, 9], [2, 6, 5, 3, 5, 8]])
    expected = _reference_gru_embedding(seq.numpy(), wx, wh[:, 5:], wh[:, :5], b)
    with torch.no_grad():
        states = net.hidden_states(seq)  # (B, T, H): forward path
        hidden = [torch.zeros(2, 5)]
        for t in range(seq.shape[1]):  # session-parallel path
            out, hidden = net.step(seq[:, t], hidden)
            np.testing.assert_allclose(out.numpy(), expected[:, t], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(states.numpy(), expected, rtol=1e-5, atol=1e-6)
    # the former formulation, r * (h W), gives other states: the test can tell them apart
    h = expected[:, 0]
    vx = wx[seq[:, 1].numpy()] + b
    r = 1.0 / (1.0 + np.exp(-(vx[:, 5:10] + (h @ wh[:, 5:])[:, :5])))
    assert np.abs((r * h) @ wh[:, :5] - r * (h @ wh[:, :5])).max() > 1e-3


# issue 13 item 1: the faster training loop must train the same model
def test_adagradm_step_rows_equals_the_sparse_update():
    torch.manual_seed(0)
    sparse = torch.nn.Embedding(7, 3, sparse=True)
    rows = torch.nn.Embedding(7, 3)
    rows.weight.data.copy_(sparse.weight.data)
    o_sparse = AdagradM(sparse.parameters(), lr=0.1, momentum=0.3)
    o_rows = AdagradM(rows.parameters(), lr=0.1, momentum=0.3)
    for idx in ([0, 2, 2, 6], [1, 2], [2, 5, 5, 0]):
        idx = torch.tensor(idx)
        o_sparse.zero_grad()
        (sparse(idx) ** 2).sum().backward()  # sparse gradient with repeated rows
        o_sparse.step()
        u, inv = torch.unique(idx, return_inverse=True)
        leaf = rows.weight.detach()[u].requires_grad_()  # each touched row once
        (leaf[inv] ** 2).sum().backward()
        o_rows.step_rows(rows.weight, u, leaf.grad)
    np.testing.assert_allclose(rows.weight.data.numpy(), sparse.weight.data.numpy(), rtol=1e-6)
    with pytest.raises(ValueError):
        o_rows.step_rows(torch.zeros(7, 3), torch.tensor([0]), torch.ones(1, 3))


def test_negatives_drawn_per_chunk_follow_popularity_alpha():
    from scipy.stats import chisquare

    from apc.models.sequence._base import NegativeSampler

    pop = np.arange(1, 41, dtype=np.float64) ** 2  # skewed popularity of 40 tracks
    sampler = NegativeSampler(pop, alpha=0.5, seed=0)
    steps, s = 64, 512
    neg = sampler.sample(steps * s).view(steps, s)  # one call per chunk, as training draws them
    counts = np.bincount(neg.flatten().numpy(), minlength=40)
    target = pop**0.5 / (pop**0.5).sum()
    assert chisquare(counts, target * counts.sum()).pvalue > 1e-3
    # the test has power: popularity^1 (alpha ignored) is rejected on the same sample
    wrong = pop / pop.sum()
    assert chisquare(counts, wrong * counts.sum()).pvalue < 1e-12
    # and the steps of a chunk get different samples
    assert not torch.equal(neg[0], neg[1])
    # the same stream as one draw per step (the seed gives the same samples either way)
    again = NegativeSampler(pop, alpha=0.5, seed=0)
    per_step = torch.stack([again.sample(s) for _ in range(steps)])
    assert torch.equal(per_step, neg)


@pytest.mark.parametrize("config", [dict(), dict(constrained_embedding=False, embedding=0)])
def test_chunked_training_equals_one_step_per_training_step(monkeypatch, config):
    import apc.models.sequence.data as data

    train, _, _ = cycle_task()
    params = dict(hidden=8, n_negatives=16, batch_size=8, epochs=2, val_fraction=0,
                  logq=1.0, momentum=0.2, dropout_hidden=0.3, **config)
    weights = []
    for chunk in (1, 7):
        monkeypatch.setattr(data, "SESSION_CHUNK", chunk)
        m = GRU4Rec(**params).fit(train)
        weights.append({k: v.clone() for k, v in m.network_.state_dict().items()})
        assert np.isfinite(m.history_["train_loss"]).all()
    for k in weights[0]:
        np.testing.assert_allclose(weights[0][k].numpy(), weights[1][k].numpy(),
                                   rtol=1e-5, atol=1e-6, err_msg=k)


@pytest.mark.parametrize(
    "config", [dict(), dict(constrained_embedding=False, embedding=6, layers=2),
               dict(constrained_embedding=False, embedding=0)]
)
def test_row_updates_equal_plain_autograd(monkeypatch, config):
    # without momentum, Adagrad on the touched rows (training's fast path) and Adagrad on
    # dense autograd gradients (the path of Adam / DDP) are the same update
    train, _, _ = cycle_task()
    params = dict(hidden=8, n_negatives=16, batch_size=8, epochs=2, val_fraction=0, logq=1.0,
                  **config)
    weights = []
    for sparse in (True, False):
        def build(self, train, features, sparse=sparse):
            return GRU4RecNet(self.config, train.n_tracks, sparse=sparse)

        monkeypatch.setattr(GRU4Rec, "_build_network", build)
        m = GRU4Rec(**params).fit(train)
        assert m.network_.sparse is sparse
        weights.append(m.network_.state_dict())
    for k in weights[0]:
        np.testing.assert_allclose(weights[0][k].numpy(), weights[1][k].numpy(),
                                   rtol=1e-4, atol=1e-5, err_msg=k)


def test_trains_with_one_thread_by_default_and_restores_the_setting(monkeypatch):
    seen = set()
    step = GRU4RecLightning.training_step

    def recording(self, batch, batch_idx):
        seen.add(torch.get_num_threads())
        return step(self, batch, batch_idx)

    monkeypatch.setattr(GRU4RecLightning, "training_step", recording)
    train, _, _ = cycle_task()
    torch.set_num_threads(2)
    GRU4Rec(hidden=8, n_negatives=8, batch_size=8, epochs=1, val_fraction=0).fit(train)
    assert seen == {1} and torch.get_num_threads() == 2
    seen.clear()
    GRU4Rec(hidden=8, n_negatives=8, batch_size=8, epochs=1, val_fraction=0,
            num_threads=0).fit(train)
    assert seen == {2}
