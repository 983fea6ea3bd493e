"""Every bad input -> one line on stderr, exit status 2, nothing written (issue 11 item 2).

One table of rows: every command that reads or writes user files, crossed with every
class of bad input a user can give it (an output path that cannot be written, a file
that is not UTF-8, malformed TOML / JSON / parquet / pickle, a missing or unreadable
input, a bad number, a model or suite that cannot work, an output that would destroy
an input or a user's file). Each row asserts:

- exit status 2;
- exactly one line on stderr, ``apc: error: ...``, without a traceback (a usage error
  too: instead of click's framed box, one line that ends ``(see 'apc CMD --help')``);
- the line names what is wrong (``expect``);
- the workspace (where outputs would go, and the shared inputs) holds exactly what it
  held before: same entries, sizes, modes and mtimes, no new folder, no temp debris.

Rows run in-process through typer's CliRunner (stderr is separate in click >= 8.2).
A read-only folder does not stop root, so as root those rows run the command as
user ``nobody`` (``setpriv``); a read-only file system and a full disk are real
mounts in a user namespace (``unshare``), skipped where the kernel does not allow it.
"""

from __future__ import annotations

import functools
import json
import os
import pickle
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from apc.cli import app, error_line
from apc.models.base import MODEL_FORMAT

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "datasets" / "samples"
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
runner = CliRunner()

SUITE = """\
[suite]
name = "bad-input"
seeds = [0]
cutoff = 20

[[datasets]]
name = "tiny"
source = "{corpus}"

[protocol]
name = "next-track"

[[models]]
name = "popularity"
model = "popularity"
"""


# ---------------------------------------------------------------------------- fixtures
@dataclass(frozen=True)
class Fx:
    """The shared, read-only inputs every row may use."""

    root: Path
    corpus: Path  # synth:tiny saved as an apc corpus
    empty: Path  # an apc corpus without playlists
    model: Path  # popularity fitted on corpus
    seeds: Path  # two seed playlists of known tracks
    suite: Path  # popularity on the corpus, next-track
    recipe: Path  # reproduction recipe over suite
    run: Path  # a finished bench run of suite
    ch: Path  # an offline challenge (train/, challenge_set.json, heldout.json)
    sub: Path  # a submission file (content does not matter to these rows)


def _world_readable(path: Path) -> None:
    """Let user nobody read ``path`` (setpriv rows): dirs 0755, files 0644."""
    for dirpath, _dirnames, filenames in os.walk(path):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o644)


def _ok(args: list[str]) -> None:
    res = runner.invoke(app, [str(a) for a in args], prog_name="apc")
    assert res.exit_code == 0, (args, res.output, res.stderr)


@pytest.fixture(scope="module")
def base():
    # not tmp_path: pytest's base folder is 0700, and the root-only rows run as nobody
    root = Path(tempfile.mkdtemp(prefix="apc-bad-input-"))
    os.chmod(root, 0o755)
    yield root
    for dirpath, _dirs, _files in os.walk(root):  # rows leave 0555 / 0000 behind
        os.chmod(dirpath, 0o755)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def fx(base) -> Fx:
    from apc.data import Playlists
    from apc.datasets.synthetic import generate

    root = base / "fx"
    root.mkdir()
    corpus = generate("tiny", seed=0).save(root / "corpus")
    empty = Playlists.from_sequences([]).save(root / "empty")
    model = root / "model.pkl"
    _ok(["fit", corpus, "-m", "popularity", "-o", model])
    tracks = generate("tiny", seed=0).tracks["track_id"].astype(str).tolist()
    seeds = root / "seeds.txt"
    seeds.write_text(f"{tracks[0]} {tracks[1]}\n{tracks[2]}\n")
    suite = root / "suite.toml"
    suite.write_text(SUITE.format(corpus=corpus))
    recipe = root / "recipe.toml"
    recipe.write_text(
        '[reproduction]\nname = "bad-input"\nkind = "record"\nsource = "test"\n'
        'table = "t"\ndataset = "tiny"\ndataset_source = "synth"\nprotocol = "next-track"\n'
        'suite = "suite.toml"\n\n[[results]]\nmodel = "popularity"\nmetric = "hit@10"\n'
        "reported = 0.05\ntolerance = 1.0\n"
    )
    run = root / "run"
    _ok(["bench", "run", suite, "-o", run, "--no-cache", "--no-plots"])
    ch = root / "ch"
    _ok(["mpd", "make-challenge", corpus, ch, "--per-category", "2", "--min-holdouts", "1"])
    sub = root / "sub.csv"
    sub.write_text("team_info,t,t@example.org\n")
    _world_readable(root)
    return Fx(root, corpus, empty, model, seeds, suite, recipe, run, ch, sub)


