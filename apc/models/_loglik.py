r"""Helpers of the ``next_track_log_proba`` capability (see :mod:`apc.evaluation.loglik`).

A generative model that defines a normalised next-track distribution
:math:`P(j \mid \text{seed})` over the catalogue exposes
``next_track_log_proba(queries) -> float64 (Q,)``: the log-probability of each query's
*first* target given its seed. The evaluation layer finds it by duck typing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from apc.data.queries import Queries
from apc.errors import ApcInputError
from apc.models._topk import block_rows


def first_targets(queries: Queries) -> np.ndarray:
    """Return each query's first target as int64 ``(Q,)``.

    Raises
    ------
    ApcInputError
        If a query has no target (a likelihood needs the next track of every query).
    """
    lengths = queries.target_lengths
    if (lengths == 0).any():
        raise ApcInputError(
            f"{int((lengths == 0).sum())} queries have no target; a log-likelihood needs "
            "the next track of every query", field="targets")
    return queries.targets[queries.targets_indptr[:-1]].astype(np.int64)


def gather_log_proba(model: Any, queries: Queries, *, normalise: bool) -> np.ndarray:
    """``log P(first target | seed)`` from a model's dense ``_score`` blocks.

    Parameters
    ----------
    model : ScoringRecommender
        A fitted model whose ``_score`` returns ``(B, n)`` logits (``normalise=True``:
        a log-softmax over the catalogue turns them into log-probabilities) or
        log-probabilities already (``normalise=False``).
    queries : Queries
        Queries with at least one target each.
    normalise : bool
        Whether to apply the log-softmax.

    Returns
    -------
    np.ndarray
        float64 ``(Q,)``.
    """
    import torch

    tgt = first_targets(queries)
    out = np.empty(len(queries), dtype=np.float64)
    step = block_rows(model.n_tracks_, model.batch_size)
    for start in range(0, len(queries), step):
        rows = np.arange(start, min(len(queries), start + step))
        s = model._score(queries.subset(rows))
        s = torch.as_tensor(s).float()
        if normalise:
            s = torch.log_softmax(s, dim=1)
        idx = torch.from_numpy(tgt[rows]).to(s.device)
        out[rows] = s[torch.arange(len(rows), device=s.device), idx].double().cpu().numpy()
    return out
