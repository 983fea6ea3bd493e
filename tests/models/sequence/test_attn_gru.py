import importlib.util

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from apc.data import Playlists  # noqa: E402
from apc.errors import ApcInputError  # noqa: E402
from apc.models.popularity import Popularity  # noqa: E402
from apc.models.sequence.attn_gru import (  # noqa: E402
    AdditiveAttention,
    AttentiveBiGRU,
    AttentiveBiGRUNet,
    AttnGRUConfig,
    track_tags,
)
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
        embedding=16,
        hidden=16,
        attention=16,
        mlp=32,
        max_len=8,
        batch_size=32,
        epochs=8,
        lr=1e-2,
        dropout=0.1,
        val_k=1,
        patience=2,
    )
    args.update(kw)
    return AttentiveBiGRU(**args)


class TestAttentiveBiGRUContract(RecommenderContract):
    def make_model(self):
        return AttentiveBiGRU(
            embedding=8,
            hidden=8,
            attention=8,
            mlp=8,
            max_len=4,
            epochs=1,
            batch_size=16,
            val_fraction=0,
        )


def test_learns_order_that_popularity_cannot():
    train, q, y = cycle_task()
    assert hit_at_1(small(), train, q, y) >= 0.9
    assert hit_at_1(Popularity(), train, q, y) <= 0.2


def test_sampled_softmax_learns():
    train, q, y = cycle_task()
    assert hit_at_1(small(n_negatives=8, epochs=12, patience=3), train, q, y) >= 0.9


@pytest.mark.skipif(
    importlib.util.find_spec("apc.models.knn") is None, reason="apc.models.knn not present"
)
def test_beats_playlist_knn_on_order():
    from apc.models.knn import PlaylistKNN

    train, q, y = cycle_task()
    assert hit_at_1(small(), train, q, y) - hit_at_1(PlaylistKNN(), train, q, y) >= 0.3


def test_attention_ignores_padding():
    torch.manual_seed(0)
    att = AdditiveAttention(4, 3)
    h = torch.randn(2, 5, 4)
    mask = torch.tensor([[True, True, True, False, False], [True, False, False, False, False]])
    c, a = att(h, mask)
    assert (a[~mask] == 0).all()
    np.testing.assert_allclose(a.sum(1).detach().numpy(), [1.0, 1.0], rtol=1e-6)
    np.testing.assert_allclose(
        c[1].detach().numpy(), h[1, 0].numpy(), rtol=1e-6
    )  # one real position
    h2 = h.clone()
    h2[0, 3:] = 100.0  # garbage in padded positions changes nothing
    np.testing.assert_allclose(att(h2, mask)[0].detach().numpy(), c.detach().numpy(), rtol=1e-6)


def _tagged_net():
    torch.manual_seed(0)
    indptr = np.array(
        [0, 2, 3, 3, 3, 3]
    )  # track 0: tags {0, 1}; track 1: {1}; tracks 2, 3 and pad: none
    ids = np.array([0, 1, 1])
    cfg = AttnGRUConfig(embedding=4, tag_embedding=3, hidden=5, attention=4, mlp=6)
    return AttentiveBiGRUNet(cfg, 4, 2, indptr, ids).eval()


