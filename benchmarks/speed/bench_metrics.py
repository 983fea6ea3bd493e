"""Metric throughput: 100k queries x K = 500, every metric of apc.evaluation.metrics.

Target (issues 2 and 12): every metric label for 100k queries x K=500 scored in under
5 s on this 2-core CPU. The last row computes every registered metric (the MPD
readings included) at three cut-offs, one compute_metrics call as the runner makes it.

    .venv/bin/python benchmarks/speed/bench_metrics.py [--queries 100000] [--k 500]
"""

from __future__ import annotations

import argparse
import platform
import resource
import time

import numpy as np
import pandas as pd


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queries", type=int, default=100_000)
    ap.add_argument("--k", type=int, default=500)
    ap.add_argument("--tracks", type=int, default=200_000)
    ap.add_argument("--targets", type=int, default=50, help="mean targets per query")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    from apc.data import Playlists, Queries
    from apc.evaluation.metrics import METRICS, compute_metrics

    rng = np.random.default_rng(0)
    q, k, n = args.queries, args.k, args.tracks
    # recommendations: distinct items per row, popularity-skewed (as real lists are)
    pop = 1.0 / np.arange(1, n + 1) ** 0.8
    pop /= pop.sum()
    recs = np.empty((q, k), dtype=np.int32)
    for s in range(0, q, 10_000):
        e = min(q, s + 10_000)
        block = rng.choice(n, size=(e - s, 2 * k), p=pop)
        # make rows distinct: argsort by (value, position) and keep first occurrences
        recs[s:e] = np.array([np.unique(r)[:k] if len(np.unique(r)) >= k else np.resize(np.unique(r), k) for r in block])
    lengths = rng.poisson(args.targets, size=q).clip(1)
    targets = rng.choice(n, size=int(lengths.sum()), p=pop).astype(np.int32)
    indptr = np.zeros(q + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    queries = Queries(np.zeros(q + 1, np.int64), np.zeros(0, np.int32), indptr, targets, n)
    tracks = pd.DataFrame({"track_id": np.arange(n), "artist": (np.arange(n) // 7).astype(np.int32)})
    artists = pd.DataFrame({"artist_id": np.arange(n // 7 + 1)})
    train_items = rng.choice(n, size=2_000_000, p=pop).astype(np.int32)
    train = Playlists(np.arange(0, 2_000_001, 100, dtype=np.int64), train_items, tracks, artists)

    thirteen = ["hit", "recall", "precision", "mrr", "ndcg", "map", "rprec", "rprec_mpd",
                "ndcg_mpd", "clicks_mpd", "coverage", "popularity", "artist_diversity"]
    every = list(METRICS)
    n_labels = sum(3 if METRICS[m].takes_k else 1 for m in every)
    sets = {
        "recall,ndcg,hit,mrr @10,100,500": (["recall", "ndcg", "hit", "mrr"], [10, 100, 500]),
        "rprec,rprec_mpd,ndcg_mpd,clicks_mpd": (["rprec", "rprec_mpd", "ndcg_mpd", "clicks_mpd"], []),
        "all 13 metrics @10,100,500": (thirteen, [10, 100, 500]),
        f"every registered metric ({len(every)}, {n_labels} labels) @10,100,500": (
            every, [10, 100, 500]),
    }
    print(f"machine: {platform.machine()} ({platform.processor() or 'cpu'}), python {platform.python_version()}")
    print(f"{q:,} queries x K={k}, {n:,} tracks, {len(targets):,} targets\n")
    print(f"| metrics | best of {args.repeats} (s) | queries/s |")
    print("|---|---:|---:|")
    for name, (metrics, ks) in sets.items():
        best = float("inf")
        for _ in range(args.repeats):
            t = time.perf_counter()
            compute_metrics(recs, queries, train, metrics=metrics, ks=ks)
            best = min(best, time.perf_counter() - t)
        print(f"| {name} | {best:.2f} | {q / best:,.0f} |")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"\npeak RSS {rss:.2f} GB")


if __name__ == "__main__":
    main()
