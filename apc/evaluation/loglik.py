r"""Average log-likelihood per held-out transition, for generative next-track models.

McFee & Lanckriet (2011) and Chen et al. (2012) evaluate playlist models as language
models: by the mean log-probability the model gives each held-out transition,

.. math::

    \mathrm{LL} = \frac{1}{T} \sum_{t=1}^{T} \log P(x_{t} \mid x_{<t}),

in nats (higher is better; :math:`\exp(-\mathrm{LL})` is the perplexity). Every model
that defines a normalised next-track distribution over the catalogue exposes
``next_track_log_proba(queries)`` (float64 ``(Q,)``: the log-probability of each
query's *first* target given its seed); this module finds it by duck typing, so the
evaluation layer never imports :mod:`apc.models`. Built in: ``markov`` (smoothing: the
popularity interpolation and back-off, or the learned mixture), ``feature-markov`` (the
uniform edge set), ``lme`` and the neural models (full softmax over the catalogue).

A query with targets :math:`y_1, \dots, y_m` contributes the :math:`m` transitions
:math:`\text{seed} + y_{<i} \to y_i` (``every_target=True``) or only the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from apc.errors import ApcInputError

#: Name of the per-query value in tables and reports.
LABEL = "loglik"


@dataclass(frozen=True)
class LogLikelihood:
    """Result of :func:`log_likelihood`.

    Attributes
    ----------
    mean : float
        Mean log-probability per transition (nats); ``-inf`` if a transition had
        probability 0 and no ``floor`` was given.
    n_transitions : int
        Transitions scored.
    n_zero : int
        Transitions the model gave probability 0 (before any ``floor``).
    per_query : np.ndarray
        float64 ``(Q,)``: each query's mean over its transitions (NaN for a query without
        targets), for bootstrap intervals and paired tests.
    floor : float or None
        The probability floor applied, if any.
    """

    mean: float
    n_transitions: int
    n_zero: int
    per_query: np.ndarray
    floor: float | None = None

    @property
    def perplexity(self) -> float:
        """``exp(-mean)``: the effective number of equally likely next tracks."""
        return float(np.exp(-self.mean))


def supports_loglik(model: Any) -> bool:
    """Tell whether a model gives a normalised next-track distribution.

    Parameters
    ----------
    model : object
        A recommender.

    Returns
    -------
    bool
        True if it has a callable ``next_track_log_proba``.
    """
    return callable(getattr(model, "next_track_log_proba", None))


def transition_queries(queries):
    r"""Expand queries into one query per held-out transition.

    A query with seed :math:`s` and targets :math:`y_1, \dots, y_m` becomes the
    :math:`m` queries :math:`(s + y_{<i}) \to y_i`, in order.

    Parameters
    ----------
    queries : Queries
        The protocol's queries.

    Returns
    -------
    expanded : Queries
        One query per target, with a single target each.
    owner : np.ndarray
        int64 ``(T,)``: the original query of each transition.

    Examples
    --------
    >>> from apc.data import Queries
    >>> q = Queries.from_lists([[0], [1]], [[2, 3], [0]], n_tracks=4)
    >>> e, owner = transition_queries(q)
    >>> [e.seed(i).tolist() for i in range(len(e))], e.targets.tolist(), owner.tolist()
    ([[0], [0, 2], [1]], [2, 3, 0], [0, 0, 1])
    """
    q_cls = type(queries)
    tl = queries.target_lengths.astype(np.int64)
    sl = queries.seed_lengths.astype(np.int64)
    owner = np.repeat(np.arange(len(queries), dtype=np.int64), tl)
    step = np.arange(len(owner), dtype=np.int64) - np.repeat(queries.targets_indptr[:-1], tl)
    new_len = sl[owner] + step
    indptr = np.zeros(len(owner) + 1, dtype=np.int64)
    np.cumsum(new_len, out=indptr[1:])
    # each expanded seed = the original seed, then the first `step` targets
    row = np.repeat(np.arange(len(owner)), new_len)
    off = np.arange(indptr[-1], dtype=np.int64) - indptr[:-1][row]
    o = owner[row]
    from_seed = off < sl[o]
    last_s, last_t = max(len(queries.seeds) - 1, 0), max(len(queries.targets) - 1, 0)
    from_s = queries.seeds[np.minimum(queries.seeds_indptr[:-1][o] + off, last_s)] if len(
        queries.seeds) else np.zeros(len(o), np.int32)
    from_t = queries.targets[np.minimum(queries.targets_indptr[:-1][o] + off - sl[o], last_t)]
    seeds = np.where(from_seed, from_s, from_t).astype(np.int32)
    targets = queries.targets.astype(np.int32)
    expanded = q_cls(indptr, seeds, np.arange(len(owner) + 1, dtype=np.int64), targets,
                     queries.n_tracks)
    return expanded, owner


def log_likelihood(
    model: Any,
    queries,
    *,
    every_target: bool = True,
    floor: float | None = None,
    batch_size: int = 4096,
) -> LogLikelihood:
    """Average log-likelihood per held-out transition under a generative model.

    Parameters
    ----------
    model : object
        A fitted model with ``next_track_log_proba(queries) -> (Q,)``.
    queries : Queries
        Held-out queries (from any protocol); queries without targets are skipped.
    every_target : bool, default True
        Score every target transition (``seed + y_<i -> y_i``); False: only the first.
    floor : float, optional
        Clip each probability below ``floor`` to ``floor`` (reported; default none, so a
        zero-probability transition makes the mean ``-inf``).
    batch_size : int, default 4096
        Transitions per call to the model.

    Returns
    -------
    LogLikelihood

    Raises
    ------
    ApcInputError
        If the model gives no normalised next-track distribution, or ``floor`` is not
        in (0, 1).

    Examples
    --------
    >>> from apc.data import Playlists, Queries
    >>> from apc.models.markov import MarkovChain
    >>> train = Playlists.from_sequences([["a", "b"], ["a", "b"], ["a", "c"]])
    >>> m = MarkovChain(popularity_weight=0.0).fit(train)
    >>> q = Queries.from_lists([[0]], [[1]], n_tracks=3)  # a -> b: 2 of 3
    >>> round(log_likelihood(m, q).mean, 6) == round(float(np.log(2 / 3)), 6)
    True
    """
    if not supports_loglik(model):
        raise ApcInputError(
            f"model {type(model).__name__} gives no normalised next-track distribution "
            "(it has no next_track_log_proba), so it has no log-likelihood", field="loglik")
    if floor is not None and not 0 < floor < 1:
        raise ApcInputError(f"floor must be in (0, 1), got {floor!r}", field="floor")
    has = queries.target_lengths > 0
    if every_target:
        expanded, owner = transition_queries(queries)
    else:
        rows = np.flatnonzero(has)
        sub = queries.subset(rows)
        expanded, owner = sub, rows.astype(np.int64)
    logp = np.empty(len(expanded), dtype=np.float64)
    for start in range(0, len(expanded), batch_size):
        rows = np.arange(start, min(len(expanded), start + batch_size))
        logp[rows] = np.asarray(model.next_track_log_proba(expanded.subset(rows)), np.float64)
    n_zero = int(np.isneginf(logp).sum())
    if floor is not None:
        logp = np.maximum(logp, np.log(floor))
    total = np.bincount(owner, weights=logp, minlength=len(queries)) if len(logp) else (
        np.zeros(len(queries)))
    count = np.bincount(owner, minlength=len(queries))
    with np.errstate(invalid="ignore", divide="ignore"):
        per_query = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    if n_zero and floor is None:  # bincount turns -inf sums into NaN in some builds
        per_query[np.unique(owner[np.isneginf(logp)])] = -np.inf
    mean = float(logp.mean()) if len(logp) else float("nan")
    return LogLikelihood(mean, len(logp), n_zero, per_query, floor)
