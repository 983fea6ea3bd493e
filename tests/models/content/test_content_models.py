"""Issue 15: dbn-content, dbn-hybrid, content-prior-mf and multimodal (contract + planted answers)."""

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from apc.data.features import ItemFeatures
from apc.data.playlists import Playlists
from apc.errors import ApcInputError, DataWarning
from apc.models.content._base import als_step, als_with_prior
from apc.models.content.content_prior_mf import ContentPriorMF
from apc.models.content.dbn import RBM, DBNContent, DBNHybrid, pretrain_stack
from apc.models.content.multimodal import Multimodal
from apc.models.registry import create_model
from apc.testing import RecommenderContract, checkerboard, queries_from

FAST = {"wmf": {"n_factors": 4, "iterations": 5}}
SMALL = {"features": "wmf", "feature_options": FAST, "n_factors": 4, "cache_dir": None}


@pytest.fixture(autouse=True)
def _one_torch_thread(tmp_path, monkeypatch):
    """One torch thread (restored after) and a private table cache for each test."""
    import torch

    monkeypatch.setenv("APC_CACHE_DIR", str(tmp_path / "cache"))
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def planted(seed: int = 0, *, bios: bool = True):
    """Checkerboard (a0..a5 = tracks 0..5 by artist A, b0..b5 = 6..11 by artist B) plus a
    cold track 12 ("a_new", artist A, in no playlist) whose content is genre a's
    prototype, and track 13 ("ghost", artist C) without content or text."""
    pl = checkerboard()
    extra = pd.DataFrame({"track_id": ["a_new", "ghost"], "artist": [0, 2]})
    tracks = pd.concat([pl.tracks, extra], ignore_index=True)
    tracks["artist"] = tracks["artist"].astype(np.int32)
    is_a = tracks["track_id"].str.startswith("a").to_numpy()
    tracks["tags"] = [["rock", "loud"] if a else ["jazz", "sax"] for a in is_a]
    artists = pd.DataFrame({"artist_id": ["A", "B", "C"], "name": ["A", "B", "C"]})
    assert list(pl.artists.iloc[:, 0]) == ["A", "B"]  # track artist 0 = A, 1 = B
    if bios:
        artists["bio"] = ["a rock band with loud guitar riffs", "a smoky jazz trio with sax",
                          ""]
    pl = Playlists(pl.indptr, pl.items, tracks, artists, pl.meta)
    rng = np.random.default_rng(seed)
    x = np.zeros((len(tracks), 4), np.float32)
    x[is_a, 0] = 1.0
    x[~is_a, 1] = 1.0
    x[:, 2:] = 0.05 * rng.standard_normal((len(tracks), 2))
    x[12] = [1.0, 0.0, 0.0, 0.0]
    avail = np.ones(len(tracks), bool)
    avail[13] = False
    x[13] = 0.0
    return pl, ItemFeatures(x, avail)


def check_planted(m, pl):
    # every a track is a seed: the best continuation is the cold a track
    recs = m.recommend(queries_from(pl, [list(range(6)), [7, 8]], [[12], [9]]), 6)
    assert recs.items[0, 0] == 12
    assert set(recs.items[1, :4]) == {6, 9, 10, 11}  # b seeds -> the other b tracks
    assert 13 not in recs.items[:, :5]


# ---------------------------------------------------------------------------- ALS
def test_als_step_solves_the_normal_equations(seed):
    rng = np.random.default_rng(seed)
    f = rng.standard_normal((9, 3))
    conf = sp.random(6, 9, density=0.4, random_state=seed, format="csr")
    conf.data = 1.0 + 5.0 * rng.random(len(conf.data))
    prior = rng.standard_normal((6, 3))
    out = als_step(conf, f, 0.7, prior=prior)
    for u in range(6):
        c = np.ones(9)
        p = np.zeros(9)
        row = conf[[u]]
        c[row.indices], p[row.indices] = row.data, 1.0
        a = f.T @ (c[:, None] * f) + 0.7 * np.eye(3)
        assert np.allclose(out[u], np.linalg.solve(a, f.T @ (c * p) + 0.7 * prior[u]))


def test_strong_prior_pins_items_and_cold_items_take_it(seed):
    rng = np.random.default_rng(seed)
    conf = sp.csr_array(sp.random(30, 12, density=0.3, random_state=seed, format="csr"))
    conf.data[:] = 10.0
    conf = sp.csr_array(conf[:, :10].toarray() if False else conf)
    prior = rng.standard_normal((12, 3))
    dense = conf.toarray()
    dense[:, 11] = 0.0  # item 11 is cold
    _, y = als_with_prior(sp.csr_array(dense), prior, reg=1.0, reg_item=1e6, iterations=3,
                          seed=seed)
    assert np.allclose(y, prior, atol=1e-3)
    _, y = als_with_prior(sp.csr_array(dense), prior, reg=1.0, reg_item=1e-3, iterations=3,
                          seed=seed)
    assert np.allclose(y[11], prior[11], atol=1e-6) and not np.allclose(y[:11], prior[:11])


