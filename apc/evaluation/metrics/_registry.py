"""The metric registry: one :class:`Metric` object per name, holding everything it means.

Reports, summaries, suite checks and the CLI ask this registry (direction, cut-off,
set level, descriptive, needs, description) instead of keeping their own lists, so a
newly registered metric is labelled, ranked and described correctly everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apc.errors import ApcInputError

#: What a metric may need besides the recommendations: ``targets`` (the queries'
#: held-out tracks), ``track_artists`` and ``popularity`` (from the training corpus),
#: ``n_tracks`` (the catalogue size).
NEEDS = ("targets", "track_artists", "popularity", "n_tracks")
_FROM_TRAIN = frozenset({"track_artists", "popularity"})


@dataclass(frozen=True, eq=False)
class Metric:
    """One registered metric: its name, meaning and function.

    Parameters
    ----------
    name : str
        Registry name (``"recall"``, ``"rprec_mpd"``).
    fn : callable
        The pure function: ``fn(recs, targets, [k], *, <needs>, hits=None)`` for metrics
        that need targets, ``fn(recs, [k], <needs>)`` otherwise.
    description : str
        The definition, stated in every report that shows the metric (and, for a named
        reading such as ``rprec_mpd``, where that reading comes from).
    higher_is_better : bool, default True
        Direction; False for ``clicks_mpd``.
    takes_k : bool, default True
        Whether the metric is computed at a cut-off (labels ``name@k``).
    set_level : bool, default False
        One value for the whole set of lists (coverage), not one per query.
    descriptive : bool, default False
        Describes lists rather than scoring them (coverage, popularity, diversity):
        reported with intervals, never ranked (no "best" marker) or tested.
    needs : tuple of str, default ("targets",)
        Inputs besides the recommendations, from :data:`NEEDS`.
    """

    name: str
    fn: Callable[..., Any]
    description: str
    higher_is_better: bool = True
    takes_k: bool = True
    set_level: bool = False
    descriptive: bool = False
    needs: tuple[str, ...] = ("targets",)

    def __post_init__(self) -> None:
        unknown = set(self.needs) - set(NEEDS)
        if unknown:
            raise ValueError(f"metric {self.name!r}: unknown needs {sorted(unknown)}")

    @property
    def direction(self) -> int:
        """+1 when higher is better, -1 when lower is better, 0 for a descriptive metric."""
        if self.descriptive:
            return 0
        return 1 if self.higher_is_better else -1

    @property
    def needs_train(self) -> bool:
        """Whether the training corpus must be given (artists or popularity)."""
        return bool(_FROM_TRAIN & set(self.needs))

    @property
    def per_query(self) -> bool:
        """Whether the metric gives one value per query (the opposite of ``set_level``)."""
        return not self.set_level

    def label(self, k: int | None = None) -> str:
        """Return the label at a cut-off: ``recall@10``, or the bare name (``rprec``)."""
        return f"{self.name}@{k}" if k is not None and self.takes_k else self.name

    def __call__(self, *args, **kwargs):
        """Call the metric function."""
        return self.fn(*args, **kwargs)


#: Name -> :class:`Metric`, in registration order.
METRICS: dict[str, Metric] = {}


def register(metric: Metric, *, replace: bool = False) -> Metric:
    """Add a metric to :data:`METRICS`.

    Parameters
    ----------
    metric : Metric
        The metric.
    replace : bool, default False
        Allow replacing a metric of the same name.

    Returns
    -------
    Metric
        ``metric``.

    Raises
    ------
    ValueError
        If the name is taken and ``replace`` is False.

    Examples
    --------
    >>> import numpy as np
    >>> m = register(Metric("first_miss", lambda recs, targets, k, hits=None: np.zeros(0),
    ...                     "rank of the first miss", higher_is_better=False), replace=True)
    >>> METRICS["first_miss"].direction
    -1
    >>> _ = METRICS.pop("first_miss")
    """
    if metric.name in METRICS and not replace:
        raise ValueError(f"metric {metric.name!r} is already registered")
    METRICS[metric.name] = metric
    return metric


def metric(name: str, description: str, **flags) -> Callable[[Callable], Callable]:
    """Register the decorated function as a :class:`Metric` (flags as in :class:`Metric`).

    Parameters
    ----------
    name : str
        Registry name.
    description : str
        The definition shown in reports.
    **flags
        ``higher_is_better``, ``takes_k``, ``set_level``, ``descriptive``, ``needs``.

    Returns
    -------
    callable
        A decorator returning the function unchanged.
    """

    def deco(fn: Callable) -> Callable:
        register(Metric(name, fn, description, **flags))
        return fn

    return deco


def get_metric(name: str) -> Metric:
    """Return a registered metric, or raise :class:`~apc.errors.ApcInputError` naming the others.

    Parameters
    ----------
    name : str
        Registry name.

    Returns
    -------
    Metric
    """
    try:
        return METRICS[name]
    except KeyError:
        from apc.errors import ApcInputError

        raise ApcInputError(
            f"unknown metric {name!r}; known: {', '.join(sorted(METRICS))}", field="metrics"
        ) from None


def takes_k(name: str) -> bool:
    """Tell whether a metric is computed at a cut-off (labels ``name@k``).

    Parameters
    ----------
    name : str
        Metric name.

    Returns
    -------
    bool
        True also for a name not in :data:`METRICS`.
    """
    m = METRICS.get(name)
    return True if m is None else m.takes_k


def higher_is_better(name: str) -> bool:
    """Tell whether higher values of a metric are better.

    Parameters
    ----------
    name : str
        Metric name.

    Returns
    -------
    bool
        False where lower values are better (``clicks_mpd``); True also for a name not
        in :data:`METRICS`.
    """
    m = METRICS.get(name)
    return True if m is None else m.higher_is_better


def direction(name: str) -> int:
    """Return +1 (higher is better), -1 (lower is better) or 0 (descriptive, never ranked).

    Parameters
    ----------
    name : str
        Metric name; a name not in :data:`METRICS` gets +1.

    Returns
    -------
    int
    """
    m = METRICS.get(name)
    return 1 if m is None else m.direction


def is_set_level(name: str) -> bool:
    """Tell whether a metric gives one value for the whole set of lists (coverage).

    Parameters
    ----------
    name : str
        Metric name; False for a name not in :data:`METRICS`.

    Returns
    -------
    bool
    """
    m = METRICS.get(name)
    return False if m is None else m.set_level


def describe(name: str) -> str:
    """Return ``"name: description"`` for reports (the bare name if unregistered).

    Parameters
    ----------
    name : str
        Metric name.

    Returns
    -------
    str
    """
    m = METRICS.get(name)
    if m is None:
        return name
    return f"{name}@k: {m.description}" if m.takes_k else f"{name}: {m.description}"


def label(name: str, k: int | None) -> str:
    """Return the label of a metric at a cut-off.

    Parameters
    ----------
    name : str
        Metric name.
    k : int or None
        Cut-off.

    Returns
    -------
    str
        ``recall@10`` for metrics with a cut-off (when ``k`` is not None), the bare
        name otherwise.
    """
    return f"{name}@{k}" if k is not None and takes_k(name) else name


_LABEL = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:@(\d+))?$")


def parse_label(text: str) -> tuple[str, int | None]:
    """Split a metric label into its name and cut-off (the inverse of :func:`label`).

    Parameters
    ----------
    text : str
        ``name@k`` or ``name`` (surrounding whitespace is ignored).

    Returns
    -------
    name : str
    k : int or None
        ``"recall@20"`` gives ``("recall", 20)``, ``"rprec"`` gives ``("rprec", None)``.

    Raises
    ------
    ApcInputError
        If ``text`` is not of that form.
    """
    m = _LABEL.match(text.strip())
    if not m:
        raise ApcInputError(
            f"not a metric label: {text!r} (expected name or name@k)", field="metrics"
        )
    return m.group(1), None if m.group(2) is None else int(m.group(2))
