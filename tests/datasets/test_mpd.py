"""MPD slices, the challenge set and the MPD writer, on the tiny native samples in
datasets/samples/mpd (hand-checkable) and, marked realdata, on ../shared/data."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from apc.data import Playlists
from apc.datasets import convert, load_corpus
from apc.datasets.mpd import read_mpd, slice_files, write_mpd_slices
from apc.datasets.mpd_challenge import read_challenge_set
from apc.errors import ApcInputError

SAMPLES = Path(__file__).resolve().parents[2] / "datasets" / "samples"
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def ids(pl, p):
    return pl.tracks["track_id"].to_numpy()[pl[p]].tolist()


def artist_ids(pl):
    """Artist id of every entry (None where unknown)."""
    a = pl.track_artists[pl.items]
    names = pl.artists["artist_id"].to_numpy()
    return [names[j] if j >= 0 else None for j in a]


def shared(*parts):
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not found at {path}; skipping realdata test")
    return path


def write_slice(path, playlists):
    path.write_text(json.dumps({"info": {"slice": "0-0"}, "playlists": playlists}))
    return path


# ---------------------------------------------------------------- reading the samples
def test_sample_by_hand():
    pl = read_mpd(SAMPLES / "mpd", progress=False)
    assert len(pl) == 4 and pl.n_tracks == 5 and pl.n_entries == 7 and pl.n_artists == 4
    assert ids(pl, 0) == ["spotify:track:t1", "spotify:track:t2", "spotify:track:t3"]  # by pos
    assert ids(pl, 1) == ["spotify:track:t3", "spotify:track:t4"]
    assert ids(pl, 2) == []  # the empty playlist is kept (and counted)
    assert ids(pl, 3) == ["spotify:track:t4", "spotify:track:t5"]  # list order, no pos
    assert pl.info["report"] == {"pos_from_order": 2, "artist_keyed_by_name": 1,
                                 "empty_playlists": 1}
    assert {k: pl.info[k] for k in ("dataset", "adapter", "files")} == {
        "dataset": "mpd", "adapter": "mpd", "files": 2}
    assert pl.info["source"] == str(SAMPLES / "mpd")


def test_sample_metadata():
    pl = read_mpd(SAMPLES / "mpd", progress=False)
    m = pl.meta
    assert m["playlist_id"].tolist() == [0, 1, 2, 3] and m["playlist_id"].dtype == np.int64
    assert m["name"].tolist() == ["Road Trip", "chill", "empty", "reduced"]
    # "false"/"true" strings become booleans; the reduced record has none -> missing
    assert m["collaborative"].iloc[:3].tolist() == [False, True, False]
    assert pd.isna(m["collaborative"].iloc[3])
    assert m["timestamp"].iloc[:3].tolist() == [1493424000, 1500000000, 1500000001]
    assert pd.isna(m["timestamp"].iloc[3])
    assert m["num_followers"].tolist() == [4, 1, 1, 12]
    assert m["num_edits"].tolist() == [2, 5, 1, 3]
    assert m["num_tracks"].tolist() == [3, 2, 0, 2]
    assert m["duration_ms"].tolist() == [600000, 400000, 0, 380000]


def test_sample_tracks_and_artists():
    pl = read_mpd(SAMPLES / "mpd", progress=False)
    t = pl.tracks.set_index("track_id")
    assert t.loc["spotify:track:t2", "title"] == "Second"
    assert t.loc["spotify:track:t1", "album"] == "X"
    assert t.loc["spotify:track:t1", "album_id"] == "spotify:album:x"
    assert t.loc["spotify:track:t1", "duration_ms"] == 180000
    assert pd.isna(t.loc["spotify:track:t5", "duration_ms"])  # reduced record: unknown, not 0
    assert t.loc["spotify:track:t5", "album"] is None
    art = pl.artists.set_index("artist_id")["name"]
    assert art["spotify:artist:a"] == "Band A"
    assert art["Duo D"] == "Duo D"  # no artist_uri: keyed by name
    # t4's first record has an artist URI; the later reduced record does not overwrite it
    assert artist_ids(pl)[-2:] == ["spotify:artist:c", "Duo D"]
    assert pl.tracks["track_id"].is_unique


def test_single_file_limit_and_min_tracks():
    one = read_mpd(SAMPLES / "mpd" / "mpd.slice.3-4.json")
    assert len(one) == 1 and one.info["files"] == 1
    assert len(read_mpd(SAMPLES / "mpd", limit=2)) == 2
    assert read_mpd(SAMPLES / "mpd", limit=3).info["files"] == 1  # stops reading early
    big = read_mpd(SAMPLES / "mpd", min_tracks=3)
    assert big.meta["playlist_id"].tolist() == [0]
    assert big.info["report"]["playlists_below_min_tracks_dropped"] == 3


def test_slices_sorted_by_start_number(tmp_path):
    for start in (10, 2, 100):
        write_slice(tmp_path / f"mpd.slice.{start}-{start}.json",
                    [{"pid": start, "tracks": [{"track_uri": f"t{start}"}]}])
    (tmp_path / "notes.txt").write_text("ignored")
    assert [f.name for f in slice_files(tmp_path)] == [
        "mpd.slice.2-2.json", "mpd.slice.10-10.json", "mpd.slice.100-100.json"]
    assert read_mpd(tmp_path).meta["playlist_id"].tolist() == [2, 10, 100]


def test_empty_slice_and_empty_corpus(tmp_path):
    write_slice(tmp_path / "mpd.slice.0-999.json", [])
    pl = read_mpd(tmp_path)
    assert len(pl) == 0 and pl.n_tracks == 0 and pl.info["report"] == {"empty_slices": 1}


# ---------------------------------------------------------------- errors
def test_missing_inputs(tmp_path):
    with pytest.raises(ApcInputError, match="no such") as e:
        read_mpd(tmp_path / "nope")
    assert e.value.file == str(tmp_path / "nope")
    with pytest.raises(ApcInputError, match="no mpd.slice"):
        read_mpd(tmp_path)


@pytest.mark.parametrize(
    ("playlists", "record", "field"),
    [
        ([{"pid": 7, "tracks": [{"track_name": "x"}]}], "pid 7", "track_uri"),
        ([{"pid": 7, "tracks": [{"track_uri": ""}]}], "pid 7", "track_uri"),
        ([{"name": "no pid"}], "playlists[0]", "pid"),
        ([{"pid": "7"}], "playlists[0]", "pid"),
        ([{"pid": 7, "tracks": {"a": 1}}], "pid 7", "tracks"),
        ([{"pid": 7, "tracks": ["spotify:track:x"]}], "pid 7", "tracks"),
        ([{"pid": 7, "tracks": [{"pos": 0, "track_uri": "a"}, {"track_uri": "b"}]}],
         "pid 7", "pos"),
        ([{"pid": 7, "tracks": [{"pos": 1, "track_uri": "a"}, {"pos": 1, "track_uri": "b"}]}],
         "pid 7", "pos"),
        ([{"pid": 7, "num_followers": "many", "tracks": []}], "pid 7", "num_followers"),
        ([{"pid": 7, "collaborative": "maybe", "tracks": []}], "pid 7", "collaborative"),
        ([{"pid": 7, "name": 3, "tracks": []}], "pid 7", "name"),
        ([{"pid": 7, "tracks": [{"track_uri": "a", "duration_ms": "long"}]}], "pid 7 track a",
         "duration_ms"),
        ([{"pid": 7, "tracks": []}, {"pid": 7, "tracks": []}], "pid 7", "pid"),
    ],
)
def test_malformed_records_name_file_record_field(tmp_path, playlists, record, field):
    bad = write_slice(tmp_path / "mpd.slice.0-0.json", playlists)
    with pytest.raises(ApcInputError) as e:
        read_mpd(bad)
    assert (e.value.file, e.value.record, e.value.field) == (str(bad), record, field)
    assert str(e.value).startswith(f"{bad}: record {record}: field {field!r}: ")


def test_malformed_json_and_layout(tmp_path):
    bad = tmp_path / "mpd.slice.0-0.json"
    bad.write_text('{"playlists": [{"pid": 7,\n "tracks": [')
    with pytest.raises(ApcInputError, match=r"malformed JSON at line 2") as e:
        read_mpd(bad)
    assert e.value.file == str(bad)
    bad.write_text('[{"pid": 1}]')
    with pytest.raises(ApcInputError, match="'playlists' list") as e:
        read_mpd(bad)
    assert e.value.field == "playlists"
    bad.write_bytes(b'{"playlists": [{"pid": 1, "name": "\xff"}]}')
    with pytest.raises(ApcInputError, match="UTF-8"):
        read_mpd(bad)


def test_duplicate_pid_across_files(tmp_path):
    write_slice(tmp_path / "mpd.slice.0-0.json", [{"pid": 5, "tracks": []}])
    second = write_slice(tmp_path / "mpd.slice.1-1.json", [{"pid": 5, "tracks": []}])
    with pytest.raises(ApcInputError, match="duplicate pid") as e:
        read_mpd(tmp_path)
    assert e.value.file == str(second) and e.value.record == "pid 5"


def test_bad_options():
    with pytest.raises(ApcInputError) as e:
        read_mpd(SAMPLES / "mpd", min_tracks=-1)
    assert e.value.field == "min_tracks"
    with pytest.raises(ApcInputError) as e:
        read_mpd(SAMPLES / "mpd", limit="ten")
    assert e.value.field == "limit"


# ---------------------------------------------------------------- writing
def test_roundtrip_sample(tmp_path):
    pl = read_mpd(SAMPLES / "mpd")
    files = write_mpd_slices(pl, tmp_path / "out", slice_size=2)
    assert [f.name for f in files] == ["mpd.slice.0-1.json", "mpd.slice.2-3.json"]
    assert all(f.exists() for f in files)
    back = read_mpd(tmp_path / "out")
    assert back.items.tolist() == pl.items.tolist() and back.indptr.tolist() == pl.indptr.tolist()
    assert back.tracks["track_id"].tolist() == pl.tracks["track_id"].tolist()
    assert artist_ids(back) == artist_ids(pl)
    assert back.artists["name"].tolist() == pl.artists["name"].tolist()
    for col in ("playlist_id", "name", "timestamp", "num_followers", "num_edits"):
        assert back.meta[col].astype(object).tolist() == pl.meta[col].astype(object).tolist(), col
    assert back.meta["collaborative"].tolist()[:3] == [False, True, False]
    for col in ("title", "album", "album_id"):
        assert back.tracks[col].tolist() == pl.tracks[col].tolist(), col
    # everything is written with pos, so nothing is filled in when reading back — except the
    # artist that never had a URI, which is written by name only
    assert back.info["report"] == {"artist_keyed_by_name": 1, "empty_playlists": 1}


def test_written_records_follow_the_schema(tmp_path):
    pl = read_mpd(SAMPLES / "mpd")
    write_mpd_slices(pl, tmp_path / "out", slice_size=10)
    data = json.loads((tmp_path / "out" / "mpd.slice.0-9.json").read_text())
    assert data["info"]["slice"] == "0-9"
    first = data["playlists"][0]
    assert {k: first[k] for k in ("pid", "name", "collaborative", "modified_at", "num_tracks",
                                  "num_albums", "num_artists", "num_followers", "num_edits",
                                  "duration_ms")} == {
        "pid": 0, "name": "Road Trip", "collaborative": "false", "modified_at": 1493424000,
        "num_tracks": 3, "num_albums": 2, "num_artists": 2, "num_followers": 4, "num_edits": 2,
        "duration_ms": 600000}
    assert first["tracks"][0] == {
        "pos": 0, "artist_name": "Band A", "track_uri": "spotify:track:t1",
        "artist_uri": "spotify:artist:a", "track_name": "First", "album_uri": "spotify:album:x",
        "duration_ms": 180000, "album_name": "X"}
    reduced = data["playlists"][3]
    assert "duration_ms" not in reduced  # t5's duration is unknown: no total is invented
    assert "collaborative" not in reduced and "modified_at" not in reduced
    assert reduced["tracks"][1] == {"pos": 1, "artist_name": "Duo D",
                                    "track_uri": "spotify:track:t5", "track_name": "Fifth"}


def test_write_is_atomic_and_replaces(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "stale.json").write_text("{}")
    pl = Playlists.from_sequences([["a", "b"], ["c"]], names=["x", "y"])
    with pytest.raises(ApcInputError, match="apc did not write"):  # a user's file is kept
        write_mpd_slices(pl, out, overwrite=True)
    assert (out / "stale.json").read_text() == "{}"
    (out / "stale.json").unlink()
    write_mpd_slices(Playlists.from_sequences([["z"]]), out, slice_size=1)
    with pytest.raises(ApcInputError, match="--overwrite"):
        write_mpd_slices(pl, out)
    write_mpd_slices(pl, out, overwrite=True)  # slices apc wrote may be replaced
    assert sorted(p.name for p in out.iterdir()) == ["mpd.slice.0-999.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temp folder left
    back = read_mpd(out)
    assert [ids(back, p) for p in range(2)] == [["a", "b"], ["c"]]
    assert back.meta["name"].tolist() == ["x", "y"]


def test_write_string_ids_and_empty_corpus(tmp_path):
    pl = Playlists.from_sequences([["a"], ["b", "a"]], playlist_ids=["p-x", "p-y"])
    write_mpd_slices(pl, tmp_path / "s")
    assert read_mpd(tmp_path / "s").meta["playlist_id"].tolist() == [0, 1]  # row numbers
    empty = pl.subset(np.array([], dtype=np.int64))
    files = write_mpd_slices(empty, tmp_path / "e")
    assert [f.name for f in files] == ["mpd.slice.0-999.json"]
    assert len(read_mpd(tmp_path / "e")) == 0
    with pytest.raises(ApcInputError) as e:
        write_mpd_slices(pl, tmp_path / "z", slice_size=0)
    assert e.value.field == "slice_size"


def test_roundtrip_synthetic_corpus(tmp_path):
    from apc.datasets.synthetic import generate

    pl = generate("tiny", seed=0)
    write_mpd_slices(pl, tmp_path / "s", slice_size=64)
    back = read_mpd(tmp_path / "s")
    assert len(back) == len(pl) and back.info["report"] == {}
    assert all(ids(back, p) == ids(pl, p) for p in range(len(pl)))
    assert artist_ids(back) == artist_ids(pl)
    assert back.meta["playlist_id"].tolist() == pl.meta["playlist_id"].tolist()
    assert back.meta["name"].tolist() == pl.meta["name"].tolist()


def test_convert_and_load(tmp_path):
    pl = convert(SAMPLES / "mpd", tmp_path / "c", "mpd")
    back = load_corpus(tmp_path / "c")
    assert back.items.tolist() == pl.items.tolist() and back.info["report"] == pl.info["report"]
    assert back.tracks["duration_ms"].isna().tolist() == [False] * 4 + [True]
    assert len(load_corpus(SAMPLES / "mpd")) == 4  # native folder, format guessed


# ---------------------------------------------------------------- challenge set
def test_challenge_set_sample():
    train = read_mpd(SAMPLES / "mpd")
    q, rep = read_challenge_set(SAMPLES / "challenge_set.json", train)
    assert q.playlist_ids.tolist() == [1000, 1001, 1002]
    assert q.category.tolist() == ["title_only", "title_first1", "first2"]
    assert q.titles.tolist() == ["Road Trip", "chill", None]
    assert [ids_of(train, q.seed(i)) for i in range(3)] == [
        [], ["spotify:track:t1"], ["spotify:track:t3"]]
    assert q.target_lengths.tolist() == [0, 0, 0] and q.n_tracks == train.n_tracks
    assert q.seed_positions.tolist() == [0, 1, 2]  # seeds given in the file
    assert rep == {"queries": 3, "unknown_seed_tracks_dropped": 1, "title_missing": 1,
                   "empty_seeds": 1, "all_seeds_unknown": 0}


def ids_of(pl, rows):
    return pl.tracks["track_id"].to_numpy()[rows].tolist()


def test_challenge_seeds_in_pos_order_and_errors(tmp_path):
    train = read_mpd(SAMPLES / "mpd")
    path = tmp_path / "challenge_set.json"
    path.write_text(json.dumps({"date": "x", "version": "v1", "playlists": [
        {"pid": 9, "name": "r", "num_samples": 2, "num_holdouts": 1, "num_tracks": 3,
         "tracks": [{"pos": 2, "track_uri": "spotify:track:t2"},
                    {"pos": 0, "track_uri": "spotify:track:t4"}]}]}))
    q, rep = read_challenge_set(path, train)
    assert ids_of(train, q.seed(0)) == ["spotify:track:t4", "spotify:track:t2"]
    assert q.category.tolist() == ["title_random2"] and rep["empty_seeds"] == 0
    with pytest.raises(ApcInputError, match="no such"):
        read_challenge_set(tmp_path / "missing.json", train)
    path.write_text('{"playlists": [{"pid": 1, "tracks": [{"pos": 0}]}]}')
    with pytest.raises(ApcInputError) as e:
        read_challenge_set(path, train)
    assert e.value.field == "track_uri" and "pid 1" in str(e.value.record)


# ---------------------------------------------------------------- real data
@pytest.mark.realdata
def test_real_mpd_followers10():
    src = shared("mpd-followers10")
    pl = read_mpd(src, progress=False)
    n_playlists = n_entries = 0
    uris = set()
    for f in src.glob("mpd.slice.*.json"):
        ps = json.loads(f.read_text())["playlists"]
        n_playlists += len(ps)
        n_entries += sum(len(p["tracks"]) for p in ps)
        uris.update(t["track_uri"] for p in ps for t in p["tracks"])
    assert len(pl) == n_playlists == 5669 and pl.n_entries == n_entries
    assert pl.n_tracks == len(uris) and pl.tracks["track_id"].is_unique
    assert pl.info["files"] == 746
    # reduced records: every position from list order, every artist keyed by name
    assert pl.info["report"] == {"pos_from_order": n_entries, "artist_keyed_by_name": pl.n_tracks,
                                 "empty_slices": 1}
    assert (pl.meta["num_followers"] >= 10).all()
    assert (pl.meta["num_tracks"].to_numpy() == pl.lengths).all()
    assert set(pl.tracks.columns) == {"track_id", "artist", "title"}  # no album, duration


@pytest.mark.realdata
def test_real_mpd_schema_sample():
    pl = read_mpd(shared("mpd-schema-sample"))
    assert len(pl) == 29
    # the file is complete; one original playlist (pid 1) lists 40 tracks but says 39
    assert pl.info["report"] == {"num_tracks_mismatch": 1}
    for col in ("name", "collaborative", "timestamp", "num_followers", "num_edits",
                "num_tracks", "num_albums", "num_artists", "duration_ms"):
        assert pl.meta[col].notna().all(), col
    assert pl.meta["collaborative"].dtype == bool and pl.meta["timestamp"].dtype == np.int64
    assert pl.artists["artist_id"].str.startswith("spotify:artist:").all()
    for col in ("title", "album", "album_id", "duration_ms"):
        assert pl.tracks[col].notna().all(), col
    assert pl.tracks["duration_ms"].dtype == np.int64


@pytest.mark.realdata
def test_real_schema_sample_roundtrip(tmp_path):
    pl = read_mpd(shared("mpd-schema-sample"))
    write_mpd_slices(pl, tmp_path / "s")
    back = read_mpd(tmp_path / "s")
    assert back.items.tolist() == pl.items.tolist()
    assert back.tracks.equals(pl.tracks)
    # num_tracks, num_albums, num_artists and duration_ms are recomputed from the tracks
    # written, so the one inconsistent playlist (pid 1) becomes consistent
    assert back.info["report"] == {}
    consistent = pl.meta["num_tracks"].to_numpy() == pl.lengths
    assert consistent.sum() == 28
    for col in ("name", "collaborative", "timestamp", "num_followers", "num_edits"):
        assert back.meta[col].tolist() == pl.meta[col].tolist(), col
    for col in ("num_tracks", "num_albums", "num_artists", "duration_ms"):
        assert back.meta[col][consistent].tolist() == pl.meta[col][consistent].tolist(), col


def test_progress_bar_draws(monkeypatch):
    monkeypatch.setenv("APC_PROGRESS", "1")  # force the bar on, even without a terminal
    assert len(read_mpd(SAMPLES / "mpd")) == len(read_mpd(SAMPLES / "mpd", progress=False)) == 4
