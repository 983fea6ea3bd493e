import os
import subprocess
import sys

import numpy as np
import pytest

from apc.data import Playlists
from apc.errors import ApcInputError
from apc.models.fallback import TitleFallback
from apc.models.song2vec import Song2Vec
from apc.testing import RecommenderContract, checkerboard, queries_from


class TestSong2VecContract(RecommenderContract):
    def make_model(self):
        return Song2Vec(vector_size=8, epochs=2)


def names(pl, items):
    return pl.tracks["track_id"].to_numpy()[items]


def test_checkerboard_genres_stay_apart():
    pl = checkerboard()
    model = Song2Vec(vector_size=8, epochs=10).fit(pl)
    q = queries_from(pl, [[0, 1], [6, 7], [3]], [[2], [8], [4]])
    recs = names(pl, model.recommend(q, 4).items)
    assert all(t.startswith("a") for t in recs[0])
    assert all(t.startswith("b") for t in recs[1])
    assert all(t.startswith("a") for t in recs[2])


def test_scores_are_cosine_to_the_seed_centroid():
    pl = checkerboard()
    model = Song2Vec(vector_size=8, epochs=2).fit(pl)
    seed = [0, 2, 7]
    s = model._score(queries_from(pl, [seed], [[1]]))[0].astype(np.float64)
    vec = model.vectors_[model.track_row_].astype(np.float64)  # all tracks are in vocab
    np.testing.assert_allclose(np.linalg.norm(vec, axis=1), 1.0, rtol=1e-5)
    centre = vec[seed].mean(axis=0)
    ref = vec @ centre / np.linalg.norm(centre)
    np.testing.assert_allclose(s, ref, atol=1e-5)


def test_out_of_vocabulary_tracks():
    # "rare" occurs once: below min_count=2 it gets no vector
    seqs = [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b", "rare"], ["a", "b"]]
    pl = Playlists.from_sequences(seqs)
    rare = int(np.flatnonzero(pl.tracks["track_id"] == "rare")[0])
    model = Song2Vec(vector_size=4, epochs=2, min_count=2).fit(pl)
    assert model.track_row_[rare] == -1 and len(model.vectors_) == 3
    q = queries_from(pl, [[0], [rare]], [[1], [0]])
    s = model._score(q)
    assert np.isneginf(s[0, rare])  # never recommended
    recs = model.recommend(q, 4)
    assert rare not in recs.items[0].tolist() and recs.items[0, -1] == -1
    # a seed with no vector at all: popularity (share of playlists holding the track)
    np.testing.assert_allclose(s[1], [1.0, 1.0, 0.75, 0.25])
    assert recs.items[1].tolist()[:3] == [0, 1, 2]


def test_same_seed_same_vectors():
    pl = checkerboard()
    a = Song2Vec(vector_size=8, epochs=2, seed=4).fit(pl)
    b = Song2Vec(vector_size=8, epochs=2, seed=4).fit(pl)
    c = Song2Vec(vector_size=8, epochs=2, seed=5).fit(pl)
    np.testing.assert_array_equal(a.vectors_, b.vectors_)
    assert not np.allclose(a.vectors_, c.vectors_)


@pytest.mark.slow
def test_vectors_do_not_depend_on_python_hash_seed():
    code = (
        "from apc.testing import checkerboard; from apc.models.song2vec import Song2Vec;"
        "m = Song2Vec(vector_size=4, epochs=1).fit(checkerboard());"
        "print(m.vectors_.round(6).tobytes().hex())"
    )
    outs = []
    for hash_seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        outs.append(
            subprocess.run(
                [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
            ).stdout
        )
    assert outs[0] == outs[1]


def test_title_only_queries_use_the_title_model():
    pl = checkerboard()
    model = TitleFallback(Song2Vec(vector_size=4, epochs=1)).fit(pl)
    q = queries_from(pl, [[], []], [[0], [6]], titles=np.array(["rock", "jazz"], dtype=object))
    recs = names(pl, model.recommend(q, 6).items)
    assert all(t.startswith("a") for t in recs[0]) and all(t.startswith("b") for t in recs[1])


@pytest.mark.parametrize(
    "kw, field",
    [
        ({"vector_size": 0}, "vector_size"),
        ({"window": 0}, "window"),
        ({"epochs": 1.5}, "epochs"),
        ({"min_count": 0}, "min_count"),
        ({"negative": 0}, "negative"),
        ({"alpha": 0.0}, "alpha"),
        ({"sample": -1e-3}, "sample"),
        ({"seed": "x"}, "seed"),
    ],
)
def test_bad_parameters_raise(kw, field):
    with pytest.raises(ApcInputError) as e:
        Song2Vec(**kw).fit(checkerboard())
    assert e.value.field == field
