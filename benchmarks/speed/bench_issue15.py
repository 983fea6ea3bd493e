"""Issue 15: dbn-content, dbn-hybrid, content-prior-mf and multimodal beside the content baselines.

Sub-commands (each prints a Markdown table, with the command line and the machine):

``recsys``
    Playlist continuation under ``ColdStartTracks`` and warm ``Continuation``:
    recall@100 and NDCG@100 on all targets, recall@100 on the cold targets, fit time
    (wall and process CPU) and the peak traced heap of ``fit`` (``tracemalloc``: numpy and
    Python allocations; torch's own tensor memory is not traced). Models: popularity,
    WMF (fold-in of CF factors; no cold start), van den Oord's CNN (its predicted factors,
    the ``audio_cnn`` set, scored by fold-in), the MFCC bag of words (ridge regression to
    the WMF factors, scored by fold-in), profile, membership and the four issue-15 models.
    ``--data aotm``: AotM bigrams + tagtraum genres (no audio, no artist text): the
    content is ``tags_w2v``; the two audio baselines are left out.

``factors``
    The factor-prediction task (van den Oord et al. 2013, Sec. 6; Oramas et al. 2017):
    20% of the synthetic tracks are removed from every playlist (kept in the catalogue);
    each model is fitted on the rest; for every playlist with removed tracks its
    remaining tracks are folded in and the removed tracks ranked by ``x_q · ŷ_t``:
    mAP@500 and AUC against the tracks it really held.

Examples
--------
    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/speed/bench_issue15.py recsys
    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/speed/bench_issue15.py \
        recsys --data aotm
    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/speed/bench_issue15.py factors
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_content import ap_and_auc, load_data, machine, md_table  # noqa: E402

from apc.data.playlists import Playlists  # noqa: E402
from apc.models.content._base import ContentConfig, FactorModel, wmf_targets  # noqa: E402


class WMFFoldIn(FactorModel):
    """Plain WMF item factors, queries folded in (the CF reference; no cold start)."""

    name = "wmf"
    config_class = ContentConfig

    def _fit(self, train, features):
        _, y, warm = wmf_targets(train, self)
        self._finish(y, warm)


class FeatureFactors(FactorModel):
    """Item factors = a feature set that already predicts WMF factors (``audio_cnn``)."""

    name = "cnn-factors"
    config_class = ContentConfig

    def _fit(self, train, features):
        from apc.features.store import build_features

        f = build_features(train, "audio_cnn", seed=int(self.seed))
        self._finish(f.matrix, f.available)


class MFCCRidge(FactorModel):
    """van den Oord's baseline: MFCC bag of words -> WMF factors by ridge regression."""

    name = "mfcc-bow"
    config_class = ContentConfig

    def _fit(self, train, features):
        from apc.features.mfcc_bow import FactorRegressor
        from apc.features.store import build_features

        f = build_features(train, "mfcc_bow", seed=int(self.seed))
        _, y, warm = wmf_targets(train, self)
        rows = np.flatnonzero(warm & f.available)
        reg = FactorRegressor(kind="ridge", seed=int(self.seed)).fit(f.matrix[rows], y[rows])
        self._finish(reg.predict(f.matrix), f.available)


def make(name: str, tags_only: bool):
    from apc.models.registry import create_model

    extra = {"features": "tags_w2v"} if tags_only else {}
    local = {"wmf": WMFFoldIn, "cnn (van den Oord)": FeatureFactors, "mfcc-bow": MFCCRidge}
    if name in local:
        return local[name]()
    return create_model(name, extra if name != "popularity" else {})


MODELS = ["popularity", "wmf", "cnn (van den Oord)", "mfcc-bow", "profile", "membership",
          "dbn-content", "dbn-hybrid", "content-prior-mf", "multimodal"]


