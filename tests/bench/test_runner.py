import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from apc.bench.runner import run_suite
from apc.bench.suite import load_suite
from apc.errors import ApcInputError

PLUGIN = '''
import os
import signal
from pathlib import Path

import numpy as np

from apc.data.queries import Recommendations
from apc.models._topk import top_k
from apc.models.popularity import Popularity


class Killer(Popularity):
    """Popularity, except that it kills its own process while a marker file exists."""

    name = "killer"

    def _fit(self, train, features):
        marker = Path(os.environ.get("APC_KILL_MARKER", "/nonexistent"))
        if marker.exists():
            marker.unlink()
            os.kill(os.getpid(), signal.SIGKILL)
        super()._fit(train, features)


class BrokenFit(Popularity):
    name = "broken-fit"

    def _fit(self, train, features):
        raise RuntimeError("boom in fit")


class BrokenRecommend(Popularity):
    name = "broken-recommend"

    def _score(self, queries):
        raise ValueError("boom in recommend")


class Bare:
    """A third-party model with only fit and recommend (no save/load: never cached)."""

    fits = 0

    def fit(self, train, features=None):
        type(self).fits += 1
        self.pop_ = train.item_popularity().astype(np.float32)
        return self

    def recommend(self, queries, k):
        scores = np.broadcast_to(self.pop_, (len(queries), len(self.pop_)))
        items, vals = top_k(scores, k, exclude=queries.seeds_csr())
        return Recommendations(items, vals)
'''

SUITE = """
[suite]
name = "t"
seeds = {seeds}
cutoff = 30
metrics = ["hit@1", "hit@10", "mrr@20", "recall@30", "coverage@10"]
baseline = "popularity"
n_boot = 100
n_perm = 200

[[datasets]]
name = "tiny"
source = "synth:tiny"

[protocol]
name = "next-track"

{models}
"""


def models_toml(*entries: tuple[str, str]) -> str:
    return "\n".join(f'[[models]]\nname = "{n}"\nmodel = "{m}"\n' for n, m in entries)


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    d = tmp_path / "plug"
    d.mkdir()
    name = f"bench_plug_{abs(hash(str(tmp_path))) % 10**8}"
    (d / f"{name}.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(d))
    return name, d


def write_suite(path: Path, models: str, seeds="[0]") -> Path:
    path.write_text(SUITE.format(models=models, seeds=seeds))
    return path


def test_end_to_end_rows_match_direct_evaluation(tmp_path):
    from apc.datasets import load_corpus
    from apc.evaluation.metrics import compute_metrics
    from apc.evaluation.protocols import make_protocol
    from apc.models.registry import create_model
    from apc.random import derive_seed

    suite = load_suite(
        write_suite(
            tmp_path / "s.toml",
            models_toml(("popularity", "popularity"), ("random", "random")),
            seeds="[0, 1]",
        )
    )
    res = run_suite(suite, tmp_path / "run", cache=tmp_path / "cache")
    assert (res.n_cells, res.n_ok, res.n_failed) == (4, 4, 0)
    r = pd.read_parquet(tmp_path / "run" / "results.parquet")
    # one row per query x metric x model x seed, no duplicates
    assert not r.duplicated(["model", "dataset", "seed", "query", "label"]).any()
    split = make_protocol("next-track").split(
        load_corpus("synth:tiny"), seed=derive_seed(0, "split", "tiny")
    )
    n_q = len(split.queries)
    assert len(r[(r.seed == 0) & (r.model == "popularity")]) == n_q * 5
    # values equal a direct evaluation of the same split
    model = create_model("popularity").fit(split.train)
    recs = model.recommend(split.queries, 30)
    direct = compute_metrics(recs, split.queries, split.train, metrics=["hit"], ks=[10])
    got = r[(r.seed == 0) & (r.model == "popularity") & (r.label == "hit@10")].sort_values("query")[
        "value"
    ]
    np.testing.assert_allclose(got.to_numpy(), np.asarray(direct["hit@10"], dtype=float))
    for name in (
        "summary.md",
        "summary.json",
        "config.json",
        "provenance.json",
        "splits.json",
        "curves.parquet",
        "longtail.parquet",
        "report.html",
    ):
        assert (tmp_path / "run" / name).is_file(), name
    prov = json.loads((tmp_path / "run" / "provenance.json").read_text())
    assert "numpy" in prov["packages"] and "sha" in prov["git"]


def test_failing_models_do_not_stop_the_others(tmp_path, plugin):
    mod, _ = plugin
    models = models_toml(
        ("popularity", "popularity"),
        ("bad-fit", f"{mod}:BrokenFit"),
        ("bad-rec", f"{mod}:BrokenRecommend"),
        ("random", "random"),
    )
    suite = load_suite(write_suite(tmp_path / "s.toml", models))
    res = run_suite(suite, tmp_path / "run", cache=None)
    assert (res.n_ok, res.n_failed) == (2, 2)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    failed = {c["model"]: c for c in summary["failed"]}
    assert failed["bad-fit"]["phase"] == "fit" and "boom in fit" in failed["bad-fit"]["error"]
    assert (
        failed["bad-rec"]["phase"] == "recommend"
        and "boom in recommend" in failed["bad-rec"]["error"]
    )
    r = pd.read_parquet(tmp_path / "run" / "results.parquet")
    assert set(r.model) == {"popularity", "random"}
    md = (tmp_path / "run" / "summary.md").read_text()
    assert "## Failed cells" in md and "boom in fit" in md


def test_resume_after_a_killed_run(tmp_path, plugin):
    mod, plug_dir = plugin
    models = models_toml(
        ("popularity", "popularity"), ("killer", f"{mod}:Killer"), ("random", "random")
    )
    suite_path = write_suite(tmp_path / "s.toml", models, seeds="[0, 1]")
    marker = tmp_path / "kill-now"
    marker.touch()
    script = textwrap.dedent(f"""
        from apc.bench.runner import run_suite
        from apc.bench.suite import load_suite
        run_suite(load_suite({str(suite_path)!r}), {str(tmp_path / "run")!r}, cache={str(tmp_path / "cache")!r})
    """)
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(plug_dir), os.environ.get("PYTHONPATH", "")]),
        APC_KILL_MARKER=str(marker),
        APC_PROGRESS="0",
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == -9, proc.stderr  # SIGKILL during the second cell
    cells = tmp_path / "run" / "cells"
    committed = sorted(p.name for p in cells.glob("*.json"))
    assert committed == ["tiny__s0__popularity.json"]
    assert not (tmp_path / "run" / "results.parquet").exists()
    first = (cells / "tiny__s0__popularity.parquet").stat().st_mtime_ns

    # without --resume the folder is protected
    with pytest.raises(ApcInputError, match="--resume"):
        run_suite(load_suite(suite_path), tmp_path / "run", cache=tmp_path / "cache")
    assert not marker.exists()  # the killer now behaves like popularity
    res = run_suite(load_suite(suite_path), tmp_path / "run", cache=tmp_path / "cache", resume=True)
    assert (res.n_ok, res.n_skipped, res.n_failed) == (5, 1, 0)
    assert (cells / "tiny__s0__popularity.parquet").stat().st_mtime_ns == first  # not recomputed

    full = run_suite(load_suite(suite_path), tmp_path / "full", cache=None)
    assert full.n_ok == 6
    keys = ["model", "seed", "query", "label"]
    a = (
        pd.read_parquet(tmp_path / "run" / "results.parquet")
        .sort_values(keys)
        .reset_index(drop=True)
    )
    b = (
        pd.read_parquet(tmp_path / "full" / "results.parquet")
        .sort_values(keys)
        .reset_index(drop=True)
    )
    assert not a.duplicated(keys).any()
    pd.testing.assert_frame_equal(a, b)  # no duplicate and no lost rows


