"""Long-format playlist/session dumps (CSV, TSV, optionally gzipped, or parquet).

One row per (playlist, track): a playlist (or session) id column, a track id column and,
where present, a position or timestamp column (the order inside a playlist; without
either, file order), an artist and a title column. Files are read in chunks (pandas
``chunksize`` / pyarrow row groups), so only the corpus itself is held in memory.

Presets
-------
``8tracks``
    The 8tracks playlist dumps used in the session-based recommendation literature
    (e.g. the session-rec framework of Ludewig & Jannach): tab-separated
    ``playlist_id, track_id, position, artist, title`` (assumed layout; pass
    ``*_col`` options for other dumps).
``aotm-bigrams``
    McFee & Lanckriet's AotM song bigrams with MSD ids: two columns
    ``msd_track_id_a, msd_track_id_b``, no header, consecutive pairs in playlist order.
    ``mode="segments"`` (default) chains a row into the previous one when its first
    track is the previous row's second, giving contiguous playlist segments;
    ``mode="pairs"`` makes each row a two-track playlist.

``tags_path`` adds ``tracks["tags"]`` from a tagtraum genre file (``msd_track_id
<TAB> majority genre [<TAB> minority genre]``, ``#`` comments), an empty list where a
track has no label; the coverage is reported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from apc.data.playlists import Playlists
from apc.data.vocab import Vocabulary
from apc.errors import ApcInputError

PRESETS: dict[str, dict[str, Any]] = {
    "8tracks": {"playlist_col": "playlist_id", "track_col": "track_id",
                "position_col": "position", "artist_col": "artist", "title_col": "title",
                "sep": "\t"},
    "aotm-bigrams": {"sep": ",", "header": False},
}


def _sep_for(path: Path, sep: str | None) -> str:
    if sep is not None:
        return sep
    name = path.name.lower().removesuffix(".gz")
    return "\t" if name.endswith((".tsv", ".txt", ".cls")) else ","


def _chunks(path: Path, *, sep: str | None, header: bool, chunksize: int, usecols=None):
    if path.name.lower().endswith(".parquet"):
        import pyarrow.parquet as pq

        f = pq.ParquetFile(path)
        for batch in f.iter_batches(batch_size=chunksize, columns=usecols):
            yield batch.to_pandas()
        return
    kw = dict(sep=_sep_for(path, sep), chunksize=chunksize, dtype=str, keep_default_na=False,
              header=0 if header else None, comment=None)
    try:
        yield from pd.read_csv(path, **kw)
    except pd.errors.ParserError as e:
        raise ApcInputError(f"malformed table ({e})", file=str(path)) from None
    except UnicodeDecodeError as e:
        raise ApcInputError(f"not UTF-8 text ({e.reason})", file=str(path)) from None


def read_tags(path: str | Path) -> dict[str, list[str]]:
    """Track id -> genre labels from a tagtraum ``.cls`` file."""
    path = Path(path)
    if not path.exists():
        raise ApcInputError("no such tag file", file=str(path))
    out: dict[str, list[str]] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.rstrip("\n").split("\t")
            out[parts[0]] = [p for p in parts[1:] if p]
    return out


def read_longformat(
    path: str | Path,
    *,
    playlist_col: str = "playlist_id",
    track_col: str = "track_id",
    position_col: str | None = None,
    timestamp_col: str | None = None,
    artist_col: str | None = None,
    title_col: str | None = None,
    sep: str | None = None,
    header: bool = True,
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
        CSV / TSV (``.gz`` allowed) or parquet.
    playlist_col, track_col : str
        Column names of the playlist (session) id and the track id.
    position_col, timestamp_col : str, optional
        Order inside a playlist (position first, else timestamp, else file order).
    artist_col, title_col : str, optional
        Track metadata columns.
    sep : str, optional
        Field separator (default: tab for ``.tsv``/``.txt``, else comma).
    header : bool
        Whether the first line names the columns.
    preset : {"8tracks", "aotm-bigrams"}, optional
        Column mapping presets (see the module docs).
    mode : {"segments", "pairs"}
        For ``aotm-bigrams`` only.
    tags_path : path, optional
        tagtraum genre labels -> ``tracks["tags"]``.
    chunksize : int
        Rows read at a time.
    progress : bool
        Show a progress spinner.
    """
    path = Path(path)
    if not path.exists():
        raise ApcInputError("no such file", file=str(path))
    if preset is not None and preset not in PRESETS:
        raise ApcInputError(f"unknown preset {preset!r}; known: {', '.join(PRESETS)}",
                            field="preset")
    if preset == "aotm-bigrams":
        pl = _read_bigrams(path, mode=mode, chunksize=chunksize)
    else:
        if preset is not None:
            opts = dict(PRESETS[preset])
            playlist_col, track_col = opts["playlist_col"], opts["track_col"]
            position_col = position_col or opts.get("position_col")
            artist_col = artist_col or opts.get("artist_col")
            title_col = title_col or opts.get("title_col")
            sep = sep or opts.get("sep")
        pl = _read_table(path, playlist_col, track_col, position_col, timestamp_col, artist_col,
                         title_col, sep, header, chunksize, progress, preset or "csv")
    if tags_path is not None:
        tags = read_tags(tags_path)
        ids = pl.tracks["track_id"].astype(str)
        col = [tags.get(t, []) for t in ids]
        tracks = pl.tracks.assign(tags=pd.Series(col, dtype=object))
        covered = int(sum(bool(t) for t in col))
        report = dict(pl.info.get("report", {}), tracks_with_tags=covered,
                      tracks_without_tags=len(col) - covered)
        pl = Playlists(pl.indptr, pl.items, tracks, pl.artists, pl.meta,
                       dict(pl.info, report=report, tags=str(tags_path)))
    return pl


