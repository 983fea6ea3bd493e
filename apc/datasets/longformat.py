"""Long-format playlist/session dumps (CSV, TSV, optionally gzipped, or parquet).

One row per (playlist, track): a playlist (or session) id column, a track id column and,
where present, a position or timestamp column (the order inside a playlist; without
either, file order), an artist, a title and a user column. Files are read in chunks
(pandas ``chunksize`` over a streamed, possibly gzipped text file; pyarrow record
batches for parquet) and each chunk is reduced at once to integer codes, so memory
holds the corpus (about 20 bytes per row) and one chunk, never the whole table as
Python strings.

Presets
-------
``8tracks``
    The 8tracks playlist dumps of the session-based recommendation literature
    (Jannach & Ludewig 2017; the session-rec framework of Ludewig et al.). Assumed
    layout: tab-separated with a header, in either of two spellings — session-rec's
    ``SessionId, ItemId, Time[, ArtistId][, UserId]`` or the plain
    ``playlist_id, track_id, position[, artist][, title][, user]`` — whichever the
    header has; ``*_col`` options override.
``aotm-bigrams``
    McFee & Lanckriet's AotM song bigrams with MSD ids: two columns
    ``msd_track_id_a, msd_track_id_b``, no header, consecutive pairs in playlist order.
    ``mode="segments"`` (default) chains a row into the previous one when its first
    track is the previous row's second, giving contiguous playlist segments;
    ``mode="pairs"`` makes each row a two-track playlist.

``tags_path`` adds ``tracks["tags"]`` from a tagtraum genre file (``msd_track_id
<TAB> majority genre [<TAB> minority genre]``, ``#`` comments), an empty list where a
track has no label; the coverage is reported.

References
----------
D. Jannach and M. Ludewig, "When recurrent neural networks meet the neighborhood for
session-based recommendation", RecSys 2017.
B. McFee and G. Lanckriet, "The natural language of playlists", ISMIR 2011.
H. Schreiber, "Improving genre annotations for the Million Song Dataset", ISMIR 2015.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from apc.data.playlists import Playlists
from apc.datasets._io import TextSource, decode_error, require_path
from apc.errors import ApcInputError

#: Column roles of the ``8tracks`` preset: candidate names, first one in the header wins.
EIGHTTRACKS_COLUMNS: dict[str, tuple[str, ...]] = {
    "playlist_col": ("SessionId", "playlist_id", "PlaylistId", "session_id"),
    "track_col": ("ItemId", "track_id", "TrackId", "item_id"),
    "position_col": ("position", "Position", "pos"),
    "timestamp_col": ("Time", "timestamp", "Timestamp"),
    "artist_col": ("ArtistId", "artist", "artist_id", "Artist"),
    "title_col": ("title", "Title", "TrackName", "track_name"),
    "user_col": ("UserId", "user", "user_id"),
}

#: Preset name -> fixed options (``columns`` = role aliases resolved against the header).
PRESETS: dict[str, dict[str, Any]] = {
    "8tracks": {"sep": "\t", "header": True, "columns": EIGHTTRACKS_COLUMNS},
    "aotm-bigrams": {"sep": ",", "header": False},
}

_ROLES = ("playlist_col", "track_col", "position_col", "timestamp_col", "artist_col",
          "title_col", "user_col")


def _is_parquet(path: Path) -> bool:
    if path.name.lower().endswith((".parquet", ".pq")):
        return True
    with open(path, "rb") as f:
        return f.read(4) == b"PAR1"


def _sep_for(path: Path, sep: str | None) -> str:
    if sep is not None:
        return sep
    name = path.name.lower().removesuffix(".gz")
    return "\t" if name.endswith((".tsv", ".tab", ".txt", ".cls")) else ","


def _chunks(path: Path, *, sep: str | None, header: bool, chunksize: int,
            progress: bool) -> Iterator[pd.DataFrame]:
    """DataFrames of at most ``chunksize`` rows (CSV cells as strings, '' when empty)."""
    from apc.progress import task

    if _is_parquet(path):
        import pyarrow.parquet as pq

        try:
            f = pq.ParquetFile(path)
        except Exception as e:  # pyarrow raises several types for a corrupt file
            raise ApcInputError(f"not a readable parquet file ({e})", file=str(path)) from None
        if not progress:
            for batch in f.iter_batches(batch_size=chunksize):
                yield batch.to_pandas()
            return
        with task(f"reading {path.name}", total=f.metadata.num_rows) as bar:
            for batch in f.iter_batches(batch_size=chunksize):
                yield batch.to_pandas()
                bar.advance(batch.num_rows)
        return
    with TextSource(path, f"reading {path.name}", progress=progress) as src:
        try:
            reader = pd.read_csv(src.text, sep=_sep_for(path, sep), chunksize=chunksize,
                                 dtype=str, keep_default_na=False, na_values=[],
                                 header=0 if header else None)
            for chunk in reader:
                yield chunk
                src.tick()
        except pd.errors.EmptyDataError:
            return
        except pd.errors.ParserError as e:
            raise ApcInputError(f"malformed table ({e})", file=str(path)) from None
        except (UnicodeDecodeError, gzip.BadGzipFile, EOFError) as e:
            raise decode_error(path, e) from None


class _Codes:
    """External ids -> contiguous codes in order of first appearance, chunk by chunk."""

    def __init__(self) -> None:
        self.index: dict[Any, int] = {}

    def __len__(self) -> int:
        return len(self.index)

    def encode(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Encode one chunk of ids.

        Returns ``(codes, first)``: the int64 code of each value, and the row of the
        first occurrence of each code that is new in this chunk (in code order).
        """
        inv, uniq = pd.factorize(values, sort=False)
        n_before = len(self.index)
        index = self.index
        mapped = np.fromiter((index.setdefault(u, len(index)) for u in uniq.tolist()),
                             dtype=np.int64, count=len(uniq))
        codes = mapped[inv]
        new = np.flatnonzero(mapped >= n_before)  # uniq rows that were new, in code order
        _, first = np.unique(inv, return_index=True)
        return codes, first[new]

    def keys(self) -> np.ndarray:
        out = np.empty(len(self.index), dtype=object)
        out[:] = list(self.index)
        return out


