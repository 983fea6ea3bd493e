"""apc's SKNN / V-SKNN / STAN / VSTAN against session-rec's, per predicted event.

session-rec (github rn5l/session-rec) is the reference implementation of these models
(Ludewig & Jannach). It is not part of apc and is never copied into it: bring a copy onto
the machine and pass its folder (the one holding ``algorithms/knn``) with
``--reference PATH``; without it the script says so and stops. With numpy 2 the
reference needs ``np.in1d`` (set here to ``np.isin`` before it is imported). Its modules
import ``psutil`` and ``pympler`` without calling them; when those are not installed,
empty stand-in modules are registered so that the import succeeds.

For each dataset (``aotm``: the chained AotM bigram segments; ``mpd``: the MPD
followers-10 subset) the split is apc's ``NextTrack()`` (every position, seed 0); up to
``--max-queries`` queries with a non-empty seed are drawn (seed 0), the same for both
systems. The training playlists are exported to session-rec's input format, a frame of
``SessionId`` (playlist row), ``ItemId`` (apc's track index) and ``Time`` (0 for every
event, so STAN's session recency is 1 for all, as apc's is without timestamps); with
``--export DIR`` they are also written there as tab-separated ``train.txt`` and
``test.txt`` (each query a session: its seed, then its target).

Each query is a fresh session for session-rec: the seed's earlier tracks are given
with ``skip=True`` and the neighbour pool is seeded with their sessions (what
session-rec's own evaluation loop accumulates over those events), then one
``predict_next`` on the last seed track returns the scores of the whole catalogue. Its
list is the top ``--k`` of those scores with the seed tracks removed and ties broken by
the lower track index, apc's rule (one stable sort per event, session-rec's cost of
ranking); its candidate sessions are handed over in ascending order so that equal
similarities also go to the lower playlist index (see ``align_ties``). Settings, the
same on both sides (all candidates considered, 100 neighbours):

==========  ============================================  ======================================
model       session-rec                                   apc ``PlaylistKNN``
==========  ============================================  ======================================
sknn        ``ContextKNN(similarity="cosine")``           ``similarity="cosine"``
vsknn       ``VMContextKNN`` (``vec``, ``div``, ``div``)  ``weighting="vsknn"``, ``dot``,
                                                          ``decay="linear"``,
                                                          ``match_decay="harmonic"``
stan        ``STAN`` (1.02, 5, 2.05)                      ``weighting="stan"``
vstan       ``VSKNN_STAN`` (spw, inh, ipw, idf 5)         ``weighting="stan"``, ``lambda_ipw``,
                                                          ``idf_weight=5``,
                                                          ``idf_count="entries"``
==========  ============================================  ======================================

(session-rec's sample size is set above the number of training sessions, its
``normalize`` off: dividing by the maximum changes no ranking.) Reported per model: CPU
seconds (``time.process_time``, one process) and wall seconds of session-rec's loop
(``predict_next`` alone and with the ranking) and of apc's ``recommend`` (best of
``--repeats``, interleaved), their ratios as events/s, HR@k and MRR@k of both lists
with apc's metric code on the same queries, the share of identical top-``k`` lists,
and the share identical up to near-ties (the other lists hold the same session-rec
scores rank by rank within a relative 1e-5: only the order of scores that float32 and
float64 round differently differs).

    .venv/bin/python benchmarks/speed/bench_knn_sessionrec.py --reference /tmp/session-rec \
        [--datasets aotm,mpd] [--models sknn,vsknn,stan,vstan] [--max-queries 2000]
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
import types
from pathlib import Path

import numpy as np
import pandas as pd

os.environ.setdefault("APC_PROGRESS", "0")

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
N_NEIGHBORS = 100

# model -> (session-rec module, class, keyword arguments; apc PlaylistKNN keywords)
MODELS = {
    "sknn": ("sknn", "ContextKNN", {"similarity": "cosine"}, {"similarity": "cosine"}),
    "vsknn": ("vsknn", "VMContextKNN",
              {"similarity": "vec", "weighting": "div", "weighting_score": "div"},
              {"weighting": "vsknn", "similarity": "dot", "decay": "linear",
               "match_decay": "harmonic"}),
    "stan": ("stan", "STAN", {"lambda_spw": 1.02, "lambda_snh": 5, "lambda_inh": 2.05},
             {"weighting": "stan", "lambda_spw": 1.02, "lambda_inh": 2.05}),
    "vstan": ("vstan", "VSKNN_STAN",
              {"similarity": "cosine", "lambda_spw": 1.02, "lambda_snh": 5,
               "lambda_inh": 2.05, "lambda_ipw": 1.02, "lambda_idf": 5},
              {"weighting": "stan", "lambda_spw": 1.02, "lambda_inh": 2.05,
               "lambda_ipw": 1.02, "idf_weight": 5.0, "idf_count": "entries"}),
}


def import_reference(path: Path):
    """session-rec's ``algorithms.knn`` package, importable from ``path``."""
    np.in1d = np.isin  # removed in numpy 2; session-rec calls it
    for name in ("psutil", "pympler", "pympler.asizeof"):  # imported, never called
        try:
            importlib.import_module(name)
        except ImportError:
            sys.modules[name] = types.ModuleType(name)
            if name == "pympler.asizeof":
                sys.modules["pympler"].asizeof = sys.modules[name]
    sys.path.insert(0, str(path))
    return lambda module: importlib.import_module(f"algorithms.knn.{module}")


