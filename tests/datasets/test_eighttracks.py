"""8tracks dumps (the long-format reader with the 8tracks preset) on the tiny samples in
datasets/samples: the plain spelling and the session-rec spelling of the columns."""

import gzip
from pathlib import Path

import pytest

from apc.datasets import read
from apc.datasets.eighttracks import read_8tracks
from apc.errors import ApcInputError

SAMPLES = Path(__file__).resolve().parents[2] / "datasets" / "samples"
PLAIN = SAMPLES / "8tracks_sample.tsv"
SESSION_REC = SAMPLES / "8tracks_sessionrec_sample.tsv"


def ids(pl, p):
    return pl.tracks["track_id"].to_numpy()[pl[p]].tolist()


def test_plain_layout_orders_by_position():
    pl = read_8tracks(PLAIN)
    assert pl.meta["playlist_id"].tolist() == ["p1", "p2"]
    assert ids(pl, 0) == ["8t:1", "8t:2", "8t:3"] and ids(pl, 1) == ["8t:2", "8t:4"]
    names = pl.artists["name"].to_numpy()
    art = dict(zip(pl.tracks["track_id"], pl.track_artists, strict=True))
    assert names[art["8t:1"]] == "Artist X" and art["8t:4"] == -1  # empty artist: unknown
    assert pl.tracks.set_index("track_id").loc["8t:3", "title"] == "C"
    assert pl.info["dataset"] == "8tracks" and pl.info["adapter"] == "8tracks"
    assert pl.info["columns"] == {"playlist": "playlist_id", "track": "track_id",
                                  "position": "position", "artist": "artist", "title": "title"}
    assert pl.info["report"] == {"rows": 5}


def test_session_rec_layout_orders_by_time():
    pl = read_8tracks(SESSION_REC)
    assert pl.meta["playlist_id"].tolist() == [101, 102, 103]
    assert [ids(pl, p) for p in range(3)] == [["7002", "7001", "7003"], ["7001", "7004"],
                                              ["7002"]]
    assert pl.meta["timestamp"].tolist() == [1400000010, 1400000100, 1400000500]
    assert pl.meta["user"].tolist() == ["u9", "u3", "u9"]
    art = dict(zip(pl.tracks["track_id"], pl.track_artists, strict=True))
    assert pl.artists["artist_id"].tolist() == ["55", "56", "57"] and art["7003"] == -1
    assert pl.info["columns"] == {"playlist": "SessionId", "track": "ItemId", "timestamp": "Time",
                                  "artist": "ArtistId", "user": "UserId"}


def test_options_override_the_preset(tmp_path):
    p = tmp_path / "dump.tsv.gz"
    p.write_bytes(gzip.compress(b"mix\tsong\tpos\nm\ts2\t1\nm\ts1\t0\n"))
    pl = read_8tracks(p, playlist_col="mix", track_col="song", position_col="pos")
    assert ids(pl, 0) == ["s1", "s2"]
    with pytest.raises(ApcInputError, match="SessionId, playlist_id") as e:
        read_8tracks(p)
    assert e.value.field == "SessionId" and e.value.file == str(p)


def test_through_the_format_registry():
    assert read(SESSION_REC, "8tracks").info["dataset"] == "8tracks"
    with pytest.raises(ApcInputError, match="no such"):
        read_8tracks(SAMPLES / "nope.tsv")
