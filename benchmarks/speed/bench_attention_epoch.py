"""Epoch time and accuracy of the attentive bi-GRU and SASRec, this code against another checkout.

Issue 13 item 2: an epoch of ``attn-gru`` and ``sasrec`` on the MPD subset must take
minutes. For each model, seed and code tree (``--before PATH``: a checkout of an
earlier commit, e.g. made with ``git worktree add /tmp/h1-before <commit>``; and this
working tree) a child process splits the corpus with ``NextTrack`` (seed 0, as
``bench_sequence.py``), fits the model for exactly ``--epochs`` epochs (early stopping
off: ``patience`` is set to the number of epochs), and scores a seeded sample of the
held-out queries with apc's evaluation (recall@10/100, NDCG@100). The children run one
after another in this process tree; the parent prints one Markdown table with fit CPU
seconds (``time.process_time`` of the child: all its threads), fit wall seconds, wall
seconds per training epoch (validation excluded, from the model's ``epoch_times_``),
CPU seconds per epoch (fit CPU / epochs, validation included), and the CPU ratio
before / after.

Usage (from the repository root)::

    .venv/bin/python benchmarks/speed/bench_attention_epoch.py --dataset mpd-followers10 \
        --models attn-gru,sasrec --epochs 1 --before /tmp/h1-before --set attn-gru:max_len=20

Real data is read from ``../shared/data`` (``APC_SHARED_DATA`` overrides); an absent
corpus is skipped with a note. ``--before`` is optional (then only this tree runs).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KS = [10, 100]


# ---------------------------------------------------------------------------- child
def child(args) -> None:
    """Fit and evaluate one (model, seed) with the apc found under ``args.code``."""
    sys.path.insert(0, str(Path(args.code).resolve()))
    os.environ.setdefault("APC_PROGRESS", "0")
    import numpy as np
    import pandas as pd
    import torch

    torch.set_num_threads(args.threads)
    import apc
    from apc.evaluation.evaluate import evaluate
    from apc.evaluation.protocols import NextTrack
    from apc.models.registry import create_model, parse_value

    sys.path.insert(0, str(ROOT / "benchmarks" / "speed"))
    from bench_sequence import load

    corpus = load(args.dataset)
    if corpus is None:
        print(json.dumps({"skipped": f"{args.dataset}: data not found"}))
        return
    split = NextTrack().split(corpus, seed=0)
    queries = split.queries
    if args.max_queries and len(queries) > args.max_queries:
        rng = np.random.default_rng(0)
        rows = np.sort(rng.choice(len(queries), args.max_queries, replace=False))
        split = type(split)(train=split.train, queries=queries.subset(rows), report=split.report)
    params = {"epochs": args.epochs, "patience": args.epochs, "seed": args.seed}
    if split.train.n_tracks > 10_000:
        params["n_negatives"] = 1024
    for item in args.set:
        model, _, assignment = item.partition(":")
        key, _, value = assignment.partition("=")
        if model == args.model:
            params[key] = parse_value(value)
    model = create_model(args.model, params)
    if args.steps:
        row = time_steps(model, split.train, args.steps, apc_root=apc.__file__)
        print(json.dumps({**row, "params": params}))
        return
    c0, w0 = time.process_time(), time.perf_counter()
    model.fit(split.train)
    fit_cpu, fit_wall = time.process_time() - c0, time.perf_counter() - w0
    result = evaluate(model, split, ks=KS, metrics=["recall", "ndcg"], dataset=args.dataset,
                      seed=0, model_name=args.model, fit=False)
    pq = result.per_query
    row = {"code": str(Path(apc.__file__).resolve().parents[1]), "model": args.model,
           "seed": args.seed, "params": params, "fit_cpu": fit_cpu, "fit_wall": fit_wall,
           "epochs": len(model.epoch_times_), "epoch_wall": float(np.mean(model.epoch_times_)),
           "events": int(model.n_train_events_), "queries": len(split.queries)}
    for metric, k in (("recall", 10), ("recall", 100), ("ndcg", 100)):
        sel = (pq["metric"] == metric) & (pd.to_numeric(pq["k"], errors="coerce") == k)
        row[f"{metric}@{k}"] = float(pq.loc[sel, "value"].mean())
    print(json.dumps(row))


def time_steps(model, train, steps: int, apc_root: str) -> dict:
    """CPU and wall time of ``steps`` training steps (after 5 warm-up steps), no Trainer.

    The model's own hooks build the data module, network, LightningModule and optimiser
    exactly as ``fit`` does; each step is ``training_step``, ``backward`` and the
    optimiser's ``step``. Reported with the steps of one epoch and their product: an
    estimate of an epoch's training CPU time (validation and Lightning's hooks excluded).
    """
    import torch

    from apc.models.sequence.data import SequenceDataModule

    cfg = model.config
    torch.manual_seed(int(cfg.seed))
    model._validate(train)
    dm = SequenceDataModule(train, val_fraction=float(cfg.val_fraction), layout=model.layout,
                            batch_size=int(cfg.batch_size), max_len=cfg.max_len,
                            seed=int(cfg.seed))
    net = model._build_network(train, None)
    lit = model._build_lightning(net, train, dm)
    lit.log = lambda *a, **k: None  # no Trainer attached
    opt = lit.configure_optimizers()
    loader = dm.train_dataloader()

    def forever():
        while True:  # a new epoch when the loader runs out
            yield from loader

    batches = forever()

    def run(n: int) -> None:
        for i in range(n):
            loss = lit.training_step(next(batches), i)
            opt.zero_grad()
            loss.backward()
            opt.step()

    run(5)
    c0, w0 = time.process_time(), time.perf_counter()
    run(steps)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    return {"code": str(Path(apc_root).resolve().parents[1]), "model": model.name,
            "seed": int(cfg.seed), "steps": steps, "cpu_per_step": cpu / steps,
            "wall_per_step": wall / steps, "steps_per_epoch": len(loader),
            "epoch_cpu_est": cpu / steps * len(loader)}


# ---------------------------------------------------------------------------- parent
def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="mpd-followers10")
    p.add_argument("--models", default="attn-gru,sasrec")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--seeds", default="0", help="comma-separated model seeds")
    p.add_argument("--before", default="", help="checkout of the code to compare against")
    p.add_argument("--max-queries", type=int, default=10_000, help="seeded query sample (0: all)")
    p.add_argument("--threads", type=int, default=1, help="torch threads of each child")
    p.add_argument("--set", action="append", default=[], metavar="MODEL:KEY=VALUE",
                   help="hyper-parameter of one model, for both code trees (repeatable)")
    p.add_argument("--set-after", action="append", default=[], metavar="MODEL:KEY=VALUE",
                   help="hyper-parameter given to this tree only (e.g. a new option)")
    p.add_argument("--trees", default="before,after",
                   help="which code trees to run (before needs --before)")
    p.add_argument("--json", default="", help="also append each run as a JSON line to this file")
    p.add_argument("--table-from", default="", help="only print the table of a --json file")
    p.add_argument("--steps", type=int, default=0,
                   help="only time this many training steps and estimate an epoch from them")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--code", default=str(ROOT), help=argparse.SUPPRESS)
    p.add_argument("--model", default="", help=argparse.SUPPRESS)
    p.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(args)
        return
    if args.table_from:
        print(table([json.loads(line) for line in Path(args.table_from).read_text().splitlines()]))
        return
    wanted = set(args.trees.split(","))
    trees = ([("before", args.before, [])] if args.before and "before" in wanted else []) + (
        [("after", str(ROOT), args.set_after)] if "after" in wanted else []
    )
    rows = []
    for model in [m for m in args.models.split(",") if m]:
        for seed in [int(s) for s in args.seeds.split(",") if s]:
            for label, code, extra in trees:
                cmd = [sys.executable, __file__, "--child", "--code", code, "--model", model,
                       "--seed", str(seed), "--dataset", args.dataset, "--epochs", str(args.epochs),
                       "--max-queries", str(args.max_queries), "--threads", str(args.threads),
                       "--steps", str(args.steps)]
                for s in args.set + extra:
                    cmd += ["--set", s]
                print(f"[{label}] {model} seed {seed} ...", file=sys.stderr, flush=True)
                env = {**os.environ, "PYTHONPATH": code}  # the shared data of this checkout:
                env.setdefault("APC_SHARED_DATA", str(ROOT.parent / "shared" / "data"))
                out = subprocess.run(cmd, capture_output=True, text=True, env=env)
                if out.returncode != 0:
                    print(out.stderr[-3000:], file=sys.stderr)
                    raise SystemExit(f"{label} {model} seed {seed} failed")
                row = json.loads(out.stdout.strip().splitlines()[-1])
                if "skipped" in row:
                    print(row["skipped"])
                    return
                row["tree"] = label
                rows.append(row)
                if args.json:
                    with open(args.json, "a") as f:
                        f.write(json.dumps(row) + "\n")
                print(json.dumps(row), file=sys.stderr, flush=True)
    print(table(rows))


def table(rows: list[dict]) -> str:
    """Markdown table of the runs, with before/after CPU ratios per (model, seed)."""
    if rows and "steps" in rows[0]:
        return step_table(rows)
    lines = [
        "| model | seed | code | fit CPU s | fit wall s | CPU s / epoch | wall s / epoch "
        "(training) | CPU before / after | recall@10 | recall@100 | NDCG@100 |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    before = {(r["model"], r["seed"]): r for r in rows if r["tree"] == "before"}
    for r in rows:
        b = before.get((r["model"], r["seed"]))
        ratio = ""
        if b is not None and r["tree"] == "after":
            ratio = f"{b['fit_cpu'] / r['fit_cpu']:.1f}x"
        lines.append(
            f"| {r['model']} | {r['seed']} | {r['tree']} | {r['fit_cpu']:,.1f} "
            f"| {r['fit_wall']:,.1f} "
            f"| {r['fit_cpu'] / r['epochs']:,.1f} | {r['epoch_wall']:,.1f} | {ratio} "
            f"| {r['recall@10']:.4f} | {r['recall@100']:.4f} | {r['ndcg@100']:.4f} |"
        )
    return "\n".join(lines) + "\n"


def step_table(rows: list[dict]) -> str:
    """Markdown table of ``--steps`` runs: CPU per step and the estimated epoch."""
    lines = [
        "| model | code | steps timed | CPU ms / step | wall ms / step | steps / epoch "
        "| est. CPU s / epoch | CPU before / after |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    before = {(r["model"], r["seed"]): r for r in rows if r["tree"] == "before"}
    for r in rows:
        b = before.get((r["model"], r["seed"]))
        ratio = ""
        if b is not None and r["tree"] == "after":
            ratio = f"{b['epoch_cpu_est'] / r['epoch_cpu_est']:.1f}x"
        lines.append(
            f"| {r['model']} | {r['tree']} | {r['steps']} | {1000 * r['cpu_per_step']:,.1f} "
            f"| {1000 * r['wall_per_step']:,.1f} | {r['steps_per_epoch']:,} "
            f"| {r['epoch_cpu_est']:,.0f} | {ratio} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
