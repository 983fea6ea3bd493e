"""Parquet I/O for :class:`~apc.data.playlists.Playlists` with a checksummed manifest.

Layout of a corpus directory::

    manifest.json     format version, counts, sha256 of every file, provenance
    playlists.parquet one row per playlist: items (large_list<int32>)
    meta.parquet      playlist metadata, row p = playlist p
    tracks.parquet    row i = track i
    artists.parquet   row j = artist j

Writing goes to a staging sibling directory that is renamed into place
(:func:`apc._atomic.atomic_dir`), so a crash never leaves a half-written corpus and only
an apc corpus is ever replaced; reading verifies counts and checksums and raises
:class:`~apc.errors.ApcInputError` on any mismatch.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from apc._atomic import atomic_dir
from apc.errors import ApcInputError, read_text

FORMAT = "apc-playlists"
FORMAT_VERSION = 1
FILES = ("playlists.parquet", "meta.parquet", "tracks.parquet", "artists.parquet")


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Compute the hex sha256 digest of a file.

    Parameters
    ----------
    path : Path
        File to hash.
    chunk : int, default 2**20
        Read size in bytes.

    Returns
    -------
    str
        Lower-case hexadecimal digest.
    """
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _to_arrow_table(df: pd.DataFrame) -> pa.Table:
    df = df.copy()
    for col in df.columns:
        if df[col].dtype == object:
            # Mixed python objects (e.g. tag lists, ids of mixed type) -> let arrow infer;
            # fall back to strings when it cannot.
            try:
                pa.array(df[col], from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                df[col] = df[col].map(lambda v: None if v is None else str(v))
    return pa.Table.from_pandas(df, preserve_index=False)


def save_playlists(pl, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write a corpus to a directory, atomically.

    Parameters
    ----------
    pl : Playlists
        Corpus to write.
    path : str or Path
        Target directory; missing or empty, or see ``overwrite``.
    overwrite : bool, default False
        Replace an existing apc corpus at ``path`` (a folder holding anything else is
        never replaced; see :func:`apc._atomic.check_out_dir`).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ApcInputError
        If ``path`` may not be replaced.
    """
    path = Path(path)
    with atomic_dir(path, kind="corpus", overwrite=overwrite) as tmp:
        write_corpus_files(pl, tmp)
    return path


def write_corpus_files(pl, folder: Path) -> None:
    """Write the parquet files and ``manifest.json`` of a corpus into an existing folder.

    The building block of :func:`save_playlists`, for callers that stage more files
    beside the corpus (audio clips) inside one :func:`apc._atomic.atomic_dir`.

    Parameters
    ----------
    pl : Playlists
        Corpus to write.
    folder : Path
        A folder being staged; its corpus files are overwritten.
    """
    tmp = Path(folder)
    lists = pa.LargeListArray.from_arrays(pa.array(pl.indptr), pa.array(pl.items))
    pq.write_table(pa.table({"items": lists}), tmp / "playlists.parquet")
    pq.write_table(_to_arrow_table(pl.meta), tmp / "meta.parquet")
    pq.write_table(_to_arrow_table(pl.tracks), tmp / "tracks.parquet")
    pq.write_table(_to_arrow_table(pl.artists), tmp / "artists.parquet")
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "counts": {
            "playlists": len(pl),
            "tracks": pl.n_tracks,
            "artists": pl.n_artists,
            "entries": pl.n_entries,
        },
        "files": {
            name: {"sha256": sha256_file(tmp / name), "bytes": (tmp / name).stat().st_size}
            for name in FILES
        },
        "info": pl.info,
    }
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))


def read_manifest(path: str | Path) -> dict:
    """Read and sanity-check ``manifest.json`` of a corpus directory.

    Parameters
    ----------
    path : str or Path
        Corpus directory.

    Returns
    -------
    dict
        The parsed manifest.

    Raises
    ------
    ApcInputError
        If the directory or manifest is missing, the JSON is malformed, the format is
        not ``apc-playlists`` or its version is newer than this apc supports.
    """
    path = Path(path)
    mpath = path / "manifest.json"
    if not path.is_dir():
        raise ApcInputError("no such corpus directory", file=str(path))
    if not mpath.exists():
        raise ApcInputError("not an apc corpus (manifest.json missing)", file=str(path))
    try:
        manifest = json.loads(read_text(mpath, what="corpus manifest"))
    except json.JSONDecodeError as e:
        raise ApcInputError(f"malformed JSON ({e.msg} at line {e.lineno})", file=str(mpath)) from e
    if manifest.get("format") != FORMAT:
        raise ApcInputError(f"expected format {FORMAT!r}", file=str(mpath), field="format")
    if manifest.get("format_version", 0) > FORMAT_VERSION:
        raise ApcInputError(
            f"format version {manifest['format_version']} is newer than this apc "
            f"({FORMAT_VERSION}); upgrade apc",
            file=str(mpath),
            field="format_version",
        )
    return manifest


def read_corpus(path: str | Path, *, verify: bool = True) -> dict:
    """Read the parts of a corpus directory written by :func:`save_playlists`.

    :meth:`Playlists.load <apc.data.playlists.Playlists.load>` builds the corpus from
    them (this module never imports the container, which imports it).

    Parameters
    ----------
    path : str or Path
        Corpus directory.
    verify : bool, default True
        Check the sha256 of every file against the manifest (sizes and counts are
        always checked).

    Returns
    -------
    dict
        The keyword arguments of :class:`~apc.data.playlists.Playlists`: ``indptr``,
        ``items``, ``tracks``, ``artists``, ``meta`` and ``info``.

    Raises
    ------
    ApcInputError
        If a file is missing, truncated, corrupted or unreadable, or the counts in the
        manifest do not match the files.
    """
    path = Path(path)
    manifest = read_manifest(path)
    for name in FILES:
        fpath = path / name
        if not fpath.exists():
            raise ApcInputError("file missing from corpus", file=str(fpath))
        expected = manifest["files"].get(name, {})
        if fpath.stat().st_size != expected.get("bytes"):
            raise ApcInputError(
                f"size {fpath.stat().st_size} != manifest {expected.get('bytes')} "
                "(truncated or modified)",
                file=str(fpath),
            )
        if verify and sha256_file(fpath) != expected.get("sha256"):
            raise ApcInputError("checksum mismatch (corrupted or modified)", file=str(fpath))
    tables = {}
    for name in ("playlists.parquet", "meta.parquet", "tracks.parquet", "artists.parquet"):
        try:
            tables[name] = pq.read_table(path / name)
        except (pa.ArrowException, OSError) as e:
            # arrow's messages span lines; the CLI prints one
            why = " ".join(str(e).split())
            raise ApcInputError(f"unreadable parquet ({why})", file=str(path / name)) from e
    try:
        lists = tables["playlists.parquet"].column("items").combine_chunks()
        meta = tables["meta.parquet"].to_pandas()
        tracks = tables["tracks.parquet"].to_pandas()
        artists = tables["artists.parquet"].to_pandas()
    except (pa.ArrowException, KeyError) as e:
        raise ApcInputError(f"unexpected parquet contents ({e})", file=str(path)) from e
    indptr = np.asarray(lists.offsets, dtype=np.int64)
    indptr = indptr - indptr[0]
    items = np.asarray(lists.flatten(), dtype=np.int32)
    if "artist" in tracks.columns:
        tracks["artist"] = tracks["artist"].astype(np.int32)
    counts = manifest["counts"]
    got = {"playlists": len(indptr) - 1, "tracks": len(tracks), "artists": len(artists),
           "entries": len(items)}
    for key, value in got.items():
        if counts.get(key) != value:
            raise ApcInputError(
                f"{key}: manifest says {counts.get(key)}, files hold {value}",
                file=str(path / "manifest.json"),
                field=f"counts.{key}",
            )
    info = dict(manifest.get("info", {}))
    root = info.get("audio_root")
    if isinstance(root, str) and not Path(root).is_absolute():
        # a relative audio root is relative to the corpus folder, not to the caller's cwd
        info["audio_root"] = str((path / root).resolve())
    return {"indptr": indptr, "items": items, "tracks": tracks, "artists": artists,
            "meta": meta, "info": info}
