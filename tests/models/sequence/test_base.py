import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from apc.models.sequence._base import (  # noqa: E402
    NegativeSampler,
    full_softmax_loss,
    last_position,
    resolve_negatives,
    sampled_softmax_loss,
)


def test_sampler_follows_popularity_power():
    pop = np.array([0, 1, 4, 9])
    s = NegativeSampler(pop, alpha=0.5, seed=0)  # weights 0, 1, 2, 3
    draws = s.sample(60_000).numpy()
    freq = np.bincount(draws, minlength=4) / len(draws)
    np.testing.assert_allclose(freq, [0, 1 / 6, 2 / 6, 3 / 6], atol=0.01)
    assert (draws != 0).all()  # never-seen tracks are never drawn
    np.testing.assert_allclose(s.log_prob[1:].exp().numpy(), [1 / 6, 2 / 6, 3 / 6], rtol=1e-6)


def test_sampler_uniform_and_seeded():
    pop = np.array([0, 1, 100])
    a = NegativeSampler(pop, alpha=0.0, seed=3).sample(30_000).numpy()
    np.testing.assert_allclose(np.bincount(a, minlength=3) / len(a), [1 / 3] * 3, atol=0.01)
    np.testing.assert_array_equal(
        NegativeSampler(pop, 0.0, seed=3).sample(50).numpy(),
        NegativeSampler(pop, 0.0, seed=3).sample(50).numpy(),
    )


def test_sampled_softmax_known_answer_and_masking():
    h = torch.tensor([[1.0, 0.0]])
    w = torch.tensor([[2.0, 0.0], [1.0, 0.0], [0.0, 5.0]])
    # target 0 (score 2) against negatives {1 (score 1), 2 (score 0), 0 (== target, masked)}
    loss = sampled_softmax_loss(h, w, None, torch.tensor([0]), torch.tensor([1, 2, 0]))
    expected = -math.log(math.exp(2) / (math.exp(2) + math.exp(1) + math.exp(0)))
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    # log-q correction subtracts log q from every logit
    log_q = torch.log(torch.tensor([0.5, 0.25, 0.25]))
    loss_q = sampled_softmax_loss(h, w, None, torch.tensor([0]), torch.tensor([1, 2]), log_q)
    z = [2 - math.log(0.5), 1 - math.log(0.25), 0 - math.log(0.25)]
    assert loss_q.item() == pytest.approx(-z[0] + math.log(sum(math.exp(v) for v in z)), rel=1e-6)


def test_full_softmax_equals_sampled_with_all_negatives():
    g = torch.Generator().manual_seed(0)
    h, w, b = (
        torch.randn(5, 4, generator=g),
        torch.randn(7, 4, generator=g),
        torch.randn(7, generator=g),
    )
    y = torch.tensor([0, 3, 6, 2, 2])
    full = full_softmax_loss(h, w, b, y)
    sampled = sampled_softmax_loss(h, w, b, y, torch.arange(7))
    assert full.item() == pytest.approx(sampled.item(), rel=1e-5)


def test_last_position_reads_last_real_track():
    h = torch.arange(12, dtype=torch.float).reshape(2, 3, 2)
    seq = torch.tensor([[4, 5, 9], [6, 9, 9]])  # pad = 9
    np.testing.assert_array_equal(last_position(h, seq, 9).numpy(), [[2, 3], [6, 7]])


def test_resolve_negatives():
    assert resolve_negatives(None, 100, 1000) == 0
    assert resolve_negatives(None, 100, 50_000) == 1024  # large catalogue: sampled
    assert resolve_negatives(None, 128 * 50, 9_000) == 1024  # logits would not fit one block
    assert resolve_negatives(None, 128 * 50, 1_000_000) == 1024
    assert resolve_negatives(0, 128 * 50, 1_000_000) == 0
    assert resolve_negatives(64, 10, 10) == 64