def _read_table(path, playlist_col, track_col, position_col, timestamp_col, artist_col,
                title_col, sep, header, chunksize, progress, adapter) -> Playlists:
    from apc.progress import task

    wanted = [c for c in (playlist_col, track_col, position_col, timestamp_col, artist_col,
                          title_col) if c]
    frames = []
    with task(f"reading {path.name}") as bar:
        for chunk in _chunks(path, sep=sep, header=header, chunksize=chunksize):
            missing = [c for c in wanted if c not in chunk.columns]
            if missing:
                raise ApcInputError(f"no column {missing[0]!r}; columns are "
                                    f"{', '.join(map(str, chunk.columns))}", file=str(path),
                                    field=missing[0])
            frames.append(chunk[wanted])
            if progress:
                bar.advance(len(chunk))
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=wanted)
    report: dict[str, int] = {}
    bad = (df[track_col].astype(str).str.len() == 0) | (df[playlist_col].astype(str).str.len() == 0)
    if bad.any():
        report["rows_without_id_dropped"] = int(bad.sum())
        df = df[~bad]
    df = df.reset_index(drop=True)
    df["_row"] = np.arange(len(df))
    order_cols = [playlist_col]
    for col in (position_col, timestamp_col):
        if col:
            num = pd.to_numeric(df[col], errors="coerce")
            if num.isna().any():
                raise ApcInputError(f"non-numeric value {df[col][num.isna()].iloc[0]!r}",
                                    file=str(path), record=f"row {int(num.isna().idxmax()) + 2}",
                                    field=col)
            df[col] = num
            order_cols.append(col)
            break
    # playlists in order of first appearance, rows inside by position/timestamp/file order
    first = df.groupby(playlist_col, sort=False)["_row"].transform("min")
    df = df.assign(_first=first).sort_values(["_first", *order_cols[1:], "_row"], kind="stable")
    pids, p_idx = np.unique(df["_first"].to_numpy(), return_inverse=True)
    lengths = np.bincount(p_idx, minlength=len(pids))
    indptr = np.zeros(len(pids) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    track_codes, track_ids = pd.factorize(df[track_col], sort=False)
    tracks = pd.DataFrame({"track_id": pd.Series(track_ids.astype(object), dtype=object)})
    artists = pd.DataFrame({"artist_id": pd.Series([], dtype=object), "name": pd.Series([], dtype=object)})
    first_row = pd.Series(np.arange(len(df))).groupby(track_codes).first().to_numpy()
    if artist_col:
        a_codes, a_names = pd.factorize(df[artist_col].replace("", None))
        tracks["artist"] = a_codes[first_row].astype(np.int32)
        artists = pd.DataFrame({"artist_id": pd.Series(a_names.astype(object), dtype=object),
                                "name": pd.Series(a_names.astype(object), dtype=object)})
    if title_col:
        tracks["title"] = df[title_col].to_numpy(dtype=object)[first_row]
    meta = pd.DataFrame({"playlist_id": df[playlist_col].to_numpy(dtype=object)[
        np.searchsorted(p_idx, np.arange(len(pids)))] if len(df) else []})
    if timestamp_col:
        meta["timestamp"] = df.groupby(p_idx)[timestamp_col].min().to_numpy()
    info = {"dataset": path.stem, "adapter": adapter, "source": str(path), "report": report}
    return Playlists(indptr, track_codes.astype(np.int32), tracks, artists, meta, info)


def _read_bigrams(path: Path, *, mode: str, chunksize: int) -> Playlists:
    if mode not in ("segments", "pairs"):
        raise ApcInputError(f"mode must be 'segments' or 'pairs', got {mode!r}", field="mode")
    frames = []
    for chunk in _chunks(path, sep=",", header=False, chunksize=chunksize):
        if chunk.shape[1] != 2:
            raise ApcInputError(f"expected 2 columns (msd_track_id_a, msd_track_id_b), got "
                                f"{chunk.shape[1]}", file=str(path))
        frames.append(chunk)
    df = pd.concat(frames, ignore_index=True)
    a, b = df.iloc[:, 0].to_numpy(dtype=object), df.iloc[:, 1].to_numpy(dtype=object)
    n = len(a)
    if mode == "pairs":
        seq = np.empty(2 * n, dtype=object)
        seq[0::2], seq[1::2] = a, b
        indptr = np.arange(0, 2 * n + 1, 2, dtype=np.int64)
    else:
        # row i continues row i-1 when its first track is the previous row's second
        cont = np.zeros(n, dtype=bool)
        cont[1:] = a[1:] == b[:-1]
        starts = np.flatnonzero(~cont)
        # a segment = a[start] followed by the b of each of its rows
        seg = np.cumsum(~cont) - 1
        lengths = np.bincount(seg, minlength=len(starts)) + 1
        indptr = np.zeros(len(starts) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        seq = np.empty(indptr[-1], dtype=object)
        seq[indptr[:-1]] = a[starts]
        pos_in_seg = np.arange(n) - starts[seg]
        seq[indptr[seg] + 1 + pos_in_seg] = b
    codes, ids = pd.factorize(pd.Series(seq), sort=False)
    vocab = Vocabulary(np.asarray(ids, dtype=object))
    tracks = pd.DataFrame({"track_id": pd.Series(vocab.ids, dtype=object)})
    meta = pd.DataFrame({"playlist_id": np.arange(len(indptr) - 1, dtype=np.int64)})
    info = {"dataset": "aotm-bigrams", "adapter": "aotm-bigrams", "source": str(path),
            "mode": mode, "report": {"pairs": n, "playlists": len(indptr) - 1}}
    return Playlists(indptr, codes.astype(np.int32), tracks,
                     pd.DataFrame({"artist_id": pd.Series([], dtype=object)}), meta, info)
