"""AotM-2011 on the tiny native sample (datasets/samples/aotm2011_sample.json) and on
generated files: streaming decode, gzip, options and errors."""

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

import apc.datasets.aotm2011 as aotm
from apc.datasets.aotm2011 import iter_json_list, normalise, parse_timestamp, read_aotm2011
from apc.errors import ApcInputError

SAMPLE = Path(__file__).resolve().parents[2] / "datasets" / "samples" / "aotm2011_sample.json"


def ids(pl, p):
    return pl.tracks["track_id"].to_numpy()[pl[p]].tolist()


def test_msd_only_by_hand():
    pl = read_aotm2011(SAMPLE, progress=False)
    assert pl.meta["playlist_id"].tolist() == [11, 13]  # mix 12 has no MSD track
    assert ids(pl, 0) == ["TRAAAAA128F1", "TRAAAAB128F2"]
    assert ids(pl, 1) == ["TRAAAAB128F2", "TRAAAAC128F3"]
    assert pl.info["report"] == {"unmatched_tracks_dropped": 2, "empty_playlists_dropped": 1,
                                 "timestamp_missing": 1}
    assert {k: pl.info[k] for k in ("dataset", "adapter", "msd_only")} == {
        "dataset": "aotm2011", "adapter": "aotm2011", "msd_only": True}


def test_metadata_tracks_and_artists():
    pl = read_aotm2011(SAMPLE)
    m = pl.meta
    assert m["user"].tolist() == ["dj one", "dj one"]  # the user object's name
    assert m["category"].tolist() == ["Rock", "Rock"]
    assert m["timestamp"].iloc[0] == 1205927040  # 2008-03-19T11:44:00 UTC
    assert pd.isna(m["timestamp"].iloc[1])  # "not a date": missing, never invented
    t = pl.tracks.set_index("track_id")
    assert t.loc["TRAAAAC128F3", "title"] == "Song Three"
    names = pl.artists["name"].to_numpy()
    assert [names[a] for a in pl.track_artists] == ["The Band", "The Band", "Third"]
    assert pl.artists["artist_id"].tolist() == ["The Band", "Third"]  # keyed by name


def test_keep_unmatched_and_gzip(tmp_path):
    gz = tmp_path / "aotm2011_playlists.json.gz"
    with gzip.open(gz, "wt", encoding="utf-8") as f:
        f.write(SAMPLE.read_text())
    pl = read_aotm2011(gz, msd_only=False)
    assert len(pl) == 3 and pl.info["msd_only"] is False
    assert ids(pl, 0) == ["TRAAAAA128F1", "aotm:unknown artist|rare track", "TRAAAAB128F2"]
    assert ids(pl, 1) == ["aotm:other|only unmatched"]
    assert pl.info["report"] == {"unmatched_tracks_keyed_by_name": 2, "timestamp_missing": 1}
    # gzip is recognised by its content, whatever the name
    plain_name = tmp_path / "renamed.json"
    plain_name.write_bytes(gz.read_bytes())
    assert len(read_aotm2011(plain_name)) == 2


def test_normalise_and_timestamps():
    assert normalise("  The  Band ", "Song\tOne") == "aotm:the band|song one"
    assert normalise(None, "x") == "aotm:|x"
    assert parse_timestamp("2008-03-19T11:44:00") == 1205927040
    assert parse_timestamp("2008-03-19T11:44:00+01:00") == 1205927040 - 3600
    assert parse_timestamp(1205927040) == 1205927040
    assert parse_timestamp("") is None and parse_timestamp(None) is None
    assert parse_timestamp("19/03/2008") is None


