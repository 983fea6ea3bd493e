"""Adapters on tiny native-format samples (datasets/samples) and, marked realdata, on
the real files in ../shared/data."""

import gzip
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from apc.datasets import convert, load_corpus
from apc.datasets.aotm2011 import read_aotm2011
from apc.datasets.eighttracks import read_8tracks
from apc.datasets.longformat import read_longformat
from apc.datasets.mpd import read_challenge_set, read_mpd, write_mpd_slices
from apc.errors import ApcInputError

SAMPLES = Path(__file__).resolve().parents[2] / "datasets" / "samples"


def ids(pl, p):
    return pl.tracks["track_id"].to_numpy()[pl[p]].tolist()


# ---------------------------------------------------------------- MPD
def test_mpd_sample_by_hand():
    pl = read_mpd(SAMPLES / "mpd")
    assert len(pl) == 4 and pl.n_tracks == 5
    assert ids(pl, 0) == ["spotify:track:t1", "spotify:track:t2", "spotify:track:t3"]  # by pos
    assert ids(pl, 2) == []  # the empty playlist is kept
    assert pl.meta["playlist_id"].tolist() == [0, 1, 2, 3]
    assert pl.meta["name"].tolist()[:2] == ["Road Trip", "chill"]
    assert pl.meta["collaborative"].tolist()[:2] == [False, True]
    assert pl.meta["timestamp"].iloc[0] == 1493424000
    art = pl.artists.set_index("artist_id")["name"]
    assert art["spotify:artist:a"] == "Band A" and art["Duo D"] == "Duo D"  # keyed by name
    rep = pl.info["report"]
    assert rep["empty_playlists"] == 1 and rep["pos_from_order"] == 2
    assert rep["artist_keyed_by_name"] == 2
    t = pl.tracks.set_index("track_id")
    assert t.loc["spotify:track:t2", "title"] == "Second" and t.loc["spotify:track:t1", "duration_ms"] == 180000


def test_mpd_roundtrip(tmp_path):
    pl = read_mpd(SAMPLES / "mpd")
    files = write_mpd_slices(pl, tmp_path / "out", slice_size=2)
    assert [f.name for f in files] == ["mpd.slice.0-1.json", "mpd.slice.2-3.json"]
    back = read_mpd(tmp_path / "out")
    assert back.items.tolist() == pl.items.tolist() and back.indptr.tolist() == pl.indptr.tolist()
    assert back.tracks["track_id"].tolist() == pl.tracks["track_id"].tolist()
    assert back.meta["playlist_id"].tolist() == pl.meta["playlist_id"].tolist()


def test_mpd_errors(tmp_path):
    with pytest.raises(ApcInputError, match="no such"):
        read_mpd(tmp_path / "nope")
    bad = tmp_path / "mpd.slice.0-0.json"
    bad.write_text('{"playlists": [{"pid": 7, "tracks": [{"track_name": "x"}]}]}')
    with pytest.raises(ApcInputError) as e:
        read_mpd(bad)
    assert e.value.record == "pid 7" and e.value.field == "track_uri" and str(bad) in str(e.value)
    bad.write_text('{"playlists": [{"pid": 7, "tracks": [')
    with pytest.raises(ApcInputError, match="malformed JSON"):
        read_mpd(bad)
    bad.write_text('{"playlists": [{"name": "no pid"}]}')
    with pytest.raises(ApcInputError) as e:
        read_mpd(bad)
    assert e.value.field == "pid"


def test_challenge_set():
    train = read_mpd(SAMPLES / "mpd")
    q, rep = read_challenge_set(SAMPLES / "challenge_set.json", train)
    assert q.playlist_ids.tolist() == [1000, 1001, 1002]
    assert q.category.tolist() == ["title_only", "title_first1", "first2"]
    assert q.titles.tolist() == ["Road Trip", "chill", None]
    assert [train.tracks["track_id"][s].tolist() for s in (q.seed(1), q.seed(2))] == [
        ["spotify:track:t1"], ["spotify:track:t3"]]
    assert rep == {"queries": 3, "unknown_seed_tracks_dropped": 1, "title_missing": 1, "empty_seeds": 1}


def test_convert_and_load(tmp_path):
    pl = convert(SAMPLES / "mpd", tmp_path / "c", "mpd")
    back = load_corpus(tmp_path / "c")
    assert back.items.tolist() == pl.items.tolist() and back.info["report"] == pl.info["report"]
    assert len(load_corpus(SAMPLES / "mpd")) == 4  # native folder, format guessed


# ---------------------------------------------------------------- AotM-2011
def test_aotm2011_msd_only():
    pl = read_aotm2011(SAMPLES / "aotm2011_sample.json")
    assert pl.meta["playlist_id"].tolist() == [11, 13]  # mix 12 has no MSD track
    assert ids(pl, 0) == ["TRAAAAA128F1", "TRAAAAB128F2"]
    rep = pl.info["report"]
    assert rep["unmatched_tracks_dropped"] == 2 and rep["empty_playlists_dropped"] == 1
    assert rep["timestamp_missing"] == 1
    assert pl.meta["timestamp"].iloc[0] == 1205927040  # 2008-03-19T11:44:00 UTC


def test_aotm2011_keep_unmatched_and_gzip(tmp_path):
    gz = tmp_path / "aotm2011_playlists.json.gz"
    with gzip.open(gz, "wt") as f:
        f.write((SAMPLES / "aotm2011_sample.json").read_text())
    pl = read_aotm2011(gz, msd_only=False)
    assert len(pl) == 3
    assert ids(pl, 0)[1] == "aotm:unknown artist|rare track"
    assert ids(pl, 1) == ["aotm:other|only unmatched"]


