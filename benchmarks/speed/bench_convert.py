"""MPD conversion benchmark: MPD-format slices (generated from the synthetic corpus) -> corpus.

Target (issue 2): the full MPD (1,000,000 playlists, 66M entries, 2.26M tracks) converts in
under 10 minutes on 2 cores with peak memory under 8 GB. This script writes synthetic
MPD-format slices at two sizes (default 50k and 100k playlists), converts each in a fresh
subprocess (``apc.datasets.convert(..., "mpd")``: read every slice + save parquet), records
wall time and the child's peak RSS, and extrapolates linearly in entries to the full MPD
(the slices keep the MPD's ratio of tracks and artists to playlists).

    .venv/bin/python benchmarks/speed/bench_convert.py [--sizes 50000,100000] [--work /tmp/apc-convert]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

MPD = {"playlists": 1_000_000, "entries": 66_346_428, "tracks": 2_262_292}


def child(slices: str, out: str) -> None:
    os.environ["APC_PROGRESS"] = "0"
    from apc.datasets import convert

    t = time.perf_counter()
    pl = convert(slices, out, "mpd")
    wall = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"playlists": len(pl), "entries": pl.n_entries, "tracks": pl.n_tracks,
                      "wall_s": wall, "peak_rss_bytes": rss}))


def prepare(n: int, work: Path) -> Path:
    from apc.datasets.mpd import write_mpd_slices
    from apc.datasets.synthetic import generate

    slices = work / f"mpd-ratio-slices-{n}"
    if not slices.exists():
        # the MPD's catalogue ratio (2.26 tracks per playlist, 7.6 tracks per artist), so the
        # track and artist dictionaries are measured at scale too (conservative: a smaller
        # corpus has more distinct tracks per playlist than the full MPD)
        n_tracks = int(MPD["tracks"] / MPD["playlists"] * n)
        pl = generate("mpd-scale", seed=0, n_playlists=n, n_tracks=n_tracks,
                      n_artists=max(15, n_tracks * 10 // 76))
        write_mpd_slices(pl, slices)
    return slices


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        child(sys.argv[2], sys.argv[3])
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="50000,100000")
    ap.add_argument("--work", default="/tmp/apc-convert")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in [int(x) for x in args.sizes.split(",")]:
        slices = prepare(n, work)
        size = sum(f.stat().st_size for f in slices.glob("*.json"))
        out = work / f"corpus-{n}"
        shutil.rmtree(out, ignore_errors=True)
        res = subprocess.run([sys.executable, __file__, "child", str(slices), str(out)],
                             capture_output=True, text=True, check=True)
        r = json.loads(res.stdout.strip().splitlines()[-1])
        r["json_bytes"] = size
        rows.append(r)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}")
    print(f"command: `{' '.join([sys.executable, *sys.argv])}`\n")
    print("| playlists | entries | tracks | JSON MB | wall s | playlists/s | entries/s | peak RSS GB |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['playlists']:,} | {r['entries']:,} | {r['tracks']:,} | {r['json_bytes'] / 1e6:,.0f} "
              f"| {r['wall_s']:.1f} | {r['playlists'] / r['wall_s']:,.0f} | {r['entries'] / r['wall_s']:,.0f} "
              f"| {r['peak_rss_bytes'] / 2**30:.2f} |")
    if len(rows) >= 2:
        a, b = rows[0], rows[-1]
        # linear fits in entries (time) and in entries + tracks (memory)
        t_per = (b["wall_s"] - a["wall_s"]) / max(1, b["entries"] - a["entries"])
        t0 = a["wall_s"] - t_per * a["entries"]
        m_per = (b["peak_rss_bytes"] - a["peak_rss_bytes"]) / max(1, b["entries"] - a["entries"])
        m0 = a["peak_rss_bytes"] - m_per * a["entries"]
        t_mpd = t0 + t_per * MPD["entries"]
        m_mpd = m0 + m_per * MPD["entries"]
        print(f"\nextrapolated to the full MPD ({MPD['playlists']:,} playlists, {MPD['entries']:,} "
              f"entries): {t_mpd / 60:.1f} min, peak {m_mpd / 2**30:.1f} GB "
              f"(linear in entries from the two sizes above; targets: < 10 min, < 8 GB)")


if __name__ == "__main__":
    main()
