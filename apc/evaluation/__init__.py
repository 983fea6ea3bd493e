"""Evaluation: protocols (corpus -> leak-free split), metrics (pure, per query), evaluation."""

from apc.evaluation.metrics import METRICS, compute_metrics
from apc.evaluation.protocols import (
    ColdStartTracks,
    Continuation,
    MPDChallenge,
    NextTrack,
    Split,
    SplitProtocol,
    SplitReport,
    make_protocol,
)

__all__ = [
    "METRICS",
    "ColdStartTracks",
    "Continuation",
    "MPDChallenge",
    "NextTrack",
    "Split",
    "SplitProtocol",
    "SplitReport",
    "compute_metrics",
    "make_protocol",
]
