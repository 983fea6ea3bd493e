"""apc._atomic: one atomic writer, and never replacing what apc did not write (issue 11 item 1)."""

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from apc._atomic import (
    artefact_kind,
    atomic_dir,
    atomic_path,
    atomic_write_bytes,
    check_out_dir,
    check_separate,
    remove_stale,
)
from apc.cli import app
from apc.data import Playlists
from apc.datasets import convert
from apc.errors import ApcInputError

SAMPLES = Path(__file__).resolve().parents[1] / "datasets" / "samples"
runner = CliRunner()


def tree(root: Path) -> dict[str, bytes | None]:
    """Relative path -> content (None for a folder) of everything under ``root``."""
    out = {}
    for p in sorted(root.rglob("*")):
        out[p.relative_to(root).as_posix()] = None if p.is_dir() else p.read_bytes()
    return out


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def tiny() -> Playlists:
    return Playlists.from_sequences([["a", "b", "c"], ["b", "c"]])


@pytest.fixture
def mpd_in(tmp_path):
    src = tmp_path / "in"
    shutil.copytree(SAMPLES / "mpd", src)
    return src


# ------------------------------------------------------------------ convert IN OUT overlap
@pytest.mark.parametrize("where", ["same", "inside", "holds", "symlink-to-in"])
def test_convert_refuses_an_output_that_is_in_or_holds_the_input(tmp_path, mpd_in, where):
    before = tree(tmp_path)
    out = {"same": mpd_in, "inside": mpd_in / "corpus", "holds": tmp_path,
           "symlink-to-in": tmp_path / "link"}[where]
    if where == "symlink-to-in":
        out.symlink_to(mpd_in)
        before = tree(tmp_path)
    with pytest.raises(ApcInputError, match="input"):
        convert(mpd_in, out, "mpd", overwrite=True)
    assert tree(tmp_path) == before  # the slices it would have read are untouched


def test_cli_convert_in_in_is_one_line_and_keeps_the_input(tmp_path, mpd_in):
    before = tree(mpd_in)
    res = runner.invoke(app, ["data", "convert", str(mpd_in), str(mpd_in), "-f", "mpd",
                              "--overwrite"])
    assert res.exit_code == 2
    assert "input" in res.output and "Traceback" not in res.output
    assert tree(mpd_in) == before


# ------------------------------------------------------------------ user files survive
@pytest.mark.parametrize("overwrite", [False, True])
@pytest.mark.parametrize("command", ["synth", "convert", "make-challenge"])
def test_a_user_file_in_out_survives_every_folder_writer(tmp_path, mpd_in, command, overwrite):
    out = tmp_path / "out"
    out.mkdir()
    (out / "thesis.tex").write_text("my own work")
    args = {
        "synth": ["data", "synth", str(out), "--preset", "tiny"],
        "convert": ["data", "convert", str(mpd_in), str(out), "-f", "mpd"],
        "make-challenge": ["mpd", "make-challenge", "synth:tiny", str(out), "--per-category",
                           "2", "--min-holdouts", "1"],
    }[command] + (["--overwrite"] if overwrite else [])
    res = runner.invoke(app, args)
    assert res.exit_code == 2, res.output
    assert "apc did not write" in res.output and "thesis.tex" in res.output
    assert tree(out) == {"thesis.tex": b"my own work"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out"]  # no staging left


def test_a_user_file_inside_an_apc_corpus_blocks_overwrite(tmp_path):
    out = tiny().save(tmp_path / "c")
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ApcInputError, match="notes.txt"):
        tiny().save(out, overwrite=True)
    assert (out / "notes.txt").read_text() == "mine"


