"""The ScoringRecommender template: checks, k cap, persistence, corpus fingerprint."""

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from apc.data import Playlists
from apc.errors import ApcInputError, ParameterWarning
from apc.models.base import MODEL_FORMAT, ScoringRecommender, corpus_fingerprint, load_model
from apc.models.popularity import Popularity
from apc.models.registry import available_models, create_model
from apc.testing import checkerboard, queries_from


class Ones(ScoringRecommender):
    """A twelve-line plug-in: every track scores its index (ties impossible)."""

    name = "ones"

    def _fit(self, train, features):
        self.w_ = np.arange(train.n_tracks, dtype=np.float32)

    def _score(self, queries):
        return np.tile(self.w_, (len(queries), 1))


class WrongShape(Ones):
    def _score(self, queries):
        return np.zeros((len(queries), 3), dtype=np.float32)


def test_score_of_the_wrong_shape_names_the_expected_one():
    pl = checkerboard()
    model = WrongShape().fit(pl)
    with pytest.raises(ApcInputError, match=r"\(B, n_tracks\) = \(2, 12\)") as e:
        model.recommend(queries_from(pl, [[0], [1]], [[2], [3]]), 3)
    assert "(2, 3)" in str(e.value) and "WrongShape._score" in str(e.value)


def test_k_beyond_the_catalogue_is_capped_with_a_warning():
    pl = checkerboard()  # 12 tracks
    q = queries_from(pl, [[11], []], [[0], [0]])
    with pytest.warns(ParameterWarning, match="exceeds the catalogue"):
        recs = Ones().fit(pl).recommend(q, 10**12)  # no (Q, 10**12) allocation
    assert recs.items.shape == (2, 12)
    assert recs.items[0].tolist() == list(range(10, -1, -1)) + [-1]  # seed 11 excluded
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Ones().fit(pl).recommend(q, 12)  # exactly the catalogue: no warning


@pytest.mark.parametrize("k", [0, -1, 2.5, "3", True])
def test_bad_k_is_an_input_error(k):
    pl = checkerboard()
    with pytest.raises(ApcInputError, match="k must be"):
        Ones().fit(pl).recommend(queries_from(pl, [[0]], [[1]]), k)


@pytest.mark.parametrize("name", [s.name for s in available_models()])
@pytest.mark.parametrize("corpus", [[], [[]]], ids=["no-playlists", "no-tracks"])
def test_fit_on_an_empty_corpus_is_refused_by_every_model(name, corpus):
    with pytest.raises(ApcInputError, match="empty corpus"):
        create_model(name).fit(Playlists.from_sequences(corpus))


def test_base_does_not_import_the_title_model_nor_fit_one():
    code = "import sys, apc.models.base; print('apc.models.title' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    model = Ones().fit(checkerboard())
    assert not any("title" in attr or "fallback" in attr for attr in vars(model))


def test_corpus_fingerprint_tells_corpora_of_the_same_size_apart():
    a = Playlists.from_sequences([["x", "y"], ["y", "z"]])
    b = Playlists.from_sequences([["x", "y"], ["y", "w"]])  # same sizes, one other id
    c = Playlists.from_sequences([["y", "x"], ["z"]])  # other order of first appearance
    d = Playlists.from_sequences([["x", "y", "z"]])  # same catalogue, other playlists
    assert corpus_fingerprint(a) == corpus_fingerprint(Playlists.from_sequences([["x", "y"], ["y", "z"]]))
    assert len({corpus_fingerprint(x) for x in (a, b, c, d)}) == 4
    model = Popularity().fit(a)
    assert model.corpus_fingerprint_ == corpus_fingerprint(a)


def test_save_header_records_catalogue_and_fingerprint(tmp_path):
    pl = checkerboard()
    path = Popularity().fit(pl).save(tmp_path / "m.pkl")
    with open(path, "rb") as f:
        header = pickle.load(f)
    assert header["n_tracks"] == 12
    assert header["corpus_fingerprint"] == corpus_fingerprint(pl)


def test_load_a_folder_is_an_input_error(tmp_path):
    with pytest.raises(ApcInputError, match="folder"):
        load_model(tmp_path)


def test_load_a_pickle_naming_a_missing_module_is_an_input_error(tmp_path):
    path = tmp_path / "m.pkl"
    with open(path, "wb") as f:
        pickle.dump({"apc_model": "nosuch_apc_module:Model", "params": {},
                     "format": MODEL_FORMAT}, f)
        # a pickle stream that refers to a module that is not installed
        f.write(b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00\x8c\x11nosuch_apc_module"
                b"\x94\x8c\x05Model\x94\x93\x94)\x81\x94.")
    with pytest.raises(ApcInputError, match="nosuch_apc_module"):
        load_model(path)


def test_load_not_a_model_file(tmp_path):
    path = tmp_path / "m.pkl"
    path.write_bytes(b"hello")
    with pytest.raises(ApcInputError, match="not an apc model file"):
        load_model(path)
    with open(path, "wb") as f:
        pickle.dump([1, 2], f)
    with pytest.raises(ApcInputError, match="no header"):
        load_model(path)


def test_sparse_and_dense_scores_give_the_same_lists():
    class SparseOnes(Ones):
        sparse_scores = True

        def _score(self, queries):
            return sp.csr_array(super()._score(queries))

    pl = checkerboard()
    q = queries_from(pl, [[0, 5], [11], []], [[1], [1], [1]])
    dense = Ones().fit(pl).recommend(q, 7)
    sparse = SparseOnes().fit(pl).recommend(q, 7)
    np.testing.assert_array_equal(dense.items, sparse.items)
    np.testing.assert_array_equal(dense.scores, sparse.scores)
