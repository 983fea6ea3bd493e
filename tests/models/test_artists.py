"""Artist heuristics: artist-weighted popularity, SAGH, CAGH (Bonnin & Jannach 2014)."""

import math

import numpy as np
import pytest

from apc.data import Playlists
from apc.errors import ApcInputError, DataWarning
from apc.models.artists import (
    ArtistPopularity,
    CollocatedArtistsGreatestHits,
    SameArtistGreatestHits,
)
from apc.models.fallback import TitleFallback
from apc.models.registry import create_model
from apc.testing import RecommenderContract, checkerboard, queries_from

# Artists X (x1 x2 x3), Y (y1 y2), Z (z1), W (w1 w2); n1 has no artist.
SEQS = [
    ["x1", "x2", "y1"],  # p0
    ["x1", "y1", "y2"],  # p1
    ["x1", "x3"],  # p2
    ["y2", "z1"],  # p3
    ["z1", "n1"],  # p4
    ["w1", "w2"],  # p5
]
ARTISTS = {t: t[0].upper() for t in "x1 x2 x3 y1 y2 z1 w1 w2".split()}
# popularity: x1=3, x2=1, y1=2, y2=2, x3=1, z1=2, n1=1, w1=1, w2=1
# artist playlists: X {p0,p1,p2}, Y {p0,p1,p3}, Z {p3,p4}, W {p5}
# cosine: sim(X,Y) = 2/3, sim(Y,Z) = 1/sqrt(6), sim(X,Z) = 0, W alone


@pytest.fixture
def corpus():
    return Playlists.from_sequences(SEQS, artists=ARTISTS)


def ix(pl, *names):
    index = {t: i for i, t in enumerate(pl.tracks["track_id"])}
    return [index[n] for n in names]


def recommend(model, pl, seed, k):
    return model.recommend(queries_from(pl, [ix(pl, *seed)], [[0]]), k)


# --------------------------------------------------------------------------- contracts
class TestArtistPopularityContract(RecommenderContract):
    def make_model(self):
        return ArtistPopularity()


class TestSAGHContract(RecommenderContract):
    def make_model(self):
        return SameArtistGreatestHits()


class TestCAGHContract(RecommenderContract):
    def make_model(self):
        return CollocatedArtistsGreatestHits(n_neighbors=2)


def test_registry_names():
    assert isinstance(create_model("artist-popularity"), ArtistPopularity)
    assert isinstance(create_model("sagh"), SameArtistGreatestHits)
    assert isinstance(create_model("cagh", {"n_neighbors": 3}), CollocatedArtistsGreatestHits)


# --------------------------------------------------------------------------- SAGH
def test_sagh_greatest_hits_of_seed_artists(corpus):
    model = SameArtistGreatestHits().fit(corpus)
    recs = recommend(model, corpus, ["x2"], 2)
    assert recs.items[0].tolist() == ix(corpus, "x1", "x3")
    assert recs.scores[0].tolist() == [3.0, 1.0]
    # two artists: pooled by popularity; x3 and w2 tie at 1 -> lower index (x3) first
    recs = recommend(model, corpus, ["x2", "w1"], 3)
    assert recs.items[0].tolist() == ix(corpus, "x1", "x3", "w2")
    assert recs.scores[0].tolist() == [3.0, 1.0, 1.0]


def test_sagh_tracks_without_artist(corpus):
    model = SameArtistGreatestHits().fit(corpus)
    # a seed track without artist adds no artist ...
    a = recommend(model, corpus, ["x2", "n1"], 4)
    assert a.items[0, :2].tolist() == ix(corpus, "x1", "x3")
    assert (a.scores[0, 2:] == 0).all()
    # ... and an artist-less seed scores nothing (zeros, ranked by index after the seed)
    b = recommend(model, corpus, ["n1"], 3)
    assert b.scores[0].tolist() == [0.0, 0.0, 0.0]
    assert b.items[0].tolist() == [0, 1, 2]
    # n1 is never scored above zero
    s = model._score(queries_from(corpus, [ix(corpus, "z1")], [[0]])).toarray()[0]
    assert s[ix(corpus, "n1")[0]] == 0.0


# --------------------------------------------------------------------------- artist-popularity
def test_artist_popularity_weights_artists_by_seed_share(corpus):
    model = ArtistPopularity().fit(corpus)
    # P(X|h) = P(W|h) = 1/2; P(x1|X) = 3/5, P(x3|X) = 1/5, P(w2|W) = 1/2
    recs = recommend(model, corpus, ["x2", "w1"], 3)
    assert recs.items[0].tolist() == ix(corpus, "x1", "w2", "x3")  # SAGH: x1, x3, w2
    np.testing.assert_allclose(recs.scores[0], [3 / 10, 1 / 4, 1 / 10], rtol=1e-6)
    # two seed tracks by X, one by Y: P(X|h) = 2/3, P(Y|h) = 1/3; P(y2|Y) = 2/4
    recs = recommend(model, corpus, ["x2", "x3", "y1"], 2)
    assert recs.items[0].tolist() == ix(corpus, "x1", "y2")
    np.testing.assert_allclose(recs.scores[0], [2 / 3 * 3 / 5, 1 / 3 * 1 / 2], rtol=1e-6)


