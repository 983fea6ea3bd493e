"""implicit's ALS (Hu, Koren & Volinsky 2008) on an exported split; run in implicit's venv.

    /work/scratch/peers-venvs/implicit/bin/python benchmarks/peers/peer_implicit.py \
        --split DIR --out DIR [--factors 64 --iterations 15 --regularization 0.01 --alpha 1]

The training sessions become a sessions x items count matrix (confidence ``1 + alpha *
count``, implicit's convention); each query is a new user whose factors are solved from
its seed (``recalculate_user=True``), seed items filtered out of its top ``k``. One
thread (``num_threads=1``), as apc's models use by default on this 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from _peerio import SKIP, Clock, read_split, write_result  # noqa: E402


def counts(rows: list[np.ndarray], n_items: int) -> sp.csr_matrix:
    """Rows x items counts (an item repeated in a row counts twice)."""
    lengths = np.array([len(r) for r in rows])
    r = np.repeat(np.arange(len(rows)), lengths)
    c = np.concatenate(rows) if len(rows) else np.empty(0, np.int64)
    m = sp.csr_matrix((np.ones(len(c), np.float32), (r, c)), shape=(len(rows), n_items))
    m.sum_duplicates()
    return m


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--factors", type=int, default=64)
    ap.add_argument("--iterations", type=int, default=15)
    ap.add_argument("--regularization", type=float, default=0.01)
    ap.add_argument("--alpha", type=float, default=1.0)
    args = ap.parse_args()
    try:
        from implicit.cpu.als import AlternatingLeastSquares
    except ImportError as e:
        print(f"skip: implicit is not importable in {sys.prefix} ({e}); see README.md")
        return SKIP

    meta, sessions, seeds = read_split(args.split)
    n, k = meta["n_tracks"], meta["k"]
    clock = Clock()
    clock.start()
    user_items = counts(sessions, n)
    model = AlternatingLeastSquares(
        factors=args.factors, regularization=args.regularization, alpha=args.alpha,
        iterations=args.iterations, num_threads=1, random_state=meta.get("seed", 0),
    )
    model.fit(user_items, show_progress=False)
    clock.stop("fit")
    clock.start()
    q = counts(seeds, n)
    ids, _ = model.recommend(np.arange(q.shape[0]), q, N=k, filter_already_liked_items=True,
                             recalculate_user=True)
    clock.stop("recommend")
    write_result(args.out, ids, clock, system="implicit", model="als", params=vars(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
