"""apc against what a user would pick instead, from PyPI, on one exported split.

Peers (each in its own virtualenv outside the project, see README.md) and apc's
counterparts, all on the same queries, scored by apc's metric code:

==========================  =================================  ===========================
peer                        script (peer's venv)               apc (apc's venv)
==========================  =================================  ===========================
RecBole GRU4Rec             ``peer_recbole.py --model GRU4Rec`` ``gru4rec``
RecBole SASRec              ``peer_recbole.py --model SASRec``  ``sasrec``
RecBole NARM                ``peer_recbole.py --model NARM``    ``gru4rec`` (apc has no NARM)
lenskit item k-NN           ``peer_lenskit.py``                 ``item-knn``
implicit ALS                ``peer_implicit.py``                none: apc's WMF *is*
                                                                ``implicit``'s ALS (see below)
==========================  =================================  ===========================

The split is apc's ``NextTrack()`` (every position, split seed 0) of ``--dataset``
(``synth:small``, or ``aotm``: the chained AotM bigram segments in
``/work/shared/data``); up to ``--max-queries`` queries with a non-empty seed are drawn
(seed 0). The training playlists and the queries' seeds are exported to ``--work``
(``train.csv``, ``queries.csv``, ``meta.json``: see ``_peerio.py``). Every system runs in
its own subprocess, one after the other: apc's side with apc's interpreter
(``apc_side.py``), each peer with its venv's (``--venv-NAME PATH``, default
``/work/scratch/peers-venvs/NAME``); a peer whose venv is absent is skipped with a
message saying how to create it. Each writes its top ``--k`` per query; this script
scores all lists with :func:`apc.evaluation.evaluate.score_recommendations` (HR@k,
MRR@k of the one next track) and prints, per system, fit and recommend events/s in CPU
time (``time.process_time`` of the child: training events = training playlists' tracks
after their first, i.e. next-track pairs; recommend events = queries), the wall
seconds, and the child's peak resident memory (``ru_maxrss``: imports included).

Settings: sequence models get ``--epochs`` epochs on both sides and otherwise their own
defaults (RecBole: cross-entropy over the catalogue, batch 256; apc's: its defaults);
item k-NN: each side's defaults; ALS: 64 factors, 15 iterations, one thread.
Every system runs with one compute thread: torch and BLAS set to one in the peer
scripts, and ``apc_side.py --threads 1`` (apc trains with one thread by default but
scores with torch's default, two threads on this 2-core machine).

apc has no ALS recommender of its own: ``apc.features.wmf.WMF`` (the factors behind the
``wmf`` and ``audio_cnn`` features) calls ``implicit.als.AlternatingLeastSquares``, so
the implicit row is shown for accuracy and speed next to apc's item-knn and knn only.

    .venv/bin/python benchmarks/peers/bench_peers.py [--dataset synth:small] \
        [--peers recbole-gru4rec,recbole-sasrec,recbole-narm,lenskit-itemknn,implicit-als] \
        [--max-queries 2000] [--k 20] [--epochs 5] [--work DIR] [--venv-recbole PATH] ...
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SKIP = 3  # a peer script's exit status when its library is not importable (_peerio.SKIP)
SHARED = Path("/work/shared/data")
VENVS = Path("/work/scratch/peers-venvs")

#: peer name -> (venv, script, script args, apc counterpart and its params or None)
PEERS = {
    "recbole-gru4rec": ("recbole", "peer_recbole.py", ["--model", "GRU4Rec"], "gru4rec"),
    "recbole-sasrec": ("recbole", "peer_recbole.py", ["--model", "SASRec"], "sasrec"),
    "recbole-narm": ("recbole", "peer_recbole.py", ["--model", "NARM"], "gru4rec"),
    "lenskit-itemknn": ("lenskit", "peer_lenskit.py", [], "item-knn"),
    "implicit-als": ("implicit", "peer_implicit.py", [], None),
}
#: apc models whose epochs follow --epochs
EPOCH_MODELS = {"gru4rec", "sasrec"}


def load(dataset: str):
    """The corpus of ``dataset`` (None when its files are absent)."""
    if dataset == "aotm":
        path = SHARED / "aotm-bigrams" / "aotm-bigrams.csv.gz"
        if not path.exists():
            return None
        from apc.datasets.longformat import read_longformat

        return read_longformat(path, preset="aotm-bigrams")
    from apc.datasets import load_corpus

    return load_corpus(dataset)


def export(train, queries, folder: Path, meta: dict) -> None:
    """Write ``train.csv``, ``queries.csv`` and ``meta.json`` (see ``_peerio.py``)."""
    folder.mkdir(parents=True, exist_ok=True)
    lengths = np.diff(train.indptr)
    pos = np.arange(len(train.items)) - np.repeat(train.indptr[:-1], lengths)
    rows = np.column_stack([np.repeat(np.arange(len(lengths)), lengths), train.items, pos])
    np.savetxt(folder / "train.csv", rows, fmt="%d", delimiter=",", header="session,item,pos",
               comments="")
    ql = np.diff(queries.seeds_indptr)
    qpos = np.arange(len(queries.seeds)) - np.repeat(queries.seeds_indptr[:-1], ql)
    qrows = np.column_stack([np.repeat(np.arange(len(ql)), ql), queries.seeds, qpos])
    np.savetxt(folder / "queries.csv", qrows, fmt="%d", delimiter=",", header="query,item,pos",
               comments="")
    (folder / "meta.json").write_text(json.dumps(meta))


def run(cmd: list[str], out: Path, timeout: float) -> dict:
    """Run one side; return its timing.json plus its recs (or an error)."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout > {timeout:.0f} s"}
    if p.returncode == SKIP:
        return {"skip": p.stdout.strip()}
    if p.returncode != 0 or not (out / "timing.json").exists():
        return {"error": f"rc={p.returncode}: {p.stderr.strip().splitlines()[-1:]}",
                "stderr": p.stderr[-3000:]}
    res = json.loads((out / "timing.json").read_text())
    res["recs"] = np.load(out / "recs.npy")
    return res


