"""apc's GRU4Rec beside the official PyTorch GRU4Rec: training speed and accuracy, in pairs.

The corpus is split once with ``NextTrack`` (seed 0). The training side is exported to
the official input format (a TSV of SessionId, ItemId, Time; ItemId is apc's track
index, Time orders the sessions as apc's playlist order), and both implementations
train on it with the same hyper-parameters, each in its own subprocess of this script,
run one after the other in pairs (apc, official, apc, official ...). Each worker
measures its ``fit`` with ``time.process_time`` (CPU seconds of every thread of the
process) and ``time.perf_counter`` (wall), then ranks the top 20 for the same queries
(each query's seed tracks read from a zero state, seed tracks excluded from the list);
this process scores both lists with apc's metric code (recall@20, MRR@20).

Training events/s = epochs x (track, next track) pairs of the training side / fit
seconds; ``fit`` includes each implementation's own set-up (Lightning's Trainer for
apc; sorting and the pre-computed negative-sample cache for the official code, whose
refreshes also fall inside its epochs). The official worker also reports the CPU
seconds spent generating its sample cache, so the ratio without it is printed too.

The setting is that of the official ``paramfiles/rsc15_xe_shared_100_best.py``
(cross-entropy, constrained embedding, one layer of 100, batch 32, dropout 0.0 / 0.4,
lr 0.2, momentum 0.2, 2048 extra negatives, sample_alpha 0.5, bpreg 0, elu_param 0,
logq 1, 10 epochs); ``--batch-sizes`` and ``--epochs`` change only those values.

Usage (from the repository root; the official code is not part of apc: fetch
github.com/hidasib/GRU4Rec_PyTorch_Official into a scratch folder)::

    nice -n 5 .venv/bin/python benchmarks/speed/bench_gru4rec_official.py \\
        --reference /tmp/gru4rec-official --batch-sizes 32,64 --epochs 2 --repeats 3

Without ``--reference`` (or when the folder lacks ``gru4rec_pytorch.py``) the script
prints why and exits 0. The official code needs numpy 2 / pandas 3 compatibility edits
in the scratch copy (see ``benchmarks/RESULTS.md``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("APC_PROGRESS", "0")

K = 20
#: rsc15_xe_shared_100_best.py, in apc's parameter names (batch_size and epochs set per run).
OFFICIAL_BEST = {
    "loss": "cross-entropy",
    "constrained_embedding": True,
    "embedding": 0,
    "elu_param": 0.0,
    "hidden": 100,
    "layers": 1,
    "dropout_embed": 0.0,
    "dropout_hidden": 0.4,
    "lr": 0.2,
    "momentum": 0.2,
    "n_negatives": 2048,
    "sample_alpha": 0.5,
    "bpreg": 0.0,
    "logq": 1.0,
}


def load_split(dataset: str, seed: int):
    """NextTrack split of ``dataset`` (the same in every process)."""
    from apc.evaluation.protocols import NextTrack

    if dataset == "synthetic":
        from apc.datasets.synthetic import generate

        corpus = generate("small", seed=0)
    elif dataset == "aotm-bigrams":
        from apc.datasets.longformat import read_longformat
        from apc.testing import SHARED_DATA

        corpus = read_longformat(SHARED_DATA / "aotm-bigrams" / "aotm-bigrams.csv.gz",
                                 preset="aotm-bigrams")
    else:
        raise SystemExit(f"unknown dataset {dataset!r}")
    return NextTrack().split(corpus, seed=seed)


def query_sample(split, max_queries: int, seed: int):
    """A seeded sample of the split's queries (all when ``max_queries`` is 0)."""
    q = split.queries
    if max_queries and len(q) > max_queries:
        rows = np.sort(np.random.default_rng(seed).choice(len(q), max_queries, replace=False))
        q = q.subset(rows)
    return q


def export_tsv(train, path: Path) -> None:
    """Training playlists as the official input: SessionId, ItemId, Time (tab-separated)."""
    import pandas as pd

    lengths = np.diff(train.indptr)
    pd.DataFrame(
        {
            "SessionId": np.repeat(np.arange(len(lengths)), lengths),
            "ItemId": train.items.astype(np.int64),
            "Time": np.arange(len(train.items), dtype=np.int64),  # playlist order, then position
        }
    ).to_csv(path, sep="\t", index=False)


# ---------------------------------------------------------------------------- workers
def _set_threads(n: int) -> None:
    import torch

    if n:
        torch.set_num_threads(n)


def worker_apc(args) -> dict:
    import torch

    from apc.models.sequence.gru4rec import GRU4Rec

    _set_threads(args.threads)
    split = load_split(args.dataset, 0)
    queries = query_sample(split, args.max_queries, 0)
    params = {**OFFICIAL_BEST, "batch_size": args.batch, "epochs": args.epochs,
              "seed": args.seed, "val_fraction": 0.0,
              "num_threads": args.threads}  # 0: torch's default, as the official worker
    model = GRU4Rec(**params)
    c0, w0 = time.process_time(), time.perf_counter()
    model.fit(split.train)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    recs = model.recommend(queries, k=K).items
    return {"cpu": cpu, "wall": wall, "events": args.epochs * model.n_train_events_,
            "threads": torch.get_num_threads(), "recs": recs.tolist()}