# ---------------------------------------------------------------------------- contracts
class TestDBNContentContract(RecommenderContract):
    def make_model(self):
        return DBNContent(hidden=8, epochs=3, pretrain_epochs=1, **SMALL)


class TestDBNHybridContract(RecommenderContract):
    def make_model(self):
        return DBNHybrid(hidden=8, epochs=3, pretrain_epochs=1, iterations=2, **SMALL)


class TestContentPriorMFContract(RecommenderContract):
    def make_model(self):
        return ContentPriorMF(epochs=2, hidden=8, prior_units=16, pretrain="none",
                              iterations=3, **SMALL)


class TestMultimodalContract(RecommenderContract):
    def make_model(self):
        return Multimodal(epochs=3, hidden=8, modalities="audio", **SMALL)


@pytest.mark.parametrize("name,cls", [("dbn-content", DBNContent), ("dbn-hybrid", DBNHybrid),
                                      ("content-prior-mf", ContentPriorMF),
                                      ("multimodal", Multimodal)])
def test_registry_names(name, cls):
    m = create_model(name, {"features": "wmf"})
    assert isinstance(m, cls) and m.name == name


@pytest.mark.parametrize("cls,bad", [(DBNContent, {"hidden": 0}), (DBNHybrid, {"cd_k": 0}),
                                     (ContentPriorMF, {"pretrain": "words"}),
                                     (Multimodal, {"dropout": 1.0})])
def test_params_are_validated_before_any_work(cls, bad):
    key = next(iter(bad))
    with pytest.raises(ApcInputError) as e:
        cls(**bad).validate_params()
    assert e.value.field == key


# ---------------------------------------------------------------------------- planted
@pytest.mark.parametrize("cls", [DBNContent, DBNHybrid])
def test_dbn_ranks_the_planted_cold_track_first(cls, seed):
    pl, feats = planted(seed)
    m = cls(features="wmf", n_factors=4, hidden=16, epochs=300, lr=1e-2, pretrain_epochs=3,
            iterations=3, joint_epochs=20, seed=seed, wmf_iterations=10).fit(pl, feats)
    check_planted(m, pl)


def test_dbn_learns_a_content_signal_that_predicts_the_factors(seed):
    # content = a linear map of the WMF factors themselves: the DBN must fit them closely
    pl = checkerboard()
    m = DBNContent(features="wmf", n_factors=4, hidden=32, epochs=300, lr=1e-2, seed=seed,
                   feature_options=FAST).fit(pl)
    assert m.loss_[-1] < 0.05 * m.loss_[0]


def test_rbm_contrastive_divergence_lowers_reconstruction_error(seed):
    import torch

    rng = np.random.default_rng(seed)
    protos = (rng.random((3, 20)) < 0.5).astype(np.float32)
    data = protos[rng.integers(0, 3, 600)]
    gen = torch.Generator().manual_seed(seed)
    rbm = RBM(20, 8, gaussian=False, generator=gen)
    v = torch.from_numpy(data)
    before = float(((v - rbm.visible_mean(rbm.hidden_prob(v))) ** 2).mean())
    rbms, errors = pretrain_stack(data, [8], epochs=20, lr=0.1, batch_size=50, k=1, seed=seed)
    after = float(((v - rbms[0].visible_mean(rbms[0].hidden_prob(v))) ** 2).mean())
    assert after < 0.5 * before and errors[0] == pytest.approx(errors[0])


@pytest.mark.parametrize("pretrain", ["none", "tags"])
def test_content_prior_mf_ranks_the_planted_cold_track_first(pretrain, seed):
    pl, feats = planted(seed)
    m = ContentPriorMF(features="wmf", n_factors=4, hidden=16, prior_units=32, epochs=100,
                       lr=1e-2, dropout=0.0, pretrain=pretrain, min_tag_count=1, seed=seed,
                       prior_regularization=0.1, wmf_iterations=10).fit(pl, feats)
    check_planted(m, pl)
    assert (m.tags_ == ["jazz", "loud", "rock", "sax"]) == (pretrain == "tags")
    # the cold track's factors are the prior alone
    assert np.allclose(m.item_factors_[12], m.h_[12] @ m.w_, atol=1e-5)


def test_content_prior_mf_without_tags_says_so(seed):
    pl, feats = planted(seed)
    pl = Playlists(pl.indptr, pl.items, pl.tracks.drop(columns="tags"), pl.artists, pl.meta)
    with pytest.warns(DataWarning, match="no usable 'tags'"):
        m = ContentPriorMF(features="wmf", n_factors=4, iterations=2, seed=seed).fit(pl, feats)
    assert m.tags_ == []


