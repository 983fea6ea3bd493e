import math

import numpy as np
import pytest

from apc.data import Playlists, Queries
from apc.errors import ApcInputError
from apc.evaluation.loglik import log_likelihood, supports_loglik, transition_queries
from apc.models.feature_markov import FeatureMarkov
from apc.models.lme import LogisticMarkovEmbedding
from apc.models.markov import MarkovChain
from apc.models.popularity import Popularity
from apc.testing import checkerboard, cycles


def _hand_corpus():
    # a=0, b=1, c=2. Transitions a->b x2, b->c x2, a->c x1; c never followed.
    # Playlist memberships: a 3, b 3, c 4 (of 10) -> p = (0.3, 0.3, 0.4).
    return Playlists.from_sequences([["a", "b", "c"], ["a", "b"], ["a", "c"], ["b", "c"], ["c"]])


def test_markov_loglik_equals_hand_value():
    train = _hand_corpus()
    assert train.tracks["track_id"].tolist() == ["a", "b", "c"]
    model = MarkovChain(popularity_weight=0.1).fit(train)
    q = Queries.from_lists([[0], [2]], [[1, 2], [0]], n_tracks=3)
    # P(b|a) = .9 * 2/3 + .1 * .3 = .63 ; P(c|a,b) uses b: .9 * 1 + .1 * .4 = .94
    # P(a|c): c unseen as a context -> back-off to p: .9 * .3 + .1 * .3 = .3
    hand = [math.log(0.63), math.log(0.94), math.log(0.3)]
    res = log_likelihood(model, q)
    assert res.n_transitions == 3 and res.n_zero == 0
    assert res.mean == pytest.approx(sum(hand) / 3, abs=1e-6)
    assert res.per_query == pytest.approx([(hand[0] + hand[1]) / 2, hand[2]], abs=1e-6)
    assert res.perplexity == pytest.approx(math.exp(-sum(hand) / 3), rel=1e-6)
    first = log_likelihood(model, q, every_target=False)
    assert first.mean == pytest.approx((hand[0] + hand[2]) / 2, abs=1e-6)


def test_markov_additive_smoothing_hand_value():
    model = MarkovChain(popularity_weight=0.1, alpha=1.0).fit(_hand_corpus())
    q = Queries.from_lists([[0]], [[1]], n_tracks=3)
    # .9 * (2 + 1) / (3 + 3) + .1 * .3 = .48
    assert log_likelihood(model, q).mean == pytest.approx(math.log(0.48), abs=1e-6)


def test_zero_probability_is_reported_and_floor_applies():
    model = MarkovChain(popularity_weight=0.0).fit(_hand_corpus())
    q = Queries.from_lists([[1]], [[0]], n_tracks=3)  # b -> a never seen, no smoothing
    res = log_likelihood(model, q)
    assert res.n_zero == 1 and res.mean == -np.inf
    floored = log_likelihood(model, q, floor=1e-6)
    assert floored.mean == pytest.approx(math.log(1e-6)) and floored.n_zero == 1


def _normalised(model, n_tracks, seeds):
    for seed in seeds:
        q = Queries.from_lists([seed] * n_tracks, [[j] for j in range(n_tracks)],
                               n_tracks=n_tracks)
        total = np.exp(model.next_track_log_proba(q)).sum()
        assert total == pytest.approx(1.0, abs=1e-4), (type(model).__name__, seed, total)


@pytest.mark.parametrize("make", [
    lambda: MarkovChain(),
    lambda: MarkovChain(order=2, alpha=0.5),
    lambda: MarkovChain(mixture=True, validation_fraction=0.3, seed=1),
    lambda: FeatureMarkov(),
    lambda: LogisticMarkovEmbedding(n_dims=4, epochs=2, seed=3),
])
def test_every_generative_model_gives_a_distribution(make):
    train = checkerboard()
    model = make().fit(train)
    assert supports_loglik(model)
    _normalised(model, train.n_tracks, [[0], [3, 7], []])


@pytest.mark.slow  # a Lightning fit: ~20 s on a loaded 2-core machine
def test_neural_softmax_is_a_distribution():
    pytest.importorskip("torch")
    from apc.models.sequence.gru4rec import GRU4Rec

    train = cycles(6, n_playlists=10)
    model = GRU4Rec(hidden=8, epochs=1, batch_size=8, n_negatives=16, val_fraction=0).fit(train)
    _normalised(model, train.n_tracks, [[0], [1, 2]])


def test_lme_loglik_equals_its_softmax():
    import torch

    train = checkerboard()
    m = LogisticMarkovEmbedding(n_dims=3, epochs=2, seed=0).fit(train)
    logits = -((m.U_[0][None, :] - m.V_) ** 2).sum(1) + m.b_
    want = torch.log_softmax(torch.tensor(logits, dtype=torch.float64), 0)[5].item()
    q = Queries.from_lists([[0]], [[5]], n_tracks=train.n_tracks)
    assert log_likelihood(m, q).mean == pytest.approx(want, abs=1e-4)


def test_model_without_distribution_is_refused():
    model = Popularity().fit(checkerboard())
    assert not supports_loglik(model)
    with pytest.raises(ApcInputError, match="no normalised next-track distribution"):
        log_likelihood(model, Queries.from_lists([[0]], [[1]], n_tracks=12))


def test_transition_queries_expand_in_order():
    q = Queries.from_lists([[4, 1], []], [[2, 3, 0], [5]], n_tracks=6)
    e, owner = transition_queries(q)
    assert [e.seed(i).tolist() for i in range(len(e))] == [[4, 1], [4, 1, 2], [4, 1, 2, 3], []]
    assert e.targets.tolist() == [2, 3, 0, 5] and owner.tolist() == [0, 0, 0, 1]


def test_evaluate_routes_loglik_and_rank_to_the_model():
    from apc.evaluation.evaluate import evaluate
    from apc.evaluation.protocols import make_protocol

    split = make_protocol("next-track").split(cycles(n_playlists=40), seed=0)
    res = evaluate(MarkovChain(), split, ks=[5], metrics=["hit", "loglik", "rank"])
    means = res.per_query.groupby("label")["value"].mean()
    assert set(means.index) == {"hit@5", "loglik", "rank"}
    assert means["loglik"] == pytest.approx(log_likelihood(MarkovChain().fit(split.train),
                                                           split.queries).mean)
    assert means["rank"] >= 1.0