# ---------------------------------------------------------------------------- snapshots
def snapshot(*roots: Path) -> dict[str, tuple]:
    """Every entry under ``roots``: type, size, mode and mtime (ns); symlinks not followed."""
    out = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames + filenames + [""]:
                p = os.path.join(dirpath, name) if name else dirpath
                st = os.lstat(p)
                size = 0 if stat.S_ISDIR(st.st_mode) else st.st_size
                out[p] = (stat.S_IFMT(st.st_mode), size, stat.S_IMODE(st.st_mode), st.st_mtime_ns)
    return out


def diff(before: dict, after: dict) -> list[str]:
    """Human-readable differences between two snapshots."""
    lines = [f"new: {p}" for p in sorted(after.keys() - before.keys())]
    lines += [f"gone: {p}" for p in sorted(before.keys() - after.keys())]
    lines += [
        f"changed: {p} {before[p]} -> {after[p]}"
        for p in sorted(before.keys() & after.keys())
        if before[p] != after[p]
    ]
    return lines


# ---------------------------------------------------------------------------- rows
@dataclass(frozen=True)
class Row:
    """One bad input: ``make(ws, fx)`` prepares the workspace and returns the argv.

    ``expect``: text the error line must hold (case-insensitive; any of a tuple).
    ``usage``: a click usage error (its one line must point at ``--help``).
    ``as_nobody``: as root, run as user nobody (a read-only folder stops only them).
    """

    id: str
    make: Callable[[Path, Fx], list]
    expect: str | tuple[str, ...] | None = None
    usage: bool = False
    as_nobody: bool = False


def user_file(ws: Path, name: str = "notes.txt") -> Path:
    p = ws / name
    p.write_text("a user's own file\n")
    return p


def readonly_dir(ws: Path, name: str = "ro") -> Path:
    d = ws / name
    d.mkdir()
    user_file(d)
    d.chmod(0o555)
    return d


def folder_with_user_file(ws: Path, name: str = "mine") -> Path:
    d = ws / name
    d.mkdir()
    user_file(d)
    return d


def bad_bytes(path: Path, text: str = "") -> Path:
    """A file that is UTF-8 except for one Latin-1 byte on line 2."""
    path.write_bytes(text.encode() + b"# caf\xe9\n")
    return path


def truncate(path: Path, n: int = 20) -> None:
    path.write_bytes(path.read_bytes()[:n])


def copy(src: Path, ws: Path, name: str | None = None) -> Path:
    dst = ws / (name or src.name)
    (shutil.copytree if src.is_dir() else shutil.copy2)(src, dst)
    return dst


# the writing commands: argv given the output path, and what they write there
WRITERS: dict[str, tuple[Callable[[Path, Path, Fx], list], str]] = {
    "data-synth": (lambda o, ws, fx: ["data", "synth", o, "--preset", "tiny"], "dir"),
    "data-convert": (
        lambda o, ws, fx: ["data", "convert", SAMPLES / "aotm2011_sample.json", o, "-f",
                           "aotm2011"],
        "dir",
    ),
    "fit": (lambda o, ws, fx: ["fit", fx.corpus, "-m", "popularity", "-o", o], "file"),
    "recommend": (
        lambda o, ws, fx: ["recommend", fx.model, "--train", fx.corpus, "--seeds", fx.seeds,
                           "-o", o],
        "file",
    ),
    "evaluate": (
        lambda o, ws, fx: ["evaluate", fx.corpus, "-m", "popularity", "--k", "10", "-o", o],
        "file",
    ),
    "bench-run": (
        lambda o, ws, fx: ["bench", "run", fx.suite, "-o", o, "--no-cache", "--no-plots"], "dir"
    ),
    "bench-compare": (lambda o, ws, fx: ["bench", "compare", fx.run, fx.run, "-o", o], "file"),
    "mpd-submit": (
        lambda o, ws, fx: ["mpd", "submit", "-m", "popularity", "--train", fx.ch / "train",
                           "--challenge", fx.ch / "challenge_set.json", "--team", "t",
                           "--email", "t@example.org", "-o", o],
        "file",
    ),
    "mpd-make-challenge": (
        lambda o, ws, fx: ["mpd", "make-challenge", fx.corpus, o, "--per-category", "2"], "dir"
    ),
    "mpd-score-json": (
        lambda o, ws, fx: ["mpd", "score", fx.sub, "--truth", fx.ch / "heldout.json",
                           "--json", o],
        "file",
    ),
    "reproduce": (
        lambda o, ws, fx: ["reproduce", fx.recipe, "-o", o, "--cache", ws / "cache"], "dir"
    ),
}


