"""apc's playlist k-NN against a bare vectorised SKNN floor, on the AotM NextTrack split.

The floor is written here, not in apc: one sparse product for the seed / playlist
overlaps, cosine similarities on its non-zeros, a sort-based top-n over those
non-zeros for the ``n_neighbors`` neighbours (the lexsort order, packed into one uint64
key per entry and sorted once), one sparse product for the votes, the seed tracks
dropped, and the same top-n for the top ``k``. Nothing else: no
blocking, no padding (a row with fewer than ``k`` voted tracks stays short), no checks.
It computes what ``PlaylistKNN()`` (``weighting="none"``, cosine, no sampling) computes,
so its lists must be apc's lists wherever the floor has a track.

Both run on the same split (``NextTrack()``, seed 0, over the chained AotM bigram
segments), in the same process, interleaved ``--repeats`` times; the figure is the best
CPU time (``time.process_time``) of each, as events (queries) per second, and their
ratio. HR@k of both lists is computed with apc's metric code (``hit@k``), and the
share of queries whose lists agree on the floor's (unpadded) entries is printed.

    .venv/bin/python benchmarks/speed/bench_knn_floor.py [--k 20] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

os.environ.setdefault("APC_PROGRESS", "0")

AOTM = Path(__file__).resolve().parents[3] / "shared" / "data" / "aotm-bigrams" / \
    "aotm-bigrams.csv.gz"


def top_n(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, n: int, n_cols: int):
    """The ``n`` largest ``vals`` (float32, >= 0) per row, ties to the lower col.

    One ``np.sort`` of packed uint64 keys (row | descending value bits | col), the
    lexsort's order in one key; returns ``(rows, cols, vals, rank)`` of the kept entries.
    """
    cb = max(1, n_cols - 1).bit_length()
    rb = max(1, int(rows.max(initial=0))).bit_length()
    if rb + 32 + cb > 64:  # pragma: no cover - not on these splits
        order = np.lexsort((cols, -vals, rows))
        rows, cols, vals = rows[order], cols[order], vals[order]
    else:
        code = ~np.ascontiguousarray(vals, np.float32).view(np.uint32)  # >= 0: descending
        key = np.sort((rows.astype(np.uint64) << np.uint64(32 + cb))
                      | (code.astype(np.uint64) << np.uint64(cb)) | cols.astype(np.uint64))
        rows = (key >> np.uint64(32 + cb)).astype(np.int64)
        cols = (key & np.uint64((1 << cb) - 1)).astype(np.int64)
        vals = (~((key >> np.uint64(cb)).astype(np.uint32))).view(np.float32)
    rank = np.arange(len(rows)) - np.searchsorted(rows, rows)
    keep = rank < n
    return rows[keep], cols[keep], vals[keep], rank[keep]


def floor_sknn(train_csr: sp.csr_array, train_t: sp.csr_array, seeds: sp.csr_array,
               n_neighbors: int, k: int) -> np.ndarray:
    """Bare SKNN: (Q, k) int32 lists, ``-1`` where fewer than ``k`` tracks were voted for."""
    q = seeds.shape[0]
    plen = np.diff(train_csr.indptr).astype(np.float32)
    hlen = np.diff(seeds.indptr).astype(np.float32)
    ov = sp.csr_array(seeds @ train_t)  # (Q, P) overlaps
    rows = np.repeat(np.arange(q), np.diff(ov.indptr))
    sim = (ov.data / np.sqrt(hlen[rows] * plen[ov.indices])).astype(np.float32)
    r, c, v, _ = top_n(rows, ov.indices, sim, n_neighbors, ov.shape[1])
    nb = sp.csr_array((v, (r, c)), shape=ov.shape)
    sc = sp.csr_array(nb @ train_csr)  # (Q, n_tracks) votes
    sc = sp.csr_array(sc - sc.multiply(seeds))  # seed tracks are never recommended
    sc.eliminate_zeros()
    rows = np.repeat(np.arange(q), np.diff(sc.indptr))
    r, c, _, rank = top_n(rows, sc.indices, sc.data, k, sc.shape[1])
    out = np.full((q, k), -1, dtype=np.int32)
    out[r, rank] = c
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default=str(AOTM))
    p.add_argument("--k", type=int, default=20)
    p.add_argument("--n-neighbors", type=int, default=100)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    if not Path(args.data).exists():
        print(f"skipped: {args.data} is absent")
        return

    from apc.datasets.longformat import read_longformat
    from apc.evaluation.metrics import compute_metrics
    from apc.evaluation.protocols import NextTrack
    from apc.models.knn import PlaylistKNN

    pl = read_longformat(args.data, preset="aotm-bigrams")
    split = NextTrack().split(pl, seed=0)
    queries = split.queries
    model = PlaylistKNN(n_neighbors=args.n_neighbors).fit(split.train)
    x = model.playlists_  # the same binary matrix (repeats collapsed)
    xt = model.playlists_t_
    seeds = queries.seeds_csr()
    print(f"{len(split.train)} training playlists, {split.train.n_tracks} tracks, "
          f"{len(queries)} queries, top {args.k}")

    cpu = {"floor": [], "apc": []}
    wall = {"floor": [], "apc": []}
    for _ in range(args.repeats):  # interleaved
        for name in ("floor", "apc"):
            w0, c0 = time.perf_counter(), time.process_time()
            if name == "floor":
                floor = floor_sknn(x, xt, seeds, args.n_neighbors, args.k)
            else:
                recs = model.recommend(queries, args.k).items
            cpu[name].append(time.process_time() - c0)
            wall[name].append(time.perf_counter() - w0)

    n_q = len(queries)
    hit = f"hit@{args.k}"
    hr = {name: compute_metrics(lists, queries, metrics=["hit"], ks=[args.k])[hit].mean()
          for name, lists in (("floor", floor), ("apc", recs))}
    have = floor >= 0
    same = float(np.mean(np.all(~have | (floor == recs), axis=1)))
    for name in ("floor", "apc"):
        print(f"{name:6s} {n_q / min(cpu[name]):10,.0f} events/s CPU "
              f"({min(cpu[name]):.3f} s CPU, {min(wall[name]):.3f} s wall)  "
              f"HR@{args.k} {hr[name]:.4f}")
    print(f"apc / floor time: CPU {min(cpu['apc']) / min(cpu['floor']):.2f}x, "
          f"wall {min(wall['apc']) / min(wall['floor']):.2f}x")
    print(f"identical lists (on the floor's entries): {same:.4f}; "
          f"floor rows shorter than {args.k}: {float(np.mean(~have.all(axis=1))):.4f}")


if __name__ == "__main__":
    main()
