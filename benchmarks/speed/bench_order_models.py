"""Speed and memory of the order-aware classic models (Markov chains, rules, LME, song2vec).

Two benchmarks:

``count``  MarkovChain / SequentialRules / AssociationRules on a large corpus (default:
           the MPD-scale synthetic corpus, 1M playlists, ~2M tracks, ~66M entries, loaded
           from ``/tmp/apc-bench/mpd-scale`` or generated and saved there). Each model runs
           in a fresh subprocess that loads the corpus, holds out the last ``--queries``
           playlists as queries (seed = first 1/5/10/25/100 tracks, target = the rest),
           fits on the others, recommends top-``--k`` and reports fit time, recommend time,
           recall@k and the process's peak RSS (``ru_maxrss``: load + fit + recommend).

``embed``  LME and song2vec on a small synthetic preset: training throughput
           (transitions/s, words/s) and the training time until the validation recall@10
           of next-track queries first reaches ``--target``, evaluated after every epoch.

Usage::

    nice -n 10 .venv/bin/python benchmarks/speed/bench_order_models.py count --models markov
    nice -n 10 .venv/bin/python benchmarks/speed/bench_order_models.py embed --preset small
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("APC_PROGRESS", "0")

MPD_SCALE = Path("/tmp/apc-bench/mpd-scale")
SEED_LENGTHS = (1, 5, 10, 25, 100)


# ------------------------------------------------------------------------ data
def load_corpus(path: Path | None, preset: str = "mpd-scale"):
    from apc.data import Playlists

    path = Path(path) if path else (MPD_SCALE if preset == "mpd-scale" else None)
    if path is not None and (path / "manifest.json").exists():
        return Playlists.load(path)
    from apc.datasets.synthetic import generate

    pl = generate(preset, seed=0)
    if path is not None:
        pl.save(path)
    return pl


def holdout(pl, n_queries: int, seed: int = 0, *, next_track: bool = False):
    """Train on all but the last ``n_queries`` playlists (of length >= 2); query those."""
    from apc.data import Queries

    lengths = pl.lengths
    cand = np.flatnonzero(lengths >= 2)
    test = cand[-n_queries:]
    train_rows = np.setdiff1d(np.arange(len(pl)), test)
    train = pl.subset(train_rows)
    rng = np.random.default_rng(seed)
    seeds, targets = [], []
    for p in test:  # one small list per query, 10k queries: fine outside the timed parts
        items = pl[p]
        if next_track:
            cut = int(rng.integers(1, len(items)))
            tgt = items[cut : cut + 1]
        else:
            cut = min(int(rng.choice(SEED_LENGTHS)), len(items) - 1)
            tgt = items[cut:]
        seeds.append(items[:cut])
        targets.append(tgt)
    q = Queries.from_lists(seeds, targets, n_tracks=pl.n_tracks)
    return train, q


def recall(items: np.ndarray, q) -> float:
    """Mean recall@k (targets counted once) of (Q, k) recommendations."""
    n = q.n_tracks
    t = q.targets_csr()
    rows = np.repeat(np.arange(len(q)), np.diff(t.indptr))
    keys = rows.astype(np.int64) * n + t.indices
    rec_keys = np.arange(len(q))[:, None].astype(np.int64) * n + np.where(items >= 0, items, n)
    hits = np.isin(rec_keys, keys).sum(axis=1)
    return float(np.mean(hits / np.maximum(np.diff(t.indptr), 1)))


# ------------------------------------------------------------------------ count models
MODELS = {
    "markov": ("apc.models.markov", "MarkovChain", {}),
    "markov2": ("apc.models.markov", "MarkovChain", {"order": 2}),
    "sr": ("apc.models.rules", "SequentialRules", {}),
    "ar": ("apc.models.rules", "AssociationRules", {}),
}


def count_one(args) -> None:
    import importlib

    t0 = time.perf_counter()
    pl = load_corpus(args.corpus)
    train, q = holdout(pl, args.queries)
    del pl
    load_s = time.perf_counter() - t0
    rss_loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    module, cls, params = MODELS[args.model]
    model = getattr(importlib.import_module(module), cls)(**params)
    t0 = time.perf_counter()
    model.fit(train)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    recs = model.recommend(q, args.k)
    rec_s = time.perf_counter() - t0
    out = {
        "model": args.model,
        "params": params,
        "playlists": len(train),
        "tracks": train.n_tracks,
        "entries": train.n_entries,
        "queries": len(q),
        "k": args.k,
        "load_s": round(load_s, 1),
        "fit_s": round(fit_s, 1),
        "recommend_s": round(rec_s, 1),
        f"recall@{args.k}": round(recall(recs.items, q), 4),
        "peak_rss_gb_after_load": round(rss_loaded, 2),
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
    }
    if hasattr(model, "rules_"):
        out["rules_nnz"] = int(model.rules_.nnz)
    if hasattr(model, "counts_"):
        out["transitions_nnz"] = int(sum(c.nnz for c in model.counts_))
    print(json.dumps(out), flush=True)


def count(args) -> None:
    if args.corpus is None and not (MPD_SCALE / "manifest.json").exists():
        load_corpus(None)  # generate and save once, outside the measured subprocesses
    for name in args.models.split(","):
        cmd = [
            sys.executable,
            __file__,
            "count-one",
            "--model",
            name,
            "--queries",
            str(args.queries),
            "--k",
            str(args.k),
        ]
        if args.corpus:
            cmd += ["--corpus", str(args.corpus)]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            print(
                json.dumps({"model": name, "error": res.stderr.strip().splitlines()[-1:]}),
                flush=True,
            )
        else:
            print(res.stdout.strip(), flush=True)


# ------------------------------------------------------------------------ embedding models
def embed(args) -> None:
    from apc.models._topk import top_k
    from apc.models.lme import LogisticMarkovEmbedding, transitions
    from apc.models.song2vec import Song2Vec

    pl = load_corpus(args.corpus, args.preset)
    train, q = holdout(pl, args.queries, next_track=True)
    n_trans = len(transitions(train)[0])
    print(
        json.dumps(
            {
                "corpus": repr(train),
                "transitions": n_trans,
                "queries": len(q),
                "target_recall@10": args.target,
            }
        ),
        flush=True,
    )

    def evaluate(model) -> float:
        s = model._score(q)
        items, _ = top_k(s, 10, exclude=q.seeds_csr())
        return recall(items, q)

    class TimedLME(LogisticMarkovEmbedding):
        def _end_epoch(self, row):
            row["recall@10"] = evaluate(self)

    class TimedSong2Vec(Song2Vec):
        def _callbacks(self):
            from gensim.models.callbacks import CallbackAny2Vec

            rec = self

            class Epoch(CallbackAny2Vec):
                """Per-epoch training seconds (evaluation time excluded) and recall@10."""

                def __init__(self):
                    self.history, self.resumed = [], None

                def on_train_begin(self, w2v):
                    self.resumed = time.perf_counter()

                def on_epoch_end(self, w2v):
                    seconds = time.perf_counter() - self.resumed
                    rec._store(w2v.wv, train.n_tracks)
                    row = {
                        "epoch": len(self.history) + 1,
                        "seconds": seconds,
                        "recall@10": evaluate(rec),
                    }
                    self.history.append(row)
                    self.resumed = time.perf_counter()

            self.cb_ = Epoch()
            return [self.cb_]

    lme_params = {"n_dims": 32, "epochs": args.epochs, "seed": 0}
    for softmax in args.lme_softmax.split(","):
        m = TimedLME(softmax=softmax, **lme_params)
        m.fit(train)
        report(
            f"lme[{softmax}]",
            m.history_,
            n_trans,
            "transitions/s",
            args.target,
            lambda r: r["seconds"],
        )

    m = TimedSong2Vec(vector_size=64, epochs=args.epochs, seed=0)
    m.fit(train)
    report(
        "song2vec", m.cb_.history, train.n_entries, "words/s", args.target, lambda r: r["seconds"]
    )


def report(name, history, per_epoch, unit, target, secs) -> None:
    elapsed, reached = 0.0, None
    for row in history:
        elapsed += secs(row)
        if reached is None and row["recall@10"] >= target:
            reached = (row.get("epoch"), round(elapsed, 1))
    total = sum(secs(r) for r in history)
    print(
        json.dumps(
            {
                "model": name,
                "epochs": len(history),
                unit: round(per_epoch * len(history) / total),
                "recall@10_by_epoch": [round(r["recall@10"], 4) for r in history],
                "train_s": round(total, 1),
                "reached_target_at_epoch_s": reached,
            }
        ),
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("count", help="Markov / SR / AR fit + recommend at scale")
    c.add_argument("--models", default="markov,sr,ar")
    c.add_argument("--corpus", type=Path, default=None)
    c.add_argument("--queries", type=int, default=10_000)
    c.add_argument("--k", type=int, default=500)
    one = sub.add_parser("count-one")
    one.add_argument("--model", required=True, choices=sorted(MODELS))
    one.add_argument("--corpus", type=Path, default=None)
    one.add_argument("--queries", type=int, default=10_000)
    one.add_argument("--k", type=int, default=500)
    e = sub.add_parser("embed", help="LME / song2vec throughput and time to a recall@10")
    e.add_argument("--preset", default="small")
    e.add_argument("--corpus", type=Path, default=None)
    e.add_argument("--queries", type=int, default=2_000)
    e.add_argument("--epochs", type=int, default=10)
    e.add_argument("--target", type=float, default=0.10)
    e.add_argument("--lme-softmax", default="full,sampled")
    args = ap.parse_args()
    {"count": count, "count-one": count_one, "embed": embed}[args.cmd](args)


if __name__ == "__main__":
    main()
