"""Evaluation protocols: a corpus in, a leak-free ``Split`` (train + queries + report) out.

Every protocol splits *by playlist*: a held-out (test) playlist never appears in
``train`` (strong generalisation), except under ``Continuation(generalisation="weak")``
where a test playlist's seed part is also a training playlist (Vall et al. 2019). The
track vocabulary is fixed on ``train``: seed and target tracks unseen in training are
dropped and counted (only ``ColdStartTracks`` keeps such tracks, on purpose). A target
that repeats a seed track of its own query is removed and counted (recommenders do not
repeat seed tracks), targets are distinct, and queries left without a target are
dropped and counted — nothing is silent: see :class:`SplitReport`.

Held-out playlists are drawn at random with an explicit ``seed`` or, with
``split_by="time"``, after a global time cut-off on the playlists' real ``timestamp``
(no timestamp is ever invented).

One module per protocol (:mod:`~apc.evaluation.protocols.next_track`,
:mod:`~apc.evaluation.protocols.continuation`,
:mod:`~apc.evaluation.protocols.mpd_challenge`,
:mod:`~apc.evaluation.protocols.cold_start`), each a :class:`SplitProtocol`
(:mod:`~apc.evaluation.protocols.base`: the ``split`` template and the values it
returns) that composes the parts in :mod:`~apc.evaluation.protocols.splitters`.
:func:`make_protocol` builds one by name.

References
----------
G. Bonnin and D. Jannach, "Automated generation of music playlists: survey and
experiments", ACM Computing Surveys 47(2), 2014. A. Vall, M. Dorfer, H. Eghbal-zadeh,
M. Schedl, K. Burjorjee and G. Widmer, "Feature-combination hybrid recommender systems
for automated music playlist continuation", UMUAI 29, 2019. M. Ludewig and D. Jannach,
"Evaluation of session-based recommendation algorithms", UMUAI 28, 2018. C.-W. Chen,
P. Lamere, M. Schedl and H. Zamani, "Recsys Challenge 2018: Automatic Music Playlist
Continuation", RecSys 2018.
"""

from __future__ import annotations

from typing import Any

from apc.errors import ApcInputError
from apc.evaluation.protocols.base import Split, SplitProtocol, SplitReport
from apc.evaluation.protocols.cold_start import ColdStartTracks
from apc.evaluation.protocols.continuation import Continuation
from apc.evaluation.protocols.mpd_challenge import MPD_CATEGORIES, MPDChallenge
from apc.evaluation.protocols.next_track import NextTrack
from apc.evaluation.protocols.splitters import make_queries

PROTOCOLS: dict[str, type[SplitProtocol]] = {
    NextTrack.name: NextTrack,
    Continuation.name: Continuation,
    MPDChallenge.name: MPDChallenge,
    ColdStartTracks.name: ColdStartTracks,
}
_ALIASES = {"nexttrack": "next-track", "next_track": "next-track", "mpd": "mpd-challenge",
            "mpd_challenge": "mpd-challenge", "cold_start": "cold-start", "coldstart": "cold-start",
            "cold-start-tracks": "cold-start"}


def make_protocol(name: str, **options: Any) -> SplitProtocol:
    """Build a protocol by name with its options.

    Parameters
    ----------
    name : str
        A key of :data:`PROTOCOLS` (``next-track``, ``continuation``,
        ``mpd-challenge``, ``cold-start``) or an alias such as ``mpd`` or
        ``next_track``; case-insensitive.
    **options
        Keyword options of the protocol class, and ``shuffle_order`` (``"none"``,
        ``"train"``, ``"train+seeds"``): the order ablation of
        :class:`~apc.evaluation.protocols.order.OrderAblation`.

    Returns
    -------
    SplitProtocol
        The protocol (options are validated when it splits).

    Raises
    ------
    ApcInputError
        If the name or an option is unknown.

    Examples
    --------
    >>> make_protocol("continuation", n_seed=3)  # doctest: +NORMALIZE_WHITESPACE
    Continuation(n_seed=3, seed_fraction=None, min_targets=1, generalisation='strong',
                 test_fraction=0.1, n_test=None, split_by='random')
    """
    key = _ALIASES.get(str(name).lower(), str(name).lower())
    cls = PROTOCOLS.get(key)
    if cls is None:
        raise ApcInputError(f"unknown protocol {name!r}; known: {', '.join(PROTOCOLS)}",
                            field="protocol")
    shuffle = options.pop("shuffle_order", "none")  # order ablation, any protocol
    valid = cls._option_names()
    for opt in options:
        if opt not in valid:
            raise ApcInputError(f"unknown option for {key}; valid: {', '.join(valid)}, "
                                "shuffle_order", field=opt)
    protocol = cls(**options)
    if shuffle != "none":
        from apc.evaluation.protocols.order import OrderAblation

        protocol = OrderAblation(protocol, shuffle_order=shuffle)
    protocol.check()  # bad values now, before any corpus is read
    return protocol


__all__ = ["MPD_CATEGORIES", "PROTOCOLS", "ColdStartTracks", "Continuation", "MPDChallenge",
           "NextTrack", "Split", "SplitProtocol", "SplitReport", "make_protocol", "make_queries"]