def test_artist_popularity_single_artist_ranks_like_sagh(corpus):
    a = recommend(ArtistPopularity().fit(corpus), corpus, ["y1"], 1)
    b = recommend(SameArtistGreatestHits().fit(corpus), corpus, ["y1"], 1)
    assert a.items.tolist() == b.items.tolist() == [ix(corpus, "y2")]
    assert a.scores[0, 0] == pytest.approx(1 / 2)


# --------------------------------------------------------------------------- CAGH
def test_cagh_artist_similarity_is_cosine(corpus):
    model = CollocatedArtistsGreatestHits(n_neighbors=None).fit(corpus)
    sim = model.artist_similarity_.toarray()
    names = corpus.artists["artist_id"].tolist()
    X, Y, Z, W = (names.index(a) for a in "XYZW")
    np.testing.assert_allclose(np.diag(sim), 1.0)
    assert sim[X, Y] == pytest.approx(2 / 3) and sim[Y, X] == pytest.approx(2 / 3)
    assert sim[Y, Z] == pytest.approx(1 / math.sqrt(6))
    assert sim[X, Z] == 0 and sim[W, [X, Y, Z]].sum() == 0


def test_cagh_collocated_greatest_hits(corpus):
    model = CollocatedArtistsGreatestHits(n_neighbors=None).fit(corpus)
    # seed X: x1 = 3 * 1, y1 = y2 = 2 * 2/3, x3 = 1 * 1, Z and W tracks 0
    recs = recommend(model, corpus, ["x2"], 4)
    assert recs.items[0].tolist() == ix(corpus, "x1", "y1", "y2", "x3")
    np.testing.assert_allclose(recs.scores[0], [3, 4 / 3, 4 / 3, 1], rtol=1e-6)
    # seed Z: only Y is collocated; y1 = y2 = 2 / sqrt(6); the artist-less n1 stays at 0
    recs = recommend(model, corpus, ["z1"], 3)
    assert recs.items[0, :2].tolist() == ix(corpus, "y1", "y2")
    np.testing.assert_allclose(recs.scores[0], [2 / math.sqrt(6)] * 2 + [0], rtol=1e-6)


def test_cagh_pruning_keeps_the_most_similar_artists(corpus):
    # seed Y: sim(Y,X) = 2/3 beats sim(Y,Z) = 1/sqrt(6); with one neighbour Z is dropped
    full = CollocatedArtistsGreatestHits(n_neighbors=None).fit(corpus)
    pruned = CollocatedArtistsGreatestHits(n_neighbors=1).fit(corpus)
    q = queries_from(corpus, [ix(corpus, "y1")], [[0]])
    s_full, s_pruned = full._score(q).toarray()[0], pruned._score(q).toarray()[0]
    z1 = ix(corpus, "z1")[0]
    assert s_full[z1] == pytest.approx(2 / math.sqrt(6)) and s_pruned[z1] == 0
    # x1 = 3 * 2/3 = 2 ties y2 = 2 * 1: lower index first
    recs = pruned.recommend(q, 2)
    assert recs.items[0].tolist() == ix(corpus, "x1", "y2")
    np.testing.assert_allclose(recs.scores[0], [2, 2], rtol=1e-6)


# --------------------------------------------------------------------------- shared behaviour
@pytest.mark.parametrize(
    "make", [ArtistPopularity, SameArtistGreatestHits, CollocatedArtistsGreatestHits]
)
def test_title_fallback_for_empty_seed(make):
    pl = checkerboard()  # "rock" playlists hold the a-tracks (artist A)
    recs = TitleFallback(make()).fit(pl).recommend(
        queries_from(pl, [[], [0]], [[0], [1]], titles=np.array(["rock", "rock"], object)), 6)
    a_tracks = set(pl.tracks.index[pl.tracks["track_id"].str.startswith("a")])
    assert set(recs.items[0].tolist()) == a_tracks  # title model, not index order
    assert set(recs.items[1, :5].tolist()) == a_tracks - {0}  # the seed's artist


@pytest.mark.parametrize(
    "make", [ArtistPopularity, SameArtistGreatestHits, CollocatedArtistsGreatestHits]
)
def test_save_load_identical(tmp_path, corpus, make):
    model = make().fit(corpus)
    q = queries_from(corpus, [ix(corpus, "x2"), ix(corpus, "z1", "y1"), []], [[0], [0], [0]])
    before = model.recommend(q, 5)
    after = type(model).load(model.save(tmp_path / "m.pkl")).recommend(q, 5)
    np.testing.assert_array_equal(before.items, after.items)
    np.testing.assert_array_equal(before.scores, after.scores)


def test_corpus_without_artists_warns():
    pl = Playlists.from_sequences([["a", "b"], ["b", "c"]])
    with pytest.warns(DataWarning, match="no track artists"):
        model = SameArtistGreatestHits().fit(pl)
    assert (model._score(queries_from(pl, [[0]], [[1]])).toarray() == 0).all()


@pytest.mark.parametrize("value", [0, -3, 1.5, "10", True])
def test_cagh_parameter_validation(corpus, value):
    with pytest.raises(ApcInputError) as err:
        CollocatedArtistsGreatestHits(n_neighbors=value).fit(corpus)
    assert err.value.field == "n_neighbors"


def test_unknown_parameter_is_rejected():
    with pytest.raises(ApcInputError):
        SameArtistGreatestHits().set_params(n_neighbors=3)
    with pytest.raises(ApcInputError):
        create_model("sagh", {"n_neighbors": 3})
