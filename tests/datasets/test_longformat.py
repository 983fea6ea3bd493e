"""Long-format CSV/TSV/parquet tables, the AotM-bigram preset and tagtraum tags, on tiny
files and, marked realdata, on ../shared/data."""

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from apc.datasets.longformat import read_longformat, read_tags
from apc.errors import ApcInputError

SAMPLES = Path(__file__).resolve().parents[2] / "datasets" / "samples"
BIGRAMS = SAMPLES / "aotm-bigrams_sample.csv"
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def ids(pl, p):
    return pl.tracks["track_id"].to_numpy()[pl[p]].tolist()


def seqs(pl):
    return [ids(pl, p) for p in range(len(pl))]


def shared(*parts):
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not found at {path}; skipping realdata test")
    return path


SESSIONS = "session,item,ts,pos,artist,title,user\n" \
           "s1,b,20,1,A,Bee,u1\n" \
           "s2,c,5,0,C,,u2\n" \
           "s1,a,10,0,,Ay,u1\n" \
           "s1,c,30,2,C,Sea,u1\n"


@pytest.fixture
def sessions(tmp_path):
    p = tmp_path / "sessions.csv"
    p.write_text(SESSIONS)
    return p


def test_order_by_position_timestamp_or_file(sessions):
    kw = {"playlist_col": "session", "track_col": "item"}
    assert seqs(read_longformat(sessions, **kw, position_col="pos")) == [["a", "b", "c"], ["c"]]
    assert seqs(read_longformat(sessions, **kw, timestamp_col="ts")) == [["a", "b", "c"], ["c"]]
    assert seqs(read_longformat(sessions, **kw)) == [["b", "a", "c"], ["c"]]  # file order
    # position wins over timestamp
    p = sessions.with_name("x.csv")
    p.write_text("playlist_id,track_id,position,t\n1,a,1,0\n1,b,0,9\n")
    assert seqs(read_longformat(p, position_col="position", timestamp_col="t")) == [["b", "a"]]


def test_metadata_columns(sessions):
    pl = read_longformat(sessions, playlist_col="session", track_col="item", timestamp_col="ts",
                         artist_col="artist", title_col="title", user_col="user")
    assert pl.meta["playlist_id"].tolist() == ["s1", "s2"]  # order of first appearance
    assert pl.meta["timestamp"].tolist() == [10, 5] and pl.meta["timestamp"].dtype == np.int64
    assert pl.meta["user"].tolist() == ["u1", "u2"]
    t = pl.tracks.set_index("track_id")
    assert t.loc["a", "title"] == "Ay" and t.loc["c", "title"] is None  # first row's value
    names = pl.artists["name"].tolist()
    art = dict(zip(pl.tracks["track_id"], pl.track_artists, strict=True))
    assert art["a"] == -1 and names[art["b"]] == "A" and names[art["c"]] == "C"
    assert pl.info["report"] == {"rows": 4}
    assert pl.info["adapter"] == "csv" and pl.info["dataset"] == "sessions"
    assert pl.info["columns"] == {"playlist": "session", "track": "item", "timestamp": "ts",
                                  "artist": "artist", "title": "title", "user": "user"}


def test_integer_ids_and_dates(tmp_path):
    p = tmp_path / "t.tsv"
    p.write_text("playlist_id\ttrack_id\twhen\n"
                 "10\t7\t2020-01-01T00:00:20\n"
                 "10\t8\t2020-01-01T00:00:10Z\n"
                 "9\t7\t1577836800\n")
    pl = read_longformat(p, timestamp_col="when")  # .tsv: tab by default
    assert pl.meta["playlist_id"].tolist() == [10, 9] and pl.meta["playlist_id"].dtype == np.int64
    assert seqs(pl) == [["8", "7"], ["7"]]  # track ids stay text
    assert pl.meta["timestamp"].tolist() == [1577836810, 1577836800]
    q = tmp_path / "z.csv"
    q.write_text("playlist_id,track_id\n007,a\n7,b\n")
    assert read_longformat(q).meta["playlist_id"].tolist() == ["007", "7"]  # identity kept