def load_split(name: str, max_queries: int):
    """apc's NextTrack split of ``name`` and a sample of its queries (None if absent)."""
    from apc.evaluation.protocols import NextTrack

    if name == "aotm":
        path = SHARED / "aotm-bigrams" / "aotm-bigrams.csv.gz"
        if not path.exists():
            return None
        from apc.datasets.longformat import read_longformat

        pl = read_longformat(path, preset="aotm-bigrams")
    elif name == "mpd":
        path = SHARED / "mpd-followers10"
        if not path.is_dir():
            return None
        from apc.datasets.mpd import read_mpd

        pl = read_mpd(path)
    else:
        raise SystemExit(f"unknown dataset {name!r}")
    split = NextTrack().split(pl, seed=0)
    q = split.queries
    rows = np.flatnonzero(q.seed_lengths > 0)
    if len(rows) > max_queries:
        rows = np.sort(np.random.default_rng(0).choice(rows, max_queries, replace=False))
    return split.train, q.subset(rows)


def export(train, queries) -> tuple[pd.DataFrame, pd.DataFrame]:
    """session-rec frames: training playlists and the queries (seed, then target)."""
    lengths = np.diff(train.indptr)
    tr = pd.DataFrame({"SessionId": np.repeat(np.arange(len(lengths)), lengths),
                       "ItemId": train.items.astype(np.int64), "Time": 0})
    seqs = [np.append(queries.seed(i), queries.target(i)[:1]) for i in range(len(queries))]
    te = pd.DataFrame({"SessionId": np.repeat(np.arange(len(seqs)), [len(s) for s in seqs]),
                       "ItemId": np.concatenate(seqs).astype(np.int64), "Time": 0})
    return tr, te


def align_ties(model) -> None:
    """Give session-rec's candidate sessions in ascending id order.

    Its neighbours are the first ``k`` of a stable sort by similarity over the candidate
    set's iteration order (hash order); sorted candidates make equal similarities go to
    the lower playlist index, apc's rule. The sort is timed with session-rec's loop.
    """
    find = model.possible_neighbor_sessions
    model.possible_neighbor_sessions = lambda *a, **kw: sorted(find(*a, **kw))