def _output_rows() -> list[Row]:
    rows = []
    for cmd, (argv, kind) in WRITERS.items():
        leaf = "out" if kind == "dir" else "out.file"
        rows.append(Row(
            f"{cmd}/read-only-folder",
            lambda ws, fx, argv=argv, leaf=leaf: argv(readonly_dir(ws) / leaf, ws, fx),
            expect=("permission denied", "read-only"), as_nobody=True,
        ))
        rows.append(Row(
            f"{cmd}/parent-is-a-file",
            lambda ws, fx, argv=argv, leaf=leaf: argv(user_file(ws) / leaf, ws, fx),
            expect="not a folder",
        ))
        if kind == "file":
            rows.append(Row(
                f"{cmd}/output-is-a-folder",
                lambda ws, fx, argv=argv: argv(folder_with_user_file(ws), ws, fx),
                expect="is a folder",
            ))
        else:
            rows.append(Row(
                f"{cmd}/output-is-a-file",
                lambda ws, fx, argv=argv: argv(user_file(ws), ws, fx),
                expect="not a folder",
            ))
            rows.append(Row(
                f"{cmd}/user-file-inside-out",
                lambda ws, fx, argv=argv: argv(folder_with_user_file(ws), ws, fx),
                expect="did not write",
            ))
    return rows


def _report_readonly(ws: Path, fx: Fx) -> list:
    run = copy(fx.run, ws)
    for dirpath, _dirs, _files in os.walk(run):
        os.chmod(dirpath, 0o555)
    return ["bench", "report", run]


def _trunc_results(ws: Path, fx: Fx) -> list:
    run = copy(fx.run, ws)
    truncate(run / "results.parquet", 100)
    return ["bench", "report", run]


_HELD: list = []  # locks held for the duration of one row (released by the ws fixture)


def _locked_run(ws: Path, fx: Fx) -> Path:
    """A copy of the run whose lock another process (here: another open file) holds."""
    from filelock import FileLock

    from apc.bench.rundir import LOCK_NAME

    run = copy(fx.run, ws)
    lock = FileLock(str(run / LOCK_NAME), timeout=0)
    lock.acquire()  # flock is per open file: the command's own FileLock cannot take it
    _HELD.append(lock)
    return run


def _trunc_config(ws: Path, fx: Fx) -> list:
    run = copy(fx.run, ws)
    truncate(run / "config.json", 10)
    return ["bench", "run", fx.suite, "-o", run, "--resume", "--no-cache", "--no-plots"]


def _corrupt_corpus(how: str):
    def make(ws: Path, fx: Fx) -> list:
        corpus = copy(fx.corpus, ws)
        p = corpus / "tracks.parquet"
        data = bytearray(p.read_bytes())
        if how == "truncated":
            data = data[:300]
        else:
            data[-200:-8] = b"x" * 192  # the footer
        p.write_bytes(bytes(data))
        if how == "manifest-updated":  # the checksum cannot catch it: parquet must
            import hashlib

            m = json.loads((corpus / "manifest.json").read_text())
            m["files"]["tracks.parquet"]["sha256"] = hashlib.sha256(data).hexdigest()
            (corpus / "manifest.json").write_text(json.dumps(m))
        return ["data", "stats", corpus]

    return make


def _manifest_not_utf8(ws: Path, fx: Fx) -> list:
    corpus = copy(fx.corpus, ws)
    bad_bytes(corpus / "manifest.json", (fx.corpus / "manifest.json").read_text())
    return ["data", "stats", corpus]


def _missing_module_pickle(ws: Path, fx: Fx) -> list:
    p = ws / "model.pkl"
    with open(p, "wb") as f:
        pickle.dump({"apc_model": "nosuch_apc_module.Model", "format": MODEL_FORMAT}, f)
        f.write(b"cnosuch_apc_module\nModel\n)\x81.")  # GLOBAL, EMPTY_TUPLE, NEWOBJ, STOP
    return ["recommend", p, "--train", fx.corpus, "--seeds", fx.seeds, "-o", ws / "r.csv"]


def _suite_with(ws: Path, fx: Fx, old: str, new: str) -> Path:
    text = fx.suite.read_text()
    assert old in text
    p = ws / "suite.toml"
    p.write_text(text.replace(old, new))
    return p


def _bench(ws: Path, suite: Path) -> list:
    return ["bench", "run", suite, "-o", ws / "out", "--no-cache", "--no-plots"]


def _mpd_copy(ws: Path) -> Path:
    return copy(SAMPLES / "mpd", ws)