def test_rows_without_ids_are_dropped_and_counted(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("playlist_id,track_id\n1,a\n, b\n1, \n2,c\n")
    pl = read_longformat(p)
    assert seqs(pl) == [["a"], ["c"]]
    assert pl.info["report"] == {"rows": 4, "rows_without_id_dropped": 2}


def test_chunked_reading_matches_one_pass(tmp_path, rng):
    n = 2_000
    df = pd.DataFrame({
        "playlist_id": rng.integers(0, 97, n).astype(str),
        "track_id": np.char.add("t", rng.integers(0, 300, n).astype(str)),
        "position": rng.permutation(n),
        "artist": np.char.add("a", rng.integers(0, 20, n).astype(str)),
    })
    p = tmp_path / "big.csv"
    df.to_csv(p, index=False)
    whole = read_longformat(p, position_col="position", artist_col="artist")
    small = read_longformat(p, position_col="position", artist_col="artist", chunksize=37)
    assert small.items.tolist() == whole.items.tolist()
    assert small.tracks.equals(whole.tracks) and small.artists.equals(whole.artists)
    assert small.meta.equals(whole.meta)
    # the same as a pandas reference: first-appearance playlist order, sorted by position
    first = {pid: i for i, pid in reversed(list(enumerate(df["playlist_id"])))}
    ref = df.assign(f=df["playlist_id"].map(first)).sort_values(["f", "position"])
    expected = [g["track_id"].tolist() for _, g in ref.groupby("f", sort=True)]
    assert seqs(small) == expected
    assert whole.meta["playlist_id"].tolist() == [int(x) for x in ref["playlist_id"].unique()]


def test_gzip_and_parquet(tmp_path, sessions):
    kw = {"playlist_col": "session", "track_col": "item", "position_col": "pos"}
    expected = seqs(read_longformat(sessions, **kw))
    gz = tmp_path / "sessions.csv.gz"
    gz.write_bytes(gzip.compress(sessions.read_bytes()))
    assert seqs(read_longformat(gz, **kw)) == expected
    pq = tmp_path / "sessions.parquet"
    pd.read_csv(sessions).to_parquet(pq)  # native dtypes: int positions
    pl = read_longformat(pq, **kw, chunksize=2, artist_col="artist")
    assert seqs(pl) == expected and pl.info["adapter"] == "parquet"
    assert pl.artists["name"].tolist() == ["A", "C"]  # NaN artist -> unknown


def test_errors(tmp_path, sessions):
    with pytest.raises(ApcInputError, match="no such file") as e:
        read_longformat(tmp_path / "missing.csv")
    assert e.value.file == str(tmp_path / "missing.csv")
    with pytest.raises(ApcInputError, match="columns are session, item") as e:
        read_longformat(sessions, playlist_col="playlist")
    assert e.value.field == "playlist" and e.value.file == str(sessions)
    with pytest.raises(ApcInputError) as e:
        read_longformat(sessions, playlist_col="session")  # default track_col 'track_id'
    assert e.value.field == "track_id"
    with pytest.raises(ApcInputError) as e:
        read_longformat(sessions, playlist_col="session", track_col="item", artist_col="band")
    assert e.value.field == "band"
    bad = tmp_path / "bad.csv"
    bad.write_text("playlist_id,track_id,pos\n1,a,0\n1,b,soon\n")
    with pytest.raises(ApcInputError) as e:
        read_longformat(bad, position_col="pos", chunksize=1)
    assert (e.value.record, e.value.field) == ("line 3", "pos")
    with pytest.raises(ApcInputError) as e:
        read_longformat(sessions, preset="spotify")
    assert e.value.field == "preset"
    with pytest.raises(ApcInputError) as e:
        read_longformat(sessions, playlist_col="session", track_col="item", mode="pairs")
    assert e.value.field == "mode"
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ApcInputError, match="empty file"):
        read_longformat(empty)
    header_only = tmp_path / "h.csv"
    header_only.write_text("playlist_id,track_id\n")
    assert len(read_longformat(header_only)) == 0
    ragged = tmp_path / "r.csv"
    ragged.write_text("playlist_id,track_id\n1,a\n2,b,c,d\n")
    with pytest.raises(ApcInputError, match="malformed table"):
        read_longformat(ragged)


# ---------------------------------------------------------------- AotM bigrams + tags
def test_bigrams_segments_and_pairs():
    seg = read_longformat(BIGRAMS, preset="aotm-bigrams")
    # TRA-TRB, TRB-TRC chain; TRX-TRY breaks; TRC-TRD breaks; TRY-TRZ breaks
    assert seqs(seg) == [["TRA", "TRB", "TRC"], ["TRX", "TRY"], ["TRC", "TRD"], ["TRY", "TRZ"]]
    assert seg.tracks["track_id"].tolist() == ["TRA", "TRB", "TRC", "TRX", "TRY", "TRD", "TRZ"]
    assert seg.info["report"] == {"pairs": 5, "playlists": 4}
    assert seg.info["dataset"] == "aotm-bigrams" and seg.info["mode"] == "segments"
    pairs = read_longformat(BIGRAMS, preset="aotm-bigrams", mode="pairs")
    assert len(pairs) == 5 and seqs(pairs)[2] == ["TRX", "TRY"]
    assert (pairs.lengths == 2).all() and pairs.n_tracks == seg.n_tracks
    assert seqs(read_longformat(BIGRAMS, preset="aotm-bigrams", chunksize=2)) == seqs(seg)
    with pytest.raises(ApcInputError) as e:
        read_longformat(BIGRAMS, preset="aotm-bigrams", mode="triples")
    assert e.value.field == "mode"