def test_multimodal_text_branch_ranks_the_cold_track_of_the_right_artist_first(seed):
    pl, feats = planted(seed)
    m = Multimodal(features="wmf", n_factors=4, hidden=16, epochs=200, text_epochs=300,
                   fusion_epochs=200, lr=1e-2, dropout=0.0, batch_size=8, seed=seed,
                   wmf_iterations=10).fit(pl, feats)
    assert m.modalities_ == ["audio", "text"] and m.notes_ == []
    check_planted(m, pl)
    t = Multimodal(features="wmf", n_factors=4, hidden=16, text_epochs=300, lr=1e-2,
                   dropout=0.0, batch_size=8, modalities="text", seed=seed,
                   wmf_iterations=10).fit(pl, None)
    recs = t.recommend(queries_from(pl, [[0, 1, 2, 3, 4, 5]], [[12]]), 3)
    assert recs.items[0, 0] == 12  # only text: a_new's artist A writes about rock


def test_multimodal_without_artist_text_uses_audio_and_says_so(seed):
    pl, feats = planted(seed, bios=False)
    with pytest.warns(DataWarning, match="no artist text"):
        m = Multimodal(features="wmf", n_factors=4, epochs=2, seed=seed).fit(pl, feats)
    assert m.modalities_ == ["audio"] and len(m.notes_) == 1
    with pytest.raises(ApcInputError) as e:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            Multimodal(features="wmf", n_factors=4, modalities="text").fit(pl, feats)
    assert e.value.field == "modalities"


# ---------------------------------------------------------------------------- front ends
@pytest.mark.slow
@pytest.mark.parametrize("name,params", [
    ("dbn-content", {"clip_seconds": 1.0, "frames": 8, "hidden": 16, "epochs": 2,
                     "pretrain_epochs": 1}),
    ("dbn-hybrid", {"clip_seconds": 1.0, "frames": 8, "hidden": 16, "epochs": 2,
                    "pretrain_epochs": 1, "iterations": 2, "joint_epochs": 1}),
    ("content-prior-mf", {"epochs": 2, "prior_units": 32, "iterations": 2,
                          "feature_options": {"mfcc_bow": {"render_seconds": 2.0,
                                                           "n_words": 32}}}),
    ("multimodal", {"patch_seconds": 1.0, "epochs": 2, "text_epochs": 5,
                    "fusion_epochs": 2}),
])
def test_front_end_on_a_synthetic_cold_start_split(name, params, tmp_path):
    from apc.datasets.synthetic import generate
    from apc.evaluation.protocols import ColdStartTracks

    split = ColdStartTracks(cold_fraction=0.3).split(generate("tiny", seed=0), seed=0)
    cold = split.train.item_popularity() == 0
    m = create_model(name, {"n_factors": 8, "wmf_iterations": 5, "cache_dir": str(tmp_path),
                            **params})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        m.fit(split.train)
    assert m.available_[cold].all()  # every cold track has audio, hence factors
    assert np.abs(m.item_factors_[cold]).sum(axis=1).min() > 0
    recs = m.recommend(split.queries, 20)
    assert recs.items.shape == (len(split.queries), 20)
    if name in ("dbn-content", "multimodal"):  # pure content: cold tracks compete on equal terms
        assert cold[recs.items].any()
    if name == "multimodal":
        assert m.modalities_ == ["audio", "text"]


@pytest.mark.realdata
@pytest.mark.slow
def test_content_prior_mf_on_aotm_bigrams_with_tagtraum_genres(shared_data):
    from apc.datasets.longformat import read_longformat
    from apc.evaluation.protocols import ColdStartTracks

    path = shared_data / "aotm-bigrams" / "aotm-bigrams.csv.gz"
    tags = shared_data / "tags" / "msd_tagtraum_cd1.cls"
    if not (path.exists() and tags.exists()):
        pytest.skip(f"real data not found under {shared_data}; skipping realdata test")
    pl = read_longformat(path, preset="aotm-bigrams", tags_path=tags)
    split = ColdStartTracks().split(pl, seed=0)
    m = ContentPriorMF(features="tags_w2v", epochs=2, prior_units=64, iterations=2,
                       n_factors=16, wmf_iterations=5).fit(split.train)
    assert 5 <= len(m.tags_) <= 13  # tagtraum's genres
    cold = split.train.item_popularity() == 0
    tagged_cold = cold & m.content_available_
    assert tagged_cold.any() and m.available_[tagged_cold].all()
    assert np.allclose(m.item_factors_[tagged_cold], m.prior_factors_[tagged_cold])
    recs = m.recommend(split.queries, 100)
    assert recs.items.shape == (len(split.queries), 100)
