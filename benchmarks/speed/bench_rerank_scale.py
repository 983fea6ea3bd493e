"""Time and peak memory of the two-stage ``rerank`` model at MPD scale (issue 14).

Corpus and queries as ``bench_neighbours_scale.py``: the synthetic ``mpd-scale`` corpus
(1M playlists, ~2M tracks, ~66M entries; loaded from ``/tmp/apc-bench/mpd-scale`` or
generated there), ``--queries`` held-out playlists (default 10,000) as MPD-challenge
queries in the ten categories. One process: fit (stage 1 on the training playlists
minus a validation split carved with the ``mpd-challenge`` protocol, features of the
validation candidates, the ranker, stage 1 refitted on all training playlists) and
recommend (top ``--k`` candidates per model, features, ranking). Prints one JSON line
with wall and CPU seconds, the model's per-phase ``timings_``, peak RSS and recall@k /
R-precision; with ``--components`` also each stage-1 model's own recall@k / R-precision
on the same queries (its top ``k`` from the fitted ``models_``, after the timed parts).

Target (issue 14): candidates for 10k queries (top 500) and re-ranking in under 15
minutes and 16 GB on 2 cores.

Usage::

    nice -n 10 .venv/bin/python benchmarks/speed/bench_rerank_scale.py
    .venv/bin/python benchmarks/speed/bench_rerank_scale.py --preset medium --queries 2000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("APC_PROGRESS", "0")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_neighbours_scale import load_corpus, metrics, mpd_queries, rss_gb  # noqa: E402


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", default="mpd-scale")
    ap.add_argument("--corpus", default=None, help="a saved corpus directory instead")
    ap.add_argument("--queries", type=int, default=10_000)
    ap.add_argument("--k", type=int, default=500)
    ap.add_argument("--val-queries", type=int, default=2000,
                    help="validation playlists carved from training for the ranker")
    ap.add_argument("--candidates", default="knn:300,cagh:200",
                    help="stage-1 models with their candidate counts")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--components", action="store_true",
                    help="also score each stage-1 model alone (untimed)")
    args = ap.parse_args(argv)

    from apc.models.ensemble.rerank import Rerank

    t0 = time.perf_counter()
    pl = load_corpus(args.corpus, args.preset)
    train, q = mpd_queries(pl, args.queries)
    del pl
    load_s = time.perf_counter() - t0
    cands = [{"model": m, "n": int(n)} for m, n in
             (c.split(":") for c in args.candidates.split(","))]
    model = Rerank(candidates=cands, val_protocol="mpd-challenge",
                   val_params={"n_test": args.val_queries}, num_threads=args.threads)
    t0, c0 = time.perf_counter(), time.process_time()
    model.fit(train)
    fit_s, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
    rss_fit = rss_gb()
    t0, c0 = time.perf_counter(), time.process_time()
    recs = model.recommend(q, args.k)
    rec_s, rec_cpu = time.perf_counter() - t0, time.process_time() - c0
    out = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores",
        "candidates": cands, "playlists": len(train), "tracks": train.n_tracks,
        "queries": len(q), "val_queries": args.val_queries, "k": args.k,
        "ranker": model.ranker_kind_, "load_s": round(load_s, 1),
        "fit_s": round(fit_s, 1), "recommend_s": round(rec_s, 1),
        "total_s": round(fit_s + rec_s, 1),
        "fit_cpu_s": round(fit_cpu, 1), "recommend_cpu_s": round(rec_cpu, 1),
        "timings": {k: round(v, 1) for k, v in model.timings_.items()},
        "train_report": model.train_report_,
        "peak_gb_fit": round(rss_fit, 2), "peak_gb": round(rss_gb(), 2),
        **{f"{k}@{args.k}": round(v, 4) for k, v in metrics(recs.items, q).items()},
    }
    if args.components:
        out["components"] = {
            c["model"]: {f"{k}@{args.k}": round(v, 4)
                         for k, v in metrics(m.recommend(q, args.k).items, q).items()}
            for c, m in zip(cands, model.models_, strict=True)}
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
