"""Atomic writes, and the rule for replacing an output folder: the one place apc writes.

Every file apc writes goes through :func:`atomic_path` (or :func:`atomic_write_bytes` /
:func:`atomic_write_text`), every folder through :func:`atomic_dir`:

- the content is written under a unique hidden name beside the target
  (``.<name>.apc-tmp-<pid>-<random><suffix>``, ``.<name>.apc-staging-<pid>-<random>``)
  and renamed into place only when complete, so a crash never leaves a half-written
  output, and two writers never share a temporary name;
- files and folders get the permissions the user's umask gives (``0o666`` / ``0o777``
  masked), as ``open`` and ``mkdir`` would, not the ``0o600`` / ``0o700`` of
  :func:`tempfile.mkstemp` / :func:`tempfile.mkdtemp`;
- temporaries of the same target left by a killed process (its pid no longer runs)
  are removed on the next write;
- an existing folder is replaced only when it is an apc artefact of the kind being
  written, holds nothing apc did not write, and the caller passes ``overwrite=True``
  (:func:`check_out_dir`); anything else is an :class:`~apc.errors.ApcInputError`,
  raised before any work is done. An existing empty folder is kept and filled (its
  mode, owner and ACLs stay, and a shell inside it keeps a valid working directory).

This module imports nothing from apc but :mod:`apc.errors`, so every package may use it.
"""

from __future__ import annotations

import fnmatch
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from apc.errors import ApcInputError

__all__ = [
    "KINDS",
    "ArtefactKind",
    "artefact_kind",
    "atomic_dir",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_not_input",
    "check_out_dir",
    "check_separate",
    "remove_stale",
]

# .<name>.apc-<tmp|staging|old>-<pid>-<8 hex><suffix>; also the .<name>.old-<pid> folders
# an older apc left behind
_TEMP = re.compile(
    r"^\.(?P<name>.+?)\.(?:apc-(?:tmp|staging|old)-(?P<pid>\d+)-[0-9a-f]{8}(?:\.[^.]*)?"
    r"|old-(?P<legacy>\d+))$"
)


@dataclass(frozen=True)
class ArtefactKind:
    """A kind of output folder apc writes, and how to recognise one.

    Parameters
    ----------
    name : str
        Short name (``corpus``).
    label : str
        Used in messages (``an apc corpus``).
    signature : bytes
        Bytes that appear in the first 4 KiB of the identifying file(s).
    entries : tuple of str
        :mod:`fnmatch` patterns of the relative paths (``/``-separated) such a folder
        may hold; anything else is a file apc did not write.
    marker : str or None
        The identifying file; ``None`` means every file must carry ``signature``.
    """

    name: str
    label: str
    signature: bytes
    entries: tuple[str, ...]
    marker: str | None = None


#: What a benchmark run folder may hold (apc.bench.rundir writes these; the hidden
#: names are its lock and the temp files of a write killed half-way).
RUN_ENTRIES = (
    "config.json", "suite.toml", "provenance.json", "splits.json", "cells.json",
    "results.parquet", "curves.parquet", "longtail.parquet", "summary.json", "summary.md",
    "summary_table.tex", "summary_table.md", "summary_table.csv",
    "report.html", "cells", "cells/*", "plots", "plots/*.png", "plots/*.svg", "plots/*.pdf",
    ".apc-run.lock",
    ".*.apc-tmp-*", "cells/.*.apc-tmp-*", "plots/.*.apc-tmp-*",
)

