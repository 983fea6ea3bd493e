"""The training bar of every Lightning sequence model shows the training loss (issue 17 item 5).

Lightning's own bar adds the epoch's ETA; what apc must give it is the loss, logged with
``prog_bar=True`` on every step. A callback (in place of the epoch timer) reads the bar's
metrics after each training batch.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pl = pytest.importorskip("pytorch_lightning")

from apc.models.registry import create_model  # noqa: E402
from apc.models.sequence import _base  # noqa: E402
from apc.testing import cycles  # noqa: E402

SEEN: list[dict] = []


class _BarSpy(_base._EpochTimer):
    """The epoch timer, also recording the progress bar's metrics after each batch."""

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        SEEN.append({k: float(v) for k, v in trainer.progress_bar_metrics.items()})


@pytest.mark.parametrize(
    "name, params",
    [
        ("gru4rec", {"hidden": 8, "batch_size": 8, "n_negatives": 4}),
        ("attn-gru", {"embedding": 8, "hidden": 8, "batch_size": 16}),
        ("sasrec", {"hidden": 8, "batch_size": 16}),
        ("hkann", {"batch_size": 16}),
    ],
)
def test_training_loss_is_on_the_bar(name, params, monkeypatch):
    monkeypatch.setattr(_base, "_EpochTimer", _BarSpy)
    SEEN.clear()
    train = cycles(12, n_playlists=40, seed=0)
    create_model(name, {**params, "epochs": 1, "seed": 0, "val_fraction": 0.0}).fit(train)
    assert SEEN, "no training batch ran"
    losses = [m["loss"] for m in SEEN if "loss" in m]
    assert losses, f"{name}: the bar shows {sorted(SEEN[-1])}, no 'loss'"
    assert np.all(np.isfinite(losses)) and min(losses) > 0