def _rec(ws: Path, fx: Fx, *extra, seeds=None) -> list:
    return ["recommend", fx.model, "--train", fx.corpus, "--seeds", seeds or fx.seeds,
            "-o", ws / "r.csv", *extra]


ROWS: list[Row] = _output_rows() + [
    # the cache is an output too
    Row("bench-run/cache-parent-is-a-file",
        lambda ws, fx: ["bench", "run", fx.suite, "-o", ws / "out", "--cache",
                        user_file(ws) / "cache", "--no-plots"], "not a folder"),
    Row("reproduce/cache-is-a-file",
        lambda ws, fx: ["reproduce", fx.recipe, "-o", ws / "out", "--cache", user_file(ws)],
        "not a folder"),
    # bench report writes into the run folder
    Row("bench-report/read-only-run", _report_readonly, ("permission denied", "read-only"),
        as_nobody=True),
    Row("bench-report/run-is-a-file", lambda ws, fx: ["bench", "report", user_file(ws)],
        "notes.txt"),
    # non-UTF-8 bytes in every text input
    Row("bench-run/suite-not-utf8",
        lambda ws, fx: _bench(ws, bad_bytes(ws / "s.toml", fx.suite.read_text())), "UTF-8"),
    Row("reproduce/recipe-not-utf8",
        lambda ws, fx: ["reproduce", bad_bytes(ws / "r.toml", fx.recipe.read_text()), "-o",
                        ws / "out", "--cache", ws / "cache"], "UTF-8"),
    Row("recommend/seeds-not-utf8",
        lambda ws, fx: _rec(ws, fx, seeds=bad_bytes(ws / "seeds.txt", "a b\n")), "UTF-8"),
    Row("fit/params-file-not-utf8",
        lambda ws, fx: ["fit", fx.corpus, "-m", "popularity", "-o", ws / "m.pkl",
                        "--params-file", bad_bytes(ws / "p.toml", "distinct = true\n")],
        "UTF-8"),
    Row("mpd-validate/submission-not-utf8",
        lambda ws, fx: ["mpd", "validate", bad_bytes(ws / "s.csv", "team_info,t,t@x.org\n"),
                        "--challenge", fx.ch / "challenge_set.json"], "UTF-8"),
    Row("mpd-score/submission-not-utf8",
        lambda ws, fx: ["mpd", "score", bad_bytes(ws / "s.csv", "team_info,t,t@x.org\n"),
                        "--truth", fx.ch / "heldout.json"], "UTF-8"),
    Row("mpd-score/truth-not-utf8",
        lambda ws, fx: ["mpd", "score", fx.sub, "--truth",
                        bad_bytes(ws / "h.json", '{"playlists": []}\n')], "UTF-8"),
    Row("mpd-validate/challenge-not-utf8",
        lambda ws, fx: ["mpd", "validate", fx.sub, "--challenge",
                        bad_bytes(ws / "c.json", '{"playlists": []}\n')], "UTF-8"),
    Row("data-stats/manifest-not-utf8", _manifest_not_utf8, "UTF-8"),
    Row("data-convert/native-not-utf8",
        lambda ws, fx: ["data", "convert", bad_bytes(ws / "a.csv", "playlist,track\n"),
                        ws / "out", "-f", "csv"], "UTF-8"),
    # malformed TOML / JSON / pickle / parquet
    Row("bench-run/suite-not-toml",
        lambda ws, fx: _bench(ws, user_file(ws, "s.toml")), "TOML"),
    Row("fit/params-file-not-toml",
        lambda ws, fx: ["fit", fx.corpus, "-m", "popularity", "-o", ws / "m.pkl",
                        "--params-file", user_file(ws, "p.toml")], "TOML"),
    Row("mpd-validate/challenge-not-json",
        lambda ws, fx: ["mpd", "validate", fx.sub, "--challenge", user_file(ws, "c.json")],
        "JSON"),
    Row("recommend/model-not-a-pickle",
        lambda ws, fx: ["recommend", user_file(ws, "m.pkl"), "--train", fx.corpus, "--seeds",
                        fx.seeds, "-o", ws / "r.csv"], "m.pkl"),
    Row("recommend/pickle-names-missing-module", _missing_module_pickle, "nosuch_apc_module"),
    Row("recommend/folder-as-model",
        lambda ws, fx: ["recommend", fx.corpus, "--train", fx.corpus, "--seeds", fx.seeds,
                        "-o", ws / "r.csv"], "corpus"),
    Row("data-stats/parquet-truncated", _corrupt_corpus("truncated"), "tracks.parquet"),
    Row("data-stats/parquet-corrupt", _corrupt_corpus("corrupt"), "tracks.parquet"),
    Row("data-stats/parquet-corrupt-manifest-updated", _corrupt_corpus("manifest-updated"),
        "tracks.parquet"),
    Row("bench-report/results-parquet-truncated", _trunc_results, "results.parquet"),
    Row("bench-run/resume-config-json-truncated", _trunc_config, "config.json"),
    Row("bench-run/resume-while-another-holds-the-lock",
        lambda ws, fx: ["bench", "run", fx.suite, "-o", _locked_run(ws, fx), "--resume",
                        "--no-cache", "--no-plots"], "another apc process"),
    Row("bench-report/while-another-holds-the-lock",
        lambda ws, fx: ["bench", "report", _locked_run(ws, fx)], "another apc process"),
    # missing, unreadable or wrong-kind inputs
    Row("data-stats/missing", lambda ws, fx: ["data", "stats", ws / "nope"], "nope"),
    Row("data-stats/not-a-directory", lambda ws, fx: ["data", "stats", user_file(ws) / "x"],
        "notes.txt"),
    Row("fit/corpus-missing",
        lambda ws, fx: ["fit", ws / "nope", "-m", "popularity", "-o", ws / "m.pkl"], "nope"),
    Row("recommend/model-missing",
        lambda ws, fx: ["recommend", ws / "nope.pkl", "--train", fx.corpus, "--seeds",
                        fx.seeds, "-o", ws / "r.csv"], "nope.pkl"),
    Row("recommend/seeds-is-a-folder",
        lambda ws, fx: _rec(ws, fx, seeds=folder_with_user_file(ws)), "mine"),
    Row("recommend/seeds-unreadable",  # typer checks readability: a usage error
        lambda ws, fx: _rec(ws, fx, seeds=_unreadable(user_file(ws, "seeds.txt"))),
        "not readable", usage=True, as_nobody=True),
    Row("data-stats/corpus-unreadable",
        lambda ws, fx: ["data", "stats", _unreadable(copy(fx.corpus, ws) / "tracks.parquet")
                        .parent], ("permission denied", "tracks.parquet"), as_nobody=True),
    Row("bench-run/suite-missing", lambda ws, fx: _bench(ws, ws / "nope.toml"), "nope.toml"),
    Row("reproduce/recipe-missing",
        lambda ws, fx: ["reproduce", ws / "nope.toml", "-o", ws / "out", "--cache",
                        ws / "cache"], "nope.toml"),
    Row("bench-report/run-missing", lambda ws, fx: ["bench", "report", ws / "nope"], "nope"),
    Row("bench-compare/run-missing",
        lambda ws, fx: ["bench", "compare", ws / "nope", fx.run], "nope"),
    Row("mpd-validate/submission-missing",
        lambda ws, fx: ["mpd", "validate", ws / "nope.csv", "--challenge",
                        fx.ch / "challenge_set.json"], "nope.csv"),
    Row("mpd-score/truth-missing",
        lambda ws, fx: ["mpd", "score", fx.sub, "--truth", ws / "nope.json"], "nope.json"),
    Row("mpd-submit/challenge-missing",
        lambda ws, fx: ["mpd", "submit", "-m", "popularity", "--train", fx.ch / "train",
                        "--challenge", ws / "nope.json", "--team", "t", "--email",
                        "t@example.org", "-o", ws / "s.csv"], "nope.json"),
    # models (H3, H3b)
    Row("fit/import-path-not-a-model",
        lambda ws, fx: ["fit", fx.corpus, "-m", "collections:OrderedDict", "-o", ws / "m.pkl"],
        "OrderedDict"),
    Row("fit/accelerator-bogus",
        lambda ws, fx: ["fit", fx.corpus, "-m", "gru4rec", "--accelerator", "bogus", "-o",
                        ws / "m.pkl"], "bogus"),
    Row("fit/param-wrong-type",
        lambda ws, fx: ["fit", fx.corpus, "-m", "knn", "-p", "n_neighbors=many", "-o",
                        ws / "m.pkl"], "n_neighbors"),
    *[
        Row(f"fit/empty-corpus-{m}",
            lambda ws, fx, m=m: ["fit", fx.empty, "-m", m, "-o", ws / "m.pkl"], "empty")
        for m in ("popularity", "knn", "item-knn", "markov", "sagh")
    ],
    Row("recommend/unknown-seeds-strict",
        lambda ws, fx: _rec(ws, fx, "--strict", seeds=user_file(ws, "seeds.txt")), "unknown"),
    # suites: found before any cell runs and before the run folder exists (H2, H3b)
    Row("bench-run/suite-param-wrong-type",
        lambda ws, fx: _bench(ws, _suite_with(ws, fx, 'model = "popularity"\n',
                                              'model = "knn"\nparams = {n_neighbors = "many"}\n')),
        "n_neighbors"),
    Row("bench-run/suite-unknown-model",
        lambda ws, fx: _bench(ws, _suite_with(ws, fx, 'model = "popularity"',
                                              'model = "nosuchmodel"')), "nosuchmodel"),
    Row("bench-run/suite-dataset-missing",
        lambda ws, fx: _bench(ws, _suite_with(ws, fx, f'source = "{fx.corpus}"',
                                              f'source = "{ws / "nope"}"')), "nope"),
    Row("bench-run/suite-unknown-protocol",
        lambda ws, fx: _bench(ws, _suite_with(ws, fx, 'name = "next-track"',
                                              'name = "nosuchprotocol"')), "nosuchprotocol"),
    # outputs that would destroy an input (H4)
    Row("data-convert/in-is-out",
        lambda ws, fx: (lambda d: ["data", "convert", d, d, "-f", "mpd"])(_mpd_copy(ws)),
        "input"),
    Row("data-convert/out-inside-in",
        lambda ws, fx: (lambda d: ["data", "convert", d, d / "out", "-f", "mpd"])(_mpd_copy(ws)),
        "input"),
    Row("data-convert/out-holds-in",
        lambda ws, fx: ["data", "convert", _mpd_copy(ws), ws, "-f", "mpd"], "input"),
    Row("fit/output-inside-the-corpus",
        lambda ws, fx: (lambda c: ["fit", c, "-m", "popularity", "-o", c / "tracks.parquet"])(
            copy(fx.corpus, ws)), "destroy the input"),
    Row("recommend/output-is-the-seeds-file",
        lambda ws, fx: (lambda s: _rec(ws, fx, "-o", s, seeds=s))(copy(fx.seeds, ws)),
        "destroy the input"),
    Row("mpd-score/json-is-the-submission",
        lambda ws, fx: (lambda s: ["mpd", "score", s, "--truth", fx.ch / "heldout.json",
                                   "--json", s])(copy(fx.sub, ws)), "destroy the input"),
    Row("bench-compare/output-inside-a-run",
        lambda ws, fx: (lambda r: ["bench", "compare", r, fx.run, "-o", r / "results.parquet"])(
            copy(fx.run, ws)), "destroy the input"),
    Row("fit/output-is-a-symlink-loop",
        lambda ws, fx: ["fit", fx.corpus, "-m", "popularity", "-o", _link(ws / "m.pkl", "m.pkl")],
        "points back to itself"),
    Row("data-synth/output-is-a-broken-symlink",
        lambda ws, fx: ["data", "synth", _link(ws / "out", ws / "gone"), "--preset", "tiny"],
        "broken symbolic link"),
    Row("fit/output-is-a-pipe",
        lambda ws, fx: ["fit", fx.corpus, "-m", "popularity", "-o", _fifo(ws / "m.pkl")],
        "pipe"),
    Row("data-synth/existing-corpus-without-overwrite",
        lambda ws, fx: ["data", "synth", copy(fx.corpus, ws), "--preset", "tiny"], "overwrite"),
    # numbers
    Row("data-synth/audio-seconds-negative",
        lambda ws, fx: ["data", "synth", ws / "out", "--audio", "--audio-seconds", "-1"],
        "audio-seconds"),
    Row("evaluate/k-zero",
        lambda ws, fx: ["evaluate", fx.corpus, "-m", "popularity", "--k", "0"], "k"),
    Row("data-synth/seed-negative",
        lambda ws, fx: ["data", "synth", ws / "out", "--seed", "-1"], "--seed", usage=True),
    Row("evaluate/seed-negative",
        lambda ws, fx: ["evaluate", fx.corpus, "-m", "popularity", "--seed", "-1"], "--seed",
        usage=True),
    Row("demo/seed-negative", lambda ws, fx: ["demo", "--seed", "-1"], "--seed", usage=True),
    Row("recommend/k-zero", lambda ws, fx: _rec(ws, fx, "--k", "0"), "--k", usage=True),
    Row("mpd-make-challenge/per-category-zero",
        lambda ws, fx: ["mpd", "make-challenge", fx.corpus, ws / "out", "--per-category", "0"],
        "--per-category", usage=True),
    Row("bench-run/ray-cpus-zero",
        lambda ws, fx: [*_bench(ws, fx.suite), "--executor", "ray", "--ray-cpus", "0"],
        "--ray-cpus", usage=True),
    Row("evaluate/protocol-option-wrong-type",
        lambda ws, fx: ["evaluate", fx.corpus, "-m", "popularity", "--protocol", "continuation",
                        "--option", "seed_fraction=half"], "seed_fraction"),
    Row("evaluate/k-beyond-int32",
        lambda ws, fx: ["evaluate", fx.corpus, "-m", "popularity", "--k", str(10**23)],
        "at most"),
    Row("mpd-make-challenge/empty-corpus",
        lambda ws, fx: ["mpd", "make-challenge", fx.empty, ws / "out"], "no playlist"),
    Row("fit/devices-bogus",
        lambda ws, fx: ["fit", fx.corpus, "-m", "gru4rec", "--devices", "bogus", "-o",
                        ws / "m.pkl"], "--devices", usage=True),
    # usage errors: click's box, and what to do
    Row("fit/missing-option", lambda ws, fx: ["fit", fx.corpus], "--model", usage=True),
    Row("apc/unknown-command", lambda ws, fx: ["nosuchcommand"], "nosuchcommand", usage=True),
    Row("fit/unknown-option",
        lambda ws, fx: ["fit", fx.corpus, "-m", "popularity", "-o", ws / "m.pkl", "--bogus"],
        "--bogus", usage=True),
    Row("data-synth/not-a-number",
        lambda ws, fx: ["data", "synth", ws / "out", "--audio-seconds", "abc"],
        "--audio-seconds", usage=True),
]


