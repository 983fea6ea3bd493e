"""Multi-process training through Lightning's DDP (on CPU, gloo), in a subprocess.

Lightning's ``ddp`` strategy re-launches the running script once per extra device, so
the check runs a small script in a child process rather than inside pytest. Each rank
writes its results to its own file (renamed into place when complete): two ranks
printing to one pipe interleave their lines under load.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import json, os, sys, torch
    torch.set_num_threads(1)
    from apc.testing import cycles, queries_from
    from apc.models.sequence.gru4rec import GRU4Rec
    from apc.models.sequence.sasrec import SASRec
    from apc.models.sequence.attn_gru import AttentiveBiGRU

    if __name__ == "__main__":
        pl = cycles(30, n_playlists=150, seed=0)
        models = [
            GRU4Rec(hidden=16, n_negatives=32, batch_size=16),
            SASRec(hidden=16, max_len=8, lr=1e-2),
            AttentiveBiGRU(embedding=16, hidden=16, lr=1e-2),
        ]
        results = {}
        for m in models:
            m.set_params(epochs=2, val_k=1, accelerator="cpu", devices=2).fit(pl)
            items = m.recommend(queries_from(pl, [[3, 4]], [[5]]), 3).items[0].tolist()
            results[m.name] = {"items": items, "epochs": len(m.epoch_times_)}
        rank = os.environ.get("LOCAL_RANK", "0")
        out = os.path.join(sys.argv[1], f"rank-{rank}.json")
        with open(out + ".part", "w") as f:
            json.dump(results, f)
        os.replace(out + ".part", out)
    """
)


@pytest.mark.slow
def test_two_process_ddp_on_cpu_trains_the_same_model_on_each_rank(tmp_path, tmp_path_factory):
    script = tmp_path / "ddp_fit.py"
    script.write_text(SCRIPT)
    results = tmp_path_factory.mktemp("ddp-results")
    env = dict(os.environ, APC_PROGRESS="0")
    proc = subprocess.run(
        [sys.executable, str(script), str(results)], cwd=tmp_path, env=env, capture_output=True,
        text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sorted(p.name for p in results.iterdir()) == ["rank-0.json", "rank-1.json"]
    ranks = [json.loads((results / f"rank-{r}.json").read_text()) for r in (0, 1)]
    assert set(ranks[0]) == {"gru4rec", "sasrec", "attn-gru"}
    assert ranks[0] == ranks[1]  # DDP keeps the replicas identical
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ddp_fit.py"]  # nothing left behind