KINDS: dict[str, ArtefactKind] = {
    k.name: k
    for k in (
        ArtefactKind(
            "corpus",
            "an apc corpus",
            b'"format": "apc-playlists"',
            ("manifest.json", "playlists.parquet", "meta.parquet", "tracks.parquet",
             "artists.parquet", "audio", "audio/*.wav"),
            marker="manifest.json",
        ),
        ArtefactKind(
            "challenge",
            "an apc offline challenge",
            b'"format": "apc-mpd-heldout"',
            ("challenge_set.json", "heldout.json", "train", "train/mpd.slice.*.json"),
            marker="heldout.json",
        ),
        # `apc bench run --resume` continues a run; `--overwrite` replaces one
        # (apc.bench.rundir.clear_run), never a folder holding other files
        ArtefactKind(
            "run",
            "an apc benchmark run",
            b'"config_hash":',
            RUN_ENTRIES,
            marker="config.json",
        ),
        ArtefactKind(
            "mpd-slices",
            "MPD slices written by apc",
            b'"generator": "apc write_mpd_slices"',
            ("mpd.slice.*.json",),
        ),
    )
}


def _head(path: Path, n: int = 4096) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(n)
    except OSError:
        return b""


def _relative_entries(folder: Path) -> list[str]:
    out = []
    for root, dirs, files in os.walk(folder):
        rel = Path(root).relative_to(folder)
        out += [(rel / d).as_posix() for d in dirs] + [(rel / f).as_posix() for f in files]
    return out


def artefact_kind(folder: str | Path) -> ArtefactKind | None:
    """Say which kind of apc artefact a folder is, from its identifying file(s).

    Parameters
    ----------
    folder : str or Path
        An existing folder.

    Returns
    -------
    ArtefactKind or None
        The kind, or ``None`` when the folder is not recognisably apc's (or is empty).
    """
    folder = Path(folder)
    for kind in KINDS.values():
        if kind.marker is not None:
            if kind.signature in _head(folder / kind.marker):
                return kind
        else:
            # no marker of its own: every file must match and carry the signature
            files = [p for p in folder.iterdir() if p.is_file()]
            if files and all(fnmatch.fnmatchcase(p.name, kind.entries[0])
                             and kind.signature in _head(p, 512) for p in files):
                return kind
    return None


def _foreign(folder: Path, kind: ArtefactKind) -> list[str]:
    return [e for e in _relative_entries(folder)
            if not any(fnmatch.fnmatchcase(e, pat) for pat in kind.entries)]


def _names(items: list[str], n: int = 3) -> str:
    shown = ", ".join(sorted(items)[:n])
    return shown + (f" and {len(items) - n} more" if len(items) > n else "")


def check_out_dir(out: str | Path, kind: str, *, overwrite: bool = False) -> None:
    """Refuse an output folder that apc may not replace; return when it may.

    A missing or empty folder may always be written. An existing folder may be replaced
    only when it is an apc artefact of ``kind``, holds nothing else, and ``overwrite``
    is true. Call this before reading any input, so a refusal costs nothing.

    Parameters
    ----------
    out : str or Path
        The output folder.
    kind : str
        A key of :data:`KINDS`: what is about to be written there.
    overwrite : bool, default False
        The user asked to replace an existing artefact (``--overwrite``).

    Raises
    ------
    ApcInputError
        If ``out`` is a file, holds anything apc did not write, holds another kind of
        artefact, or holds this kind and ``overwrite`` is false.
    """
    want = KINDS[kind]
    given, out = str(out), Path(os.path.abspath(out))
    if not out.exists():
        if out.is_symlink():
            raise ApcInputError("is a broken symbolic link; remove it or choose another "
                                "output folder", file=given)
        return
    if not out.is_dir():
        raise ApcInputError(f"exists and is not a folder; refusing to replace it with "
                            f"{want.label}: choose another output folder", file=given)
    try:
        if not any(out.iterdir()):
            return
    except PermissionError as e:
        raise ApcInputError("cannot read this folder (permission denied)", file=given) from e
    found = artefact_kind(out)
    if found is None:
        raise ApcInputError(
            f"folder holds files apc did not write ({_names([p.name for p in out.iterdir()])}); "
            "refusing to replace it: choose another output folder", file=given)
    if found is not want:
        raise ApcInputError(f"holds {found.label}, not {want.label}; refusing to replace it: "
                            "choose another output folder", file=given)
    foreign = _foreign(out, found)
    if foreign:
        raise ApcInputError(
            f"holds {found.label} and files apc did not write ({_names(foreign)}); refusing "
            "to replace it: move those files or choose another output folder", file=given)
    if not overwrite:
        raise ApcInputError(f"already holds {found.label}; pass --overwrite to replace it",
                            file=given)


