r"""Metrics that need the model, not only its top-k list: ``loglik``, ``rank``, ``rank_pct``.

The per-query rows have the same columns as
:func:`~apc.evaluation.evaluate.score_recommendations`, so the runner, the report and the
statistics treat them like any other metric:

- ``loglik``: each query's mean log-probability of its held-out transitions, from the
  model's ``next_track_log_proba`` (:mod:`apc.evaluation.loglik`); NaN for every query of
  a model without a normalised next-track distribution (the model is named in the
  returned notes);
- ``rank`` / ``rank_pct``: the position of the next song in the model's *full* ranking
  of the catalogue (:mod:`apc.evaluation.metrics.rank`), from ``recommend(queries,
  n_tracks)`` in blocks of ``batch_size`` queries — :math:`O(Q\,n \log n)` time and
  :math:`O(\text{batch}\,n)` memory, so exact for any recommender.

Only duck typing is used: this module never imports :mod:`apc.models`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from apc.evaluation.loglik import log_likelihood, supports_loglik
from apc.evaluation.metrics import parse_label
from apc.evaluation.metrics.rank import MODEL_LEVEL, ranks_and_candidates


def split_labels(labels: Iterable[str]) -> tuple[list[str], list[str]]:
    """Split metric labels into list-level ones and model-level ones (:data:`MODEL_LEVEL`).

    Examples
    --------
    >>> split_labels(["hit@10", "rank", "loglik", "mrr@20"])
    (['hit@10', 'mrr@20'], ['rank', 'loglik'])
    """
    labels = list(labels)
    model = [lab for lab in labels if parse_label(lab)[0] in MODEL_LEVEL]
    return [lab for lab in labels if lab not in model], model


def model_metric_values(model: Any, queries, train, labels: Iterable[str], *,
                        batch_size: int = 256) -> tuple[dict[str, np.ndarray], list[str]]:
    """Compute the model-level metrics per query.

    Parameters
    ----------
    model : object
        A fitted recommender (``recommend``; ``next_track_log_proba`` for ``loglik``).
    queries : Queries
        The queries.
    train : Playlists
        The training corpus.
    labels : iterable of str
        Labels among :data:`MODEL_LEVEL`.
    batch_size : int, default 256
        Queries per full ranking.

    Returns
    -------
    values : dict
        Label -> float64 ``(Q,)``.
    notes : list of str
        What could not be computed, and why.
    """
    labels = list(labels)
    q = len(queries)
    out: dict[str, np.ndarray] = {}
    notes: list[str] = []
    if "loglik" in labels:
        if supports_loglik(model):
            res = log_likelihood(model, queries)
            out["loglik"] = res.per_query
            if res.n_zero:
                notes.append(f"loglik: {res.n_zero} of {res.n_transitions} transitions had "
                             "probability 0 (log -inf)")
        else:
            out["loglik"] = np.full(q, np.nan)
            notes.append("loglik: the model gives no normalised next-track distribution "
                         "(no next_track_log_proba); its loglik is empty")
    ranks = [lab for lab in labels if lab in ("rank", "rank_pct")]
    if ranks:
        rank, cand = np.full(q, np.nan), np.full(q, np.nan)
        seeded = queries.seed_lengths > 0  # empty seeds: the model's own recommend (fallbacks)
        rest = np.flatnonzero(~seeded)
        fast = _score_ranks(model, queries.subset(np.flatnonzero(seeded)), batch_size) if (
            seeded.any()) else None
        if fast is not None:
            rank[seeded], cand[seeded] = fast
        else:
            rest = np.arange(q)
        n = int(queries.n_tracks)
        for start in range(0, len(rest), batch_size):
            rows = rest[start:start + batch_size]
            block = queries.subset(rows)
            rank[rows], cand[rows] = ranks_and_candidates(model.recommend(block, n), block, n)
        if "rank" in ranks:
            out["rank"] = rank
        if "rank_pct" in ranks:
            out["rank_pct"] = 100.0 * rank / np.maximum(cand, 1.0)
    return out, notes


_FMAX = np.float32(np.finfo(np.float32).max)


def _score_ranks(model: Any, queries, batch_size: int):
    """Exact ranks by counting, from a ScoringRecommender's score blocks; None if unsure.

    ``recommend`` sorts the float32 scores (excluded seeds and non-finite scores never
    listed) with ties to the lower track index, or, for prior-backed sparse scores
    (``PriorScores``: Markov chains, rules), to the higher prior. The rank of target
    ``t`` is then ``1 + #{j: s_j > s_t} + #{j: s_j = s_t, j before t}`` over the listed
    tracks: one pass over each score row instead of a full sort. Used only for models
    with ``_block_scores`` and ``n_tracks_``, no query with an empty seed (a title
    fallback may answer those: the caller ranks them by ``recommend``) and dense or
    prior-backed blocks; otherwise None.
    """
    block_fn = getattr(model, "_block_scores", None)
    n = getattr(model, "n_tracks_", None)
    if block_fn is None or n is None or len(queries) == 0 or (queries.seed_lengths == 0).any():
        return None
    import scipy.sparse as sp

    q = len(queries)
    rank = np.full(q, np.nan)
    cand = np.full(q, np.nan)
    allows = bool(getattr(model, "allows_repeats", False))
    step = max(1, min(batch_size, (1 << 22) // max(1, int(n))))
    for start in range(0, q, step):
        rows = np.arange(start, min(q, start + step))
        block = queries.subset(rows)
        scores = block_fn(block, int(n))
        tie = np.arange(int(n), dtype=np.int64)
        if hasattr(scores, "prior") and hasattr(scores, "dense"):  # PriorScores
            tie = np.asarray(scores.prior.rank, dtype=np.int64)
            scores = scores.dense()
        elif sp.issparse(scores):
            return None
        elif not isinstance(scores, np.ndarray) and hasattr(scores, "detach"):  # torch
            scores = scores.detach().float().cpu().numpy()
        s = np.array(scores, dtype=np.float32, copy=True)
        s[np.isnan(s)] = -np.inf
        s[s == np.inf] = _FMAX
        if not allows:
            ex = block.seeds_csr()
            s[np.repeat(np.arange(len(rows)), np.diff(ex.indptr)), ex.indices] = -np.inf
        listed = np.isfinite(s)
        width = listed.sum(axis=1).astype(np.float64)
        n_seed = np.diff(block.seeds_csr().indptr).astype(np.float64)
        c = np.maximum(float(n) - n_seed, width)
        tl = block.target_lengths
        r = np.repeat(np.arange(len(rows)), tl)
        t = block.targets.astype(np.int64)
        best = np.full(len(rows), np.inf)
        for lo in range(0, len(t), step):  # (pairs, n) comparisons, a block at a time
            rr, tt = r[lo:lo + step], t[lo:lo + step]
            st = s[rr, tt]
            row_s = s[rr]
            tied = (row_s == st[:, None]) & (tie[None, :] < tie[tt][:, None])
            before = (row_s > st[:, None]) | tied
            pos = 1.0 + (before & listed[rr]).sum(axis=1)
            pos[~np.isfinite(st)] = np.inf
            np.minimum.at(best, rr, pos)
        missing = ~np.isfinite(best)
        best[missing] = (width[missing] + 1.0 + c[missing]) / 2.0
        best[tl == 0] = np.nan
        rank[rows], cand[rows] = best, c
    return rank, cand


def model_metric_rows(model: Any, queries, train, labels: Iterable[str], *, model_name: str,
                      dataset: str, protocol: str, seed: int,
                      batch_size: int = 256) -> tuple[pd.DataFrame, list[str]]:
    """Per-query rows of the model-level metrics.

    The columns are those of :data:`apc.evaluation.evaluate.RESULT_COLUMNS`, in that
    order (this module does not import it: ``evaluate`` imports this one).

    Parameters
    ----------
    model, queries, train, labels, batch_size
        As in :func:`model_metric_values`.
    model_name, dataset, protocol : str
        Recorded in every row.
    seed : int
        Recorded in every row.

    Returns
    -------
    rows : pd.DataFrame
    notes : list of str
    """
    labels = list(labels)
    values, notes = model_metric_values(model, queries, train, labels, batch_size=batch_size)
    q = len(queries)
    cat = queries.category
    category = ([None if pd.isna(c) else str(c) for c in cat] if cat is not None
                else [None] * q)
    frames = []
    for lab in labels:
        frames.append(pd.DataFrame({
            "model": model_name, "dataset": dataset, "protocol": protocol,
            "seed": np.int64(seed), "query": np.arange(q, dtype=np.int64),
            "playlist_id": np.asarray(queries.playlist_ids).astype(str),
            "category": pd.Series(category, dtype=object),
            "seed_length": queries.seed_lengths.astype(np.int64),
            "n_targets": np.diff(queries.targets_csr().indptr).astype(np.int64),
            "metric": lab, "k": pd.array([None] * q, dtype="Int64"), "label": lab,
            "value": np.asarray(values[lab], dtype=np.float64),
        }))
    if not frames:
        return pd.DataFrame(), notes
    return pd.concat(frames, ignore_index=True), notes
