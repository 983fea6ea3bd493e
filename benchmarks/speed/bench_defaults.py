"""Teaching defaults (issue 13 item 4): every registered model, default parameters, synth:small.

Each model runs in its own subprocess (so one model's imports, threads, numba
compilation and in-process memo never help the next), with the protocol it is meant
for: ``cold-start`` for the content models (``profile``, ``membership``,
``content-knn``), ``continuation`` (what ``apc evaluate`` picks when no
``--protocol`` is given) for every other model. The child loads the corpus, splits it,
fits the model and evaluates it (recommend + metrics at ``--k 10,100,500``), and
reports CPU seconds (``time.process_time``: all threads of the process) and wall
seconds for each phase. The parent adds the child's whole CPU time
(``RUSAGE_CHILDREN``: interpreter start, imports, corpus generation included) and
flags every model whose fit + evaluate takes more than 120 s of wall *or* CPU time.

The feature store's on-disk cache (``APC_CACHE_DIR``) points at a fresh temporary
folder for each model unless ``--cache-dir`` is given, so by default every figure is a
cold-cache figure; ``--cache-dir DIR --repeat 2`` shows the warm second run.

Examples
--------
    .venv/bin/python benchmarks/speed/bench_defaults.py
    .venv/bin/python benchmarks/speed/bench_defaults.py --models membership,profile --repeat 2
    .venv/bin/python benchmarks/speed/bench_defaults.py --timeout 900 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

CONTENT_MODELS = {"profile", "membership", "content-knn"}
LIMIT_S = 120.0

CHILD = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
name, protocol = sys.argv[1], sys.argv[2]
c0, w0 = time.process_time(), time.perf_counter()
from apc.datasets import load_corpus
from apc.evaluation.evaluate import evaluate
from apc.evaluation.protocols import make_protocol
from apc.workflows import build_model
corpus = load_corpus("synth:small")
split = make_protocol(protocol).split(corpus, seed=0)
model = build_model(name, {})
c1, w1 = time.process_time(), time.perf_counter()
model.fit(split.train)
c2, w2 = time.process_time(), time.perf_counter()
# the fit figures first, so that a failure in evaluate still leaves them
print("FIT " + json.dumps({"setup_cpu": c1 - c0, "setup_wall": w1 - w0,
                           "fit_cpu": c2 - c1, "fit_wall": w2 - w1}), flush=True)
res = evaluate(model, split, ks=[10, 100, 500], seed=0, model_name=name, fit=False)
c3, w3 = time.process_time(), time.perf_counter()
means = res.per_query.groupby("label")["value"].mean()
print("RESULT " + json.dumps({
    "setup_cpu": c1 - c0, "setup_wall": w1 - w0,
    "fit_cpu": c2 - c1, "fit_wall": w2 - w1,
    "eval_cpu": c3 - c2, "eval_wall": w3 - w2,
    "recall@100": float(means.get("recall@100", float("nan"))),
}))
"""


def protocol_for(name: str) -> str:
    return "cold-start" if name in CONTENT_MODELS else "continuation"


def run_one(name: str, *, cache_dir: str | None, timeout: float, python: str) -> dict:
    env = dict(os.environ)
    tmp = None
    if cache_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="apc-bench-defaults-")
        cache_dir = tmp.name
    env["APC_CACHE_DIR"] = cache_dir
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    w0 = time.perf_counter()
    row: dict = {"model": name, "protocol": protocol_for(name)}
    try:
        proc = subprocess.run(
            [python, "-c", CHILD, name, protocol_for(name)],
            capture_output=True, text=True, env=env, timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        row["status"] = f"timeout>{timeout:.0f}s"
        proc = None
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    row["process_wall"] = time.perf_counter() - w0
    row["process_cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc is not None:
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if proc.returncode == 0 and lines:
            row.update(json.loads(lines[-1][len("RESULT "):]))
            row["status"] = "ok"
        else:
            fit = [ln for ln in proc.stdout.splitlines() if ln.startswith("FIT ")]
            if fit:
                row.update(json.loads(fit[-1][len("FIT "):]))
            row["status"] = f"error rc={proc.returncode}"
            row["stderr"] = proc.stderr[-2000:]
    if tmp is not None:
        tmp.cleanup()
    fe_wall = row.get("fit_wall", float("nan")) + row.get("eval_wall", float("nan"))
    fe_cpu = row.get("fit_cpu", float("nan")) + row.get("eval_cpu", float("nan"))
    row["fit_eval_wall"], row["fit_eval_cpu"] = fe_wall, fe_cpu
    over = row["status"] != "ok" or fe_wall > LIMIT_S or fe_cpu > LIMIT_S
    row["flag"] = "OVER 120 s" if over else ""
    return row


def fmt(v, column: str = "") -> str:
    if isinstance(v, float):
        return f"{v:.4f}" if column.startswith("recall") else f"{v:.1f}"
    return str(v)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default=None,
                    help="comma-separated registry names (default: every registered model)")
    ap.add_argument("--cache-dir", default=None,
                    help="feature cache shared by the runs (default: a fresh one per run)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per model (default 1)")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per run")
    ap.add_argument("--json", default=None, help="also write the rows to this JSON file")
    args = ap.parse_args(argv)

    if args.models:
        names = [m.strip() for m in args.models.split(",") if m.strip()]
    else:
        from apc.models.registry import available_models

        names = [s.name for s in available_models()]
    print(f"# {' '.join([os.path.basename(sys.executable), *sys.argv])}")
    print(f"# {platform.machine()}, {os.cpu_count()} CPU cores, Python "
          f"{platform.python_version()}, load average {os.getloadavg()[0]:.2f} at start")
    cols = ["model", "protocol", "run", "fit_cpu", "fit_wall", "eval_cpu", "eval_wall",
            "fit_eval_cpu", "fit_eval_wall", "process_cpu", "process_wall", "recall@100",
            "status", "flag"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "|".join("---" for _ in cols) + "|")
    rows = []
    for name in names:
        for run in range(1, args.repeat + 1):
            row = run_one(name, cache_dir=args.cache_dir, timeout=args.timeout,
                          python=sys.executable)
            row["run"] = run
            rows.append(row)
            print("| " + " | ".join(fmt(row.get(c, ""), c) for c in cols) + " |", flush=True)
            if row.get("stderr"):
                print(row["stderr"], file=sys.stderr)
    print(f"# load average {os.getloadavg()[0]:.2f} at end")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
