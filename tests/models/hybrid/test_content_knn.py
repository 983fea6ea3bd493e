import numpy as np
import pandas as pd
import pytest

from apc.data.features import ItemFeatures
from apc.data.playlists import Playlists
from apc.errors import ApcInputError
from apc.models.hybrid import default_feature_names, resolve_features
from apc.models.hybrid.content_knn import ContentKNN
from apc.models.registry import create_model
from apc.testing import RecommenderContract, checkerboard, queries_from


def planted(noise: float = 0.1, seed: int = 0):
    """Checkerboard (a0..a5 = tracks 0..5, b0..b5 = 6..11) plus a cold track 12 ("a_new",
    in no playlist) whose features are genre a's prototype, and track 13 without features."""
    pl = checkerboard()
    tracks = pd.concat(
        [pl.tracks, pd.DataFrame({"track_id": ["a_new", "ghost"]})], ignore_index=True
    )
    if "artist" in tracks.columns:
        tracks["artist"] = tracks["artist"].fillna(-1).astype(np.int32)
    pl = Playlists(pl.indptr, pl.items, tracks, pl.artists, pl.meta)
    rng = np.random.default_rng(seed)
    is_a = tracks["track_id"].str.startswith("a").to_numpy()
    x = np.zeros((len(tracks), 4), np.float32)
    x[is_a, 0] = 1.0
    x[~is_a, 1] = 1.0
    x[:, 2:] = noise * rng.standard_normal((len(tracks), 2))
    x[12] = [1.0, 0.0, 0.0, 0.0]
    avail = np.ones(len(tracks), bool)
    avail[13] = False
    return pl, ItemFeatures(x, avail, {"genre": slice(0, 2), "noise": slice(2, 4)})


class TestContentKNNContract(RecommenderContract):
    def make_model(self):
        return ContentKNN(
            features="wmf", feature_options={"wmf": {"n_factors": 4, "iterations": 5}}
        )


def test_registry_name():
    m = create_model("content-knn", {"features": "wmf"})
    assert isinstance(m, ContentKNN) and m.name == "content-knn"


def test_ranks_the_planted_cold_song_first():
    pl, feats = planted()
    # (standardising would blow the two noise columns up to the genre columns' scale)
    m = ContentKNN(standardize=False).fit(pl, feats)
    recs = m.recommend(queries_from(pl, [list(range(6)), [6, 7]], [[12], [8]]), 8)
    assert recs.items[0, 0] == 12  # unseen in training, but its features fit
    assert set(recs.items[0, 1:7]) == set(range(6, 12))  # then genre b; never the seeds
    assert set(recs.items[1, :4]) == {8, 9, 10, 11}  # b seeds -> b tracks first
    assert recs.items[0, 7] == 13  # no features: ranked last, still listed


def test_cosine_values_by_hand():
    pl, feats = planted(noise=0.0)
    feats = ItemFeatures(feats.matrix, feats.available, feats.blocks)
    m = ContentKNN(standardize=False).fit(pl, feats)
    s = m._score(queries_from(pl, [[0, 6]], [[1]]))
    # seed mean (1/2, 1/2, 0, 0): cosine 1/sqrt(2) with every a and b track
    np.testing.assert_allclose(s[0, :13], np.full(13, 1 / np.sqrt(2)), rtol=1e-6)


def test_feature_blocks_are_selected_by_name():
    pl, feats = planted()
    sel = resolve_features(
        type("M", (), {"features": ["wmf"]})(),
        pl,
        ItemFeatures(feats.matrix, feats.available, {"wmf": slice(0, 2), "tags_w2v": slice(2, 4)}),
    )
    assert sel.dim == 2 and sel.blocks == {"wmf": slice(0, 2)}
    with pytest.raises(ApcInputError, match="unknown feature set"):
        ContentKNN(features="mystery").fit(pl, feats)


def test_selected_block_keeps_only_tracks_that_block_has():
    # track 1 exists only in the audio block (zeros in wmf, as align() fills misses)
    matrix = np.array([[1.0, 2.0, 0.5, 0.5], [0.0, 0.0, 0.3, 0.1], [0.0, 0.0, 0.0, 0.0]])
    feats = ItemFeatures(matrix, np.array([True, True, False]),
                         {"wmf": slice(0, 2), "audio_cnn": slice(2, 4)})
    pl = Playlists.from_sequences([["a", "b", "c"]])
    sel = resolve_features(type("M", (), {"features": ["wmf"]})(), pl, feats)
    assert sel.available.tolist() == [True, False, False]
    sel = resolve_features(type("M", (), {"features": ["audio_cnn"]})(), pl, feats)
    assert sel.available.tolist() == [True, True, False]


def test_auto_features_rule():
    pl = checkerboard()
    assert default_feature_names(pl) == ["wmf"]
    tagged = Playlists(pl.indptr, pl.items, pl.tracks.assign(tags="rock"), pl.artists, pl.meta)
    assert default_feature_names(tagged) == ["tags_w2v"]
    synth = Playlists(pl.indptr, pl.items, pl.tracks, pl.artists, pl.meta, {"dataset": "synthetic"})
    assert default_feature_names(synth) == ["audio_cnn"]