def run_split(split, models: list[str], label: str, tags_only: bool) -> list[dict]:
    import scipy.sparse as sp

    from apc.evaluation.metrics import ndcg_at_k, recall_at_k

    train, queries = split.train, split.queries
    cold = train.item_popularity() == 0
    targets = queries.targets_csr()
    cold_t = sp.csr_array(targets, copy=True)
    cold_t.data = cold_t.data * cold[cold_t.indices]
    cold_t.eliminate_zeros()
    has_cold = np.diff(cold_t.indptr) > 0
    rows = []
    for name in models:
        model = make(name, tags_only)
        tracemalloc.start()
        t, c = time.perf_counter(), time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(train)
        fit_s, fit_cpu = time.perf_counter() - t, time.process_time() - c
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        recs = model.recommend(queries, 100)
        row = {
            "protocol": label,
            "model": name,
            "recall@100": float(np.mean(recall_at_k(recs.items, targets, 100))),
            "NDCG@100": float(np.mean(ndcg_at_k(recs.items, targets, 100))),
            "recall@100 cold": float(np.mean(recall_at_k(recs.items[has_cold],
                                                          cold_t[has_cold], 100)))
            if has_cold.any() else float("nan"),
            "fit s (wall)": round(fit_s, 1),
            "fit s (CPU)": round(fit_cpu, 1),
            "peak traced MB": round(peak / 2**20, 1),
        }
        notes = getattr(model, "notes_", None)
        if notes:
            row["model"] += " †"
        rows.append(row)
        print(row, file=sys.stderr, flush=True)
    return rows


def cmd_recsys(args) -> str:
    from apc.evaluation import protocols

    data = load_data(args.data, args)
    tags_only = args.data == "aotm"
    models = [m for m in args.models
              if not (tags_only and m in ("cnn (van den Oord)", "mfcc-bow"))]
    out = []
    if "cold" in args.protocols:
        split = protocols.ColdStartTracks().split(data, seed=args.seed)
        out += run_split(split, models, "ColdStartTracks", tags_only)
    if "warm" in args.protocols:
        split = protocols.Continuation().split(data, seed=args.seed)
        out += run_split(split, models, "Continuation", tags_only)
    head = f"{args.data}: {len(data):,} playlists, {data.n_tracks:,} tracks"
    if tags_only:
        head += "; content = tags_w2v (tagtraum genres); † = a modality was missing (notes_)"
    return head + "\n\n" + md_table(pd.DataFrame(out))


def cmd_factors(args) -> str:
    data = load_data("synthetic", args)
    rng = np.random.default_rng(args.seed)
    held = np.zeros(data.n_tracks, bool)
    held[rng.choice(data.n_tracks, size=data.n_tracks // 5, replace=False)] = True
    keep = ~held[data.items]
    lengths = np.bincount(np.repeat(np.arange(len(data)), data.lengths)[keep],
                          minlength=len(data))
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    train = Playlists(indptr, data.items[keep], data.tracks, data.artists, data.meta, data.info)
    full = data.to_csr()
    users = np.flatnonzero((np.asarray(full[:, held].sum(axis=1)).ravel() > 0)
                           & (lengths > 0))
    from apc.testing import queries_from

    held_idx = np.flatnonzero(held)
    q = queries_from(train, [list(np.unique(train[u])) for u in users],
                     [list(np.intersect1d(data[u], held_idx)) for u in users])
    relevant = full[users][:, held].toarray() > 0
    rows = []
    for name in args.models:
        if name == "popularity":
            continue
        model = make(name, False)
        t = time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(train)
        fit_cpu = time.process_time() - t
        if not hasattr(model, "query_factors"):
            continue  # profile / membership do not predict factors
        xq = model.query_factors(q)
        scores = xq @ model.item_factors_[held].T.astype(np.float64)
        ap, auc = ap_and_auc(scores, relevant, k=500)
        rows.append({"predictor": name, "mAP@500": float(np.nanmean(ap)),
                     "AUC": float(np.nanmean(auc)), "playlists": int((~np.isnan(ap)).sum()),
                     "fit s (CPU)": round(fit_cpu, 1)})
        print(rows[-1], file=sys.stderr, flush=True)
    head = (f"synthetic: {len(data):,} playlists, {data.n_tracks:,} tracks, "
            f"{int(held.sum())} held out of every playlist")
    return head + "\n\n" + md_table(pd.DataFrame(rows))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("recsys")
    r.add_argument("--data", choices=["synthetic", "aotm"], default="synthetic")
    r.add_argument("--protocols", nargs="*", default=["cold", "warm"])
    f = sub.add_parser("factors")
    for p in (r, f):
        p.add_argument("--size", default=None)
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--models", nargs="*", default=MODELS)
    args = ap.parse_args()
    os.environ.setdefault("APC_PROGRESS", "0")
    t = time.perf_counter()
    body = cmd_recsys(args) if args.cmd == "recsys" else cmd_factors(args)
    print(f"command: `{' '.join(['.venv/bin/python', *sys.argv])}`  ")
    print(f"machine: {machine()}; wall {time.perf_counter() - t:.0f} s\n")
    print(body)


if __name__ == "__main__":
    main()