def _missing_mask(values: np.ndarray) -> np.ndarray:
    s = pd.Series(values, dtype=object)
    return (s.isna() | (s.astype(str).str.strip() == "")).to_numpy()


def _as_int_ids(keys: np.ndarray) -> np.ndarray:
    """Integer ids when every key is an integer written plainly (``"17"``), else ``keys``."""
    if not len(keys):
        return keys.astype(np.int64)
    num = pd.to_numeric(pd.Series(keys, dtype=object), errors="coerce")
    if num.isna().any() or (num % 1 != 0).any() or num.abs().max() >= 2**62:
        return keys
    ints = num.to_numpy(dtype=np.int64)
    if (pd.Series(ints).astype(str).to_numpy() != pd.Series(keys).astype(str).to_numpy()).any():
        return keys  # "007" or "+3": keep the text, it is the identity
    return ints


def _order_values(values: np.ndarray, col: str, path: Path, lines: np.ndarray,
                  unit: str = "line") -> np.ndarray:
    """float64 ordering key from a position/timestamp column: numbers, or dates as seconds."""
    s = pd.Series(values, dtype=object)
    num = pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64, copy=True)
    bad = np.flatnonzero(np.isnan(num))
    if len(bad):
        dates = pd.to_datetime(s.iloc[bad], errors="coerce", utc=True, format="ISO8601")
        ok = dates.notna().to_numpy()
        if not ok.all():
            j = int(bad[~ok][0])
            raise ApcInputError(f"expected a number or a date, got {values[j]!r}",
                                file=str(path), record=f"{unit} {int(lines[j])}", field=col)
        epoch = pd.Timestamp(0, tz="UTC")
        num[bad] = (dates - epoch).dt.total_seconds().to_numpy(dtype=np.float64)
    return num


def read_tags(path: str | Path) -> dict[str, list[str]]:
    """Read track genre labels from a tagtraum ``.cls`` file (optionally gzipped).

    Parameters
    ----------
    path : path
        Tab-separated ``track_id <TAB> majority genre [<TAB> minority genre]``;
        blank lines and lines starting with ``#`` are skipped.

    Returns
    -------
    dict[str, list[str]]
        Track id -> its genre labels, majority first.

    Raises
    ------
    ApcInputError
        Missing file, or a line without a tab (naming the line).
    """
    path = require_path(path)
    out: dict[str, list[str]] = {}
    with TextSource(path, progress=False) as src:
        try:
            for n, line in enumerate(src.text, 1):
                if not line.strip() or line.startswith("#"):
                    continue
                parts = line.rstrip("\r\n").split("\t")
                labels = [p.strip() for p in parts[1:] if p.strip()]
                if not parts[0].strip() or not labels:
                    raise ApcInputError("expected 'track_id<TAB>genre[<TAB>genre]'",
                                        file=str(path), record=f"line {n}", field="genre")
                out[parts[0].strip()] = labels
        except (UnicodeDecodeError, gzip.BadGzipFile, EOFError) as e:
            raise decode_error(path, e) from None
    return out


