import pytest

from apc.data import Playlists
from apc.datasets import guess_format, load_corpus, parse_synth_spec, read
from apc.errors import ApcInputError


def test_synth_spec_parsing():
    assert parse_synth_spec("synth:tiny") == ("tiny", {})
    assert parse_synth_spec("synth:small?seed=3&n_playlists=50") == ("small", {"seed": 3, "n_playlists": 50})
    with pytest.raises(ApcInputError):
        parse_synth_spec("synth:small?seed")


def test_load_synth_seeded():
    a, b = load_corpus("synth:tiny?seed=1"), load_corpus("synth:tiny?seed=1")
    assert (a.items == b.items).all() and len(a) > 0
    assert not (len(a.items) == len(load_corpus("synth:tiny?seed=2").items)
                and (a.items == load_corpus("synth:tiny?seed=2").items).all())


def test_load_saved_dir_and_passthrough(tmp_path):
    pl = Playlists.from_sequences([["a", "b"], ["b", "c"]])
    path = pl.save(tmp_path / "c")
    assert load_corpus(path).items.tolist() == pl.items.tolist()
    assert load_corpus(pl) is pl


def test_errors_name_the_path(tmp_path):
    with pytest.raises(ApcInputError) as e:
        load_corpus(tmp_path / "missing")
    assert "missing" in str(e.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ApcInputError, match="neither a saved corpus"):
        load_corpus(tmp_path / "empty")
    with pytest.raises(ApcInputError, match="unknown format"):
        read(tmp_path, "nope")


def test_guess_format(tmp_path):
    (tmp_path / "mpd.slice.0-999.json").write_text("{}")
    assert guess_format(tmp_path) == "mpd"
    assert guess_format(tmp_path / "mpd.slice.0-999.json") == "mpd"
    for name, fmt in [("aotm2011_playlists.json.gz", "aotm2011"), ("aotm-bigrams.csv.gz", "aotm-bigrams"),
                      ("sessions.tsv", "csv"), ("8tracks_dump.tsv", "8tracks"), ("x.parquet", "csv")]:
        assert guess_format(tmp_path / name) == fmt
