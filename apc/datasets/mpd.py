"""Spotify Million Playlist Dataset (MPD) slices and the RecSys Challenge 2018 challenge set.

An MPD slice ``mpd.slice.<start>-<end>.json`` is one JSON object: ``info`` and
``playlists[]``, each playlist with ``pid``, ``name``, ``collaborative``,
``modified_at``, ``num_followers``, ``num_edits``, ... and ``tracks[]`` of ``pos``,
``track_uri``, ``track_name``, ``artist_uri``, ``artist_name``, ``album_uri``,
``album_name``, ``duration_ms``. :func:`read_mpd` streams a folder of slices one file at
a time into a :class:`~apc.data.Playlists` (track URIs are the track ids, artist URIs
the artist ids). Reduced records are accepted and what was filled in is reported:

* no ``pos``: the order in ``tracks[]`` is the position (``pos_from_order``);
* no ``artist_uri``: the artist is keyed by its name (``artist_keyed_by_name``);
* no artist at all: the track has artist ``-1`` (``artist_missing``);
* a playlist without tracks is kept and counted (``empty_playlists``), an empty slice
  file too (``empty_slices``).

A track record without ``track_uri``, a playlist without ``pid``, or malformed JSON is
an :class:`~apc.errors.ApcInputError` naming the file, the playlist and the field.

References
----------
C.-W. Chen, P. Lamere, M. Schedl and H. Zamani, "Recsys Challenge 2018: Automatic Music
Playlist Continuation", RecSys 2018. Licence: the MPD terms allow research and
non-commercial use only and forbid redistribution.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from apc.data.builder import PlaylistsBuilder
from apc.data.playlists import Playlists
from apc.errors import ApcInputError

_SLICE = re.compile(r"mpd\.slice\.(\d+)-(\d+)\.json$")
_META = ("name", "collaborative", "modified_at", "num_followers", "num_edits", "num_tracks",
         "num_albums", "num_artists", "duration_ms", "description")


def slice_files(path: str | Path) -> list[Path]:
    """The slice files of ``path`` (a folder or one file), sorted by slice start."""
    path = Path(path)
    if not path.exists():
        raise ApcInputError("no such file or directory", file=str(path))
    if path.is_file():
        return [path]
    files = [p for p in path.iterdir() if _SLICE.search(p.name)]
    if not files:
        files = sorted(path.glob("*.json"))
        if not files:
            raise ApcInputError("no mpd.slice.*.json files here", file=str(path))
        return files
    return sorted(files, key=lambda p: int(_SLICE.search(p.name).group(1)))


def _load_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise ApcInputError(f"malformed JSON at line {e.lineno} column {e.colno} ({e.msg})",
                            file=str(path)) from None
    except UnicodeDecodeError as e:
        raise ApcInputError(f"not UTF-8 text ({e.reason})", file=str(path)) from None


def read_mpd(path: str | Path, *, progress: bool = True, limit: int | None = None) -> Playlists:
    """Read MPD slice files into a corpus.

    Parameters
    ----------
    path : path
        A folder of ``mpd.slice.*.json`` files or one slice file.
    progress : bool
        Show a progress bar over the files.
    limit : int, optional
        Stop after this many playlists.

    Returns
    -------
    Playlists
        ``meta``: ``playlist_id`` (the pid), ``name``, ``collaborative``, ``timestamp``
        (``modified_at``), ``num_followers``, ``num_edits`` ...; ``tracks``: ``track_id``
        (URI), ``title``, ``artist``, ``album``, ``duration_ms``; ``info["report"]``:
        counts of what was filled in or dropped.

    Examples
    --------
    >>> pl = read_mpd("../shared/data/mpd-followers10")  # doctest: +SKIP
    """
    from apc.progress import progress as bar

    files = slice_files(path)
    b = PlaylistsBuilder()
    counts = b.counts
    iterator = bar(files, "reading MPD slices") if progress and len(files) > 1 else files
    done = False
    for file in iterator:
        if done:
            continue
        data = _load_json(file)
        playlists = data.get("playlists") if isinstance(data, dict) else None
        if playlists is None:
            raise ApcInputError("expected an object with a 'playlists' list", file=str(file),
                                field="playlists")
        if not playlists:
            counts["empty_slices"] += 1
        for i, p in enumerate(playlists):
            _add_playlist(b, p, file, i)
            if limit is not None and len(b) >= limit:
                done = True
                break
    info = {"dataset": "mpd", "adapter": "mpd", "source": str(path), "files": len(files)}
    pl = b.build(info)
    pl.info.setdefault("report", {})
    return _typed_meta(pl)


def _add_playlist(b: PlaylistsBuilder, p: Any, file: Path, i: int) -> None:
    if not isinstance(p, dict):
        raise ApcInputError("expected a playlist object", file=str(file), record=f"#{i}")
    if "pid" not in p:
        raise ApcInputError("missing field", file=str(file), record=f"#{i}", field="pid")
    pid = p["pid"]
    tracks = p.get("tracks")
    if tracks is None:
        tracks = []
        b.counts["tracks_field_missing"] += 1
    if not isinstance(tracks, list):
        raise ApcInputError("expected a list", file=str(file), record=f"pid {pid}", field="tracks")
    if not tracks:
        b.counts["empty_playlists"] += 1
    if tracks and any("pos" in t for t in tracks if isinstance(t, dict)):
        try:
            tracks = sorted(tracks, key=lambda t: t["pos"])
        except (KeyError, TypeError):
            raise ApcInputError("some tracks lack 'pos' or it is not a number", file=str(file),
                                record=f"pid {pid}", field="pos") from None
    elif tracks:
        b.counts["pos_from_order"] += len(tracks)
    uris, titles, albums, durations, artist_ids, artist_names = [], [], [], [], [], []
    for j, t in enumerate(tracks):
        if not isinstance(t, dict) or not t.get("track_uri"):
            raise ApcInputError(f"track {j} has no track_uri", file=str(file),
                                record=f"pid {pid}", field="track_uri")
        uris.append(t["track_uri"])
        titles.append(t.get("track_name"))
        albums.append(t.get("album_name"))
        durations.append(t.get("duration_ms"))
        a_uri, a_name = t.get("artist_uri"), t.get("artist_name")
        if not a_uri:
            b.counts["artist_keyed_by_name" if a_name else "artist_missing"] += 1
        artist_ids.append(a_uri or None)
        artist_names.append(a_name)
    meta = {"playlist_id": pid}
    for key in _META:
        if key in p:
            meta["timestamp" if key == "modified_at" else key] = p[key]
    if "name" not in p:
        b.counts["name_missing"] += 1
    b.add_playlist(meta, uris, artist_ids=artist_ids, artist_names=artist_names, title=titles,
                   album=albums, duration_ms=durations)


def _typed_meta(pl: Playlists) -> Playlists:
    meta = pl.meta
    for col in ("collaborative",):
        if col in meta.columns:
            meta[col] = meta[col].map(lambda v: str(v).lower() == "true" if v is not None else None)
    return pl


# ---------------------------------------------------------------------------- challenge set
def read_challenge_set(path: str | Path, train: Playlists):
    """Read a RecSys Challenge 2018 ``challenge_set.json`` as queries over ``train``.

    Seeds are mapped onto ``train``'s catalogue by track URI (unknown seed tracks are
    dropped and counted); targets are empty (the answers are not public).

    Returns
    -------
    queries : Queries
        ``playlist_ids`` = pids, ``titles`` (None where no name), ``category`` = the
        challenge category (``title_only``, ``first5``, ...), ``seed_positions`` = the
        number of given tracks.
    report : dict
        ``queries``, ``unknown_seed_tracks_dropped``, ``title_missing``, ``empty_seeds``.
    """
    from apc.data.queries import Queries
    from apc.data.vocab import Vocabulary
    from apc.mpd.challenge import category_of

    path = Path(path)
    if not path.exists():
        raise ApcInputError("no such challenge set", file=str(path))
    data = _load_json(path)
    playlists = data.get("playlists") if isinstance(data, dict) else None
    if not isinstance(playlists, list):
        raise ApcInputError("expected an object with a 'playlists' list", file=str(path),
                            field="playlists")
    vocab = Vocabulary(train.tracks["track_id"].to_numpy())
    seeds, titles, cats, pids, n_given = [], [], [], [], []
    unknown = missing_title = 0
    for i, p in enumerate(playlists):
        if not isinstance(p, dict) or "pid" not in p:
            raise ApcInputError("missing field", file=str(path), record=f"#{i}", field="pid")
        tracks = p.get("tracks") or []
        try:
            tracks = sorted(tracks, key=lambda t: t.get("pos", 0))
            uris = [t["track_uri"] for t in tracks]
            positions = [int(t.get("pos", j)) for j, t in enumerate(tracks)]
        except (KeyError, TypeError, AttributeError):
            raise ApcInputError("a seed track lacks track_uri", file=str(path),
                                record=f"pid {p['pid']}", field="track_uri") from None
        idx = vocab.index(uris, missing="negative")
        unknown += int((idx < 0).sum())
        seeds.append(idx[idx >= 0])
        name = p.get("name")
        missing_title += name is None
        titles.append(name)
        cats.append(category_of(name is not None, positions))
        pids.append(p["pid"])
        n_given.append(len(uris))
    q = Queries.from_lists(seeds, [[] for _ in seeds], n_tracks=train.n_tracks,
                           playlist_ids=np.asarray(pids), titles=np.array(titles, dtype=object),
                           category=np.array(cats, dtype=object),
                           seed_positions=np.asarray(n_given, dtype=np.int64))
    report = {"queries": len(q), "unknown_seed_tracks_dropped": unknown,
              "title_missing": int(missing_title), "empty_seeds": int((q.seed_lengths == 0).sum())}
    return q, report


# ---------------------------------------------------------------------------- writing
def write_mpd_slices(pl: Playlists, out_dir: str | Path, *, slice_size: int = 1000) -> list[Path]:
    """Write a corpus as full-schema MPD slice files (atomically: temp folder, then rename).

    Playlist ``p`` gets ``pid`` = its ``playlist_id`` where integer, else ``p``; tracks get
    ``pos``, ``track_uri`` (the track id), ``track_name``, ``artist_uri`` / ``artist_name``,
    ``album_uri`` / ``album_name`` and ``duration_ms`` where known.
    """
    from apc.data.io import atomic_dir

    out_dir = Path(out_dir)
    tr = pl.tracks
    uris = tr["track_id"].astype(str).to_numpy()
    names = tr["title"].to_numpy(dtype=object) if "title" in tr.columns else np.full(len(tr), None)
    albums = tr["album"].to_numpy(dtype=object) if "album" in tr.columns else np.full(len(tr), None)
    durs = (tr["duration_ms"].to_numpy() if "duration_ms" in tr.columns
            else np.full(len(tr), None, dtype=object))
    art = pl.track_artists
    a_ids = pl.artists["artist_id"].astype(str).to_numpy() if len(pl.artists) else np.array([])
    a_names = (pl.artists["name"].astype(str).to_numpy() if "name" in pl.artists.columns
               else a_ids)
    meta = pl.meta
    pids = meta["playlist_id"].to_numpy()
    int_pids = np.issubdtype(np.asarray(pids).dtype, np.integer)
    files: list[Path] = []
    with atomic_dir(out_dir) as tmp:
        for start in range(0, max(len(pl), 1), slice_size):
            stop = min(len(pl), start + slice_size)
            playlists = []
            for p in range(start, stop):
                rows = pl[p]
                tracks = []
                for pos, i in enumerate(rows.tolist()):
                    rec = {"pos": pos, "track_uri": uris[i]}
                    if names[i] is not None:
                        rec["track_name"] = str(names[i])
                    if art[i] >= 0:
                        rec["artist_uri"] = a_ids[art[i]]
                        rec["artist_name"] = a_names[art[i]]
                    if albums[i] is not None:
                        rec["album_name"] = str(albums[i])
                        rec["album_uri"] = f"album:{albums[i]}"
                    d = durs[i]
                    if d is not None and not (isinstance(d, float) and np.isnan(d)):
                        rec["duration_ms"] = int(d)
                    tracks.append(rec)
                row = meta.iloc[p]
                out = {"pid": int(pids[p]) if int_pids else p, "name": _opt(row, "name", str)}
                for col, key in (("timestamp", "modified_at"), ("num_followers", "num_followers"),
                                 ("num_edits", "num_edits")):
                    v = _opt(row, col, int)
                    if v is not None:
                        out[key] = v
                collab = _opt(row, "collaborative", bool)
                out["collaborative"] = "true" if collab else "false"
                out["num_tracks"] = len(tracks)
                out["tracks"] = tracks
                playlists.append(out)
            name = f"mpd.slice.{start}-{start + slice_size - 1}.json"
            info = {"generated_on": "apc write_mpd_slices", "slice": f"{start}-{start + slice_size - 1}",
                    "version": "v1"}
            (tmp / name).write_text(json.dumps({"info": info, "playlists": playlists},
                                               ensure_ascii=False))
            files.append(out_dir / name)
            if stop >= len(pl):
                break
    return files


def _opt(row, col, cast):
    """``cast(row[col])``, or None where the column is absent or the value missing."""
    if col not in row.index:
        return None
    v = row[col]
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return None
    return cast(v)
