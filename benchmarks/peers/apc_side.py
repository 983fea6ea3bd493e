"""apc's side of a peer comparison: fit one apc model on an exported split, rank, time it.

Run by ``bench_peers.py`` in a subprocess of apc's own interpreter (so its peak memory
and CPU time are its own, like the peer's)::

    .venv/bin/python benchmarks/peers/apc_side.py --split DIR --out DIR --model item-knn \
        [--params JSON]

The training playlists of the split become an apc corpus (one playlist per session,
track ``i`` = apc's track index ``i``), the seeds become :class:`apc.data.queries.Queries`
(targets are not needed here: ``bench_peers.py`` scores), and the model's
``recommend`` gives the top ``k``.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _peerio import Clock, read_split, write_result  # noqa: E402


def corpus_from_sessions(sessions: list[np.ndarray], n_tracks: int):
    """An apc corpus whose playlist ``p`` is ``sessions[p]`` and track ``i`` is index ``i``."""
    import pandas as pd

    from apc.data.playlists import Playlists

    lengths = np.array([len(s) for s in sessions], dtype=np.int64)
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    items = np.concatenate(sessions).astype(np.int32) if len(sessions) else np.empty(0, np.int32)
    tracks = pd.DataFrame({"track_id": [f"t{i}" for i in range(n_tracks)]})
    meta = pd.DataFrame({"playlist_id": [f"p{i}" for i in range(len(sessions))]})
    return Playlists(indptr=indptr, items=items, tracks=tracks, meta=meta,
                     info={"dataset": "peers-export"})


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--model", required=True, help="apc registry name")
    ap.add_argument("--params", default="{}", help="model parameters as JSON")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads of the whole process, as the peers (default 1; 0: "
                    "torch's default). apc scopes training to its num_threads parameter "
                    "(1) but scores with torch's default, two threads on this machine")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    if args.threads > 0:
        import torch

        torch.set_num_threads(args.threads)
    from apc.data.queries import Queries
    from apc.workflows import build_model

    meta, sessions, seeds = read_split(args.split)
    train = corpus_from_sessions(sessions, meta["n_tracks"])
    queries = Queries.from_lists(seeds, [[] for _ in seeds], n_tracks=meta["n_tracks"])
    model = build_model(args.model, json.loads(args.params))
    clock = Clock()
    clock.start()
    model.fit(train)
    clock.stop("fit")
    clock.start()
    recs = model.recommend(queries, meta["k"])
    clock.stop("recommend")
    write_result(args.out, recs.items, clock, system="apc", model=args.model,
                 params=json.loads(args.params))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
