"""Top-k selection: apc's one ``top_k`` against an earlier version, on the same blocks.

Cases (4,000 queries x 7,641 tracks, k = 500 unless changed; 10 seed tracks per query
excluded; CPU seconds, best of ``--repeats``):

* ``popularity``: every row the same integer popularity counts (large tie groups:
  the case that made popularity the slowest model of ``make demo``);
* ``dense-random``: distinct float scores (no ties);
* ``sparse-knn``: a CSR block with ~200 stored scores per row (a neighbourhood
  model's votes): the rest of each row scores 0, one huge tie group.

The baseline is ``apc/models/_topk.py`` at ``--baseline`` (a git revision, read with
``git show``; default ``f495054``, before the rewrite), loaded as a separate module.
Both must return the same lists; the script checks it.

    .venv/bin/python benchmarks/speed/bench_topk.py [--queries 4000] [--tracks 7641] [--k 500]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[2]


def load_baseline(rev: str):
    """The ``_topk`` module at git revision ``rev``, or None when git cannot give it."""
    try:
        src = subprocess.run(["git", "show", f"{rev}:apc/models/_topk.py"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"baseline {rev} not available ({e}); timing the current top_k only")
        return None
    mod = types.ModuleType(f"_topk_{rev}")
    exec(compile(src, f"{rev}:apc/models/_topk.py", "exec"), mod.__dict__)
    return mod


def cases(q: int, n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    seeds = sp.csr_array(
        (np.ones(q * 10, np.float32),
         (np.repeat(np.arange(q), 10), rng.integers(0, n, q * 10))), shape=(q, n))
    seeds.sum_duplicates()
    pop = np.floor(rng.pareto(1.2, n) * 3).astype(np.float32)  # many ties at small counts
    yield "popularity", np.broadcast_to(pop, (q, n)).copy(), seeds
    yield "dense-random", rng.random((q, n), dtype=np.float32), seeds
    nnz = 200
    votes = sp.csr_array(
        (rng.random(q * nnz, dtype=np.float32),
         (np.repeat(np.arange(q), nnz), rng.integers(0, n, q * nnz))), shape=(q, n))
    votes.sum_duplicates()
    yield "sparse-knn", votes, seeds


def timed(fn, repeats: int) -> tuple[float, float, object]:
    best_cpu, best_wall, out = np.inf, np.inf, None
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        out = fn()
        best_cpu = min(best_cpu, time.process_time() - c0)
        best_wall = min(best_wall, time.perf_counter() - w0)
    return best_cpu, best_wall, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queries", type=int, default=4000)
    ap.add_argument("--tracks", type=int, default=7641)
    ap.add_argument("--k", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--baseline", default="f495054", help="git revision of the old _topk.py")
    args = ap.parse_args()

    sys.path.insert(0, str(ROOT))
    from apc.models._topk import top_k

    old = load_baseline(args.baseline)
    print(f"top_k: {args.queries:,} queries x {args.tracks:,} tracks, k={args.k}; "
          f"CPU s (wall s), best of {args.repeats}")
    print(f"{'case':<14}{'baseline':>18}{'top_k':>18}{'speed-up':>10}  same lists")
    for name, scores, seeds in cases(args.queries, args.tracks):
        cpu, wall, (items, vals) = timed(lambda s=scores, e=seeds: top_k(s, args.k, exclude=e),
                                         args.repeats)
        if old is None:
            print(f"{name:<14}{'-':>18}{cpu:>11.2f} ({wall:.2f}){'-':>10}")
            continue
        ocpu, owall, (oitems, ovals) = timed(
            lambda s=scores, e=seeds: old.top_k(s, args.k, exclude=e), args.repeats)
        same = np.array_equal(items, oitems) and np.array_equal(vals, ovals)
        print(f"{name:<14}{ocpu:>11.2f} ({owall:.2f}){cpu:>11.2f} ({wall:.2f})"
              f"{ocpu / max(cpu, 1e-9):>9.1f}x  {same}")


if __name__ == "__main__":
    main()