def worker_official(args) -> dict:
    import pandas as pd
    import torch

    sys.path.insert(0, str(Path(args.reference).resolve()))
    import gru4rec_pytorch as ref  # the official code, from the scratch folder

    _set_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    cache_cpu = [0.0]
    refresh = ref.SampleCache._refresh

    def timed_refresh(self):  # CPU seconds of the sample-cache generation, reported apart
        t = time.process_time()
        refresh(self)
        cache_cpu[0] += time.process_time() - t

    ref.SampleCache._refresh = timed_refresh
    data = pd.read_csv(args.data / "train.tsv", sep="\t")
    p = OFFICIAL_BEST
    gru = ref.GRU4Rec(
        layers=[p["hidden"]] * p["layers"], loss=p["loss"], batch_size=args.batch,
        dropout_p_embed=p["dropout_embed"], dropout_p_hidden=p["dropout_hidden"],
        learning_rate=p["lr"], momentum=p["momentum"], sample_alpha=p["sample_alpha"],
        n_sample=p["n_negatives"], embedding=p["embedding"],
        constrained_embedding=p["constrained_embedding"], n_epochs=args.epochs,
        bpreg=p["bpreg"], elu_param=p["elu_param"], logq=p["logq"], device=torch.device("cpu"),
    )
    c0, w0 = time.process_time(), time.perf_counter()
    gru.fit(data)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    events = args.epochs * int((data.groupby("SessionId").size() - 1).clip(lower=0).sum())
    recs = _official_top_k(gru, np.load(args.data / "queries.npz"))
    return {"cpu": cpu, "wall": wall, "events": events, "cache_cpu": cache_cpu[0],
            "threads": torch.get_num_threads(), "recs": recs.tolist()}


def _official_top_k(gru, q) -> np.ndarray:
    """Top K apc track indices per query from the official model (seeds excluded)."""
    import torch

    model = gru.model.eval()
    idmap = gru.data_iterator.itemidmap  # apc track index -> official item index
    known = np.zeros(int(idmap.index.max()) + 1, dtype=np.int64) - 1
    known[idmap.index.values] = idmap.values
    item_of = np.asarray(idmap.index.values, dtype=np.int64)  # official index -> apc index
    indptr, seeds = q["indptr"], q["seeds"]
    out = np.full((len(indptr) - 1, K), -1, dtype=np.int64)
    with torch.no_grad():
        for lo in range(0, len(indptr) - 1, 256):
            hi = min(lo + 256, len(indptr) - 1)
            rows = [seeds[indptr[i]:indptr[i + 1]] for i in range(lo, hi)]
            rows = [known[r[r < len(known)]] for r in rows]
            rows = [r[r >= 0] for r in rows]  # seed tracks the official model never saw: skipped
            lens = np.array([len(r) for r in rows])
            x = np.zeros((len(rows), max(1, lens.max())), dtype=np.int64)
            for j, r in enumerate(rows):
                x[j, : len(r)] = r
            x = torch.from_numpy(x)
            H = [torch.zeros(len(rows), n) for n in gru.layers]
            last = torch.zeros(len(rows), gru.layers[-1])
            for t in range(x.shape[1]):
                E, _, _ = model.embed(x[:, t], H, None)
                if not (model.constrained_embedding or model.embedding):
                    H[0] = E
                h = model.hidden_step(E, H, training=False)
                ends = torch.from_numpy(lens == t + 1)
                last[ends] = h[ends]
            scores = model.score_items(last, model.Wy.weight, model.By.weight)
            for j, r in enumerate(rows):
                scores[j, torch.from_numpy(r)] = float("-inf")  # exclude the seed, as apc does
            top = torch.topk(scores, K, dim=1).indices.numpy()
            out[lo:hi] = item_of[top]
    return out


# ---------------------------------------------------------------------------- driver
def run_worker(kind: str, args, data: Path, batch: int, seed: int) -> dict:
    out = data / f"{kind}-{batch}-{seed}.json"
    cmd = [sys.executable, __file__, "--worker", kind, "--data", str(data), "--batch", str(batch),
           "--seed", str(seed), "--epochs", str(args.epochs), "--threads", str(args.threads),
           "--dataset", args.dataset, "--max-queries", str(args.max_queries),
           "--reference", str(args.reference), "--result", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)} if args.threads else None
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    return json.loads(out.read_text())


