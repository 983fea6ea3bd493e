r"""Two-stage continuation: candidates from several models, re-ranked by learning to rank.

The shape of every top RecSys Challenge 2018 solution (Volkovs et al. 2018, team vl6,
R-precision 0.2241; Rubtsov et al. 2018; Zamani et al. 2019, Section 5)::

    training playlists ──carve validation split (same protocol as the test)──┐
        │                                                                     │
        │  stage 1 (fit on the rest)          stage 2 (fit on val queries)    │
        ├─ model A: top n_A ─┐                                                │
        ├─ model B: top n_B ─┼─ union ─ features per (query, candidate) ─ LambdaMART
        └─ model C: top n_C ─┘          (rank_features)                    (LGBMRanker)
                                                                              │
    at recommend time: stage 1 refitted on all training playlists,           │
    candidates of each query ─ features ─ ranker score ─ top k  <─────────────┘

Stage 2 is LightGBM's ``LGBMRanker`` with the lambdarank objective (LambdaMART;
Burges 2010) when LightGBM is installed (``pip install apc-playlists[rank]``), else
scikit-learn's ``HistGradientBoostingClassifier`` on the binary label "the candidate is
a held-out track". Its training queries come from a validation split of the *training*
playlists carved with ``val_protocol`` (use the test protocol, e.g. ``mpd-challenge``):
the ranker never sees a test query, and the stage-1 models it learns from were fitted
without the validation playlists, as they are fitted without the test playlists.

References
----------
M. Volkovs, H. Rai, Z. Cheng, G. Wu, Y. Lu and S. Sanner, "Two-stage model for automatic
playlist continuation at scale", Proc. RecSys Challenge 2018. V. Rubtsov et al., "A
hybrid two-stage recommender system for automatic playlist continuation", Proc. RecSys
Challenge 2018. H. Zamani, M. Schedl, P. Lamere and C.-W. Chen, "An analysis of
approaches taken in the ACM RecSys Challenge 2018 for automatic music playlist
continuation", ACM TIST 10(5), 2019. C. J. C. Burges, "From RankNet to LambdaRank to
LambdaMART: an overview", MSR-TR-2010-82.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from apc.data.playlists import Playlists
from apc.data.queries import Queries, Recommendations
from apc.errors import ApcInputError
from apc.models.base import ScoringRecommender, check_is_fitted, check_recommend
from apc.models.ensemble._components import (
    carve_validation,
    check_component_models,
    fit_components,
    lists_of,
    parse_components,
    top_pairs,
    union_pairs,
)
from apc.models.ensemble.rank_features import (
    FEATURE_GROUPS,
    FeatureContext,
    build_features,
    corpus_stats,
    resolve_features,
)
from apc.models.params import param
from apc.models.title import TitleModel

RANKERS = ("auto", "lightgbm", "hist-gbm")
TITLE_ONLY = ("title", "rerank")


@dataclass(frozen=True)
class RerankConfig:
    """Hyper-parameters of :class:`Rerank`."""

    candidates: list[dict | str] = param(
        ({"model": "knn", "n": 300}, {"model": "cagh", "n": 200}),
        doc="Stage 1: tables {model = NAME or 'pkg.mod:Class', params = {...}, n = "
            "candidates taken}, or plain model names.")
    n_candidates: int = param(250, ge=1, doc="Candidates per model when its table has no n.")
    ranker: str = param("auto", choices=RANKERS,
                        doc="Stage 2: LightGBM LGBMRanker (lambdarank), scikit-learn "
                            "HistGradientBoostingClassifier, or auto (LightGBM if installed).")
    n_estimators: int = param(200, ge=1, doc="Boosting rounds of the ranker.")
    learning_rate: float = param(0.05, gt=0, le=1, doc="Shrinkage of the ranker.")
    num_leaves: int = param(31, ge=2, doc="Leaves per tree.")
    min_child_samples: int = param(20, ge=1, doc="Fewest pairs in a leaf.")
    features: list[str] = param(FEATURE_GROUPS, choices=FEATURE_GROUPS,
                                doc="Built-in feature groups (see rank_features).")
    extra_features: list[str] = param(
        (), doc="Import paths 'pkg.mod:function' of extra feature functions.")
    cooc_neighbors: int = param(100, ge=1, doc="Neighbours per track of the co-occurrence "
                                               "cosine features.")
    cooc_playlists: int | None = param(200_000, ge=1,
                                       doc="Training playlists sampled for the co-occurrence "
                                           "features (None: all).")
    val_protocol: str = param("continuation",
                              doc="Protocol carving the ranker's queries from train (use the "
                                  "test protocol, e.g. 'mpd-challenge').")
    val_params: dict | None = param(None, doc="Options of the validation protocol, "
                                              "e.g. {n_test = 2000}.")
    title_only: str = param(
        "title", choices=TITLE_ONLY,
        doc="Queries without seed tracks (MPD 'title only'): the title model's own list "
            "('title'), or re-ranked like the others ('rerank'; the ranker then also "
            "learns from such validation queries).")
    block_queries: int = param(1000, ge=1, doc="Queries per feature block.")
    num_threads: int = param(1, ge=1, doc="Threads of the ranker.")
    seed: int = param(0, ge=0, doc="Seed of the validation split, sampling and ranker.")

    def check(self) -> None:
        """Check the candidate tables (rules beyond single fields)."""
        parse_components(self.candidates, field="candidates")


def lightgbm_available() -> bool:
    """Return True when LightGBM can be imported (the ``rank`` extra)."""
    try:
        import lightgbm  # noqa: F401
    except ImportError:
        return False
    return True


class _Ranker:
    """Stage 2: a LightGBM lambdarank ranker or a scikit-learn classifier, one interface."""

    def __init__(self, kind: str, cfg: RerankConfig) -> None:
        self.kind = kind
        self.cfg = cfg

    def fit(self, x: np.ndarray, y: np.ndarray, groups: np.ndarray) -> _Ranker:
        c = self.cfg
        if self.kind == "lightgbm":
            from lightgbm import LGBMRanker

            self.model = LGBMRanker(
                objective="lambdarank", n_estimators=c.n_estimators,
                learning_rate=c.learning_rate, num_leaves=c.num_leaves,
                min_child_samples=c.min_child_samples, random_state=c.seed,
                n_jobs=c.num_threads, deterministic=True, force_row_wise=True, verbose=-1)
            self.model.fit(x, y, group=groups)
        else:
            from sklearn.ensemble import HistGradientBoostingClassifier

            self.model = HistGradientBoostingClassifier(
                max_iter=c.n_estimators, learning_rate=c.learning_rate,
                max_leaf_nodes=c.num_leaves, min_samples_leaf=c.min_child_samples,
                early_stopping=False, random_state=c.seed)
            with _threads(c.num_threads):
                self.model.fit(_no_nan(x), y)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        if self.kind == "lightgbm":
            return self.model.predict(x, num_threads=self.cfg.num_threads).astype(np.float32)
        with _threads(self.cfg.num_threads):
            return self.model.predict_proba(_no_nan(x))[:, 1].astype(np.float32)


def _no_nan(x: np.ndarray) -> np.ndarray:
    # scikit-learn cannot bin a column that is all NaN (e.g. no titled query in the
    # training data); a value below every feature means "missing" just as well
    return np.where(np.isnan(x), np.float32(-1e30), x)


def _threads(n: int):
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn depends on threadpoolctl
        return contextlib.nullcontext()
    return threadpool_limits(limits=int(n))


class Rerank(ScoringRecommender):
    """Two-stage model: union of several models' top-N candidates, re-ranked by LTR.

    Parameters
    ----------
    **params
        Fields of :class:`RerankConfig`.

    Attributes
    ----------
    models_ : list
        Stage-1 models, fitted on the whole training corpus.
    ranker_ : object
        The fitted stage-2 model (``LGBMRanker`` or ``HistGradientBoostingClassifier``).
    ranker_kind_ : str
        ``"lightgbm"`` or ``"hist-gbm"``.
    feature_names_ : list of str
        Columns of the feature matrix.
    title_ : TitleModel
        The title model fitted on the whole training corpus: the answer to queries
        without seed tracks (``title_only = "title"``), the ``title`` feature and the
        stage-1 models' empty-seed answer.
    val_playlist_ids_ : np.ndarray
        Playlist ids of the validation queries the ranker learnt from (all training
        playlists: the leak test checks it).
    train_report_ : dict
        Validation queries, pairs, positives and candidate recall of the ranker's data.
    timings_ : dict
        Seconds spent per phase (stage-1 fit on the validation corpus, candidates,
        features, ranker fit, refit, ranking), summed over fit and recommend calls.

    Examples
    --------
    >>> from apc.testing import checkerboard, queries_from
    >>> pl = checkerboard(n_playlists=60)
    >>> model = Rerank(candidates=[{"model": "item-knn"}, {"model": "popularity"}],
    ...                ranker="hist-gbm", n_estimators=5,
    ...                val_params={"n_seed": 2, "test_fraction": 0.3}).fit(pl)
    >>> model.recommend(queries_from(pl, [[0, 1]], [[2]]), 3).items.shape
    (1, 3)
    """

    name = "rerank"
    empty_seed_fallback = False  # empty seeds: title_ (title_only) or the wrapped components
    config_class = RerankConfig

    def _components(self):
        return parse_components(self.candidates, field="candidates")

    def validate_params(self) -> None:
        """Check the parameters, the stage-1 models and the feature functions (no data)."""
        super().validate_params()
        check_component_models(self._components(), field="candidates")
        resolve_features(list(self.features), list(self.extra_features))
        if self.ranker == "lightgbm" and not lightgbm_available():
            raise ApcInputError("LightGBM is not installed (pip install apc-playlists[rank]); "
                                "use ranker = 'hist-gbm' or 'auto'", field="ranker")

    def _depths(self, n_tracks: int) -> list[int]:
        return [min(c.n or self.n_candidates, n_tracks) for c in self._components()]

    def _stats(self, train: Playlists, title):
        return corpus_stats(train, n_neighbors=self.cooc_neighbors,
                            max_playlists=self.cooc_playlists, seed=self.seed,
                            groups=tuple(self.features), title=title)

    def _block(self, models, stats, queries: Queries, depths):
        """Candidates and features of one block: ``(pairs, X)``; adds to ``timings_``."""
        t0 = time.perf_counter()
        pairs = union_pairs(lists_of(models, queries, depths), queries.n_tracks)
        t1 = time.perf_counter()
        ctx = FeatureContext(stats, queries, pairs, [c.label for c in self._components()])
        x, names = build_features(ctx, self.functions_)
        self.feature_names_ = names
        self._time("candidates", t1 - t0)
        self._time("features", time.perf_counter() - t1)
        return pairs, x

    def _time(self, phase: str, seconds: float) -> None:
        timings = self.__dict__.setdefault("timings_", {})
        timings[phase] = timings.get(phase, 0.0) + seconds

    def _fit(self, train: Playlists, features) -> None:
        from apc.progress import progress

        self.functions_ = resolve_features(list(self.features), list(self.extra_features))
        self.ranker_kind_ = ("lightgbm" if self.ranker == "lightgbm" or
                             (self.ranker == "auto" and lightgbm_available()) else "hist-gbm")
        comps = self._components()
        sub, val = carve_validation(train, self.val_protocol, self.val_params or {}, self.seed)
        self.val_playlist_ids_ = np.asarray(val.playlist_ids)
        self.timings_ = {}
        t0 = time.perf_counter()
        title = TitleModel().fit(sub)
        models = fit_components(comps, sub, title=title)
        stats = self._stats(sub, title)
        self._time("validation_fit", time.perf_counter() - t0)
        depths = self._depths(sub.n_tracks)
        n_title_only = 0
        if self.title_only == "title":
            # answered by the title model at recommend time: nothing for the ranker
            seeded = val.seed_lengths > 0
            n_title_only = int((~seeded).sum())
            val = val.subset(np.flatnonzero(seeded))
            if len(val) == 0:
                raise ApcInputError(
                    f"every one of the {n_title_only} validation queries has an empty "
                    "seed, so the ranker has nothing to learn from; use "
                    "title_only = 'rerank' or another val_protocol", field="val_protocol")
        xs, ys, groups = [], [], []
        n_pos = n_targets = n_pairs = 0
        step = int(self.block_queries)
        for lo in progress(range(0, len(val), step), "rerank training features"):
            block = val.subset(np.arange(lo, min(len(val), lo + step)))
            pairs, x = self._block(models, stats, block, depths)
            tk = block.targets_csr()
            t_keys = (np.repeat(np.arange(len(block), dtype=np.int64), np.diff(tk.indptr))
                      * block.n_tracks + tk.indices)
            y = np.isin(pairs.query * block.n_tracks + pairs.track, t_keys).astype(np.int32)
            per_q = np.bincount(pairs.query, weights=y, minlength=len(block))
            size = np.bincount(pairs.query, minlength=len(block))
            # a query without a positive (or a negative) teaches a ranker nothing
            useful = (per_q > 0) & (per_q < size)
            keep = useful[pairs.query]
            xs.append(x[keep])
            ys.append(y[keep])
            groups.append(size[useful])
            n_pos += int(y.sum())
            n_targets += len(block.targets)
            n_pairs += len(y)
        y = np.concatenate(ys)
        if y.sum() == 0 or (y == 0).all() or y.all():
            raise ApcInputError(
                f"no validation query has both a held-out track and a miss among its "
                f"{n_pairs} candidates ({len(val)} queries): more candidates, other "
                "candidate models or more validation playlists are needed",
                field="candidates")
        self.train_report_ = {"val_queries": len(val), "title_only_queries": n_title_only,
                              "pairs": n_pairs, "positives": n_pos,
                              "candidate_recall": n_pos / max(n_targets, 1),
                              "train_queries": int(sum(len(g) for g in groups))}
        del models, stats, title
        t0 = time.perf_counter()
        self.ranker_ = _Ranker(self.ranker_kind_, self.config).fit(
            np.concatenate(xs), y, np.concatenate(groups))
        self._time("ranker_fit", time.perf_counter() - t0)
        t0 = time.perf_counter()
        self.title_ = TitleModel().fit(train)
        self.models_ = fit_components(comps, train, title=self.title_)
        self.stats_ = self._stats(train, self.title_)
        self._time("refit", time.perf_counter() - t0)

    def recommend(self, queries: Queries, k: int) -> Recommendations:
        """Re-rank each query's candidates and return the top ``k`` (``-1`` padded).

        A query gets at most as many tracks as its stage-1 candidates. With
        ``title_only = "title"`` a query without seed tracks gets the title model's list.

        Raises
        ------
        NotFittedError
            When the model is not fitted.
        ApcInputError
            When ``k < 1`` or the queries refer to another catalogue.
        """
        from apc.progress import progress

        k = check_recommend(self, queries, k)
        depths = self._depths(self.n_tracks_)
        items = np.full((len(queries), k), -1, dtype=np.int32)
        scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        empty = (queries.seed_lengths == 0) & (self.title_only == "title")
        if empty.any():
            rows = np.flatnonzero(empty)
            recs = self.title_.recommend(queries.subset(rows), k)
            w = recs.items.shape[1]
            items[rows, :w], scores[rows, :w] = recs.items, recs.scores
        seeded = np.flatnonzero(~empty)
        step = int(self.block_queries)
        for lo in progress(range(0, len(seeded), step), "rerank"):
            rows = seeded[lo:lo + step]
            pairs, x = self._block(self.models_, self.stats_, queries.subset(rows), depths)
            t0 = time.perf_counter()
            value = self.ranker_.predict(x) if len(x) else np.empty(0, np.float32)
            self._time("ranking", time.perf_counter() - t0)
            recs = top_pairs(pairs, value, k)
            items[rows], scores[rows] = recs.items, recs.scores
        return Recommendations(items, scores)

    def feature_importances(self) -> dict[str, float]:
        """Return the ranker's feature importances by column name (gain for LightGBM).

        Returns
        -------
        dict
            Name -> importance, largest first; empty for the scikit-learn fallback,
            which has no built-in importances.
        """
        check_is_fitted(self)
        model: Any = self.ranker_.model
        if self.ranker_kind_ != "lightgbm":
            return {}
        imp = model.booster_.feature_importance(importance_type="gain")
        pairs = sorted(zip(self.feature_names_, imp.tolist(), strict=True), key=lambda p: -p[1])
        return dict(pairs)


__all__ = ["RANKERS", "Rerank", "RerankConfig", "lightgbm_available"]
