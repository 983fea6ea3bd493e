"""Row-sparse training (lazy Adam, sampled softmax on gathered rows) and bucketed batches."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from apc.models.sequence._base import NegativeSampler, sampled_softmax_loss  # noqa: E402
from apc.models.sequence.attn_gru import AttentiveBiGRU, BiGRUAttention  # noqa: E402
from apc.models.sequence.data import BucketBatchSampler, PrefixWindows  # noqa: E402
from apc.models.sequence.sasrec import SASRec  # noqa: E402
from apc.models.sequence.sparse import (  # noqa: E402
    LazyAdam,
    gather_rows,
    lazy_rows,
    sampled_softmax_loss_rows,
)
from apc.testing import cycles, queries_from  # noqa: E402


# ---------------------------------------------------------------------------- bucketed batches
def test_bucketed_batches_cover_every_window_exactly_once_per_epoch():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 20, size=1003)
    s = BucketBatchSampler(lengths, batch_size=32, seed=3)
    epochs = [list(s) for _ in range(3)]
    for batches in epochs:
        assert len(batches) == len(s) == -(-1003 // 32)
        flat = np.concatenate(batches)
        assert np.array_equal(np.sort(flat), np.arange(1003))  # each once
        assert max(len(b) for b in batches) == 32
    # batches follow the sorted lengths: a batch spans a run of the sorted order
    srt = np.sort(lengths)
    for b in epochs[0]:
        lo, hi = lengths[b].min(), lengths[b].max()
        assert np.count_nonzero((srt > lo) & (srt < hi)) <= len(b)
    # a new order every epoch (ties keep a random order, batches are shuffled)
    assert [sorted(b) for b in epochs[0]] != [sorted(b) for b in epochs[1]]


def test_bucketed_batches_are_seeded():
    lengths = np.arange(100) % 7
    a = list(BucketBatchSampler(lengths, 8, seed=1))
    b = list(BucketBatchSampler(lengths, 8, seed=1))
    assert a == b


def test_bucketed_prefix_windows_mostly_share_one_length():
    pl_ = cycles(30, n_playlists=60, seed=0)
    w = PrefixWindows(pl_, max_len=8)
    batches = list(BucketBatchSampler(w.lengths, 16, seed=0))
    spread = [int(np.ptp(w.lengths[b])) for b in batches]
    assert max(spread) <= 1  # sorted neighbours: a batch straddles at most two lengths


# ---------------------------------------------------------------------------- packed = unpadded
def test_unpacked_equal_length_batch_equals_packed_and_unpadded():
    torch.manual_seed(0)
    layer = BiGRUAttention(5, 4, 3).eval()
    x = torch.randn(3, 4, 5)
    full = torch.full((3,), 4)
    c_fast = layer(x, full)  # all rows full length: no packing
    # the same rows padded to 6 steps with garbage after them go through packing
    xp = torch.cat([x, 100 * torch.randn(3, 2, 5)], dim=1)
    c_packed = layer(xp, full)
    torch.testing.assert_close(c_fast, c_packed, rtol=1e-5, atol=1e-6)
    # a short row inside a padded batch equals that row alone, unpadded
    lengths = torch.tensor([4, 2, 3])
    c_mixed = layer(xp, lengths)
    for i, n in enumerate(lengths.tolist()):
        alone = layer(x[i : i + 1, :n], torch.tensor([n]))
        torch.testing.assert_close(c_mixed[i : i + 1], alone, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------- sampled softmax
def test_sampled_softmax_on_gathered_rows_equals_the_dense_loss_and_gradient():
    torch.manual_seed(1)
    n, d = 50, 6
    h = torch.randn(7, d)
    w0, b0 = torch.randn(n, d), torch.randn(n)
    y = torch.tensor([1, 4, 4, 9, 0, 49, 3])
    neg = torch.tensor([4, 7, 7, 30, 1, 22])  # repeats, and negatives equal to targets
    log_q = torch.log_softmax(torch.randn(n), 0)
    grads = []
    for fn, kw in ((sampled_softmax_loss, {}), (sampled_softmax_loss_rows, {"sparse": True})):
        w, b = w0.clone().requires_grad_(), b0.clone().requires_grad_()
        loss = fn(h, w, b, y, neg, log_q, **kw)
        loss.backward()
        grads.append((loss.detach(), w.grad, b.grad))
    (l_dense, gw_dense, gb_dense), (l_rows, gw_rows, gb_rows) = grads
    assert gw_rows.is_sparse and gb_rows.is_sparse
    torch.testing.assert_close(l_rows, l_dense)
    torch.testing.assert_close(gw_rows.to_dense(), gw_dense)
    torch.testing.assert_close(gb_rows.to_dense(), gb_dense)
    touched = torch.unique(torch.cat([y, neg]))
    assert set(gw_rows.coalesce().indices()[0].tolist()) == set(touched.tolist())


def test_gather_rows_without_grad_is_plain_indexing():
    w = torch.randn(5, 2)
    ids = torch.tensor([4, 0, 4])
    assert torch.equal(gather_rows(w, ids), w[ids])


def test_negative_sampler_draws_from_popularity_to_the_alpha():
    pop = np.array([0, 1, 2, 3, 10, 50], dtype=float)
    for alpha in (0.0, 0.5, 1.0):
        s = NegativeSampler(pop, alpha, seed=0)
        draws = s.sample(200_000).numpy()
        freq = np.bincount(draws, minlength=len(pop)) / len(draws)
        want = np.ones_like(pop) if alpha == 0 else pop**alpha
        want = want / want.sum()
        np.testing.assert_allclose(freq, want, atol=0.005)
        np.testing.assert_allclose(np.exp(s.log_prob.numpy()), want, rtol=1e-6)


# ---------------------------------------------------------------------------- lazy Adam
def test_lazy_adam_with_dense_gradients_is_adam():
    torch.manual_seed(2)
    p0 = torch.randn(4, 3)
    a = p0.clone().requires_grad_()
    b = p0.clone().requires_grad_()
    oa = torch.optim.Adam([a], lr=0.01, betas=(0.9, 0.98), weight_decay=0.1)
    ob = LazyAdam([b], lr=0.01, betas=(0.9, 0.98), weight_decay=0.1)
    for _ in range(5):
        g = torch.randn(4, 3)
        a.grad, b.grad = g.clone(), g.clone()
        oa.step()
        ob.step()
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_lazy_adam_updates_only_the_rows_a_sparse_gradient_holds():
    torch.manual_seed(3)
    p0 = torch.randn(6, 2)
    dense = p0.clone().requires_grad_()
    lazy = p0.clone().requires_grad_()
    od = torch.optim.Adam([dense], lr=0.05)
    ol = LazyAdam([lazy], lr=0.05)
    rows = torch.tensor([1, 4, 1])  # a repeated row: its gradients add up
    for _ in range(3):
        vals = torch.randn(3, 2)
        g = torch.zeros(6, 2).index_add_(0, rows, vals)
        dense.grad = g
        lazy.grad = torch.sparse_coo_tensor(rows[None], vals, (6, 2), check_invariants=True)
        od.step()
        ol.step()
    # the same rows every step: they follow dense Adam; the others never move
    torch.testing.assert_close(lazy[[1, 4]], dense[[1, 4]], rtol=1e-5, atol=1e-6)
    untouched = [0, 2, 3, 5]
    assert torch.equal(lazy[untouched], p0[untouched])


def test_lazy_rows_policy():
    assert lazy_rows(None, 1024, 1) is True
    assert lazy_rows(None, 0, 1) is False  # full softmax: dense tables
    assert lazy_rows(None, 1024, 2) is False  # DDP: dense gradients
    assert lazy_rows(False, 1024, 1) is False
    assert lazy_rows(True, 0, [0]) is True


# ---------------------------------------------------------------------------- models
def _cycle_task():
    train = cycles(30, n_playlists=150, seed=0)
    held = cycles(30, n_playlists=40, seed=1)
    rng = np.random.default_rng(7)
    seeds, targets = [], []
    for p in range(1, len(held)):
        s = held[p]
        cut = int(rng.integers(1, len(s)))
        seeds.append(s[:cut].tolist())
        targets.append(int(s[cut]))
    return train, queries_from(train, seeds, [[t] for t in targets]), np.array(targets)


@pytest.fixture
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_attn_gru_learns_with_lazy_adam_and_bucketed_batches(one_thread):
    train, q, y = _cycle_task()
    m = AttentiveBiGRU(
        embedding=16, hidden=16, attention=16, mlp=32, max_len=8, batch_size=32, epochs=12,
        lr=1e-2, dropout=0.1, val_k=1, patience=3, n_negatives=8,
    ).fit(train)
    assert m.lazy_adam_ is True
    assert float((m.recommend(q, 1).items[:, 0] == y).mean()) >= 0.9


def test_sasrec_learns_with_lazy_adam(one_thread):
    train, q, y = _cycle_task()
    m = SASRec(
        hidden=16, max_len=8, batch_size=32, epochs=15, lr=1e-2, dropout=0.1, val_k=1,
        patience=3, n_negatives=8,
    ).fit(train)
    assert m.lazy_adam_ is True
    assert float((m.recommend(q, 1).items[:, 0] == y).mean()) >= 0.9


def test_lazy_training_gives_row_sparse_embedding_gradients():
    train, _, _ = _cycle_task()
    m = AttentiveBiGRU(embedding=8, hidden=8, attention=8, mlp=8, n_negatives=4, epochs=1)
    net = m._build_network(train, None)
    net.sparse_rows = True
    seq = torch.tensor([[0, 1, 2], [5, 6, 30]])  # 30 = the pad index
    z = net.context(seq)
    w, b = net.out.weight, net.out.bias
    loss = sampled_softmax_loss_rows(z, w, b, torch.tensor([3, 7]), torch.tensor([9, 11]))
    loss.backward()
    g = net.item_emb.weight.grad
    assert g.is_sparse and w.grad.is_sparse and b.grad.is_sparse
    rows = set(g.coalesce().indices()[0].tolist())
    assert rows <= {0, 1, 2, 5, 6, 30}
    assert torch.count_nonzero(g.to_dense()[30]) == 0  # the pad row gets no gradient