def test_bigrams_chain_across_chunks(tmp_path):
    p = tmp_path / "b.csv.gz"
    p.write_bytes(gzip.compress(b"A,B\nB,C\nC,D\nQ,R\nR,S\n"))
    for chunksize in (1, 2, 3, 100):
        pl = read_longformat(p, preset="aotm-bigrams", chunksize=chunksize)
        assert seqs(pl) == [["A", "B", "C", "D"], ["Q", "R", "S"]]
    bad = tmp_path / "three.csv"
    bad.write_text("A,B,C\n")
    with pytest.raises(ApcInputError, match="2 columns"):
        read_longformat(bad, preset="aotm-bigrams")


def test_tags(tmp_path):
    tags = tmp_path / "t.cls"
    tags.write_text("# comment\n\nTRA\tRock\nTRB\tJazz\tBlues\nNOTINDATA\tPop\n")
    assert read_tags(tags) == {"TRA": ["Rock"], "TRB": ["Jazz", "Blues"], "NOTINDATA": ["Pop"]}
    tagged = read_longformat(BIGRAMS, preset="aotm-bigrams", tags_path=tags)
    tt = dict(zip(tagged.tracks["track_id"], tagged.tracks["tags"], strict=True))
    assert tt["TRA"] == ["Rock"] and tt["TRB"] == ["Jazz", "Blues"] and tt["TRZ"] == []
    assert tagged.info["report"]["tracks_with_tags"] == 2
    assert tagged.info["report"]["tracks_without_tags"] == 5
    assert tagged.info["tags"] == str(tags)
    with pytest.raises(ApcInputError, match="no such file"):
        read_longformat(BIGRAMS, preset="aotm-bigrams", tags_path=tmp_path / "none.cls")
    tags.write_text("TRA Rock\n")
    with pytest.raises(ApcInputError) as e:
        read_tags(tags)
    assert e.value.record == "line 1"


def test_tags_survive_save_and_load(tmp_path):
    from apc.data import Playlists

    tags = tmp_path / "t.cls"
    tags.write_text("TRA\tRock\n")
    pl = read_longformat(BIGRAMS, preset="aotm-bigrams", tags_path=tags)
    back = Playlists.load(pl.save(tmp_path / "c"))
    assert [list(t) for t in back.tracks["tags"]] == [list(t) for t in pl.tracks["tags"]]


# ---------------------------------------------------------------- real data
@pytest.mark.realdata
def test_real_aotm_bigrams_with_tags():
    path = shared("aotm-bigrams", "aotm-bigrams.csv.gz")
    tags = shared("tags", "msd_tagtraum_cd1.cls")
    pl = read_longformat(path, preset="aotm-bigrams", tags_path=tags)
    assert len(pl) == 40_147 and pl.n_tracks == 26_752
    assert pl.n_entries == 66_250 + 40_147  # one b per pair, plus each segment's first a
    assert round(float(pl.lengths.mean()), 2) == 2.65 and pl.lengths.max() == 25
    assert int((pl.lengths >= 5).sum()) == 2_519
    assert pl.info["report"] == {"pairs": 66_250, "playlists": 40_147,
                                 "tracks_with_tags": 8_746, "tracks_without_tags": 18_006}
    pairs = read_longformat(path, preset="aotm-bigrams", mode="pairs")
    assert len(pairs) == 66_250 and pairs.n_tracks == 26_752


@pytest.mark.realdata
def test_real_tagtraum_file():
    tags = read_tags(shared("tags", "msd_tagtraum_cd1.cls"))
    assert len(tags) == 133_676
    assert len({g for labels in tags.values() for g in labels}) == 13


def test_progress_bars_draw(monkeypatch, tmp_path, sessions):
    monkeypatch.setenv("APC_PROGRESS", "1")  # force the bars on, even without a terminal
    kw = {"playlist_col": "session", "track_col": "item"}
    pq = tmp_path / "s.parquet"
    pd.read_csv(sessions).to_parquet(pq)
    assert len(read_longformat(sessions, **kw)) == len(read_longformat(pq, **kw)) == 2
    assert len(read_longformat(BIGRAMS, preset="aotm-bigrams", progress=False)) == 4
