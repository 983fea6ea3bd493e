import numpy as np
import pandas as pd
import pytest

from apc.data.features import ItemFeatures
from apc.data.playlists import Playlists
from apc.errors import ApcInputError
from apc.models.hybrid.profile import ProfileModel
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


class TestProfileContract(RecommenderContract):
    def make_model(self):
        return ProfileModel(features="wmf", epochs=3, hidden=16, feature_options=FAST)


def test_registry_name():
    m = create_model("profile", {"features": "wmf"})
    assert isinstance(m, ProfileModel) and m.name == "profile"


@pytest.mark.parametrize("similarity", ["cosine", "dot"])
def test_ranks_the_planted_cold_song_first(similarity, seed):
    pl, feats = planted(seed)
    m = ProfileModel(epochs=40, hidden=16, lr=1e-2, similarity=similarity, seed=seed).fit(pl, feats)
    # every a track is a seed: the best continuation is the cold a track, unseen in training
    recs = m.recommend(queries_from(pl, [list(range(6)), [6], [12]], [[12], [7], [0]]), 7)
    assert recs.items[0, 0] == 12
    assert set(recs.items[1, :5]) == {7, 8, 9, 10, 11}  # b seed -> b tracks
    assert set(recs.items[2, :6]) == set(range(6))  # a cold seed -> a tracks
    assert 13 not in recs.items[:, :6]  # no features: last


def test_profiles_are_membership_probabilities(seed):
    pl, feats = planted(seed)
    m = ProfileModel(epochs=40, hidden=16, seed=seed).fit(pl, feats)
    prof = m.predict_profiles()
    assert prof.shape == (pl.n_tracks, len(pl)) and prof.dtype == np.float32
    assert (prof >= 0).all() and (prof <= 1).all() and not prof[13].any()
    even = np.arange(len(pl)) % 2 == 0  # playlists 0, 2, ... hold the a tracks
    assert prof[:6][:, even].mean() > 0.8 and prof[:6][:, ~even].mean() < 0.2
    assert prof[12][even].mean() > 0.8  # the cold a track is predicted into a playlists


def test_observed_dot_is_the_papers_weak_rule(seed):
    """One seed in exactly one training playlist p: scores = pi_p(t), the output unit of p."""
    pl = Playlists.from_sequences([["a", "b", "c"], ["c", "d"], ["d", "e", "f"]])
    x = np.eye(6, dtype=np.float32) + 0.1
    m = ProfileModel(epochs=5, hidden=8, similarity="dot", seed_profile="observed", seed=seed)
    m.fit(pl, ItemFeatures(x))
    s = m._score(queries_from(pl, [[0]], [[1]]))  # track "a" is only in playlist 0
    np.testing.assert_allclose(s[0], m.predict_profiles()[:, 0], rtol=1e-5)


def test_output_units_longest_playlists_first():
    pl = Playlists.from_sequences(
        [["a"], ["a", "b"], ["a", "b", "c"], ["c", "d"], ["a", "b", "c", "d"]]
    )
    assert ProfileModel(max_playlists=2).output_playlists(pl).tolist() == [2, 4]
    assert ProfileModel(max_playlists=3).output_playlists(pl).tolist() == [
        1,
        2,
        4,
    ]  # tie: lower index
    assert ProfileModel().output_playlists(pl).tolist() == [1, 2, 3, 4]  # length-1 playlist dropped


def test_profiles_are_not_pickled(tmp_path, seed):
    pl, feats = planted(seed)
    m = ProfileModel(epochs=2, hidden=8, seed=seed).fit(pl, feats)
    q = queries_from(pl, [[0]], [[1]])
    before = m.recommend(q, 5)
    assert m._profiles is not None
    loaded = ProfileModel.load(m.save(tmp_path / "m.pkl"))
    assert loaded._profiles is None
    np.testing.assert_array_equal(loaded.recommend(q, 5).items, before.items)


def test_bad_parameters():
    pl, feats = planted()
    with pytest.raises(ApcInputError, match="similarity"):
        ProfileModel(similarity="l1").fit(pl, feats)
    with pytest.raises(ApcInputError, match="seed_profile"):
        ProfileModel(seed_profile="x").fit(pl, feats)
    with pytest.raises(ApcInputError, match="min_playlist_length"):
        ProfileModel(min_playlist_length=99).fit(pl, feats)
