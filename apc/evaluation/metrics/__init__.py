r"""Ranking metrics: registered objects that own their meaning, and pure vectorised functions.

Every metric is one :class:`Metric` in :data:`METRICS`: its name, label (``recall@10``,
``rprec``), direction, whether it takes a cut-off, whether it is per query or per set,
whether it is descriptive (never ranked), what it needs (targets, the training corpus's
artists or popularity, the catalogue size), a description that reports print, and its
function. Reports, summaries, suite checks and the CLI ask the registry; registering a
metric is all it takes for it to be labelled, ranked and described everywhere.

Each function takes the recommended items ``recs`` (int ``(Q, w)``, best first, ``-1``
padding that never counts) and the targets as a ``(Q, n_tracks)`` sparse matrix (or a
:class:`~apc.data.queries.Queries`), and returns a float64 ``(Q,)`` array, so means,
bootstrap intervals and paired tests come from the same per-query values. Targets are a
*set* G (repeats collapse); a query with no target gets ``NaN``; a track recommended
twice counts once, at its first rank; an id outside the catalogue is a miss. Set-level
metrics (coverage) return a scalar.

The hits are found once per :func:`compute_metrics` call (:class:`Hits`, a blocked
bitmap gather) and every metric is a reduction of them.

With :math:`h_i = 1` if the item at rank :math:`i` (1-based) is in G:

=======================  =============================================================
``hit@k``                :math:`\max_{i \le k} h_i`
``recall@k``             :math:`\sum_{i \le k} h_i / |G|`
``precision@k``          :math:`\sum_{i \le k} h_i / k`
``mrr@k``                :math:`1 / \min\{i \le k : h_i = 1\}` (0 without a hit)
``ndcg@k``               textbook NDCG, ideal list of :math:`\min(|G|, k)` hits
``map@k``                :math:`\sum_{i \le k} h_i \, P@i / \min(|G|, k)`
``rprec``                :math:`\sum_{i \le |G|} h_i / |G|`
``rprec_mpd``            RecSys Challenge 2018 R-precision, organisers' reading
                         (``_paper``, ``_strict``, ``_vl6``: the other readings; see
                         :mod:`apc.evaluation.metrics.mpd`)
``ndcg_mpd``             challenge NDCG, organisers' code (``ndcg_mpd_rules``: the rules
                         page's wording)
``clicks_mpd``           :math:`\lfloor (i^* - 1) / 10 \rfloor`, 51 without a hit
                         (lower is better)
``coverage@k``           distinct tracks in all top-k lists / catalogue (set level)
``popularity@k``         mean share of training playlists holding a recommended track
``artist_diversity@k``   distinct artists / tracks with a known artist in the top k
``rank``, ``rank_pct``   position of the first target in the full ranking, and as a
                         percentage of the candidates (lower is better; Vall et al. 2018)
=======================  =============================================================

References
----------
C.-W. Chen, P. Lamere, M. Schedl and H. Zamani, "Recsys Challenge 2018: Automatic Music
Playlist Continuation", RecSys 2018. H. Zamani, M. Schedl, P. Lamere and C.-W. Chen,
ACM TIST 10(5), 2019 (``*_mpd`` metrics). K. Järvelin and J. Kekäläinen, "Cumulated
gain-based evaluation of IR techniques", TOIS 20(4), 2002 (NDCG).
"""

from apc.evaluation.metrics._core import BITMAP_CELLS, Hits, hit_matrix
from apc.evaluation.metrics._driver import compute_metrics, mean_metrics
from apc.evaluation.metrics._registry import (
    METRICS,
    NEEDS,
    Metric,
    describe,
    direction,
    get_metric,
    higher_is_better,
    is_set_level,
    label,
    metric,
    parse_label,
    register,
    takes_k,
)
from apc.evaluation.metrics.accuracy import (
    hit_at_k,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    precision_at_k,
    r_precision,
    recall_at_k,
)
from apc.evaluation.metrics.beyond import artist_diversity_at_k, coverage_at_k, popularity_at_k
from apc.evaluation.metrics.mpd import (
    clicks_mpd,
    ndcg_mpd,
    ndcg_mpd_rules,
    rprec_mpd,
    rprec_mpd_paper,
    rprec_mpd_strict,
    rprec_mpd_vl6,
)
from apc.evaluation.metrics.rank import rank_of_target, rank_percentile  # noqa: F401

#: Kept for callers that typed metric functions; a metric is a :class:`Metric` now.
MetricFn = Metric

__all__ = [
    "parse_label",
    "BITMAP_CELLS",
    "METRICS",
    "NEEDS",
    "Hits",
    "Metric",
    "MetricFn",
    "artist_diversity_at_k",
    "clicks_mpd",
    "compute_metrics",
    "coverage_at_k",
    "describe",
    "direction",
    "get_metric",
    "higher_is_better",
    "hit_at_k",
    "hit_matrix",
    "is_set_level",
    "label",
    "map_at_k",
    "mean_metrics",
    "metric",
    "mrr_at_k",
    "ndcg_at_k",
    "ndcg_mpd",
    "ndcg_mpd_rules",
    "popularity_at_k",
    "precision_at_k",
    "r_precision",
    "recall_at_k",
    "register",
    "rprec_mpd",
    "rprec_mpd_paper",
    "rprec_mpd_strict",
    "rprec_mpd_vl6",
    "takes_k",
]
