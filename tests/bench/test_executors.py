import pandas as pd
import pytest

from apc.bench.executors import make_executor
from apc.bench.executors.local import LocalExecutor
from apc.bench.runner import run_suite
from apc.bench.suite import load_suite
from apc.errors import ApcInputError

SUITE = """
[suite]
name = "ex"
seeds = [0, 1]
cutoff = 20
metrics = ["hit@10", "mrr@20", "recall@20"]
n_boot = 20
n_perm = 50

[[datasets]]
name = "tiny"
source = "synth:tiny"

[protocol]
name = "next-track"

[[models]]
name = "popularity"

[[models]]
name = "random"
"""


def test_local_executor_maps_in_order():
    ex = LocalExecutor()
    out = list(ex.map(lambda t, s: (t, s), [1, 2], {"k": "shared"}, key=lambda t: "k"))
    assert out == [(0, (1, "shared")), (1, (2, "shared"))]


def test_unknown_executor():
    with pytest.raises(ApcInputError, match="executor"):
        make_executor("dask")


@pytest.mark.slow
def test_ray_executor_equals_local(tmp_path, monkeypatch):
    ray = pytest.importorskip("ray")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    path = tmp_path / "s.toml"
    path.write_text(SUITE)
    local = run_suite(load_suite(path), tmp_path / "local", cache=None, report=False)
    distributed = run_suite(
        load_suite(path),
        tmp_path / "ray",
        cache=None,
        report=False,
        executor="ray",
        executor_options={"num_cpus": 2, "init_options": {"object_store_memory": 100 * 2**20}},
    )
    assert not ray.is_initialized()  # the local Ray it started was shut down
    assert local.n_ok == distributed.n_ok == 4
    a = pd.read_parquet(tmp_path / "local" / "results.parquet")
    b = pd.read_parquet(tmp_path / "ray" / "results.parquet")
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "local" / "curves.parquet"),
        pd.read_parquet(tmp_path / "ray" / "curves.parquet"),
    )
