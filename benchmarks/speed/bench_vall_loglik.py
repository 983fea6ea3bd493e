"""Issue 16: log-likelihood and rank of generative models, and the order ablation.

Two parts, each printing Markdown tables (``--out`` also writes them):

``--part loglik``
    NextTrack split (seed 0) of the AotM bigram segments with tagtraum genres as tags
    (and of the synthetic "small" corpus): popularity, markov, the markov McFee-Lanckriet
    mixture, feature-markov (feature edge sets; and with the bigram ``transitions`` set)
    and LME. Per model: mean log-likelihood per held-out transition (nats; perplexity),
    mean / median rank of the next song in the full ranking, mean rank percentile,
    hit@10 and mrr@10, fit seconds, and feature-markov's learned weights.

``--part ablation``
    The order ablation of Vall et al. 2018: the same NextTrack split with and without
    ``shuffle_order="train"`` (tracks of every training playlist shuffled, seeded), for
    order-free controls (popularity, knn) and every sequence model (markov, sr, lme,
    gru4rec, attn-gru, sasrec, hkann; neural models at ``--epochs`` epochs).

Usage (from the repository root)::

    nice -n 10 .venv/bin/python benchmarks/speed/bench_vall_loglik.py --part loglik \
        --datasets aotm-bigrams,synthetic --out /tmp/loglik.md
    nice -n 10 .venv/bin/python benchmarks/speed/bench_vall_loglik.py --part ablation \
        --datasets synthetic,aotm-bigrams --epochs 3 --out /tmp/ablation.md

Real data is read from ``../shared/data`` (``APC_SHARED_DATA`` overrides); absent
corpora are skipped with a note.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("APC_PROGRESS", "0")

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from apc.testing import SHARED_DATA  # noqa: E402

NEURAL = ("gru4rec", "attn-gru", "sasrec", "hkann")


def load(name: str):
    """The corpus ``name`` (None when its files are absent)."""
    if name == "synthetic":
        from apc.datasets.synthetic import generate

        return generate("small", seed=0)
    if name == "aotm-bigrams":
        path = SHARED_DATA / "aotm-bigrams" / "aotm-bigrams.csv.gz"
        tags = SHARED_DATA / "tags" / "msd_tagtraum_cd1.cls"
        if not path.exists():
            return None
        from apc.datasets.longformat import read_longformat

        return read_longformat(path, preset="aotm-bigrams",
                               tags_path=tags if tags.exists() else None)
    raise SystemExit(f"unknown dataset {name!r}")


def _f(v: float, digits: int = 4) -> str:
    return "—" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"


def loglik_part(name: str, data, epochs: int) -> list[str]:
    from apc.evaluation.evaluate import evaluate
    from apc.evaluation.protocols import make_protocol
    from apc.models.registry import create_model

    split = make_protocol("next-track").split(data, seed=0)
    models = [
        ("popularity", "popularity", {}),
        ("markov", "markov", {}),
        ("markov (alpha=1)", "markov", {"alpha": 1.0}),
        ("markov mixture", "markov", {"mixture": True}),
        ("feature-markov", "feature-markov", {}),
        ("feature-markov +transitions", "feature-markov",
         {"edge_sets": ("uniform", "popularity", "artist", "tags", "audio", "era",
                        "transitions")}),
        ("lme", "lme", {"epochs": epochs}),
    ]
    lines = [f"#### {name} (NextTrack, seed 0: {len(split.train):,} training playlists, "
             f"{split.train.n_tracks:,} tracks, {len(split.queries):,} held-out transitions)",
             "", "| model | loglik (nats) | perplexity | mean rank | median rank | rank % "
             "| hit@10 | mrr@10 | fit s |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    notes = []
    for label, reg, params in models:
        model = create_model(reg, params)
        print(f"[{name}] {label} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        res = evaluate(model, split, ks=[10], metrics=["hit", "mrr", "loglik", "rank",
                                                        "rank_pct"], dataset=name)
        wall = time.perf_counter() - t0
        pq = res.per_query
        v = {lab: pq.loc[pq.label == lab, "value"].to_numpy(dtype=float)
             for lab in pq.label.unique()}
        ll = float(np.mean(v["loglik"])) if np.isfinite(v["loglik"]).any() else float("nan")
        lines.append(
            f"| {label} | {_f(ll)} | {_f(float(np.exp(-ll)), 1)} | {_f(v['rank'].mean(), 1)} "
            f"| {_f(float(np.median(v['rank'])), 1)} | {_f(v['rank_pct'].mean(), 2)} "
            f"| {_f(v['hit@10'].mean())} | {_f(v['mrr@10'].mean())} | {_f(res.fit_seconds, 1)} |")
        w = getattr(model, "weights_", None)
        if w is not None and (reg == "feature-markov" or params.get("mixture")):
            dropped = getattr(model, "dropped_edge_sets_", ())
            notes.append(f"- {label} weights: " + ", ".join(
                f"{k} {x:.3f}" for k, x in w.items()) + (f" (dropped: {', '.join(dropped)})"
                                                         if dropped else ""))
        print(f"   {lines[-1]}  ({wall:.1f} s)", file=sys.stderr, flush=True)
    return lines + [""] + notes + [""]


def ablation_models(epochs: int, only: list[str] | None = None) -> list[tuple[str, dict]]:
    from apc.models.registry import available_models

    names = {m.name for m in available_models()}
    out = [("popularity", {}), ("knn", {}), ("markov", {}), ("sr", {}),
           ("lme", {"epochs": epochs})]
    out += [(n, {"epochs": epochs}) for n in NEURAL if n in names]
    return [m for m in out if only is None or m[0] in only]


def ablation_part(name: str, data, epochs: int, only: list[str] | None = None) -> list[str]:
    from apc.evaluation.evaluate import evaluate
    from apc.evaluation.protocols import make_protocol
    from apc.models.registry import create_model

    splits = {s: make_protocol("next-track", **({} if s == "none" else {"shuffle_order": s}))
              .split(data, seed=0) for s in ("none", "train")}
    q = splits["none"].queries
    assert np.array_equal(q.targets, splits["train"].queries.targets)
    lines = [f"#### {name} (NextTrack, seed 0, {len(q):,} queries; neural: {epochs} epochs)",
             "", "| model | hit@10 | hit@10 shuffled | mrr@10 | mrr@10 shuffled | Δ mrr@10 "
             "| loglik | loglik shuffled |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for reg, params in ablation_models(epochs, only):
        row = {}
        for s, split in splits.items():
            print(f"[{name}] {reg} shuffle={s} ...", file=sys.stderr, flush=True)
            model = create_model(reg, params)
            metrics = ["hit", "mrr"] + (["loglik"] if hasattr(model, "next_track_log_proba")
                                        else [])
            res = evaluate(model, split, ks=[10], metrics=metrics, dataset=name)
            row[s] = res.summary()
        a, b = row["none"], row["train"]
        ll = (_f(a.get("loglik", np.nan)), _f(b.get("loglik", np.nan)))
        lines.append(f"| {reg} | {_f(a['hit@10'])} | {_f(b['hit@10'])} | {_f(a['mrr@10'])} "
                     f"| {_f(b['mrr@10'])} | {_f(b['mrr@10'] - a['mrr@10'])} | {ll[0]} "
                     f"| {ll[1]} |")
        print("   " + lines[-1], file=sys.stderr, flush=True)
    return lines + [""]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--part", choices=("loglik", "ablation"), required=True)
    p.add_argument("--datasets", default="aotm-bigrams,synthetic")
    p.add_argument("--epochs", type=int, default=3, help="epochs of LME and the neural models")
    p.add_argument("--out", type=Path)
    p.add_argument("--models", help="ablation: only these registry names (comma-separated)")
    args = p.parse_args()
    lines = []
    for name in args.datasets.split(","):
        data = load(name)
        if data is None:
            lines += [f"{name}: data absent, skipped", ""]
            continue
        if args.part == "loglik":
            lines += loglik_part(name, data, args.epochs)
        else:
            only = args.models.split(",") if args.models else None
            lines += ablation_part(name, data, args.epochs, only)
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
