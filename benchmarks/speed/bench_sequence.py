"""Neural next-track models beside popularity / markov / knn under the NextTrack protocol.

For each corpus (the synthetic "small" preset, AotM bigram segments, MPD playlists with
>= 10 followers) the corpus is split once by playlist with ``NextTrack`` and every model
is fitted on the train side and asked for each held-out position's next track. The
script prints (and with ``--out`` writes) Markdown tables of recall@10/100, MRR@100 and
NDCG@100 with fit and recommend times, and for the neural models the training time per
epoch and training events (input, next track pairs) per second.

Usage (from the repository root)::

    nice -n 10 .venv/bin/python benchmarks/speed/bench_sequence.py \
        --datasets synthetic,aotm-bigrams,mpd-followers10 --out /tmp/sequence.md   # then copy the tables into benchmarks/RESULTS.md

Real data is read from ``../shared/data`` (``APC_SHARED_DATA`` overrides); corpora
that are absent are skipped with a note.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

os.environ.setdefault("APC_PROGRESS", "0")

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from apc.testing import SHARED_DATA  # noqa: E402

NEURAL = {"gru4rec", "attn-gru", "sasrec"}
KS = [10, 100]
METRICS = ["recall", "mrr", "ndcg"]


def load(name: str):
    """The corpus ``name`` (None when its files are absent)."""
    if name == "synthetic":
        from apc.datasets.synthetic import generate

        return generate("small", seed=0)
    if name == "aotm-bigrams":
        path = SHARED_DATA / "aotm-bigrams" / "aotm-bigrams.csv.gz"
        if not path.exists():
            return None
        from apc.datasets.longformat import read_longformat

        return read_longformat(path, preset="aotm-bigrams")
    if name == "mpd-followers10":
        path = SHARED_DATA / "mpd-followers10"
        if not path.is_dir():
            return None
        from apc.datasets.mpd import read_mpd

        return read_mpd(path)
    raise SystemExit(f"unknown dataset {name!r}")


# ``--tuned``: a small hand search judged on each model's own validation recall (the
# share of training playlists it holds out for early stopping), never on the test
# queries. GRU4Rec: lr, momentum and hidden dropout of the official code's best RSC15
# setting (rsc15_xe_shared_100_best.py), with apc's batch 64 and logq 0 (the file: 32, 1;
# bench_gru4rec_official.py runs all of the file's values);
# the attention models: a 3x larger Adam step. All: patience 3 instead of 2.
TUNED = {
    "gru4rec": {"lr": 0.2, "momentum": 0.2, "dropout_hidden": 0.4, "patience": 3},
    "attn-gru": {"lr": 3e-3, "patience": 3},
    "sasrec": {"lr": 3e-3, "patience": 3},
}


def models_for(name: str, n_tracks: int, epochs: int, tuned: bool = False) -> list[tuple[str, dict]]:
    """Models and hyper-parameters run on a corpus (neural: defaults or TUNED, capped epochs)."""
    big = n_tracks > 10_000

    def neural(model: str, extra: dict) -> tuple[str, dict]:
        return model, {"epochs": epochs, **extra, **(TUNED[model] if tuned else {})}

    return [
        ("popularity", {}),
        ("markov", {}),
        ("knn", {}),
        neural("gru4rec", {}),
        neural("attn-gru", {"n_negatives": 1024} if big else {}),
        neural("sasrec", {"n_negatives": 1024} if big else {}),
    ]


def run_dataset(name: str, args) -> tuple[str, pd.DataFrame | None]:
    from apc.evaluation.evaluate import evaluate
    from apc.evaluation.protocols import NextTrack
    from apc.models.registry import available_models, create_model

    corpus = load(name)
    if corpus is None:
        return f"### {name}\n\nSkipped: data not found under {SHARED_DATA}.\n", None
    split = NextTrack().split(corpus, seed=args.seed)
    train, queries = split.train, split.queries
    if args.max_queries and len(queries) > args.max_queries:
        rows = np.sort(np.random.default_rng(args.seed).choice(len(queries), args.max_queries, replace=False))
        queries = queries.subset(rows)
        split = type(split)(train=train, queries=queries, report=split.report)
    known = {s.name for s in available_models()}
    rows = []
    for model_name, params in models_for(name, train.n_tracks, args.epochs, args.tuned):
        params = {**params, **args.overrides.get(model_name, {})}
        if args.models and model_name not in args.models:
            continue
        if model_name not in known:
            rows.append({"model": model_name, "note": "not available"})
            continue
        model = create_model(model_name, params)
        print(f"[{name}] {model_name} {params} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        result = evaluate(model, split, ks=KS, metrics=METRICS, dataset=name, seed=args.seed, model_name=model_name)
        wall = time.perf_counter() - t0
        pq = result.per_query
        row = {"model": model_name}
        for metric in METRICS:
            for k in KS:
                sel = (pq["metric"] == metric) & (pd.to_numeric(pq["k"], errors="coerce") == k)
                if sel.any():
                    row[f"{metric}@{k}"] = float(pq.loc[sel, "value"].mean())
        row["fit_s"] = result.fit_seconds
        row["recommend_s"] = result.recommend_seconds
        if model_name in NEURAL:
            times = getattr(model, "epoch_times_", [])
            row["epochs"] = len(times)
            row["best_epoch"] = getattr(model, "best_epoch_", None)
            row["s/epoch"] = float(np.mean(times)) if times else np.nan
            row["events/s"] = model.n_train_events_ / row["s/epoch"] if times else np.nan
            hist = getattr(model, "history_", None)
            val = hist.filter(like="val_recall") if hist is not None and len(hist) else None
            row["val_recall"] = float(val.max().max()) if val is not None and val.size else np.nan
        row["wall_s"] = wall
        rows.append(row)
        print(f"[{name}] {model_name}: {row}", file=sys.stderr, flush=True)
    table = pd.DataFrame(rows)
    st = train.stats()
    header = (
        f"### {name}\n\n"
        f"Train: {st['playlists']:,} playlists, {st['tracks']:,} tracks, {st['entries']:,} entries; "
        f"queries: {len(queries):,} (NextTrack, seed {args.seed}"
        + (f", a seeded sample of {args.max_queries:,}" if args.max_queries and len(queries) == args.max_queries else "")
        + ").\n\n"
    )
    return header + _markdown(table) + "\n", table


def _markdown(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        cells = []
        for c in cols:
            v = r[c]
            if isinstance(v, float):
                cells.append("" if np.isnan(v) else (f"{v:.4f}" if abs(v) < 10 else f"{v:,.1f}"))
            else:
                cells.append("" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def machine() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} logical CPUs (shared with other jobs), torch {torch.__version__} "
        f"with {torch.get_num_threads()} threads, Python {platform.python_version()}"
    )


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", default="synthetic,aotm-bigrams,mpd-followers10")
    p.add_argument("--models", default="", help="comma-separated subset of the models")
    p.add_argument("--epochs", type=int, default=10, help="maximum epochs of the neural models")
    p.add_argument("--max-queries", type=int, default=20_000, help="seeded sample of queries (0: all)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tuned", action="store_true", help="neural models with the TUNED settings")
    p.add_argument("--set", action="append", default=[], metavar="MODEL:KEY=VALUE",
                   help="override one hyper-parameter of one model (repeatable)")
    p.add_argument("--out", default="", help="also write the tables to this Markdown file")
    args = p.parse_args(argv)
    args.models = [m for m in args.models.split(",") if m]
    from apc.models.registry import parse_value

    args.overrides = {}
    for item in args.set:
        model, _, assignment = item.partition(":")
        key, _, value = assignment.partition("=")
        args.overrides.setdefault(model, {})[key] = parse_value(value)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    command = "nice -n 10 .venv/bin/python benchmarks/speed/bench_sequence.py " + " ".join(
        a for a in (argv if argv is not None else sys.argv[1:])
    )
    parts = [f"Command: `{command}`\n\nMachine: {machine()}\n"]
    for name in [d for d in args.datasets.split(",") if d]:
        text, _ = run_dataset(name, args)
        print(text, flush=True)
        parts.append(text)
    if args.out:
        out = Path(args.out)
        tmp = out.with_suffix(out.suffix + ".tmp")
        tmp.write_text("\n".join(parts))
        os.replace(tmp, out)


if __name__ == "__main__":
    main()
