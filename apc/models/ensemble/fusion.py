r"""Score fusion: a weighted sum of several models' per-query normalised scores.

Every component proposes its top-``depth`` list; each list's scores are normalised per
query (min-max, or by rank) and the fused score of a track is

.. math::

    f(q, t) = \sum_m w_m \, \tilde{s}_m(q, t), \qquad
    \tilde{s}_m(q, t) = \begin{cases}
        \dfrac{s_m(q, t) - \min_q s_m}{\max_q s_m - \min_q s_m} & \text{min-max} \\[1ex]
        1 - r_m(q, t) / \mathrm{depth}_m & \text{rank (Borda)}
    \end{cases}

with :math:`\tilde{s}_m(q, t) = 0` when model :math:`m` did not list :math:`t`
(CombSUM of Fox & Shaw 1994 over min-max scores, Borda count over ranks). The weights
are given, or fitted by coordinate search over a small grid on a validation split
carved from the training playlists (:func:`~apc.models.ensemble._components.carve_validation`).
Score fusion of this kind was the last step of several RecSys Challenge 2018 solutions
(Zamani et al. 2019, Section 5).

References
----------
E. A. Fox and J. A. Shaw, "Combination of multiple searches", TREC-2, 1994.
H. Zamani, M. Schedl, P. Lamere and C.-W. Chen, "An analysis of approaches taken in the
ACM RecSys Challenge 2018 for automatic music playlist continuation", ACM TIST 10(5),
2019.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from apc.data.playlists import Playlists
from apc.data.queries import Queries, Recommendations
from apc.errors import ApcInputError
from apc.models.base import ScoringRecommender, check_recommend
from apc.models.ensemble._components import (
    carve_validation,
    check_component_models,
    fit_components,
    lists_of,
    parse_components,
    top_pairs,
    union_pairs,
)
from apc.models.params import param

#: Metrics the weights can be fitted for (per-query means on the validation queries).
FIT_METRICS = ("rprec_mpd", "rprec", "ndcg", "recall")


@dataclass(frozen=True)
class FusionConfig:
    """Hyper-parameters of :class:`ScoreFusion`."""

    components: list[dict | str] = param(
        ({"model": "knn"}, {"model": "cagh"}),
        doc="Models to fuse: tables {model = NAME or 'pkg.mod:Class', params = {...}, "
            "n = depth, weight = w}, or plain model names.")
    normalise: str = param("minmax", choices=("minmax", "rank"),
                           doc="Per-query normalisation: min-max of scores, or rank (Borda).")
    depth: int = param(500, ge=1, doc="List length taken from each component (its n wins).")
    fit_weights: bool = param(
        True, doc="Fit the weights on a validation split (given weights are the start).")
    weight_grid: list[float] = param((0.0, 0.25, 0.5, 1.0, 2.0, 4.0),
                                     doc="Weights tried for each component by the search.")
    search_rounds: int = param(2, ge=1, doc="Rounds of coordinate search over the components.")
    fit_metric: str = param("rprec_mpd", choices=FIT_METRICS,
                            doc="Validation metric the weights maximise.")
    val_protocol: str = param("continuation",
                              doc="Protocol carving validation queries from train "
                                  "(use the test protocol, e.g. 'mpd-challenge').")
    val_params: dict | None = param(None, doc="Options of the validation protocol, "
                                              "e.g. {n_test = 500}.")
    seed: int = param(0, ge=0, doc="Seed of the validation split.")

    def check(self) -> None:
        """Check the component tables and the grid (rules beyond single fields)."""
        parse_components(self.components)
        if not self.weight_grid or any(w < 0 for w in self.weight_grid):
            raise ApcInputError("expected a non-empty list of weights >= 0",
                                field="weight_grid")


def normalise_lists(recs: Recommendations, how: str, depth: int) -> Recommendations:
    """Normalise each row of a component's lists to [0, 1] (see the module formula).

    Parameters
    ----------
    recs : Recommendations
        ``(B, n)`` lists, ``-1`` padded.
    how : {"minmax", "rank"}
        Min-max of the row's finite scores (a constant row maps to 1), or
        ``1 - rank / depth``.
    depth : int
        The list depth the component was asked for.

    Returns
    -------
    Recommendations
        Same items; float32 normalised scores (NaN where padded).
    """
    valid = recs.items >= 0
    if how == "rank":
        pos = np.arange(recs.items.shape[1], dtype=np.float32)
        out = np.broadcast_to(1.0 - pos / np.float32(max(depth, 1)), recs.items.shape)
        return Recommendations(recs.items, np.where(valid, out, np.nan).astype(np.float32))
    s = recs.scores.astype(np.float64)
    finite = valid & np.isfinite(s)
    lo = np.where(finite, s, np.inf).min(axis=1, initial=np.inf)[:, None]
    hi = np.where(finite, s, -np.inf).max(axis=1, initial=-np.inf)[:, None]
    span = hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        norm = np.where(span > 0, (s - lo) / np.where(span > 0, span, 1.0), 1.0)
    norm = np.where(finite, norm, 0.0)  # a listed track with a non-finite score ranks last
    return Recommendations(recs.items, np.where(valid, norm, np.nan).astype(np.float32))


def fit_metric_values(name: str, recs: Recommendations, queries: Queries,
                      track_artists: np.ndarray) -> float:
    """Mean of a :data:`FIT_METRICS` metric over the queries (NaN rows ignored)."""
    from apc.evaluation.metrics.accuracy import ndcg_at_k, r_precision, recall_at_k
    from apc.evaluation.metrics.mpd import rprec_mpd

    k = recs.items.shape[1]
    if name == "rprec_mpd":
        v = rprec_mpd(recs, queries, track_artists)
    elif name == "rprec":
        v = r_precision(recs, queries)
    elif name == "ndcg":
        v = ndcg_at_k(recs, queries, k)
    else:
        v = recall_at_k(recs, queries, k)
    return float(np.nanmean(v)) if np.isfinite(v).any() else 0.0


class ScoreFusion(ScoringRecommender):
    """Weighted fusion of any registered models' normalised scores.

    Parameters
    ----------
    **params
        Fields of :class:`FusionConfig`.

    Attributes
    ----------
    weights_ : np.ndarray
        float64 (M,): the weights used (given or fitted).
    models_ : list
        The components, fitted on the whole training corpus.
    search_ : list of dict
        Every weight vector tried by the search with its validation score.

    Examples
    --------
    >>> from apc.testing import checkerboard, queries_from
    >>> pl = checkerboard()
    >>> model = ScoreFusion(components=[{"model": "popularity"}, {"model": "item-knn"}],
    ...                     fit_weights=False).fit(pl)
    >>> model.recommend(queries_from(pl, [[0, 1]], [[2]]), 3).items.shape
    (1, 3)
    """

    name = "fusion"
    empty_seed_fallback = False  # the components are wrapped for empty seeds themselves
    config_class = FusionConfig
    block_queries = 2048

    def _components(self):
        return parse_components(self.components)

    def validate_params(self) -> None:
        """Check the parameters and every component's model and parameters (no data)."""
        super().validate_params()
        check_component_models(self._components())

    def _depths(self, n_tracks: int, k: int = 0) -> list[int]:
        return [min(max(c.n or self.depth, k), n_tracks) for c in self._components()]

    def _fit(self, train: Playlists, features) -> None:
        comps = self._components()
        start = np.array([1.0 if c.weight is None else c.weight for c in comps])
        self.search_ = []
        if self.fit_weights and len(comps) > 1:
            start = self._search(train, start)
        if not (start > 0).any():
            raise ApcInputError("all fusion weights are 0", field="components")
        self.weights_ = start
        self.models_ = fit_components(comps, train)

    def _search(self, train: Playlists, weights: np.ndarray) -> np.ndarray:
        """Coordinate search of the weights on a validation split of ``train``."""
        from apc.progress import progress

        sub, val = carve_validation(train, self.val_protocol, self.val_params or {}, self.seed)
        models = fit_components(self._components(), sub)
        depths = self._depths(sub.n_tracks)
        pairs = self._pairs(models, val, depths)
        k = max(depths)
        artists = sub.track_artists

        def score(w):
            recs = top_pairs(pairs, np.nan_to_num(pairs.scores) @ w.astype(np.float32), k)
            return fit_metric_values(self.fit_metric, recs, val, artists)

        best = score(weights)
        self.search_.append({"weights": weights.tolist(), "score": best})
        for _ in progress(range(int(self.search_rounds)), "fusion weights"):
            improved = False
            for m in range(len(weights)):
                for g in self.weight_grid:
                    trial = weights.copy()
                    trial[m] = g
                    if trial[m] == weights[m] or not (trial > 0).any():
                        continue
                    value = score(trial)
                    self.search_.append({"weights": trial.tolist(), "score": value})
                    if value > best + 1e-12:
                        best, weights, improved = value, trial, True
            if not improved:
                break
        self.val_score_ = best
        return weights

    def _pairs(self, models, queries: Queries, depths: list[int]):
        lists = lists_of(models, queries, depths)
        normed = [normalise_lists(r, self.normalise, d) for r, d in zip(lists, depths, strict=True)]
        return union_pairs(normed, queries.n_tracks)

    def recommend(self, queries: Queries, k: int) -> Recommendations:
        """Fuse the components' lists for every query; see :class:`Recommendations`.

        Each component lists ``max(depth, k)`` tracks; a track no component lists is
        not recommended, so a row may end early (``-1`` padded).

        Raises
        ------
        NotFittedError
            When the model is not fitted.
        ApcInputError
            When ``k < 1`` or the queries refer to another catalogue.
        """
        k = check_recommend(self, queries, k)
        depths = self._depths(self.n_tracks_, k)
        items = np.full((len(queries), k), -1, dtype=np.int32)
        scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        w = self.weights_.astype(np.float32)
        for lo in range(0, len(queries), self.block_queries):
            rows = np.arange(lo, min(len(queries), lo + self.block_queries))
            pairs = self._pairs(self.models_, queries.subset(rows), depths)
            recs = top_pairs(pairs, np.nan_to_num(pairs.scores) @ w, k)
            items[rows], scores[rows] = recs.items, recs.scores
        return Recommendations(items, scores)


__all__ = ["FIT_METRICS", "FusionConfig", "ScoreFusion", "fit_metric_values",
           "normalise_lists"]