def test_streaming_over_small_chunks(tmp_path):
    recs = [{"mix_id": i, "user": f"u{i % 3}", "timestamp": "2010-01-01T00:00:00",
             "playlist": [[["a", "t"], f"TR{i:04d}"], [["b", "u"], "TRX"]]} for i in range(300)]
    path = tmp_path / "big.json"
    path.write_text(json.dumps(recs, indent=1))
    got = [rec["mix_id"] for _, rec in iter_json_list(path, chunk=64)]
    assert got == list(range(300))
    pl = read_aotm2011(path)
    assert len(pl) == 300 and pl.n_tracks == 301 and pl.meta["user"].iloc[4] == "u1"


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1 << 20])
def test_chunk_boundaries_never_split_values(tmp_path, chunk):
    values = [1, 23, 456, -7.5e3, "a,]b", [1, [2]], {"k": "}"}, None, True, 7890]
    path = tmp_path / "v.json"
    path.write_text(" \n[ " + " ,\n".join(json.dumps(v) for v in values) + " ]\n")
    assert [v for _, v in iter_json_list(path, chunk=chunk)] == values


def test_memory_stays_bounded_by_the_chunk(tmp_path, monkeypatch):
    """The decoder never holds more than about one chunk plus one record of text."""
    recs = [{"mix_id": i, "playlist": [[["a", "t" * 50], f"TR{i}"]]} for i in range(2000)]
    path = tmp_path / "big.json"
    path.write_text(json.dumps(recs))
    seen = []
    real = json.JSONDecoder.raw_decode

    def spy(self, s, idx=0):
        seen.append(len(s))
        return real(self, s, idx)

    monkeypatch.setattr(json.JSONDecoder, "raw_decode", spy)
    n = sum(1 for _ in aotm.iter_json_list(path, chunk=4096))
    assert n == 2000 and max(seen) < 3 * 4096 < path.stat().st_size / 10


def test_empty_list(tmp_path):
    path = tmp_path / "e.json"
    path.write_text("[]")
    pl = read_aotm2011(path)
    assert len(pl) == 0 and pl.info["report"] == {}


@pytest.mark.parametrize(
    ("text", "record", "field", "match"),
    [
        ('[{"mix_id": 1, "playlist": [["only one"]]}]', "mix 1", "playlist", "entry 0"),
        ('[{"mix_id": 1, "playlist": [[["a", "t"], 17]]}]', "mix 1", "playlist", "MSD id"),
        ('[{"mix_id": 1, "playlist": "x"}]', "mix 1", "playlist", "expected a list"),
        ('[{"mix_id": 4}]', "mix 4", "playlist", "missing"),
        ('[{"mix_id": 1, "playlist": []}, 5]', "#1", None, "mix object"),
        ('[{"mix_id": 1, "playlist": []},\n {"mix_id": 2', "#1 (line 2)", None, "malformed"),
        ('[{"mix_id": 1, "playlist": []},\n {"mix_id": 2,, }]', "#1 (line 2)", None,
         "malformed"),
    ],
)
def test_malformed(tmp_path, text, record, field, match):
    p = tmp_path / "a.json"
    p.write_text(text)
    with pytest.raises(ApcInputError, match=match) as e:
        read_aotm2011(p)
    assert (e.value.file, e.value.record, e.value.field) == (str(p), record, field)


def test_file_level_errors(tmp_path):
    with pytest.raises(ApcInputError, match="no such file"):
        read_aotm2011(tmp_path / "missing.json")
    p = tmp_path / "a.json"
    p.write_text('{"mix_id": 1}')
    with pytest.raises(ApcInputError, match="JSON list"):
        read_aotm2011(p)
    p.write_text('[{"mix_id": 1, "playlist": []}')
    with pytest.raises(ApcInputError, match="no closing"):
        read_aotm2011(p)
    p.write_bytes(b'[{"mix_id": 1, "category": "\xff"}]')
    with pytest.raises(ApcInputError, match="UTF-8"):
        read_aotm2011(p)
    gz = tmp_path / "t.json.gz"
    gz.write_bytes(gzip.compress(b'[{"mix_id": 1, "playlist": []}, ' * 50)[:-12])
    with pytest.raises(ApcInputError, match="gzip|end of file|malformed"):
        read_aotm2011(gz)


def test_progress_bar_draws(monkeypatch):
    monkeypatch.setenv("APC_PROGRESS", "1")  # force the bar on, even without a terminal
    assert len(read_aotm2011(SAMPLE)) == len(read_aotm2011(SAMPLE, progress=False)) == 2