def test_overwrite_replaces_an_apc_corpus_and_leaves_no_debris(tmp_path):
    out = tmp_path / "c"
    assert runner.invoke(app, ["data", "synth", str(out), "--preset", "tiny"]).exit_code == 0
    first = tree(out)
    res = runner.invoke(app, ["data", "synth", str(out), "--preset", "tiny", "--seed", "1"])
    assert res.exit_code == 2 and "--overwrite" in res.output
    assert tree(out) == first
    res = runner.invoke(app, ["data", "synth", str(out), "--preset", "tiny", "--seed", "1",
                              "--overwrite"])
    assert res.exit_code == 0, res.output
    assert tree(out) != first and Playlists.load(out).info["seed"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["c"]  # no .old-<pid>, no staging


def test_an_empty_folder_is_filled_in_place_without_overwrite(tmp_path, monkeypatch):
    (tmp_path / "c").mkdir(mode=0o750)
    before = (tmp_path / "c").stat()
    monkeypatch.chdir(tmp_path / "c")
    tiny().save(".")  # the user's own folder (its inode, mode, anyone's cwd) is kept
    after = (tmp_path / "c").stat()
    assert (after.st_ino, stat.S_IMODE(after.st_mode)) == (before.st_ino, 0o750)
    assert artefact_kind(tmp_path / "c").name == "corpus"
    assert [p.name for p in tmp_path.iterdir()] == ["c"]


def test_a_folder_of_another_kind_or_a_file_is_never_replaced(tmp_path):
    corpus = tiny().save(tmp_path / "c")
    with pytest.raises(ApcInputError, match="not an apc offline challenge"):
        check_out_dir(corpus, "challenge", overwrite=True)
    (tmp_path / "f").write_text("x")
    with pytest.raises(ApcInputError, match="not a folder"):
        tiny().save(tmp_path / "f", overwrite=True)
    assert (tmp_path / "f").read_text() == "x"


def test_a_benchmark_run_is_named_and_never_replaced_by_a_corpus(tmp_path):
    run = tmp_path / "run"
    (run / "cells").mkdir(parents=True)
    (run / "config.json").write_text('{\n  "config_hash": "abc"\n}')
    with pytest.raises(ApcInputError, match="holds an apc benchmark run, not an apc corpus"):
        tiny().save(run, overwrite=True)
    assert (run / "config.json").is_file()


def test_the_organisers_slices_are_not_apc_slices(tmp_path, mpd_in):
    with pytest.raises(ApcInputError, match="apc did not write"):
        check_out_dir(mpd_in, "mpd-slices", overwrite=True)


# ------------------------------------------------------------------ atomicity and debris
def test_a_failing_writer_leaves_the_old_folder_and_no_staging(tmp_path):
    out = tiny().save(tmp_path / "c")
    before = tree(out)
    with pytest.raises(RuntimeError), atomic_dir(out, kind="corpus", overwrite=True) as tmp:
        (tmp / "manifest.json").write_text("half")
        raise RuntimeError("killed")
    assert tree(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["c"]


def test_stale_temporaries_of_a_dead_run_are_removed_on_the_next_write(tmp_path):
    pid, live = dead_pid(), os.getppid()
    stale = [tmp_path / f".c.apc-staging-{pid}-0123abcd", tmp_path / f".c.apc-old-{pid}-89abcdef",
             tmp_path / f".c.old-{pid}"]  # the last as an older apc named it
    for d in stale:
        d.mkdir()
        (d / "playlists.parquet").write_bytes(b"half")
    running = tmp_path / f".c.apc-staging-{live}-0123abcd"  # another run, still writing
    running.mkdir()
    other = tmp_path / f".d.apc-staging-{pid}-0123abcd"  # a staging folder of another OUT
    other.mkdir()
    tiny().save(tmp_path / "c")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["c", running.name, other.name])

    tmp_file = tmp_path / f".r.csv.apc-tmp-{pid}-0123abcd.csv"
    tmp_file.write_text("half")
    atomic_write_bytes(tmp_path / "r.csv", b"a,b\n")
    assert not tmp_file.exists() and (tmp_path / "r.csv").read_bytes() == b"a,b\n"
    assert remove_stale(tmp_path / "c") == []


def test_temp_names_are_unique_and_end_in_the_target_suffix(tmp_path):
    with atomic_path(tmp_path / "plot.png") as a, atomic_path(tmp_path / "plot.png") as b:
        assert a != b and a.suffix == b.suffix == ".png"
        assert str(os.getpid()) in a.name and a.exists()
        a.write_bytes(b"1")
        b.write_bytes(b"2")
    assert (tmp_path / "plot.png").read_bytes() == b"1"  # the outer block committed last
    assert [p.name for p in tmp_path.iterdir()] == ["plot.png"]


def test_file_outputs_refuse_a_folder_or_a_file_parent(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(ApcInputError, match="is a folder"):
        atomic_write_bytes(tmp_path / "d", b"x")
    (tmp_path / "f").write_text("x")
    with pytest.raises(ApcInputError, match="parent"):
        atomic_write_bytes(tmp_path / "f" / "out.csv", b"x")
    assert (tmp_path / "f").read_text() == "x"


def test_check_separate_allows_siblings(tmp_path):
    check_separate(tmp_path / "in", tmp_path / "out")
    check_separate(tmp_path / "in", tmp_path / "in-2")  # a shared prefix is not containment


# ------------------------------------------------------------------ umask
@pytest.mark.parametrize("umask, dmode, fmode", [(0o022, 0o755, 0o644), (0o077, 0o700, 0o600)])
def test_outputs_respect_the_umask(tmp_path, umask, dmode, fmode):
    from apc.models.popularity import Popularity

    old = os.umask(umask)
    try:
        corpus = tiny().save(tmp_path / "c")
        atomic_write_bytes(tmp_path / "r.md", b"# r\n")
        model = Popularity().fit(tiny()).save(tmp_path / "m.pkl")
        res = runner.invoke(app, ["mpd", "make-challenge", "synth:tiny", str(tmp_path / "ch"),
                                  "--per-category", "2", "--min-holdouts", "1"])
        assert res.exit_code == 0, res.output
    finally:
        os.umask(old)
    assert stat.S_IMODE(corpus.stat().st_mode) == dmode
    assert stat.S_IMODE((tmp_path / "ch").stat().st_mode) == dmode
    assert stat.S_IMODE((tmp_path / "ch" / "train").stat().st_mode) == dmode
    files = [corpus / "manifest.json", corpus / "playlists.parquet", tmp_path / "r.md", model,
             tmp_path / "ch" / "heldout.json"]
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == fmode, f


def test_a_file_output_that_is_an_input_is_refused_before_the_work(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("playlist,track\n1,a\n1,b\n2,b\n2,c\n")
    res = runner.invoke(app, ["fit", str(data), "-m", "popularity", "-o", str(data)])
    assert res.exit_code == 2 and "the output is the input" in res.output
    assert data.read_text().startswith("playlist,track\n1,a")


def test_a_corpus_with_audio_is_staged_whole_and_a_user_file_in_audio_blocks_it(tmp_path):
    from apc.workflows import synth_corpus

    out = tmp_path / "c"
    synth_corpus(out, preset="tiny", audio=True, audio_seconds=0.05)
    assert (out / "audio" / "000000.wav").is_file() and artefact_kind(out).name == "corpus"
    synth_corpus(out, preset="tiny", seed=1, audio=True, audio_seconds=0.05, overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == ["c"]
    (out / "audio" / "my-take.flac").write_bytes(b"mine")
    with pytest.raises(ApcInputError, match="my-take.flac"):
        synth_corpus(out, preset="tiny", audio=True, audio_seconds=0.05, overwrite=True)
    assert (out / "audio" / "my-take.flac").read_bytes() == b"mine"
