"""Content features and hybrid models: the evidence tables of benchmarks/RESULTS.md ("Content features", "Hybrid models").

Sub-commands (each prints a Markdown table, with the command line and the machine):

``factors``
    The task of van den Oord et al. (2013, Sec. 6) on the synthetic corpus: WMF on the
    full playlist x track matrix gives playlist factors X and track factors Y; tracks are
    split 80/20; predictors trained on the 80% map audio to Y; each playlist ranks the
    20% held-out tracks by ``X_u · ŷ_i``; mAP@500 and AUC per playlist against its
    actual held-out tracks. Predictors: the CNN (MSE and WPE), the MFCC bag of words
    with ridge regression and with an MLP, random factors, and the true WMF factors
    (the upper bound).

``recsys``
    Playlist continuation under ``ColdStartTracks`` (tracks that occur in no training
    playlist; recall@100 on all targets and on the cold targets) and under
    ``Continuation`` (warm), for random, popularity, content k-NN, Profiles and
    Membership. Features are built once per split from its training side.

Examples
--------
    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/speed/bench_content.py factors
    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/speed/bench_content.py recsys --data synthetic
    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/speed/bench_content.py recsys --data aotm

``OMP_NUM_THREADS=1``: the networks are tiny; on a shared 2-core machine OpenMP
spin-waiting makes two intra-op threads several times slower than one.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

SHARED = Path(
    os.environ.get("APC_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data")
)


# ---------------------------------------------------------------------------- helpers
def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}"


def md_table(df: pd.DataFrame, floatfmt: str = ".4f") -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for _, row in df.iterrows():
        cells = [format(v, floatfmt) if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def ap_and_auc(
    scores: np.ndarray, relevant: np.ndarray, k: int = 500
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row AP@k and AUC of dense ``scores`` (U, T) against boolean ``relevant`` (U, T).

    AP@k = (1 / min(|rel|, k)) sum_{r <= k} P@r [item at r relevant]; AUC = probability that
    a relevant item outranks an irrelevant one (ties count one half). Rows without
    relevant or without irrelevant items get NaN.
    """
    from scipy.stats import rankdata

    order = np.argsort(-scores, axis=1, kind="stable")
    rel_sorted = np.take_along_axis(relevant, order, axis=1)[:, :k]
    hits = np.cumsum(rel_sorted, axis=1)
    prec = hits / np.arange(1, rel_sorted.shape[1] + 1)
    n_rel = relevant.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ap = (prec * rel_sorted).sum(axis=1) / np.minimum(n_rel, k)
        ranks = rankdata(scores, axis=1)  # 1 = lowest, ties averaged
        n_neg = relevant.shape[1] - n_rel
        auc = ((ranks * relevant).sum(axis=1) - n_rel * (n_rel + 1) / 2) / (n_rel * n_neg)
    bad = (n_rel == 0) | (n_neg == 0)
    ap[bad] = np.nan
    auc[bad] = np.nan
    return ap, auc


def load_data(name: str, args):
    """The corpus: the synthetic one or AotM bigrams with tagtraum tags."""
    if name == "synthetic":
        from apc.datasets import synthetic

        return synthetic.generate(**synthetic_params(args))
    if name == "aotm":
        from apc.datasets.longformat import read_longformat

        return read_longformat(
            SHARED / "aotm-bigrams" / "aotm-bigrams.csv.gz",
            preset="aotm-bigrams",
            tags_path=SHARED / "tags" / "msd_tagtraum_cd1.cls",
        )
    raise SystemExit(f"unknown data {name!r}")


def synthetic_params(args) -> dict:
    return {"seed": args.seed, **({"size": args.size} if getattr(args, "size", None) else {})}