def _link(p: Path, target: str | Path) -> Path:
    p.symlink_to(target)
    return p


def _fifo(p: Path) -> Path:
    os.mkfifo(p)
    return p


def _unreadable(p: Path) -> Path:
    p.chmod(0)
    return p


# ---------------------------------------------------------------------------- running
def _invoke(argv: list[str], ws: Path, row: Row) -> tuple[int, str]:
    if row.as_nobody and IS_ROOT:
        # root ignores permission bits: run this one as nobody, from a readable cwd
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: permission bits do not stop root")
        env = dict(os.environ, HOME="/nonexistent")  # nobody's home: nothing lands in ws
        proc = subprocess.run(
            [*NOBODY, sys.executable, "-m", "apc", *argv], cwd=ws, env=env,
            capture_output=True, text=True, timeout=120,
        )
        return proc.returncode, proc.stderr
    res = runner.invoke(app, argv, prog_name="apc")
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        import traceback

        tb = "".join(traceback.format_exception(res.exception))
        return (res.exit_code, res.stderr + "Traceback (in-process)\n" + tb)
    return res.exit_code, res.stderr


@pytest.fixture
def ws(base):
    d = Path(tempfile.mkdtemp(prefix="ws-", dir=base))
    os.chmod(d, 0o777)  # as root, some rows run as nobody from here
    yield d
    while _HELD:
        _HELD.pop().release()


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_bad_input(row: Row, fx: Fx, ws: Path, monkeypatch):
    monkeypatch.chdir(ws)  # commands with a default output (runs/, .apc-cache) write here
    argv = [str(a) for a in row.make(ws, fx)]
    before = snapshot(ws, fx.root)
    code, stderr = _invoke(argv, ws, row)
    after = snapshot(ws, fx.root)
    lines = [line for line in stderr.splitlines() if line.strip()]
    print(f"apc {' '.join(argv)}\n{stderr}")  # shown by pytest -rP: the line each row gives
    assert "Traceback" not in stderr, stderr
    assert code == 2, (code, stderr)
    assert len(lines) == 1, stderr
    assert lines[0].startswith("apc: error: "), stderr
    if row.usage:
        assert "(see 'apc" in lines[0] and lines[0].endswith("--help')"), stderr
    if row.expect is not None:
        wanted = (row.expect,) if isinstance(row.expect, str) else row.expect
        assert any(w.lower() in stderr.lower() for w in wanted), (wanted, stderr)
    assert diff(before, after) == [], stderr