def test_padding_does_not_change_logits():
    net = _tagged_net()
    pad = 4
    with torch.no_grad():
        alone, _ = net(torch.tensor([[0, 1, 2]]))
        batch, _ = net(torch.tensor([[0, 1, 2, pad, pad], [3, pad, pad, pad, pad]]))
        other, _ = net(torch.tensor([[3]]))
    np.testing.assert_allclose(batch[0].numpy(), alone[0].numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(batch[1].numpy(), other[0].numpy(), rtol=1e-5, atol=1e-6)


def test_track_tag_embedding_is_mean_of_tag_embeddings():
    net = _tagged_net()
    e = net.tag_emb.weight.detach()
    got = net.track_tag_embeddings(torch.tensor([[0, 1, 2, 4]])).detach()[0]
    np.testing.assert_allclose(got[0].numpy(), ((e[0] + e[1]) / 2).numpy(), rtol=1e-6)
    np.testing.assert_allclose(got[1].numpy(), e[1].numpy(), rtol=1e-6)
    assert (got[2] == 0).all() and (got[3] == 0).all()  # untagged track and pad


def test_track_tags_csr():
    tracks = pd.DataFrame(
        {
            "track_id": ["a", "b", "c", "d", "e"],
            "tags": [["rock", "indie"], None, "jazz", [], np.array(["rock"], dtype=object)],
        }
    )
    pl = Playlists(np.array([0, 5]), np.arange(5), tracks)
    indptr, ids, vocab = track_tags(pl)
    assert vocab == ["indie", "jazz", "rock"]
    assert indptr.tolist() == [0, 2, 2, 3, 3, 4, 4]  # n_tracks + 2 entries (pad row has no tags)
    assert [vocab[i] for i in ids] == ["rock", "indie", "jazz", "rock"]


def genre_hub_corpus(n_genres=4, seen=20, unseen=5, n_playlists=240, seed=0):
    """Playlists [leaf, hub]: a leaf track of genre g is always followed by g's hub.

    Test leaves never occur in training: only their tags tell their genre.
    """
    rng = np.random.default_rng(seed)
    ids, tags = [], []
    for g in range(n_genres):
        ids.append(f"hub{g}")
        tags.append([f"genre{g}"])
        for i in range(seen + unseen):
            ids.append(f"leaf{g}_{i}")
            tags.append([f"genre{g}", f"mood{rng.integers(3)}"])
    index = {t: i for i, t in enumerate(ids)}
    seqs = []
    for _ in range(n_playlists):
        g = int(rng.integers(n_genres))
        seqs.append([index[f"leaf{g}_{int(rng.integers(seen))}"], index[f"hub{g}"]])
    indptr = np.arange(0, 2 * n_playlists + 1, 2)
    pl = Playlists(indptr, np.array(seqs).ravel(), pd.DataFrame({"track_id": ids, "tags": tags}))
    q_seeds = [[index[f"leaf{g}_{seen + i}"]] for g in range(n_genres) for i in range(unseen)]
    q_targets = [[index[f"hub{g}"]] for g in range(n_genres) for i in range(unseen)]
    return pl, queries_from(pl, q_seeds, q_targets), np.array(q_targets)[:, 0]


def test_tag_stream_generalises_to_tracks_never_seen_in_training():
    pl, q, y = genre_hub_corpus()
    kw = dict(epochs=10, patience=10, val_fraction=0, dropout=0.0)
    with_tags = small(use_tags=True, tag_embedding=8, **kw)
    assert hit_at_1(with_tags, pl, q, y) >= 0.9
    assert with_tags.tag_vocab_[:4] == ["genre0", "genre1", "genre2", "genre3"]
    assert (
        hit_at_1(small(use_tags=False, **kw), pl, q, y) <= 0.6
    )  # the song stream alone cannot know


def test_use_tags_without_tags_column_raises():
    with pytest.raises(ApcInputError) as e:
        AttentiveBiGRU(use_tags=True).fit(cycles(6, n_playlists=5))
    assert e.value.field == "tags"


@pytest.mark.parametrize(
    "param, value", [("hidden", 0), ("dropout", -0.1), ("use_tags", "yes"), ("lr", 0)]
)
def test_bad_parameters_raise(param, value):
    with pytest.raises(ApcInputError) as e:
        AttentiveBiGRU(**{param: value}).fit(cycles(6, n_playlists=5))
    assert e.value.field == param


@pytest.mark.gpu
def test_gpu_forward_matches_cpu(torch_device):
    net = _tagged_net()
    seq = torch.tensor([[0, 1, 2, 4], [3, 4, 4, 4]])
    with torch.no_grad():
        cpu, _ = net(seq)
        gpu, _ = net.to(torch_device)(seq.to(torch_device))
    assert gpu.device.type == "cuda"
    np.testing.assert_allclose(gpu.cpu().numpy(), cpu.numpy(), rtol=1e-4, atol=1e-5)
