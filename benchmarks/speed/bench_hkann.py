"""HKANN beside GRU4Rec, the attentive bi-GRU and SASRec under the NextTrack protocol (issue 16).

A thin wrapper of ``bench_sequence.py``: the same corpora, split (``NextTrack``, seed
0), seeded query sample, metrics and table columns, with ``hkann`` added to its model
list (the ``--tuned`` settings give HKANN the others' patience 3; its own defaults
already use lr 3e-3). Popularity, Markov and k-NN rows come along as reference points.

Usage (from the repository root)::

    nice -n 5 .venv/bin/python benchmarks/speed/bench_hkann.py \\
        --datasets synthetic --epochs 5 --tuned --threads 1 --out /tmp/hkann-synth.md
    nice -n 5 .venv/bin/python benchmarks/speed/bench_hkann.py \\
        --datasets mpd-followers10 --models sasrec,gru4rec,hkann --epochs 3 --tuned \\
        --threads 1 --out /tmp/hkann-mpd.md

then copy the tables into ``benchmarks/RESULTS.md`` ("Issue 16 — HKANN").
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_sequence as bs  # noqa: E402

bs.NEURAL.add("hkann")
bs.TUNED.setdefault("hkann", {"patience": 3})
_models_for = bs.models_for


def models_for(name: str, n_tracks: int, epochs: int, tuned: bool = False):
    """``bench_sequence``'s models plus HKANN (its defaults, capped epochs)."""
    extra = bs.TUNED["hkann"] if tuned else {}
    return [*_models_for(name, n_tracks, epochs, tuned), ("hkann", {"epochs": epochs, **extra})]


bs.models_for = models_for  # run_dataset looks the name up at call time


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", default="synthetic,mpd-followers10")
    p.add_argument("--models", default="", help="comma-separated subset of the models")
    p.add_argument("--epochs", type=int, default=5, help="maximum epochs of the neural models")
    p.add_argument("--max-queries", type=int, default=20_000)
    p.add_argument("--threads", type=int, default=1, help="torch threads (0: torch's default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tuned", action="store_true", help="neural models with bench_sequence's TUNED")
    p.add_argument("--set", action="append", default=[], metavar="MODEL:KEY=VALUE")
    p.add_argument("--out", default="")
    argv = sys.argv[1:] if argv is None else argv
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
    command = "nice -n 5 .venv/bin/python benchmarks/speed/bench_hkann.py " + " ".join(argv)
    parts = [f"Command: `{command}`\n\nMachine: {bs.machine()}\n"]
    for name in [d for d in args.datasets.split(",") if d]:
        text, _ = bs.run_dataset(name, args)
        print(text, flush=True)
        parts.append(text)
    if args.out:
        out = Path(args.out)
        tmp = out.with_suffix(out.suffix + ".tmp")
        tmp.write_text("\n".join(parts))
        os.replace(tmp, out)


if __name__ == "__main__":
    main()