def run_reference(model, queries, n_tracks: int, k: int, other: np.ndarray):
    """session-rec's loop over the queries.

    Returns its lists, the CPU seconds of ``predict_next`` alone and with the ranking,
    the wall seconds with the ranking, and per query whether its list and ``other``
    (apc's) hold the same session-rec scores, rank by rank, within a relative 1e-5
    (lists that differ only in the order of near-equal scores: float32 vs float64).
    """
    all_items = np.arange(n_tracks)
    lists = np.full((len(queries), k), -1, dtype=np.int32)
    near = np.zeros(len(queries), dtype=bool)
    cpu_predict = cpu_rank = wall = 0.0
    for i in range(len(queries)):
        seed = queries.seed(i).tolist()
        w0, c0 = time.perf_counter(), time.process_time()
        for item in seed[:-1]:
            model.predict_next(i, item, all_items, skip=True)
        model.relevant_sessions = set().union(*(model.sessions_for_item(t) for t in seed[:-1]))
        scores = model.predict_next(i, seed[-1], all_items)
        c1 = time.process_time()
        s = np.nan_to_num(scores.to_numpy(dtype=np.float64), nan=0.0)
        s[seed] = -np.inf  # seed tracks are never recommended (apc's rule)
        lists[i] = np.argsort(-s, kind="stable")[:k]  # ties: lower track index
        cpu_predict += c1 - c0
        cpu_rank += time.process_time() - c1
        wall += time.perf_counter() - w0
        mine, theirs = s[lists[i]], s[other[i][other[i] >= 0]]
        near[i] = len(theirs) == k and np.allclose(mine, theirs, rtol=1e-5, atol=0)
    return lists, cpu_predict, cpu_predict + cpu_rank, wall, near


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--reference", required=True, help="session-rec checkout (algorithms/knn)")
    p.add_argument("--datasets", default="aotm,mpd")
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--max-queries", type=int, default=2000)
    p.add_argument("--k", type=int, default=20)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--export", default=None, help="write train.txt / test.txt per dataset")
    args = p.parse_args()
    ref = Path(args.reference)
    if not (ref / "algorithms" / "knn" / "sknn.py").exists():
        print(f"skipped: no session-rec checkout at {ref} (algorithms/knn/sknn.py); "
              "see the module docstring")
        return
    reference = import_reference(ref)

    from apc.evaluation.metrics import compute_metrics
    from apc.models.knn import PlaylistKNN

    for dataset in args.datasets.split(","):
        loaded = load_split(dataset, args.max_queries)
        if loaded is None:
            print(f"{dataset}: skipped, data absent under {SHARED}")
            continue
        train, queries = loaded
        tr, te = export(train, queries)
        if args.export:
            out = Path(args.export) / dataset
            out.mkdir(parents=True, exist_ok=True)
            tr.to_csv(out / "train.txt", sep="\t", index=False)
            te.to_csv(out / "test.txt", sep="\t", index=False)
        n_q = len(queries)
        print(f"\n{dataset}: {len(train)} training playlists, {train.n_tracks} tracks, "
              f"{n_q} queries (mean seed {queries.seed_lengths.mean():.1f}), top {args.k}")
        print("| model | session-rec predict ev/s | session-rec predict+rank ev/s | apc ev/s "
              "| CPU ratio (predict+rank) | CPU ratio (predict) | wall ratio "
              "| HR@k s-r / apc | MRR@k s-r / apc | identical lists "
              "| identical up to near-ties |")
        print("|---|---:|---:|---:|---:|---:|---:|---|---|---:|---:|")
        for name in args.models.split(","):
            module, cls, sr_kw, apc_kw = MODELS[name]
            sr = getattr(reference(module), cls)(N_NEIGHBORS, sample_size=len(train) + 1,
                                                 **sr_kw)
            if hasattr(sr, "normalize"):
                sr.normalize = False
            align_ties(sr)
            sr.fit(tr)
            model = PlaylistKNN(n_neighbors=N_NEIGHBORS, **apc_kw).fit(train)
            apc_cpu, apc_wall = [], []
            for r in range(args.repeats):  # interleaved: apc, session-rec (once), apc ...
                w0, c0 = time.perf_counter(), time.process_time()
                apc_lists = model.recommend(queries, args.k).items
                apc_cpu.append(time.process_time() - c0)
                apc_wall.append(time.perf_counter() - w0)
                if r == 0:
                    sr_lists, sr_pred, sr_cpu, sr_wall, near = run_reference(
                        sr, queries, train.n_tracks, args.k, apc_lists)
            m = {who: compute_metrics(lists, queries, metrics=["hit", "mrr"], ks=[args.k])
                 for who, lists in (("sr", sr_lists), ("apc", apc_lists))}
            hr = [m[w][f"hit@{args.k}"].mean() for w in ("sr", "apc")]
            mrr = [m[w][f"mrr@{args.k}"].mean() for w in ("sr", "apc")]
            same = np.all(sr_lists == apc_lists, axis=1)
            a_cpu, a_wall = min(apc_cpu), min(apc_wall)
            print(f"| {name} | {n_q / sr_pred:,.0f} | {n_q / sr_cpu:,.0f} | {n_q / a_cpu:,.0f} "
                  f"| {sr_cpu / a_cpu:.1f}x | {sr_pred / a_cpu:.1f}x | {sr_wall / a_wall:.1f}x "
                  f"| {hr[0]:.4f} / {hr[1]:.4f} | {mrr[0]:.4f} / {mrr[1]:.4f} | {same.mean():.4f} "
                  f"| {np.mean(same | near):.4f} |",
                  flush=True)


if __name__ == "__main__":
    main()