def read_longformat(
    path: str | Path,
    *,
    playlist_col: str | None = None,
    track_col: str | None = None,
    position_col: str | None = None,
    timestamp_col: str | None = None,
    artist_col: str | None = None,
    title_col: str | None = None,
    user_col: str | None = None,
    sep: str | None = None,
    header: bool | None = None,
    preset: str | None = None,
    mode: str = "segments",
    tags_path: str | Path | None = None,
    chunksize: int = 1_000_000,
    progress: bool = True,
) -> Playlists:
    """Read a long-format table (or an AotM bigram file) into a corpus.

    Parameters
    ----------
    path : path
        CSV / TSV (gzip recognised by content) or parquet (``.parquet`` or ``PAR1``).
    playlist_col, track_col : str, optional
        Columns of the playlist (session) id and the track id (default
        ``"playlist_id"`` and ``"track_id"``, or the preset's).
    position_col, timestamp_col : str, optional
        Order inside a playlist: position first, else timestamp (numbers, or ISO dates
        read as seconds), else file order. ``meta["timestamp"]`` is a playlist's
        earliest timestamp.
    artist_col, title_col, user_col : str, optional
        Track artist (name or id; empty -> unknown), track title and playlist user.
    sep : str, optional
        Field separator (default: tab for ``.tsv``/``.tab``/``.txt``, else comma).
    header : bool, optional
        Whether the first line names the columns (default True; False for
        ``aotm-bigrams``). Without a header, columns are named ``0, 1, ...``.
    preset : {"8tracks", "aotm-bigrams"}, optional
        Layout presets (see the module docs); explicit options override them.
    mode : {"segments", "pairs"}
        For ``aotm-bigrams`` only: chained segments or one playlist per pair.
    tags_path : path, optional
        tagtraum genre labels -> ``tracks["tags"]`` (see :func:`read_tags`).
    chunksize : int
        Rows read at a time.
    progress : bool
        Show a progress bar (bytes read, or rows for parquet).

    Returns
    -------
    Playlists
        Playlists in order of their first row; ``meta``: ``playlist_id`` (int64 where
        every id is a plain integer, else the text), ``timestamp``, ``user`` where
        given; ``tracks``: ``track_id``, ``artist``, ``title``, ``tags`` where given.
        ``info["report"]``: ``rows``, ``rows_without_id_dropped``; with tags
        ``tracks_with_tags`` and ``tracks_without_tags``; for ``aotm-bigrams``
        ``pairs`` and ``playlists``.

    Raises
    ------
    ApcInputError
        Missing file, unknown preset or mode, a missing column (named, with the columns
        found), a position/timestamp that is neither a number nor a date (naming the
        line), or a malformed file.

    Examples
    --------
    >>> pl = read_longformat("sessions.csv", playlist_col="session", track_col="item",
    ...                      timestamp_col="ts")  # doctest: +SKIP
    >>> pl = read_longformat("aotm-bigrams.csv.gz", preset="aotm-bigrams")  # doctest: +SKIP
    """
    path = require_path(path)
    if preset is not None and preset not in PRESETS:
        raise ApcInputError(f"unknown preset {preset!r}; known: {', '.join(PRESETS)}",
                            field="preset")
    if not isinstance(chunksize, int) or chunksize < 1:
        raise ApcInputError(f"chunksize must be an integer >= 1, got {chunksize!r}",
                            field="chunksize")
    fixed = PRESETS.get(preset, {})
    sep = sep if sep is not None else fixed.get("sep")
    header = header if header is not None else fixed.get("header", True)
    if preset == "aotm-bigrams":
        pl = _read_bigrams(path, mode=mode, sep=sep, header=header, chunksize=chunksize,
                           progress=progress)
    else:
        if mode != "segments":
            raise ApcInputError("mode applies to preset 'aotm-bigrams' only", field="mode")
        given = {"playlist_col": playlist_col, "track_col": track_col,
                 "position_col": position_col, "timestamp_col": timestamp_col,
                 "artist_col": artist_col, "title_col": title_col, "user_col": user_col}
        adapter = preset or ("parquet" if _is_parquet(path) else "csv")
        pl = _read_table(path, given, fixed.get("columns"), sep, header, chunksize, progress,
                         adapter)
    if tags_path is not None:
        pl = _with_tags(pl, tags_path)
    return pl