def check_separate(source: str | Path, out: str | Path) -> None:
    """Refuse an output that is, lies inside, or holds its own input (symlinks resolved).

    Parameters
    ----------
    source : str or Path
        The input file or folder.
    out : str or Path
        The output path.

    Raises
    ------
    ApcInputError
        If ``out`` is ``source``, lies inside it, or contains it.
    """
    src, dst = Path(source).resolve(), Path(out).resolve()
    if src == dst:
        why = "is the input itself"
    elif dst.is_relative_to(src):
        why = f"lies inside the input {source}"
    elif src.is_relative_to(dst):
        why = f"holds the input {source}"
    else:
        return
    raise ApcInputError(f"the output {why}; writing it would destroy the input: choose "
                        "another output folder", file=str(out))


def check_not_input(out: str | Path, *inputs: str | Path | None) -> None:
    """Refuse a file output that is one of the command's own inputs (symlinks resolved).

    Parameters
    ----------
    out : str or Path
        The file to write.
    *inputs : str, Path or None
        The paths the command reads (``None`` and ``synth:`` specs are skipped).

    Raises
    ------
    ApcInputError
        If ``out`` names the same file as an input.
    """
    dst = Path(out).resolve()
    for src in inputs:
        if src is not None and Path(str(src)).exists() and Path(str(src)).resolve() == dst:
            raise ApcInputError(f"the output is the input {src}; writing it would destroy "
                                "that input: choose another output file", file=str(out))


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it runs, as another user
        return True
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def remove_stale(target: str | Path) -> list[Path]:
    """Remove the temporaries of ``target`` left by processes that no longer run.

    Parameters
    ----------
    target : str or Path
        A file or folder apc writes; its temporaries are hidden siblings.

    Returns
    -------
    list of Path
        What was removed.
    """
    target = Path(os.path.abspath(target))
    prefix = f".{target.name}."
    removed = []
    try:
        candidates = [e for e in os.scandir(target.parent) if e.name.startswith(prefix)]
    except OSError:
        return removed
    for entry in candidates:
        m = _TEMP.match(entry.name)
        if m is None or m["name"] != target.name:
            continue
        if not _alive(int(m["pid"] or m["legacy"])):
            _remove(Path(entry.path))
            removed.append(Path(entry.path))
    return removed


def _temp_name(target: Path, what: str, suffix: str = "") -> Path:
    return target.with_name(
        f".{target.name}.apc-{what}-{os.getpid()}-{secrets.token_hex(4)}{suffix}"
    )


def _make_parent(target: Path) -> None:
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as e:
        raise ApcInputError("a parent of this path is a file, not a folder",
                            file=str(target)) from e
    except PermissionError as e:
        raise ApcInputError("cannot create the parent folder (permission denied)",
                            file=str(target)) from e
    except OSError as e:
        raise ApcInputError(f"cannot create the parent folder ({e.strerror})",
                            file=str(target)) from e
    if not parent.is_dir():
        raise ApcInputError("a parent of this path is a file, not a folder", file=str(target))