# ---------------------------------------------------------------------------- real mounts
@functools.cache
def _unshare_ok() -> bool:
    """Whether a user namespace may mount here, and this Python still runs inside it."""
    if shutil.which("unshare") is None or sys.platform != "linux":
        return False
    with tempfile.TemporaryDirectory() as d:
        probe = subprocess.run(
            ["unshare", "-rm", "sh", "-c",
             f"mount -t tmpfs none {d} && exec {sys.executable} -c pass"],
            capture_output=True,
        )
    return probe.returncode == 0


MOUNTS = {
    # a read-only file system stops root too (EROFS)
    "read-only-fs": "mount --bind {d} {d} && mount -o remount,bind,ro {d}",
    # a tmpfs of one page (4 KiB): no output fits (ENOSPC), mid-write
    "disk-full": "mount -t tmpfs -o size=4k tmpfs {d}",
}
MOUNT_ROWS = [
    ("data-synth", lambda d, fx: ["data", "synth", d / "c", "--preset", "tiny"]),
    ("fit", lambda d, fx: ["fit", fx.corpus, "-m", "knn", "-o", d / "m.pkl"]),
    ("evaluate", lambda d, fx: ["evaluate", fx.corpus, "-m", "popularity", "--k", "10", "-o",
                                d / "e.parquet"]),
]