def _resolve(columns: list[Any], given: dict[str, str | None],
             aliases: dict[str, tuple[str, ...]] | None, path: Path) -> dict[str, Any]:
    """Role -> column name; required roles must exist, preset aliases are optional."""
    found = {str(c): c for c in columns}
    roles: dict[str, Any] = {}
    for role in _ROLES:
        name = given.get(role)
        if name is None and aliases is not None:
            name = next((a for a in aliases.get(role, ()) if a in found), None)
            if name is None and role in ("playlist_col", "track_col"):
                raise ApcInputError(
                    f"no {role.removesuffix('_col')} column: expected one of "
                    f"{', '.join(aliases[role])}; columns are {', '.join(found)}",
                    file=str(path), field=aliases[role][0])
        if name is None and role in ("playlist_col", "track_col"):
            name = "playlist_id" if role == "playlist_col" else "track_id"
        if name is None:
            continue
        if str(name) not in found:
            raise ApcInputError(f"no column {name!r}; columns are {', '.join(found)}",
                                file=str(path), field=str(name))
        roles[role] = found[str(name)]
    return roles


def _read_table(path: Path, given: dict[str, str | None],
                aliases: dict[str, tuple[str, ...]] | None, sep: str | None, header: bool,
                chunksize: int, progress: bool, adapter: str) -> Playlists:
    playlists, tracks, artists = _Codes(), _Codes(), _Codes()
    parts: dict[str, list[np.ndarray]] = {k: [] for k in
                                          ("p", "t", "order", "ts", "artist", "title", "user")}
    roles: dict[str, Any] | None = None
    rows = dropped = 0
    parquet = _is_parquet(path)
    unit = "row" if parquet else "line"
    line0 = 1 if parquet or not header else 2  # file line (parquet: row) of a chunk's first row
    for chunk in _chunks(path, sep=sep, header=header, chunksize=chunksize, progress=progress):
        if roles is None:
            roles = _resolve(list(chunk.columns), given, aliases, path)
        n = len(chunk)
        rows += n
        pid = chunk[roles["playlist_col"]].to_numpy(dtype=object)
        tid = chunk[roles["track_col"]].to_numpy(dtype=object)
        keep = np.flatnonzero(~(_missing_mask(pid) | _missing_mask(tid)))
        dropped += n - len(keep)
        lines = line0 + keep
        line0 += n

        def col(role: str, chunk=chunk, keep=keep, roles=roles) -> np.ndarray:
            return chunk[roles[role]].to_numpy(dtype=object)[keep]

        for role, key in (("position_col", "order"), ("timestamp_col", "ts")):
            if role in roles:
                parts[key].append(_order_values(col(role), str(roles[role]), path, lines, unit))
        pcodes, pfirst = playlists.encode(pid[keep])
        tcodes, tfirst = tracks.encode(tid[keep])
        parts["p"].append(pcodes)
        parts["t"].append(tcodes.astype(np.int32))
        if "artist_col" in roles:
            a = col("artist_col")[tfirst]
            known = ~_missing_mask(a)
            codes = np.full(len(a), -1, dtype=np.int64)
            if known.any():
                codes[known] = artists.encode(a[known])[0]
            parts["artist"].append(codes)
        for role, key, first in (("title_col", "title", tfirst), ("user_col", "user", pfirst)):
            if role in roles:
                v = col(role)[first]
                v[_missing_mask(v)] = None
                parts[key].append(v)
    if roles is None:
        raise ApcInputError("empty file: no header and no rows", file=str(path))

    def cat(key: str, dtype) -> np.ndarray:
        return np.concatenate(parts[key]) if parts[key] else np.empty(0, dtype)

    pcodes, tcodes = cat("p", np.int64), cat("t", np.int32)
    order = cat("order", np.float64) if "position_col" in roles else (
        cat("ts", np.float64) if "timestamp_col" in roles else None)
    # playlists by first appearance (their codes); inside, by position / time / file order
    perm = np.argsort(pcodes, kind="stable") if order is None else np.lexsort((order, pcodes))
    lengths = np.bincount(pcodes, minlength=len(playlists)).astype(np.int64)
    indptr = np.zeros(len(playlists) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    track_frame = pd.DataFrame({"track_id": pd.Series(tracks.keys(), dtype=object)})
    if "artist_col" in roles:
        track_frame["artist"] = cat("artist", np.int64).astype(np.int32)
    if "title_col" in roles:
        track_frame["title"] = pd.Series(cat("title", object), dtype=object)
    meta = pd.DataFrame({"playlist_id": _as_int_ids(playlists.keys())})
    if "timestamp_col" in roles:
        ts = cat("ts", np.float64)[perm]
        first = np.minimum.reduceat(ts, indptr[:-1]) if len(ts) else np.empty(0)
        integral = bool(np.all(first == np.floor(first)))
        meta["timestamp"] = first.astype(np.int64) if integral else first
    if "user_col" in roles:
        meta["user"] = pd.Series(cat("user", object), dtype=object)
    report = {"rows": int(rows)}
    if dropped:
        report["rows_without_id_dropped"] = int(dropped)
    names = artists.keys()
    art = pd.DataFrame({"artist_id": pd.Series(names, dtype=object),
                        "name": pd.Series(names, dtype=object)})
    info = {"dataset": path.name.split(".")[0] if adapter in ("csv", "parquet") else adapter,
            "adapter": adapter, "source": str(path),
            "columns": {k.removesuffix("_col"): str(v) for k, v in roles.items()},
            "report": report}
    return Playlists(indptr, tcodes[perm], track_frame, art, meta, info)


def _with_tags(pl: Playlists, tags_path: str | Path) -> Playlists:
    tags = read_tags(tags_path)
    col = [list(tags.get(str(t), ())) for t in pl.tracks["track_id"].tolist()]
    tracks = pl.tracks.assign(tags=pd.Series(col, dtype=object))
    covered = int(sum(bool(t) for t in col))
    report = dict(pl.info.get("report", {}), tracks_with_tags=covered,
                  tracks_without_tags=len(col) - covered)
    return Playlists(pl.indptr, pl.items, tracks, pl.artists, pl.meta,
                     dict(pl.info, report=report, tags=str(tags_path)))


def _read_bigrams(path: Path, *, mode: str, sep: str | None, header: bool, chunksize: int,
                  progress: bool) -> Playlists:
    if mode not in ("segments", "pairs"):
        raise ApcInputError(f"mode must be 'segments' or 'pairs', got {mode!r}", field="mode")
    codes = _Codes()
    a_parts, b_parts = [], []
    dropped = 0
    for chunk in _chunks(path, sep=sep or ",", header=header, chunksize=chunksize,
                         progress=progress):
        if chunk.shape[1] != 2:
            raise ApcInputError(f"expected 2 columns (msd_track_id_a, msd_track_id_b), got "
                                f"{chunk.shape[1]}", file=str(path))
        a = chunk.iloc[:, 0].to_numpy(dtype=object)
        b = chunk.iloc[:, 1].to_numpy(dtype=object)
        ok = ~(_missing_mask(a) | _missing_mask(b))
        dropped += int((~ok).sum())
        # interleaved a0 b0 a1 b1 ...: first appearance order = playlist order
        both = np.empty(2 * int(ok.sum()), dtype=object)
        both[0::2], both[1::2] = a[ok], b[ok]
        c = codes.encode(both)[0].astype(np.int32)
        a_parts.append(c[0::2])
        b_parts.append(c[1::2])
    a = np.concatenate(a_parts) if a_parts else np.empty(0, np.int32)
    b = np.concatenate(b_parts) if b_parts else np.empty(0, np.int32)
    n = len(a)
    if mode == "pairs":
        seq = np.empty(2 * n, dtype=np.int32)
        seq[0::2], seq[1::2] = a, b
        indptr = np.arange(0, 2 * n + 1, 2, dtype=np.int64)
    else:
        # row i continues row i-1 when its first track is the previous row's second
        cont = np.zeros(n, dtype=bool)
        cont[1:] = a[1:] == b[:-1]
        starts = np.flatnonzero(~cont)
        seg = np.cumsum(~cont) - 1  # segment of each row
        lengths = np.bincount(seg, minlength=len(starts)) + 1  # a[start] + one b per row
        indptr = np.zeros(len(starts) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        seq = np.empty(indptr[-1], dtype=np.int32)
        seq[indptr[:-1]] = a[starts]
        seq[indptr[seg] + 1 + (np.arange(n) - starts[seg])] = b
    tracks = pd.DataFrame({"track_id": pd.Series(codes.keys(), dtype=object)})
    meta = pd.DataFrame({"playlist_id": np.arange(len(indptr) - 1, dtype=np.int64)})
    report = {"pairs": n, "playlists": len(indptr) - 1}
    if dropped:
        report["rows_without_id_dropped"] = dropped
    info = {"dataset": "aotm-bigrams", "adapter": "aotm-bigrams", "source": str(path),
            "mode": mode, "report": report}
    return Playlists(indptr, seq, tracks,
                     pd.DataFrame({"artist_id": pd.Series([], dtype=object),
                                   "name": pd.Series([], dtype=object)}), meta, info)