def test_resume_refuses_a_changed_suite(tmp_path):
    path = write_suite(tmp_path / "s.toml", models_toml(("popularity", "popularity")))
    run_suite(load_suite(path), tmp_path / "run", cache=None, report=False)
    path.write_text(path.read_text().replace("n_boot = 100", "n_boot = 101"))
    with pytest.raises(ApcInputError, match="suite changed"):
        run_suite(load_suite(path), tmp_path / "run", cache=None, resume=True)


def test_cache_reuses_splits_and_fits(tmp_path, plugin):
    mod, _ = plugin
    path = write_suite(
        tmp_path / "s.toml", models_toml(("popularity", "popularity"), ("bare", f"{mod}:Bare"))
    )
    run_suite(load_suite(path), tmp_path / "a", cache=tmp_path / "cache", report=False)
    run_suite(load_suite(path), tmp_path / "b", cache=tmp_path / "cache", report=False)
    cells = {c["model"]: c for c in json.loads((tmp_path / "b" / "cells.json").read_text())}
    assert cells["popularity"]["fit_cached"] is True
    assert cells["bare"]["fit_cached"] is False  # no save/load: refit, never cached
    splits = json.loads((tmp_path / "b" / "splits.json").read_text())
    assert all(s["cached"] for s in splits.values())
    a = pd.read_parquet(tmp_path / "a" / "results.parquet")
    b = pd.read_parquet(tmp_path / "b" / "results.parquet")
    pd.testing.assert_frame_equal(a, b)
    # the bare model ranks like popularity
    pa = a[a.model == "popularity"]["value"].to_numpy()
    pb = a[a.model == "bare"]["value"].to_numpy()
    np.testing.assert_allclose(pa, pb)


def test_unknown_model_is_bad_input_before_any_work(tmp_path):
    path = write_suite(
        tmp_path / "s.toml",
        models_toml(("popularity", "popularity"), ("x", "no_such_module_xyz:M")),
    )
    with pytest.raises(ApcInputError) as e:
        run_suite(load_suite(path), tmp_path / "run", cache=None)
    assert e.value.field == "models[1].model" and str(path) in str(e.value)
    assert not (tmp_path / "run").exists()


def test_unknown_model_parameter_is_bad_input_before_any_work(tmp_path):
    models = models_toml(("popularity", "popularity"), ("knn", "knn"))
    models += "params = { no_such_parameter = 3 }\n"
    path = write_suite(tmp_path / "s.toml", models)
    with pytest.raises(ApcInputError) as e:
        run_suite(load_suite(path), tmp_path / "run", cache=None)
    assert e.value.field == "models[1].params.no_such_parameter"
    assert not (tmp_path / "run").exists()