@pytest.mark.parametrize("mount", list(MOUNTS))
@pytest.mark.parametrize("cmd", [c for c, _ in MOUNT_ROWS], ids=[c for c, _ in MOUNT_ROWS])
def test_bad_output_filesystem(mount: str, cmd: str, fx: Fx, ws: Path):
    if not _unshare_ok():
        pytest.skip("cannot mount a test file system in a user namespace here (unshare -rm)")
    d = ws / "mnt"
    d.mkdir()
    argv = [str(a) for a in dict(MOUNT_ROWS)[cmd](d, fx)]
    apc = " ".join(["exec", sys.executable, "-m", "apc", *(f"'{a}'" for a in argv)])
    # list what the command left *inside* the mount, before the namespace takes it away
    script = (f"{MOUNTS[mount].format(d=d)} || exit 99; "
              f"( {apc} ) >/dev/null; rc=$?; echo LEFT:; ls -A {d}; exit $rc")
    proc = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True,
                          text=True, timeout=120, cwd=ws)
    assert proc.returncode != 99, proc.stderr
    lines = [line for line in proc.stderr.splitlines()
             if line.strip() and not line.startswith("fitting and evaluating")]  # progress
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("apc: error: "), proc.stderr
    want = "read-only" if mount == "read-only-fs" else "no space"
    assert want in lines[0].lower(), lines[0]
    assert str(d) in lines[0], lines[0]  # names the output, even when the OS error does not
    assert proc.stdout.split("LEFT:", 1)[1].split() == [], proc.stdout  # no temp debris


