import json

import numpy as np
import pandas as pd
import pytest

from apc.data import Playlists, Queries, Vocabulary
from apc.errors import ApcInputError


@pytest.fixture
def pl():
    return Playlists.from_sequences(
        [["a", "b", "c"], ["c", "a"], [], ["d", "d", "a"]],
        artists={"a": "X", "b": "X", "c": "Y", "d": "Z"},
        names=["one", "two", "empty", "four"],
    )


def test_layout_and_access(pl):
    assert len(pl) == 4 and pl.n_tracks == 4 and pl.n_artists == 3 and pl.n_entries == 8
    assert pl.indptr.dtype == np.int64 and pl.items.dtype == np.int32
    assert pl[0].tolist() == [0, 1, 2] and pl[1].tolist() == [2, 0] and pl[2].tolist() == []
    assert pl.lengths.tolist() == [3, 2, 0, 3]
    assert pl.positions.tolist() == [0, 1, 2, 0, 1, 0, 1, 2]
    assert pl.track_artists.tolist() == [0, 0, 1, 2]


def test_popularity_and_csr(pl):
    assert pl.item_popularity().tolist() == [3, 1, 2, 1]  # a in 3 playlists
    assert pl.item_popularity(distinct=False).tolist() == [3, 1, 2, 2]
    m = pl.to_csr()
    assert m.shape == (4, 4) and m[3, 3] == 1
    assert pl.to_csr(binary=False)[3, 3] == 2


def test_subset_keeps_order_and_meta(pl):
    sub = pl.subset([3, 0])
    assert len(sub) == 2 and sub[0].tolist() == [3, 3, 0] and sub[1].tolist() == [0, 1, 2]
    assert sub.meta["name"].tolist() == ["four", "one"]
    assert sub.n_tracks == pl.n_tracks
    assert len(pl.subset(np.array([True, False, False, False]))) == 1


def test_compact_drops_unused(pl):
    small, kept = pl.subset([1]).compact()
    assert kept.tolist() == [0, 2]
    assert small.tracks["track_id"].tolist() == ["a", "c"]
    assert small[0].tolist() == [1, 0]
    assert small.artists["name"].tolist() == ["X", "Y"]


def test_stats(pl):
    s = pl.stats()
    assert s["playlists"] == 4 and s["empty_playlists"] == 1 and s["entries"] == 8
    # transitions: a-b (X,X) same, b-c no, c-a no, d-d same, d-a no -> 2/5
    assert s["same_artist_transitions"] == pytest.approx(2 / 5)


def test_validation_errors():
    tracks = pd.DataFrame({"track_id": ["a", "b"]})
    with pytest.raises(ApcInputError, match="items must lie"):
        Playlists(np.array([0, 2]), np.array([0, 5]), tracks)
    with pytest.raises(ApcInputError, match="indptr ends"):
        Playlists(np.array([0, 3]), np.array([0, 1]), tracks)
    with pytest.raises(ApcInputError, match="non-decreasing"):
        Playlists(np.array([0, 2, 1, 2]), np.array([0, 1]), tracks)


def test_save_load_roundtrip(pl, tmp_path):
    path = pl.save(tmp_path / "c")
    back = Playlists.load(path)
    np.testing.assert_array_equal(back.indptr, pl.indptr)
    np.testing.assert_array_equal(back.items, pl.items)
    assert back.tracks["track_id"].tolist() == pl.tracks["track_id"].tolist()
    assert back.meta["name"].tolist() == pl.meta["name"].tolist()
    assert back.artists["name"].tolist() == ["X", "Y", "Z"]
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["counts"] == {"playlists": 4, "tracks": 4, "artists": 3, "entries": 8}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp dirs left


def test_load_detects_truncation_and_corruption(pl, tmp_path):
    path = pl.save(tmp_path / "c")
    f = path / "playlists.parquet"
    data = f.read_bytes()
    f.write_bytes(data[: len(data) // 2])
    with pytest.raises(ApcInputError, match="truncated"):
        Playlists.load(path)
    f.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))
    with pytest.raises(ApcInputError, match="checksum"):
        Playlists.load(path)
    with pytest.raises(ApcInputError, match="manifest.json missing"):
        Playlists.load(tmp_path)


def test_vocabulary():
    v = Vocabulary(np.array(["x", "y"]))
    assert v.index(["y", "x"]).tolist() == [1, 0]
    assert v.index(["z"], missing="negative").tolist() == [-1]
    with pytest.raises(ApcInputError, match="unknown id 'z'"):
        v.index(["z"])
    with pytest.raises(ApcInputError, match="duplicate"):
        Vocabulary(np.array(["x", "x"]))


def test_queries_subset_and_csr():
    q = Queries.from_lists([[0, 1], [], [3]], [[2], [0, 1], [1]], n_tracks=4,
                           titles=np.array(["a", None, "c"], dtype=object))
    assert q.seed_lengths.tolist() == [2, 0, 1]
    assert q.last_seed().tolist() == [1, -1, 3]
    sub = q.subset([2, 0])
    assert sub.seed(0).tolist() == [3] and sub.target(1).tolist() == [2]
    assert sub.titles.tolist() == ["c", "a"] and sub.playlist_ids.tolist() == [2, 0]
    assert q.seeds_csr().toarray().tolist()[0] == [1, 1, 0, 0]
    with pytest.raises(ApcInputError):
        Queries.from_lists([[5]], [[0]], n_tracks=4)


def test_relative_audio_root_resolves_against_the_corpus_folder(pl, tmp_path, monkeypatch):
    from pathlib import Path

    corpus = Playlists(pl.indptr, pl.items, pl.tracks, pl.artists, pl.meta,
                       dict(pl.info, audio_root="audio"))
    corpus.save(tmp_path / "c")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    loaded = Playlists.load(tmp_path / "c")
    assert Path(loaded.info["audio_root"]) == (tmp_path / "c" / "audio").resolve()
