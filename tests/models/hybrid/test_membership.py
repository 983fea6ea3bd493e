import numpy as np
import pandas as pd
import pytest
import torch

from apc.data.features import ItemFeatures
from apc.data.playlists import Playlists
from apc.errors import ApcInputError
from apc.models.hybrid.membership import MembershipModel
from apc.models.registry import create_model
from apc.testing import RecommenderContract, checkerboard, queries_from

FAST = {"wmf": {"n_factors": 4, "iterations": 5}}


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tiny networks gain nothing from intra-op threads, and on a shared 2-core machine
    OpenMP spin-waiting makes them many times slower; restore the setting afterwards."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def planted(seed: int = 0):
    """Checkerboard (a0..a5 = tracks 0..5, b0..b5 = 6..11) plus cold track 12 ("a_new",
    in no playlist) with genre a's prototype features, and track 13 without features."""
    pl = checkerboard()
    tracks = pd.concat(
        [pl.tracks, pd.DataFrame({"track_id": ["a_new", "ghost"]})], ignore_index=True
    )
    tracks["artist"] = tracks["artist"].fillna(-1).astype(np.int32)
    pl = Playlists(pl.indptr, pl.items, tracks, pl.artists, pl.meta)
    rng = np.random.default_rng(seed)
    is_a = tracks["track_id"].str.startswith("a").to_numpy()
    x = np.zeros((len(tracks), 4), np.float32)
    x[is_a, 0] = 1.0
    x[~is_a, 1] = 1.0
    x[:, 2:] = 0.1 * rng.standard_normal((len(tracks), 2))
    x[12] = [1.0, 0.0, 0.0, 0.0]
    avail = np.ones(len(tracks), bool)
    avail[13] = False
    return pl, ItemFeatures(x, avail)


class TestMembershipContract(RecommenderContract):
    def make_model(self):
        return MembershipModel(
            features="wmf", epochs=2, hidden=16, batch_size=32, feature_options=FAST
        )


class TestMembershipMLPContract(RecommenderContract):
    def make_model(self):
        return MembershipModel(
            features="wmf", match="mlp", epochs=2, hidden=16, batch_size=32, feature_options=FAST
        )


def test_registry_name():
    m = create_model("membership", {"features": "wmf"})
    assert isinstance(m, MembershipModel) and m.name == "membership"


@pytest.mark.parametrize("match", ["dot", "mlp"])
def test_ranks_the_planted_cold_song_first(match, seed):
    pl, feats = planted(seed)
    m = MembershipModel(epochs=15, hidden=16, batch_size=16, lr=3e-3, match=match, seed=seed).fit(
        pl, feats
    )
    recs = m.recommend(queries_from(pl, [list(range(6)), [6], [12]], [[12], [7], [0]]), 7)
    assert recs.items[0, 0] == 12  # unseen in training, fits the a seeds
    assert set(recs.items[1, :5]) == {7, 8, 9, 10, 11}
    assert set(recs.items[2, :6]) == set(range(6))  # a playlist unseen in training, cold seed
    assert 13 not in recs.items[:, :6]


def test_mlp_scores_equal_the_decision_network_on_pairs(seed):
    pl, feats = planted(seed)
    m = MembershipModel(epochs=2, hidden=8, match="mlp", seed=seed, score_chunk_cells=50).fit(
        pl, feats
    )
    q = queries_from(pl, [[0, 1], [6]], [[2], [7]])
    fast = m._score(q)
    net = m.net_
    with torch.no_grad():
        for row, seeds in enumerate([[0, 1], [6]]):
            group = torch.from_numpy(m.x_[seeds])[None]
            h = net.playlist(group, torch.ones(1, len(seeds), dtype=torch.bool))
            items = torch.from_numpy(m.x_)
            brute = net.logits(h.repeat(len(items), 1), net.song(items)).numpy()
            avail = m.available_
            np.testing.assert_allclose(fast[row, avail], brute[avail], rtol=1e-4, atol=1e-5)


def test_batches_are_well_formed(seed):
    pl, feats = planted(seed)
    m = MembershipModel(
        epochs=1, hidden=8, batch_size=7, max_group=3, n_negatives=2, seed=seed
    ).fit(pl, feats)
    assert m.song_vec_.shape == (pl.n_tracks, 8)
    from apc.models.hybrid.membership import _PairBatches

    csr = pl.to_csr()
    indptr, items = csr.indptr.astype(np.int64), csr.indices.astype(np.int64)
    rows = np.repeat(np.arange(len(pl)), np.diff(indptr))
    pos = np.arange(len(items)) - np.repeat(indptr[:-1], np.diff(indptr))
    data = _PairBatches(
        feats.matrix,
        indptr,
        items,
        rows,
        pos,
        feats.available,
        np.arange(12),
        np.sort(rows * pl.n_tracks + items),
        n_tracks=pl.n_tracks,
        batch_size=7,
        max_group=3,
        n_negatives=2,
        seed=0,
    )
    group, mask, positive, negative = data[0]
    assert (
        group.shape == (7, 3, 4)
        and mask.shape == (7, 3)
        and positive.shape == (7, 4)
        and negative.shape == (7, 2, 4)
    )
    assert mask.all()  # playlists of 6 songs: 3 others always available
    # negatives never come from the positive's genre (playlists are single-genre)
    assert ((positive[:, None, 0] > 0.5) != (negative[:, :, 0] > 0.5)).all()


def test_bad_parameters():
    pl, feats = planted()
    with pytest.raises(ApcInputError, match="match"):
        MembershipModel(match="cos").fit(pl, feats)
    single = Playlists.from_sequences([["a"], ["b"]])
    with pytest.raises(ApcInputError, match="pair"):
        MembershipModel(epochs=1).fit(single, ItemFeatures(np.eye(2, dtype=np.float32)))


def test_in_sorted_equals_isin(rng):
    # the negative-clash check searches the sorted (playlist, song) keys (issue 13)
    from apc.models.hybrid.membership import _in_sorted

    for n in (0, 1, 7, 500):
        keys = np.sort(rng.integers(0, 1000, n))
        values = rng.integers(-5, 1005, (40, 3))
        np.testing.assert_array_equal(_in_sorted(values, keys), np.isin(values, keys))