# ---------------------------------------------------------------------------- the mapping
@pytest.mark.parametrize(
    "exc, text",
    [
        (FileNotFoundError(2, "No such file or directory", "a.toml"), "a.toml"),
        (PermissionError(13, "Permission denied", "out"), "Permission denied"),
        (IsADirectoryError(21, "Is a directory", "d"), "Is a directory"),
        (NotADirectoryError(20, "Not a directory", "f/x"), "f/x"),
        (OSError(28, "No space left on device"), "No space left"),
        (OSError(30, "Read-only file system", "out"), "Read-only"),
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), "UTF-8"),
        (json.JSONDecodeError("Expecting value", "x", 0), "JSON"),
        (pickle.UnpicklingError("invalid load key"), "pickle"),
    ],
    ids=["missing", "permission", "is-dir", "not-dir", "enospc", "erofs", "unicode", "json",
         "pickle"],
)
def test_error_line_maps_user_errors(exc, text):
    line = error_line(exc)
    assert line is not None and text in line and "\n" not in line


def test_error_line_maps_toml_and_arrow():
    import pyarrow as pa

    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        tomllib.loads("a = = 1")
    except tomllib.TOMLDecodeError as e:
        assert "TOML" in error_line(e)
    assert "corrupt" in error_line(pa.lib.ArrowInvalid("bad\nfooter"))


def test_a_bug_keeps_its_traceback(monkeypatch):
    import apc.workflows

    def boom(*a, **k):
        raise RuntimeError("a bug in apc")

    monkeypatch.setattr(apc.workflows, "corpus_stats", boom)
    res = runner.invoke(app, ["data", "stats", "synth:tiny"])
    assert isinstance(res.exception, RuntimeError) and res.exit_code == 1
    assert error_line(RuntimeError("x")) is None and error_line(KeyError("x")) is None


def test_k_beyond_catalogue_is_capped_with_a_warning(fx: Fx, tmp_path):
    """Not an error: k is capped at the catalogue with a warning, no Q x k allocation."""
    out = tmp_path / "r.csv"
    res = runner.invoke(app, _strs(_rec(tmp_path, fx, "--k", str(10**12))), prog_name="apc")
    assert res.exit_code == 0, (res.stderr, res.exception)
    warned = [line for line in res.stderr.splitlines() if line.startswith("apc: warning: ")]
    assert len(warned) == 1 and "catalogue" in warned[0], res.stderr
    n_tracks = 300
    assert len(out.read_text().splitlines()) - 1 <= 2 * n_tracks


def _strs(argv: list) -> list[str]:
    return [str(a) for a in argv]