def _create(make, target: Path):
    try:
        return make()
    except PermissionError as e:
        raise ApcInputError("cannot write here (permission denied)", file=str(target)) from e
    except OSError as e:
        raise ApcInputError(f"cannot write here ({e.strerror})", file=str(target)) from e


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a fresh temporary file path beside ``path``; rename it onto ``path`` on success.

    The temporary file exists (empty, mode ``0o666`` less the umask) and ends in the
    suffix of ``path``, so writers that pick a format by extension (``savefig``,
    ``np.save``) keep working. On an exception it is removed and ``path`` is untouched.

    Parameters
    ----------
    path : str or Path
        The file to write; its parent folders are created.

    Yields
    ------
    Path
        The temporary file to write.

    Raises
    ------
    ApcInputError
        If ``path`` is a folder, a parent is a file, or the folder is not writable.

    Examples
    --------
    >>> with atomic_path("results.parquet") as tmp:  # doctest: +SKIP
    ...     table.to_parquet(tmp)
    """
    if Path(path).is_dir():
        raise ApcInputError("is a folder; give a file name", file=str(path))
    path = Path(os.path.abspath(path))
    _make_parent(path)
    remove_stale(path)
    tmp = _temp_name(path, "tmp", path.suffix)
    # O_EXCL: never write through someone else's file; 0o666 leaves the umask to decide
    fd = _create(lambda: os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), path)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`).

    Parameters
    ----------
    path : str or Path
        File to write; parent folders are created.
    data : bytes
        Content.

    Returns
    -------
    Path
        ``path``.
    """
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | Path, text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_path`).

    Parameters
    ----------
    path : str or Path
        File to write; parent folders are created.
    text : str
        Content, written with Unix line ends.
    encoding : str, default "utf-8"
        Text encoding.

    Returns
    -------
    Path
        ``path``.
    """
    with atomic_path(path) as tmp, open(tmp, "w", encoding=encoding, newline="\n") as f:
        f.write(text)
    return Path(path)


def _fill(out: Path, staging: Path, marker: str | None) -> None:
    # The user's own empty folder is kept (its mode, owner, ACLs, anyone's cwd in it) and
    # filled by renames, the identifying file last; a failure moves everything back.
    names = sorted(os.listdir(staging), key=lambda n: n == marker)
    moved = []
    try:
        for name in names:
            os.replace(staging / name, out / name)
            moved.append(name)
    except BaseException:
        for name in moved:
            os.replace(out / name, staging / name)
        raise
    staging.rmdir()


@contextmanager
def atomic_dir(out: str | Path, *, kind: str, overwrite: bool = False) -> Iterator[Path]:
    """Yield a staging folder that replaces ``out`` when the block ends without error.

    :func:`check_out_dir` decides first whether ``out`` may be written (and again just
    before the swap). The staging folder is a hidden sibling of ``out`` created with
    mode ``0o777`` less the umask; on an exception it is removed and ``out`` is left
    as it was. An existing empty ``out`` is kept and the staged entries are renamed
    into it, the identifying file last. A staging folder of ``out`` left by a killed
    run is removed first.

    Parameters
    ----------
    out : str or Path
        Final folder; when it is a symbolic link, the folder it points to is replaced.
    kind : str
        A key of :data:`KINDS`: what the block writes.
    overwrite : bool, default False
        Replace an existing artefact of this kind.

    Yields
    ------
    Path
        The staging folder to write into.

    Raises
    ------
    ApcInputError
        As :func:`check_out_dir`, or when the parent folder cannot be written.
    """
    out = Path(os.path.abspath(out))
    if out.is_symlink() and out.exists():
        out = out.resolve()
    check_out_dir(out, kind, overwrite=overwrite)
    _make_parent(out)
    remove_stale(out)
    staging = _temp_name(out, "staging")
    _create(lambda: os.mkdir(staging, 0o777), out)
    try:
        yield staging
        check_out_dir(out, kind, overwrite=overwrite)  # nothing appeared there meanwhile
        if out.is_dir() and not any(out.iterdir()):
            _fill(out, staging, KINDS[kind].marker)
        elif out.exists():
            old = _temp_name(out, "old")
            os.replace(out, old)
            try:
                os.replace(staging, out)
            except BaseException:
                os.replace(old, out)
                raise
            # a kill here leaves `old`; remove_stale() of the next write removes it
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
