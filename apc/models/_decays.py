"""Position decays of the sequence-aware playlist k-NN (V-SKNN): seed and match weights.

:func:`position_decay` weighs the seed tracks by how far back they lie;
:func:`match_decay` scales a neighbour's vote by its most recent matched seed track
(session-rec's V-SKNN ``weighting`` and ``weighting_score`` functions; see
``docs/models/knn.md``). Used by :class:`apc.models.knn.PlaylistKNN`.
"""

from __future__ import annotations

import numpy as np

DECAYS = ("linear", "quadratic", "log", "harmonic", "none")
#: V-SKNN's vote decays: session-rec's ``*_score`` functions, then the seed decays reused
MATCH_DECAYS = ("harmonic", "log", "linear", "quadratic", "none") + tuple(
    f"seed-{d}" for d in DECAYS if d != "none")


def position_decay(kind: str, steps_back: np.ndarray, length: np.ndarray) -> np.ndarray:
    r"""Weight seed tracks by how many positions they lie before the last one (float32).

    With :math:`r` = steps back (0 for the most recent track) and :math:`L` the seed
    length: ``linear`` :math:`1 - r/L`, ``quadratic`` :math:`(1 - r/L)^2`, ``log``
    :math:`\log 1.7 / \log(r + 1.7)`, ``harmonic`` :math:`1/(r+1)`, ``none`` 1. All give
    the most recent track weight 1. ``linear`` and ``quadratic`` are session-rec's V-SKNN
    seed weightings ``div`` and ``quadratic`` exactly; ``log`` is its ``log``,
    :math:`1/\log_{10}(r + 1.7)`, times the constant :math:`\log_{10} 1.7` (a common
    factor of all seed weights changes no list under the cosine and ``dot``
    similarities).

    Parameters
    ----------
    kind : {"linear", "quadratic", "log", "harmonic", "none"}
        The decay.
    steps_back : np.ndarray
        :math:`r` of each seed track.
    length : np.ndarray
        :math:`L`, the length of each track's seed (same shape as ``steps_back``).

    Returns
    -------
    np.ndarray
        float32 weights, same shape as ``steps_back``.

    Examples
    --------
    >>> position_decay("linear", np.array([2, 1, 0]), np.array([3, 3, 3])).tolist()
    [0.3333333432674408, 0.6666666865348816, 1.0]
    """
    return _position_decay64(kind, steps_back, length).astype(np.float32)


def _position_decay64(kind: str, steps_back, length) -> np.ndarray:
    """:func:`position_decay` in float64."""
    r = np.asarray(steps_back, dtype=np.float64)
    L = np.asarray(length, dtype=np.float64)
    if kind == "linear":
        w = 1.0 - r / L
    elif kind == "quadratic":
        w = (1.0 - r / L) ** 2
    elif kind == "log":
        w = np.log(1.7) / np.log(r + 1.7)
    elif kind == "harmonic":
        w = 1.0 / (r + 1.0)
    elif kind == "none":
        w = np.ones_like(r)
    else:  # pragma: no cover - validated before
        raise ValueError(kind)
    return w


def match_decay(kind: str, steps_back: np.ndarray, length: np.ndarray) -> np.ndarray:
    r"""Scale of a V-SKNN vote by the position of the most recent seed track matched.

    With :math:`s = r + 1` (1 for the most recent seed track), these are session-rec's
    V-SKNN ``weighting_score`` functions: ``harmonic`` :math:`1/s` (its ``div``, the
    default), ``log`` :math:`1/\log_{10}(s + 1.7)`, ``linear`` :math:`1 - 0.1 s` for
    :math:`s \le 100`, else 0 (negative from :math:`s = 11` on, as there),
    ``quadratic`` :math:`1/s^2` and ``none`` 1. ``seed-<name>`` applies the seed decay
    ``<name>`` of :func:`position_decay` instead (e.g. ``seed-linear``: :math:`1 - r/L`).

    Parameters
    ----------
    kind : str
        One of :data:`MATCH_DECAYS`.
    steps_back : np.ndarray
        :math:`r` of the most recent matched seed track.
    length : np.ndarray
        :math:`L`, the seed length (used by the ``seed-*`` decays only).

    Returns
    -------
    np.ndarray
        float32 weights, same shape as ``steps_back``.

    Examples
    --------
    >>> match_decay("quadratic", np.array([0, 1, 3]), np.array([4, 4, 4])).tolist()
    [1.0, 0.25, 0.0625]
    """
    if kind.startswith("seed-"):
        return position_decay(kind[len("seed-"):], steps_back, length)
    step = np.asarray(steps_back, dtype=np.float64) + 1.0
    if kind == "harmonic":
        w = 1.0 / step
    elif kind == "log":
        w = 1.0 / np.log10(step + 1.7)
    elif kind == "linear":
        w = np.where(step <= 100, 1.0 - 0.1 * step, 0.0)
    elif kind == "quadratic":
        w = 1.0 / (step * step)
    elif kind == "none":
        w = np.ones_like(step)
    else:  # pragma: no cover - validated before
        raise ValueError(kind)
    return w.astype(np.float32)