def score(recs, queries) -> tuple[float, float]:
    from apc.evaluation.metrics import mrr_at_k, recall_at_k

    recs = np.asarray(recs, dtype=np.int32)
    targets = queries.targets_csr()
    return (float(np.nanmean(recall_at_k(recs, targets, K))),
            float(np.nanmean(mrr_at_k(recs, targets, K))))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reference", default="", help="folder of the official GRU4Rec code")
    p.add_argument("--dataset", default="synthetic", choices=("synthetic", "aotm-bigrams"))
    p.add_argument("--batch-sizes", default="32,64")
    p.add_argument("--epochs", type=int, default=10, help="10 = the paramfile's n_epochs")
    p.add_argument("--repeats", type=int, default=3, help="pairs per batch size (seeds 0..)")
    p.add_argument("--threads", type=int, default=1, help="torch threads of both (0: default)")
    p.add_argument("--max-queries", type=int, default=5000)
    p.add_argument("--out", default="", help="also write the table to this Markdown file")
    p.add_argument("--worker", choices=("apc", "official"), help=argparse.SUPPRESS)
    p.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    p.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        res = (worker_apc if args.worker == "apc" else worker_official)(args)
        args.result.write_text(json.dumps(res))
        return
    ref = Path(args.reference) if args.reference else None
    if ref is None or not (ref / "gru4rec_pytorch.py").is_file():
        print("skipped: --reference must name a folder holding the official GRU4Rec "
              "(gru4rec_pytorch.py from github.com/hidasib/GRU4Rec_PyTorch_Official); "
              f"got {args.reference or 'nothing'}")
        return
    split = load_split(args.dataset, 0)
    queries = query_sample(split, args.max_queries, 0)
    rows = []
    with tempfile.TemporaryDirectory(prefix="apc-gru4rec-official-") as tmp:
        data = Path(tmp)
        export_tsv(split.train, data / "train.tsv")
        np.savez(data / "queries.npz", indptr=queries.seeds_indptr, seeds=queries.seeds)
        for seed in range(args.repeats):
            for batch in [int(b) for b in args.batch_sizes.split(",")]:
                pair = {}
                for kind in ("apc", "official"):  # interleaved: apc, official, apc, official ...
                    r = run_worker(kind, args, data, batch, seed)
                    r["recall"], r["mrr"] = score(r.pop("recs"), queries)
                    pair[kind] = r
                    print(f"batch {batch} seed {seed} {kind}: cpu {r['cpu']:.1f} s, wall "
                          f"{r['wall']:.1f} s, {r['events'] / r['cpu']:,.0f} events/CPU-s, "
                          f"recall@{K} {r['recall']:.4f}, MRR@{K} {r['mrr']:.4f}"
                          + (f", sample cache {r['cache_cpu']:.1f} CPU-s" if "cache_cpu" in r
                             else ""), flush=True)
                a, o = pair["apc"], pair["official"]
                rows.append({
                    "batch": batch, "seed": seed,
                    "cpu_ratio": o["cpu"] / a["cpu"],  # events are equal: speed ratio apc/official
                    "cpu_ratio_no_cache": (o["cpu"] - o["cache_cpu"]) / a["cpu"],
                    "wall_ratio": o["wall"] / a["wall"],
                    "apc_eps": a["events"] / a["cpu"], "off_eps": o["events"] / o["cpu"],
                    "apc_recall": a["recall"], "off_recall": o["recall"],
                    "apc_mrr": a["mrr"], "off_mrr": o["mrr"],
                })
    text = report(rows, args, split, queries, argv)
    print(text)
    if args.out:
        Path(args.out).write_text(text)


def report(rows, args, split, queries, argv) -> str:
    import torch

    cmd = "nice -n 5 .venv/bin/python benchmarks/speed/bench_gru4rec_official.py " + " ".join(
        argv if argv is not None else sys.argv[1:])
    st = split.train.stats()
    lines = [
        f"Command: `{cmd}`", "",
        f"{args.dataset}: {st['playlists']:,} training playlists, {st['tracks']:,} tracks, "
        f"{st['entries']:,} entries; {len(queries):,} NextTrack queries; {args.epochs} epochs, "
        f"{args.threads or 'default'} torch thread(s) each, torch {torch.__version__}.", "",
        "Speed ratios are apc / official training events per second (median [min, max] over "
        "the pairs); accuracy is the mean (min-max) over the pairs' seeds.", "",
        "| batch | pairs | CPU ratio | CPU ratio, official sample cache excluded | wall ratio "
        "| apc events/CPU-s | official events/CPU-s | apc recall@20 | official recall@20 "
        "| apc MRR@20 | official MRR@20 |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def med(v):
        v = np.asarray(v)
        return f"{np.median(v):.2f} [{v.min():.2f}, {v.max():.2f}]"

    def acc(v):
        v = np.asarray(v)
        return f"{v.mean():.4f} ({v.min():.4f}-{v.max():.4f})"

    for batch in sorted({r["batch"] for r in rows}):
        rs = [r for r in rows if r["batch"] == batch]
        col = lambda k, rs=rs: [r[k] for r in rs]  # noqa: E731
        lines.append(
            f"| {batch} | {len(rs)} | {med(col('cpu_ratio'))} | {med(col('cpu_ratio_no_cache'))} "
            f"| {med(col('wall_ratio'))} | {np.median(col('apc_eps')):,.0f} "
            f"| {np.median(col('off_eps')):,.0f} | {acc(col('apc_recall'))} "
            f"| {acc(col('off_recall'))} | {acc(col('apc_mrr'))} | {acc(col('off_mrr'))} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