def score(recs: np.ndarray, queries, train, k: int) -> dict:
    from apc.evaluation.evaluate import score_recommendations

    labels = [f"hit@{k}", f"mrr@{k}"]
    df = score_recommendations(recs, queries, train, labels, model="m", dataset="d",
                               protocol="next-track", seed=0, k=k)
    return df.groupby("label")["value"].mean().to_dict()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", default="synth:small", help="synth:small (default) or aotm")
    ap.add_argument("--peers", default=",".join(PEERS))
    ap.add_argument("--max-queries", type=int, default=2000)
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--apc-epochs", type=int, default=None,
                    help="epochs of apc's neural counterparts (default: --epochs); to compare "
                    "at equal accuracy rather than at equal epochs")
    ap.add_argument("--sides", choices=("both", "apc", "peer"), default="both",
                    help="run only apc's side or only the peers' side")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per side")
    ap.add_argument("--work", default=None, help="export + outputs folder (default: a temp)")
    ap.add_argument("--json", default=None, help="also write the rows to this JSON file")
    for name in ("recbole", "lenskit", "implicit"):
        ap.add_argument(f"--venv-{name}", default=str(VENVS / name),
                        help=f"{name}'s virtualenv (default {VENVS / name})")
    args = ap.parse_args(argv)
    peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    unknown = [p for p in peers if p not in PEERS]
    if unknown:
        ap.error(f"unknown peer(s) {unknown}; known: {', '.join(PEERS)}")

    from apc.evaluation.protocols import NextTrack

    corpus = load(args.dataset)
    if corpus is None:
        print(f"skip: dataset {args.dataset!r} is absent (expected under {SHARED})")
        return 0
    split = NextTrack().split(corpus, seed=0)
    q = split.queries
    rows = np.flatnonzero(q.seed_lengths > 0)
    if len(rows) > args.max_queries:
        rows = np.sort(np.random.default_rng(0).choice(rows, args.max_queries, replace=False))
    queries, train = q.subset(rows), split.train
    work = Path(args.work or tempfile.mkdtemp(prefix="apc-peers-"))
    meta = {"dataset": args.dataset, "n_tracks": int(train.n_tracks),
            "n_queries": int(len(queries)), "k": args.k, "epochs": args.epochs, "seed": 0}
    export(train, queries, work / "split", meta)
    n_events = int(np.maximum(np.diff(train.indptr) - 1, 0).sum())
    print(f"# {' '.join([os.path.basename(sys.executable), *sys.argv])}")
    print(f"# {platform.machine()}, {os.cpu_count()} CPU cores, load average "
          f"{os.getloadavg()[0]:.2f} at start; {args.dataset}: {len(train)} training "
          f"playlists, {n_events} training events (next-track pairs), {train.n_tracks} tracks, "
          f"{len(queries)} queries; split exported to {work / 'split'}")
    cols = ["pair", "system", "model", f"hit@{args.k}", f"mrr@{args.k}", "fit_cpu_s",
            "fit_events_per_cpu_s", "rec_cpu_s", "rec_events_per_cpu_s", "fit_wall_s",
            "rec_wall_s", "peak_rss_mb", "of_which_prepare_cpu_s"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "|".join("---" for _ in cols) + "|")
    table, apc_done = [], {}
    for peer in peers:
        venv, script, extra, apc_model = PEERS[peer]
        sides = []
        py = Path(getattr(args, f"venv_{venv}")) / "bin" / "python"
        if args.sides == "apc":
            pass
        elif not py.exists():
            print(f"skip {peer}: no virtualenv at {py.parent.parent} (create it as "
                  f"benchmarks/peers/README.md says, or pass --venv-{venv} PATH)", flush=True)
        else:
            out = work / peer
            sides.append((peer, run([str(py), str(HERE / script), "--split", str(work / "split"),
                                     "--out", str(out), *extra], out, args.timeout)))
        if apc_model is not None and args.sides != "peer":
            epochs = args.epochs if args.apc_epochs is None else args.apc_epochs
            params = {"epochs": epochs} if apc_model in EPOCH_MODELS else {}
            if apc_model not in apc_done:
                out = work / f"apc-{apc_model}"
                apc_done[apc_model] = run(
                    [sys.executable, str(HERE / "apc_side.py"), "--split", str(work / "split"),
                     "--out", str(out), "--model", apc_model, "--params", json.dumps(params)],
                    out, args.timeout)
            sides.append((peer, apc_done[apc_model]))
        for pair, res in sides:
            if "skip" in res:
                print(f"{pair}: {res['skip']}", flush=True)
                continue
            row = {"pair": pair, "system": res.get("system", "?"), "model": res.get("model", "?")}
            if "error" in res:
                row["error"] = res["error"]
                print(f"| {pair} | error: {res['error']} |", flush=True)
                if res.get("stderr"):
                    print(res["stderr"], file=sys.stderr)
                table.append(row)
                continue
            m = score(res["recs"], queries, train, args.k)
            row.update({f"hit@{args.k}": m[f"hit@{args.k}"], f"mrr@{args.k}": m[f"mrr@{args.k}"],
                        "fit_cpu_s": res["fit_cpu"], "fit_wall_s": res["fit_wall"],
                        "fit_events_per_cpu_s": n_events / max(res["fit_cpu"], 1e-9),
                        "rec_cpu_s": res["recommend_cpu"], "rec_wall_s": res["recommend_wall"],
                        "rec_events_per_cpu_s": len(queries) / max(res["recommend_cpu"], 1e-9),
                        "peak_rss_mb": res["peak_rss_mb"],
                        "of_which_prepare_cpu_s": res.get("prepare_cpu", "")})
            table.append(row)
            print("| " + " | ".join(_fmt(row.get(c, "")) for c in cols) + " |", flush=True)
    print(f"# load average {os.getloadavg()[0]:.2f} at end")
    if args.json:
        Path(args.json).write_text(json.dumps(table, indent=1, default=float))
    return 0


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4f}" if v < 1 else f"{v:,.1f}" if v < 1000 else f"{v:,.0f}"
    return str(v)


if __name__ == "__main__":
    raise SystemExit(main())
