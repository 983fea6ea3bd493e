"""Compute many metrics at many cut-offs from one shared :class:`Hits`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from apc.evaluation.metrics._core import Hits, _items
from apc.evaluation.metrics._registry import get_metric


def compute_metrics(
    recs,
    queries,
    train=None,
    *,
    metrics: Iterable[str],
    ks: Iterable[int] = (),
) -> dict[str, Any]:
    """Compute several metrics at several cut-offs from one hit computation.

    Parameters
    ----------
    recs : Recommendations or np.ndarray
        ``(Q, w)`` recommended items.
    queries : Queries
        The queries (their targets are the ground truth).
    train : Playlists, optional
        The training corpus: its artists feed ``artist_diversity`` and the ``rprec_mpd``
        readings, its popularity feeds ``popularity``, its size ``coverage`` when the
        queries do not state one. Required by every metric that needs artists or
        popularity.
    metrics : iterable of str
        Names from :data:`~apc.evaluation.metrics.METRICS`.
    ks : iterable of int
        Cut-offs for the metrics that take one; metrics without a cut-off are computed
        once over the whole list.

    Returns
    -------
    dict
        Label (``recall@10``, ``rprec``) -> float64 ``(Q,)`` array (a float for
        set-level metrics such as coverage).

    Raises
    ------
    ApcInputError
        On an unknown metric, a cut-off below 1, a metric with a cut-off but no ``ks``,
        or a metric that needs the training corpus (artists, popularity) without
        ``train``.

    Examples
    --------
    >>> from apc.data import Queries
    >>> q = Queries.from_lists([[0], [1]], [[2, 3], [0]], n_tracks=4)
    >>> out = compute_metrics(np.array([[2, 1], [3, 0]]), q, metrics=["recall", "mrr"], ks=[2])
    >>> out["recall@2"].tolist(), out["mrr@2"].tolist()
    ([0.5, 1.0], [1.0, 0.5])
    """
    from apc.errors import ApcInputError

    chosen = [get_metric(m) for m in metrics]
    ks = sorted({int(k) for k in ks})
    if any(k < 1 for k in ks):
        raise ApcInputError(f"cut-offs must be >= 1, got {ks}", field="k")
    for m in chosen:
        if m.takes_k and not ks:
            raise ApcInputError(f"metric {m.name!r} needs a cut-off k", field="k")
        if m.needs_train and train is None:
            raise ApcInputError(
                f"metric {m.name!r} needs the training corpus (its "
                f"{' and '.join(n for n in m.needs if n in ('track_artists', 'popularity'))}); "
                "pass train", field="train")
    items = _items(recs)
    n_tracks = int(getattr(queries, "n_tracks", 0) or (train.n_tracks if train is not None else 0))
    needs = {n for m in chosen for n in m.needs}
    context: dict[str, Any] = {"n_tracks": n_tracks}
    if "track_artists" in needs:
        context["track_artists"] = np.asarray(train.track_artists)
    if "popularity" in needs:
        context["popularity"] = (
            np.zeros(train.n_tracks) if len(train) == 0
            else train.item_popularity() / float(len(train))
        )
    shared = Hits(items, queries if "targets" in needs else None, n_tracks=n_tracks or None)
    out: dict[str, Any] = {}
    for m in chosen:
        extra = {n: context[n] for n in m.needs if n != "targets"}
        head = (items, queries) if "targets" in m.needs else (items,)
        if m.takes_k:
            for k in ks:
                out[m.label(k)] = m.fn(*head, k, hits=shared, **extra)
        else:
            out[m.label()] = m.fn(*head, hits=shared, **extra)
    return out


def mean_metrics(values: Mapping[str, Any]) -> dict[str, float]:
    """Average each per-query array returned by :func:`compute_metrics`, ignoring NaN.

    Parameters
    ----------
    values : mapping
        Label -> per-query values (or a scalar).

    Returns
    -------
    dict[str, float]
        Label -> mean; NaN where every value is NaN or there are none.
    """
    out = {}
    for key, v in values.items():
        arr = np.asarray(v, dtype=np.float64)
        out[key] = float(np.nanmean(arr)) if arr.size and not np.isnan(arr).all() else float("nan")
    return out