def test_aotm2011_streaming_over_small_chunks(tmp_path, monkeypatch):
    import apc.datasets.aotm2011 as A

    recs = [{"mix_id": i, "playlist": [[["a", "t"], f"TR{i:04d}"], [["b", "u"], "TRX"]]}
            for i in range(300)]
    path = tmp_path / "big.json"
    path.write_text(json.dumps(recs))
    got = [i for i, _ in A.iter_json_list(path, chunk=64)]
    assert got == list(range(300))
    assert len(read_aotm2011(path)) == 300


def test_aotm2011_malformed(tmp_path):
    p = tmp_path / "a.json"
    p.write_text('[{"mix_id": 1, "playlist": [["only one"]]}]')
    with pytest.raises(ApcInputError) as e:
        read_aotm2011(p)
    assert e.value.record == "mix 1" and e.value.field == "playlist"
    p.write_text('[{"mix_id": 1, "playlist": []}, {"mix_id": 2')
    with pytest.raises(ApcInputError, match="malformed|end of file"):
        read_aotm2011(p)


# ---------------------------------------------------------------- long format / 8tracks
def test_8tracks_orders_by_position():
    pl = read_8tracks(SAMPLES / "8tracks_sample.tsv")
    assert pl.meta["playlist_id"].tolist() == ["p1", "p2"]
    assert ids(pl, 0) == ["8t:1", "8t:2", "8t:3"] and ids(pl, 1) == ["8t:2", "8t:4"]
    names = pl.artists["name"].to_numpy()
    art = pl.track_artists
    t = pl.tracks["track_id"].tolist()
    assert names[art[t.index("8t:1")]] == "Artist X" and art[t.index("8t:4")] == -1
    assert pl.info["dataset"] == "8tracks"


def test_longformat_columns_and_errors(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("session,item,ts\ns1,b,20\ns1,a,10\ns2,c,5\n")
    pl = read_longformat(p, playlist_col="session", track_col="item", timestamp_col="ts")
    assert ids(pl, 0) == ["a", "b"] and pl.meta["timestamp"].tolist() == [10, 5]
    with pytest.raises(ApcInputError) as e:
        read_longformat(p, playlist_col="playlist")
    assert e.value.field == "playlist" and "s.csv" in str(e.value)
    pq = tmp_path / "s.parquet"
    import pandas as pd

    pd.read_csv(p).astype(str).to_parquet(pq)
    assert ids(read_longformat(pq, playlist_col="session", track_col="item", position_col="ts"), 0) == ["a", "b"]


def test_bigrams_segments_and_pairs(tmp_path):
    seg = read_longformat(SAMPLES / "aotm-bigrams_sample.csv", preset="aotm-bigrams")
    # TRA-TRB, TRB-TRC chain; TRX-TRY breaks; TRC-TRD breaks; TRY-TRZ breaks
    assert [ids(seg, p) for p in range(len(seg))] == [["TRA", "TRB", "TRC"], ["TRX", "TRY"],
                                                        ["TRC", "TRD"], ["TRY", "TRZ"]]
    pairs = read_longformat(SAMPLES / "aotm-bigrams_sample.csv", preset="aotm-bigrams", mode="pairs")
    assert len(pairs) == 5 and ids(pairs, 2) == ["TRX", "TRY"]
    tags = tmp_path / "t.cls"
    tags.write_text("# comment\nTRA\tRock\nTRB\tJazz\tBlues\n")
    tagged = read_longformat(SAMPLES / "aotm-bigrams_sample.csv", preset="aotm-bigrams", tags_path=tags)
    tt = dict(zip(tagged.tracks["track_id"], tagged.tracks["tags"], strict=True))
    assert tt["TRB"] == ["Jazz", "Blues"] and tt["TRZ"] == []
    assert tagged.info["report"]["tracks_with_tags"] == 2


# ---------------------------------------------------------------- real data
@pytest.mark.realdata
def test_real_mpd_followers10(shared_data):
    src = shared_data / "mpd-followers10"
    pl = read_mpd(src, progress=False)
    n_playlists = n_entries = 0
    for f in src.glob("mpd.slice.*.json"):
        ps = json.loads(f.read_text())["playlists"]
        n_playlists += len(ps)
        n_entries += sum(len(p["tracks"]) for p in ps)
    assert len(pl) == n_playlists == 5669 and pl.n_entries == n_entries
    assert pl.info["report"]["empty_slices"] == 1
    assert pl.info["report"]["artist_keyed_by_name"] == n_entries


@pytest.mark.realdata
def test_real_mpd_schema_sample(shared_data):
    pl = read_mpd(shared_data / "mpd-schema-sample")
    assert len(pl) == 29 and pl.info["report"] == {}
    assert pl.artists["artist_id"].str.startswith("spotify:artist:").all()
    assert pl.tracks["album"].notna().all() and pl.tracks["duration_ms"].notna().all()


@pytest.mark.realdata
def test_real_aotm_bigrams_with_tags(shared_data):
    path = shared_data / "aotm-bigrams" / "aotm-bigrams.csv.gz"
    pl = read_longformat(path, preset="aotm-bigrams", tags_path=shared_data / "tags" / "msd_tagtraum_cd1.cls")
    assert len(pl) == 40147 and pl.n_tracks == 26752
    assert pl.info["report"]["tracks_with_tags"] == 8746
    assert len(read_longformat(path, preset="aotm-bigrams", mode="pairs")) == 66250
