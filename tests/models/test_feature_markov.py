import numpy as np
import pandas as pd
import pytest

from apc.data import Playlists
from apc.errors import ApcInputError
from apc.models.feature_markov import FeatureMarkov, _walk, kmeans
from apc.models.registry import create_model as create
from apc.testing import RecommenderContract, checkerboard, cycles, queries_from


class TestFeatureMarkovContract(RecommenderContract):
    def make_model(self):
        return FeatureMarkov()


class TestFeatureMarkovTransitionsContract(RecommenderContract):
    def make_model(self):
        return FeatureMarkov(edge_sets=("uniform", "artist", "transitions"), seed=2)


def _tagged_corpus(n_tags=6, per_tag=8, n_playlists=300, length=6, seed=0):
    """Every transition stays inside one tag; artists and popularity are uninformative."""
    rng = np.random.default_rng(seed)
    tracks = [f"t{g}_{i}" for g in range(n_tags) for i in range(per_tag)]
    seqs = []
    for _ in range(n_playlists):
        g = rng.integers(n_tags)
        seqs.append([f"t{g}_{i}" for i in rng.choice(per_tag, length, replace=False)])
    # artists cut across tags: artist = i mod 4
    artists = {t: f"ar{int(t.split('_')[1]) % 4}" for t in tracks}
    pl = Playlists.from_sequences(seqs, artists=artists)
    tag_of = {t: [f"tag{t[1:].split('_')[0]}"] for t in tracks}
    return pl.__class__(pl.indptr, pl.items, pl.tracks.assign(
        tags=[tag_of[t] for t in pl.tracks["track_id"]]), pl.artists, pl.meta, pl.info)


def test_corpus_following_one_feature_gives_it_almost_all_weight():
    pl = _tagged_corpus()
    m = FeatureMarkov(edge_sets=("uniform", "popularity", "artist", "tags")).fit(pl)
    assert m.weights_["tags"] > 0.97, m.weights_
    assert sum(m.weights_.values()) == pytest.approx(1.0)


def test_artist_walk_on_checkerboard():
    m = FeatureMarkov(edge_sets=("uniform", "popularity", "artist")).fit(checkerboard())
    assert m.weights_["artist"] > 0.95
    assert m.dropped_edge_sets_ == ()


def test_missing_features_are_dropped_not_invented():
    m = FeatureMarkov().fit(cycles())  # no artists, tags, audio or years
    assert set(m.dropped_edge_sets_) == {"artist", "tags", "audio", "era"}
    assert set(m.weights_) == {"uniform", "popularity"}


def test_transitions_edge_set_learns_the_cycle():
    pl = cycles()
    m = FeatureMarkov(edge_sets=("uniform", "transitions")).fit(pl)
    assert m.weights_["transitions"] > 0.9
    q = queries_from(pl, [[i] for i in range(12)], [[(i + 1) % 12] for i in range(12)])
    assert (m.recommend(q, 1).items[:, 0] == q.targets).all()


def test_log_proba_is_normalised_and_matches_scores():
    pl = _tagged_corpus(n_playlists=60)
    m = FeatureMarkov(edge_sets=("uniform", "popularity", "artist", "tags")).fit(pl)
    n = pl.n_tracks
    seeds = [[0], [5], [17], []]
    q = queries_from(pl, seeds, [[1]] * len(seeds))
    probs = m._score(q).astype(np.float64)
    assert np.allclose(probs.sum(1), 1.0, atol=1e-5)
    for j in (1, 9, 30):
        qj = queries_from(pl, seeds, [[j]] * len(seeds))
        assert np.allclose(np.exp(m.next_track_log_proba(qj)), probs[:, j], rtol=1e-5)
    assert n == probs.shape[1]


def test_walk_is_row_stochastic_and_drops_singletons():
    import scipy.sparse as sp

    m = sp.csr_array(np.array([[1, 1, 0], [1, 0, 0], [0, 1, 1], [0, 0, 0]], float))
    f, t = _walk(m)
    p = (f @ t.T).toarray()
    assert np.allclose(p[:3].sum(1), 1.0)
    assert p[3].sum() == 0  # no group: the model falls back to uniform


def test_kmeans_separates_clusters():
    rng = np.random.default_rng(0)
    x = np.r_[rng.normal(0, 0.1, (20, 3)), rng.normal(5, 0.1, (20, 3))]
    lab = kmeans(x, 2, 20, rng)
    assert len(set(lab[:20])) == 1 and len(set(lab[20:])) == 1 and lab[0] != lab[-1]


def test_audio_and_era_from_track_columns():
    pl = _tagged_corpus(n_playlists=40)
    g = pl.tracks["track_id"].str.slice(1, 2).astype(int).to_numpy()
    tracks = pl.tracks.assign(timbre=g * 10.0, tempo_bpm=100.0 + g, release_year=1960 + 10 * g)
    pl2 = pl.__class__(pl.indptr, pl.items, tracks, pl.artists, pl.meta, pl.info)
    m = FeatureMarkov(edge_sets=("uniform", "audio", "era"), audio_clusters=6).fit(pl2)
    assert m.n_groups_["era"] == 6
    assert m.weights_["audio"] + m.weights_["era"] > 0.95


def test_registry_and_bad_params():
    assert isinstance(create("feature-markov"), FeatureMarkov)
    with pytest.raises(ApcInputError):
        FeatureMarkov(edge_sets=("uniform", "nonsense")).fit(checkerboard())
    with pytest.raises(ApcInputError):
        FeatureMarkov(edge_sets=()).fit(checkerboard())


def test_log_proba_needs_targets():
    pl = checkerboard()
    m = FeatureMarkov().fit(pl)
    q = queries_from(pl, [[0]], [[]])
    with pytest.raises(ApcInputError):
        m.next_track_log_proba(q)
    assert isinstance(pd.__version__, str)