# ---------------------------------------------------------------------------- factors
def cmd_factors(args) -> str:
    from apc.features.audio import MelSettings
    from apc.features.cnn import AudioFactorCNN
    from apc.features.mfcc_bow import FactorRegressor, MFCCBagOfWords
    from apc.features.store import corpus_log_mels
    from apc.features.wmf import WMF

    pl = load_data("synthetic", args)
    t0 = time.perf_counter()
    specs, report = corpus_log_mels(
        pl, settings=MelSettings(), cache_dir=args.cache, render_seconds=args.seconds
    )
    t_mel = time.perf_counter() - t0
    counts = pl.to_csr()
    wmf = WMF(n_factors=args.factors, seed=args.seed).fit_matrix(counts)
    rng = np.random.default_rng(args.seed)
    usable = np.flatnonzero(wmf.available_ & np.array([s is not None for s in specs]))
    perm = rng.permutation(usable)
    n_test = len(perm) // 5
    test, train = np.sort(perm[:n_test]), np.sort(perm[n_test:])
    y = wmf.track_factors_
    rows = []

    def evaluate(name: str, y_test: np.ndarray, fit_s: float) -> None:
        scores = wmf.playlist_factors_ @ y_test.T  # (U, T_test)
        relevant = counts[:, test].toarray() > 0
        ap, auc = ap_and_auc(scores, relevant, k=500)
        ok = ~np.isnan(ap)
        rows.append(
            {
                "predictor": name,
                "mAP@500": float(np.mean(ap[ok])),
                "AUC": float(np.nanmean(auc)),
                "playlists": int(ok.sum()),
                "fit s": round(fit_s, 1),
            }
        )

    evaluate("WMF factors (upper bound)", y[test], 0.0)
    evaluate(
        "random factors",
        rng.standard_normal((len(test), y.shape[1])).astype(np.float32) * y[train].std(),
        0.0,
    )
    for loss in ("mse", "wpe"):
        t = time.perf_counter()
        cnn = AudioFactorCNN(epochs=args.epochs, loss=loss, seed=args.seed, lr=args.lr)
        cnn.fit([specs[i] for i in train], y[train], wmf=wmf, counts=counts, track_index=train)
        evaluate(
            f"CNN ({loss.upper()})", cnn.predict([specs[i] for i in test]), time.perf_counter() - t
        )
    t = time.perf_counter()
    bow = MFCCBagOfWords(seed=args.seed).fit([specs[i] for i in train])
    x_tr, x_te = bow.transform([specs[i] for i in train]), bow.transform([specs[i] for i in test])
    t_bow = time.perf_counter() - t
    for kind in ("ridge", "mlp"):
        t = time.perf_counter()
        reg = FactorRegressor(kind=kind, seed=args.seed).fit(x_tr, y[train])
        evaluate(f"MFCC bag of words + {kind}", reg.predict(x_te), t_bow + time.perf_counter() - t)
    head = (
        f"synthetic corpus: {len(pl):,} playlists, {pl.n_tracks:,} tracks; {len(train):,} training / "
        f"{len(test):,} held-out tracks; WMF K={args.factors}; clips {args.seconds:g} s "
        f"(log-mels {t_mel:.0f} s, {len(report)} failed)"
    )
    return head + "\n\n" + md_table(pd.DataFrame(rows))


# ---------------------------------------------------------------------------- recsys
MODEL_SPECS = {
    "random": ("random", {}),
    "popularity": ("popularity", {}),
    "knn": ("knn", {}),
    "cagh": ("cagh", {}),
    "content-knn": ("content-knn", {}),
    "profile": ("profile", {}),
    "membership": ("membership", {}),
}


