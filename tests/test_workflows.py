"""Library calls behind the CLI: fit_model and recommend_to_csv (seed report, corpus check)."""

import pytest

from apc.data import Playlists
from apc.errors import ApcInputError
from apc.workflows import SeedReport, fit_model, recommend_to_csv


@pytest.fixture()
def fitted(tmp_path):
    train = Playlists.from_sequences([["a", "b", "c"], ["b", "c", "d"], ["a", "d"]],
                                     names=["x", "y", "z"])
    train.save(tmp_path / "train")
    fit_model(tmp_path / "train", "knn", tmp_path / "m.pkl")
    return tmp_path


def test_recommend_reports_unknown_seeds_and_fallbacks(fitted):
    seeds = fitted / "seeds.txt"
    seeds.write_text("a b\nnope1 nope2\ntitle: y |\nc nope3\n")
    run = recommend_to_csv(fitted / "m.pkl", fitted / "train", seeds, fitted / "r.csv", k=2)
    assert run.seeds == SeedReport(queries=4, seed_tracks=6, unknown_seed_tracks=3,
                                   fallback_queries=2, examples=("nope1", "nope2", "nope3"))
    assert run.seeds.line().startswith("3 of 6 seed tracks unknown")
    assert "2 of 4 queries" in run.seeds.line()
    assert len(run.frame) == 8 and (fitted / "r.csv").exists()


def test_strict_refuses_unknown_seeds_and_writes_nothing(fitted):
    seeds = fitted / "seeds.txt"
    seeds.write_text("a nope\n")
    with pytest.raises(ApcInputError, match="1 of 2 seed tracks are unknown .*'nope'"):
        recommend_to_csv(fitted / "m.pkl", fitted / "train", seeds, fitted / "r.csv",
                         strict=True)
    assert not (fitted / "r.csv").exists()
    seeds.write_text("a b\n")
    run = recommend_to_csv(fitted / "m.pkl", fitted / "train", seeds, fitted / "r.csv",
                           k=2, strict=True)
    assert run.seeds.unknown_seed_tracks == 0


def test_a_corpus_of_the_same_size_with_other_tracks_is_detected(fitted):
    other = Playlists.from_sequences([["a", "b", "c"], ["b", "c", "e"], ["a", "e"]],
                                     names=["x", "y", "z"])  # 4 tracks, as the real one
    other.save(fitted / "other")
    seeds = fitted / "seeds.txt"
    seeds.write_text("a b\n")
    with pytest.raises(ApcInputError, match="fitted on another corpus"):
        recommend_to_csv(fitted / "m.pkl", fitted / "other", seeds, fitted / "r.csv")


def test_fit_refuses_an_empty_corpus_for_any_model(tmp_path, monkeypatch):
    import apc.workflows

    class Bare:  # a plug-in without apc's template: fit would happily "learn" nothing
        def fit(self, train, features=None):
            return self

        def recommend(self, queries, k):
            raise AssertionError

        def save(self, path):
            raise AssertionError("nothing may be written")

    monkeypatch.setattr(apc.workflows, "build_model", lambda *a, **kw: Bare())
    Playlists.from_sequences([]).save(tmp_path / "empty")
    with pytest.raises(ApcInputError, match="empty corpus"):
        fit_model(tmp_path / "empty", "bare", tmp_path / "m.pkl")
    assert not (tmp_path / "m.pkl").exists()
