"""lenskit's item k-NN (``ItemKNNScorer``, implicit feedback) on an exported split.

    /work/scratch/peers-venvs/lenskit/bin/python benchmarks/peers/peer_lenskit.py \
        --split DIR --out DIR [--max-nbrs 20]

The training sessions become a lenskit ``Dataset`` of (user = session, item) pairs
(``from_interactions_df``); ``topn_pipeline(ItemKNNScorer(feedback="implicit"))`` is
trained on it (lenskit's defaults otherwise: ``max_nbrs=20`` neighbours among the
query's items, cosine similarity of the item vectors). Each query is a
``RecQuery(user_items=...)`` holding its seed, given to ``lenskit.recommend`` for the top
``k``; the pipeline's candidate selector leaves out the seed's items. One thread
(``LK_NUM_THREADS=1``, ``LK_NUM_PROCS=1``), as apc.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

for _var in ("LK_NUM_THREADS", "LK_NUM_PROCS", "LK_NUM_BACKEND_THREADS", "OMP_NUM_THREADS",
             "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np  # noqa: E402
from _peerio import SKIP, Clock, read_split, write_result  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--max-nbrs", type=int, default=20)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    try:
        import pandas as pd
        from lenskit import recommend, topn_pipeline
        from lenskit.data import ItemList, RecQuery, from_interactions_df
        from lenskit.knn import ItemKNNScorer
    except ImportError as e:
        print(f"skip: lenskit is not importable in {sys.prefix} ({e}); see README.md")
        return SKIP

    meta, sessions, seeds = read_split(args.split)
    k = meta["k"]
    clock = Clock()
    clock.start()
    lengths = [len(s) for s in sessions]
    df = pd.DataFrame({"user_id": np.repeat(np.arange(len(sessions)), lengths),
                       "item_id": np.concatenate(sessions)}).drop_duplicates()
    data = from_interactions_df(df, user_col="user_id", item_col="item_id")
    pipe = topn_pipeline(ItemKNNScorer(max_nbrs=args.max_nbrs, feedback="implicit"))
    pipe.train(data)
    clock.stop("fit")
    clock.start()
    out = np.full((len(seeds), k), -1, dtype=np.int64)
    for i, seed in enumerate(seeds):
        recs = recommend(pipe, RecQuery(user_items=ItemList(item_ids=seed)), n=k)
        ids = recs.ids()
        out[i, :len(ids)] = ids
    clock.stop("recommend")
    write_result(args.out, out, clock, system="lenskit", model="item-knn",
                 params={"max_nbrs": args.max_nbrs, "feedback": "implicit"})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
