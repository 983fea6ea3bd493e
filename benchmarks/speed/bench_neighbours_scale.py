"""Fit / recommend time and peak memory of the neighbourhood and artist models at MPD scale.

Models: popularity, artist-popularity, SAGH, CAGH, playlist k-NN (plain, V-SKNN, STAN)
and item k-NN. The corpus is the MPD-scale synthetic corpus (1M playlists, ~2M tracks,
~66M entries), loaded from ``/tmp/apc-bench/mpd-scale`` when present, otherwise made
with ``apc.datasets.synthetic.generate("mpd-scale", seed=0)`` and saved there.
``--preset`` picks another synthetic preset (e.g. ``medium`` while developing) and
``--corpus DIR`` any saved corpus.

``--queries`` held-out playlists (default 10,000, chosen at random, never trained on)
become MPD-challenge-style queries: the ten RecSys 2018 categories in turn (title only;
title + first 1; first 5 with / without title; first 10 with / without title; first 25
with title; random 25 with title; first 100 with title; random 100 with title), the seed
capped at the playlist length - 1, the rest of the playlist as target.

Each model runs in a fresh subprocess (so ``ru_maxrss`` is that model's peak: corpus +
split + fit + recommend) and prints one JSON line: fit seconds, recommend seconds for
all queries with top ``--k`` (default 500), the CPU seconds of both (this process; the
figure to read when the machine is shared), peak RSS in GB after fit and at the end,
and recall@k / R-precision as a sanity check.

Usage::

    nice -n 10 .venv/bin/python benchmarks/speed/bench_neighbours_scale.py \
        --models popularity,sagh,knn
    .venv/bin/python benchmarks/speed/bench_neighbours_scale.py --preset medium
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("APC_PROGRESS", "0")

from apc.datasets.mpd_categories import CATEGORIES as MPD_CATEGORIES  # noqa: E402

MPD_SCALE = Path("/tmp/apc-bench/mpd-scale")
# (seed length, with title, random positions) of the ten MPD challenge categories
CATEGORIES = list(MPD_CATEGORIES.values())

MODELS = {
    "popularity": ("apc.models.popularity:Popularity", {}),
    "artist-popularity": ("apc.models.artists:ArtistPopularity", {}),
    "sagh": ("apc.models.artists:SameArtistGreatestHits", {}),
    "cagh": ("apc.models.artists:CollocatedArtistsGreatestHits", {}),
    "knn": ("apc.models.knn:PlaylistKNN", {}),
    "vsknn": ("apc.models.knn:PlaylistKNN", {"weighting": "vsknn", "sample_size": 5000}),
    "stan": ("apc.models.knn:PlaylistKNN", {"weighting": "stan", "sample_size": 5000,
                                            "lambda_spw": 10.0, "lambda_inh": 10.0}),
    "item-knn": ("apc.models.knn:ItemKNN", {}),
}


# ------------------------------------------------------------------------ data
def load_corpus(corpus: str | None, preset: str):
    from apc.data import Playlists

    if corpus:
        return Playlists.load(corpus)
    path = MPD_SCALE if preset == "mpd-scale" else Path(f"/tmp/apc-bench/{preset}")
    if (path / "manifest.json").exists():
        return Playlists.load(path)
    from apc.datasets.synthetic import generate

    pl = generate(preset, seed=0)
    pl.save(path)  # atomic
    return pl


def mpd_queries(pl, n_queries: int, seed: int = 0):
    """Hold out ``n_queries`` random playlists as MPD-challenge-style queries.

    Returns ``(train, queries)``; the queries' track indices refer to ``train``'s
    catalogue (the same catalogue: held-out playlists are only removed from the rows).
    """
    from apc.data import Queries

    rng = np.random.default_rng(seed)
    cand = np.flatnonzero(pl.lengths >= 2)
    test = np.sort(rng.choice(cand, size=min(n_queries, len(cand)), replace=False))
    train = pl.subset(np.setdiff1d(np.arange(len(pl)), test))
    names = pl.meta["name"].to_numpy() if "name" in pl.meta.columns else None
    seeds, targets, titles, cats = [], [], [], []
    for j, p in enumerate(test):  # once per query, outside the timed parts
        items = pl[p]
        n_seed, with_title, random_pos = CATEGORIES[j % len(CATEGORIES)]
        n_seed = min(n_seed, len(items) - 1)
        if random_pos:
            pos = np.sort(rng.choice(len(items), size=n_seed, replace=False))
        else:
            pos = np.arange(n_seed)
        mask = np.zeros(len(items), dtype=bool)
        mask[pos] = True
        seeds.append(items[mask])
        targets.append(items[~mask])
        titles.append(names[p] if (with_title and names is not None) else None)
        cats.append(j % len(CATEGORIES))
    q = Queries.from_lists(seeds, targets, n_tracks=pl.n_tracks,
                           playlist_ids=pl.meta["playlist_id"].to_numpy()[test],
                           titles=np.array(titles, dtype=object), category=np.array(cats))
    return train, q


def metrics(items: np.ndarray, q) -> dict:
    """Mean recall@k and R-precision (distinct targets)."""
    t = q.targets_csr()
    n = q.n_tracks
    rows = np.repeat(np.arange(len(q)), np.diff(t.indptr))
    keys = rows.astype(np.int64) * n + t.indices
    rec = np.arange(len(q))[:, None].astype(np.int64) * n + np.where(items >= 0, items, n)
    hit = np.isin(rec, keys)
    n_t = np.maximum(np.diff(t.indptr), 1)
    cols = np.arange(items.shape[1])[None, :]
    r_prec = (hit & (cols < n_t[:, None])).sum(axis=1) / n_t
    return {"recall": float(np.mean(hit.sum(axis=1) / n_t)), "r_precision": float(r_prec.mean())}


def rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


# ------------------------------------------------------------------------ one model
def run_one(args) -> None:
    from apc.models.fallback import with_title_fallback
    from apc.models.registry import import_path

    t0 = time.perf_counter()
    pl = load_corpus(args.corpus, args.preset)
    train, q = mpd_queries(pl, args.queries)
    del pl
    load_s = time.perf_counter() - t0
    rss_load = rss_gb()
    path, params = MODELS[args.model]
    # title-only challenge queries go to the title model, as in apc's front doors
    model = with_title_fallback(import_path(path)(**params))
    t0, c0 = time.perf_counter(), time.process_time()
    model.fit(train)
    fit_s, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
    rss_fit = rss_gb()
    t0, c0 = time.perf_counter(), time.process_time()
    recs = model.recommend(q, args.k)
    rec_s, rec_cpu = time.perf_counter() - t0, time.process_time() - c0
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
        "fit_cpu_s": round(fit_cpu, 1),  # CPU time of this process: robust to a busy machine
        "recommend_cpu_s": round(rec_cpu, 1),
        "peak_gb_load": round(rss_load, 2),
        "peak_gb_fit": round(rss_fit, 2),
        "peak_gb": round(rss_gb(), 2),
        **{f"{k}@{args.k}": round(v, 4) for k, v in metrics(recs.items, q).items()},
    }
    print(json.dumps(out), flush=True)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--preset", default="mpd-scale")
    ap.add_argument("--corpus", default=None, help="a saved corpus directory instead")
    ap.add_argument("--queries", type=int, default=10_000)
    ap.add_argument("--k", type=int, default=500)
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)  # internal: run one model
    args = ap.parse_args(argv)
    if args.one:
        args.model = args.one
        run_one(args)
        return
    t0 = time.perf_counter()
    load_corpus(args.corpus, args.preset)  # generate and save once, outside the measurements
    print(json.dumps({"machine": f"{platform.machine()} {os.cpu_count()} cores",
                      "python": platform.python_version(),
                      "corpus_ready_s": round(time.perf_counter() - t0, 1)}), flush=True)
    for name in args.models.split(","):
        if name not in MODELS:
            raise SystemExit(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
        cmd = [sys.executable, __file__, "--one", name, "--preset", args.preset,
               "--queries", str(args.queries), "--k", str(args.k)]
        if args.corpus:
            cmd += ["--corpus", args.corpus]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            tail = res.stderr.strip().splitlines()[-3:]
            print(json.dumps({"model": name, "error": tail}), flush=True)
        else:
            print(res.stdout.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