def evaluate_split(split, feature_sets: list[str], args, label: str) -> pd.DataFrame:
    import scipy.sparse as sp
    from apc.evaluation.metrics import recall_at_k

    from apc.features import build_features
    from apc.models.registry import create_model

    train, queries = split.train, split.queries
    pop = train.item_popularity()
    cold = pop == 0
    targets = queries.targets_csr()
    # keep only the cold entries (multiply() with a dense row keeps explicit zeros, which
    # the index-based metrics would still count as targets)
    cold_targets = sp.csr_array(targets, copy=True)
    cold_targets.data = cold_targets.data * cold[cold_targets.indices]
    cold_targets.eliminate_zeros()
    has_cold = np.diff(cold_targets.indptr) > 0
    rows = []
    feats_cache: dict[str, object] = {}
    for fs in feature_sets:
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            feats_cache[fs] = (
                build_features(train, fs, cache_dir=args.cache, seed=args.seed),
                time.perf_counter() - t,
            )
    for model_name in args.models:
        name, params = MODEL_SPECS[model_name]
        for fs in feature_sets if model_name in ("content-knn", "profile", "membership") else ["-"]:
            model = create_model(name, {**params, **({"features": fs} if fs != "-" else {})})
            feats, feat_s = feats_cache.get(fs, (None, 0.0))
            t = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(train, feats)
            fit_s = time.perf_counter() - t
            t = time.perf_counter()
            recs = model.recommend(queries, 100)
            rec_s = time.perf_counter() - t
            r_all = recall_at_k(recs.items, targets, 100)
            r_cold = (
                recall_at_k(recs.items[has_cold], cold_targets[has_cold], 100)
                if has_cold.any()
                else np.array([np.nan])
            )
            rows.append(
                {
                    "protocol": label,
                    "model": model_name,
                    "features": fs,
                    "recall@100": float(np.mean(r_all)),
                    "recall@100 cold targets": float(np.mean(r_cold)),
                    "fit s": round(fit_s + feat_s, 1),
                    "recommend s": round(rec_s, 1),
                }
            )
            print(rows[-1], file=sys.stderr, flush=True)
    return pd.DataFrame(rows)


def cmd_recsys(args) -> str:
    from apc.evaluation import protocols

    data = load_data(args.data, args)
    feature_sets = args.features or (
        ["audio_cnn", "mfcc_bow", "wmf"]
        if args.data == "synthetic"
        else ["tags_w2v", "wmf", "tags_w2v,wmf"]
    )
    out = []
    cold = protocols.ColdStartTracks(**dict(args.cold or {})).split(data, seed=args.seed)
    out.append(
        evaluate_split(cold, [f for f in feature_sets if f != "wmf"], args, "ColdStartTracks")
    )
    warm = protocols.Continuation().split(data, seed=args.seed)
    out.append(evaluate_split(warm, feature_sets, args, "Continuation"))
    head = f"{args.data}: {len(data):,} playlists, {data.n_tracks:,} tracks"
    return head + "\n\n" + md_table(pd.concat(out, ignore_index=True))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("factors")
    f.add_argument("--size", default=None)
    f.add_argument("--factors", type=int, default=32)
    f.add_argument("--epochs", type=int, default=30)
    f.add_argument("--lr", type=float, default=1e-3)
    f.add_argument("--seconds", type=float, default=6.0)
    r = sub.add_parser("recsys")
    r.add_argument("--data", choices=["synthetic", "aotm"], default="synthetic")
    r.add_argument("--size", default=None)
    r.add_argument("--features", nargs="*")
    r.add_argument("--models", nargs="*", default=list(MODEL_SPECS))
    r.add_argument(
        "--cold", type=lambda s: dict(kv.split("=") for kv in s.split(",")), default=None
    )
    for p in (f, r):
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--cache", default=".apc-cache/bench-content")
    args = ap.parse_args()
    os.environ.setdefault("APC_PROGRESS", "0")
    t = time.perf_counter()
    body = cmd_factors(args) if args.cmd == "factors" else cmd_recsys(args)
    print(f"command: `{' '.join(['.venv/bin/python', *sys.argv])}`  ")
    print(f"machine: {machine()}; wall {time.perf_counter() - t:.0f} s\n")
    print(body)


if __name__ == "__main__":
    main()
