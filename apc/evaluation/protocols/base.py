"""The protocol template: :class:`SplitProtocol`, and the values it returns.

:meth:`SplitProtocol.split` draws the held-out playlists (at random or after a time
cut-off), lets the concrete protocol build its queries (``_build``), then checks the
result and reports what it did (:class:`SplitReport`).
"""

from __future__ import annotations

import hashlib
import inspect
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from apc.data.playlists import Playlists
from apc.data.queries import Queries
from apc.errors import ApcInputError
from apc.evaluation.protocols.splitters import duplicates_across


@dataclass(frozen=True)
class SplitReport:
    """What a split did: counts of queries, dropped targets, empty seeds, duplicates.

    Parameters
    ----------
    protocol : str
        Registry name of the protocol.
    options : dict
        The protocol's options.
    seed : int
        Seed of the split.
    counts : dict
        ``train_playlists``, ``test_playlists``, ``queries``, ``empty_seeds``,
        ``oov_seed_tracks_dropped``, ``oov_targets_dropped``, ``seed_repeat_targets_dropped``,
        ``repeated_targets_dropped``, ``queries_without_target_dropped``,
        ``duplicate_playlists_across_sides``, and protocol-specific counts.
    notes : list of str
        Human-readable warnings (e.g. an unusually small side).
    """

    protocol: str
    options: dict[str, Any]
    seed: int
    counts: dict[str, int]
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return the report as a JSON-ready dict.

        Returns
        -------
        dict
            ``protocol``, ``options``, ``seed``, ``counts`` and ``notes``, with numpy
            scalars converted to Python numbers.
        """
        return {
            "protocol": self.protocol,
            "options": dict(self.options),
            "seed": int(self.seed),
            "counts": {k: _py(v) for k, v in self.counts.items()},
            "notes": list(self.notes),
        }


def _py(v):
    return v.item() if hasattr(v, "item") else v


@dataclass(frozen=True, eq=False)
class Split:
    """A split: the training corpus, the queries over its catalogue, and the report.

    Parameters
    ----------
    train : Playlists
        Training playlists, on their own track catalogue.
    queries : Queries
        Seeds and targets as indices into ``train.tracks``.
    report : SplitReport
        What the split did.
    """

    train: Playlists
    queries: Queries
    report: SplitReport

    def hash(self) -> str:
        """Hash the train playlists and the queries (identifies the split's content).

        Returns
        -------
        str
            Hex sha256 of the train CSR arrays, the seed and target arrays and the train
            track ids.
        """
        h = hashlib.sha256()
        for arr in (self.train.indptr, self.train.items, self.queries.seeds_indptr,
                    self.queries.seeds, self.queries.targets_indptr, self.queries.targets):
            h.update(np.ascontiguousarray(arr).tobytes())
        h.update(repr(self.train.tracks["track_id"].tolist()).encode())
        return h.hexdigest()


class SplitProtocol:
    """Base of the protocols: options in ``__init__``, ``split(data, seed=...)`` out.

    The parameters below are common to all protocols.

    Parameters
    ----------
    test_fraction : float
        Share of the playlists held out (default 0.1); ignored when ``n_test`` is set.
    n_test : int, optional
        Number of held-out playlists.
    split_by : {"random", "time"}
        Random held-out playlists, or the latest ones after a global cut-off on the
        ``timestamp`` column (training playlists all lie before it).
    """

    name: ClassVar[str] = ""
    min_length: int = 2

    def __init__(self, *, test_fraction: float = 0.1, n_test: int | None = None,
                 split_by: str = "random") -> None:
        self.test_fraction = test_fraction
        self.n_test = n_test
        self.split_by = split_by

    # -------------------------------------------------------------- options
    @classmethod
    def _option_names(cls) -> list[str]:
        names: list[str] = []
        for klass in cls.__mro__:
            if "__init__" in vars(klass):
                for p in inspect.signature(klass.__init__).parameters.values():
                    if p.name != "self" and p.kind == p.KEYWORD_ONLY and p.name not in names:
                        names.append(p.name)
        return names

    def options(self) -> dict[str, Any]:
        """Return the protocol's options (for reports and cache keys).

        Returns
        -------
        dict
            Keyword-only ``__init__`` parameter name -> current value, over the class
            hierarchy.
        """
        return {n: getattr(self, n) for n in self._option_names()}

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options().items())
        return f"{type(self).__name__}({opts})"

    def check(self) -> None:
        """Validate the options; a value of the wrong type is an input error too.

        Raises
        ------
        ApcInputError
            Naming the option, or quoting every option when a value cannot be read
            as the number it must be.
        """
        try:
            self._check()
        except ApcInputError:
            raise
        except (TypeError, ValueError) as e:  # int("abc") in a subclass's _check
            raise ApcInputError(f"invalid option value in {self!r} ({e})",
                                field="option") from e

    def _check(self) -> None:
        if self.split_by not in ("random", "time"):
            raise ApcInputError(f"split_by must be 'random' or 'time', got {self.split_by!r}",
                                field="split_by")
        if self.n_test is None and not (0.0 < float(self.test_fraction) < 1.0):
            raise ApcInputError(f"test_fraction must lie in (0, 1), got {self.test_fraction}",
                                field="test_fraction")
        if self.n_test is not None and int(self.n_test) < 1:
            raise ApcInputError(f"n_test must be >= 1, got {self.n_test}", field="n_test")

    # -------------------------------------------------------------- template
    def split(self, data: Playlists, *, seed: int = 0) -> Split:
        """Split a corpus into train and queries (same ``seed`` -> same split).

        Parameters
        ----------
        data : Playlists
            The corpus.
        seed : int, default 0
            Seed of the random draws (held-out playlists, random seed positions, cold
            tracks).

        Returns
        -------
        Split
            The training corpus, the queries over its catalogue and the
            :class:`SplitReport`.

        Raises
        ------
        ApcInputError
            If an option is invalid, the corpus is empty, no playlist is long enough,
            or a time split finds no usable ``timestamp``.
        """
        self.check()
        if len(data) == 0:
            raise ApcInputError("cannot split an empty corpus", field="playlists")
        rng = np.random.default_rng(seed)
        test, train_rows = self._held_out(data, rng)
        counts: dict[str, int] = {}
        split = self._build(data, test, train_rows, rng, counts)
        counts["duplicate_playlists_across_sides"] = duplicates_across(
            data, train_rows, test)
        notes = _notes(split, counts)
        report = SplitReport(self.name, self.options(), int(seed), counts, notes)
        return Split(split.train, split.queries, report)

    def _eligible(self, data: Playlists) -> np.ndarray:
        """Bool (P,): playlists that can be held out."""
        return data.lengths >= self.min_length

    def _held_out(self, data: Playlists, rng: np.random.Generator):
        eligible = np.flatnonzero(self._eligible(data))
        if len(eligible) == 0:
            raise ApcInputError(
                f"no playlist is long enough for {self.name} (needs >= {self.min_length} tracks)",
                field="playlists",
            )
        n = (
            int(self.n_test)
            if self.n_test is not None
            else int(round(self.test_fraction * len(data)))
        )
        n = max(1, min(n, len(eligible), len(data) - 1))
        if self.split_by == "random":
            test = np.sort(rng.choice(eligible, size=n, replace=False))
            train = np.setdiff1d(np.arange(len(data)), test)
            return test, train
        if data.meta is None or "timestamp" not in data.meta.columns:
            raise ApcInputError("split_by='time' needs a real 'timestamp' column in the playlist "
                                "metadata; this corpus has none", field="timestamp")
        ts = pd.to_numeric(data.meta["timestamp"], errors="coerce").to_numpy(dtype=np.float64)
        if np.isnan(ts).any():
            raise ApcInputError(f"{int(np.isnan(ts).sum())} playlists have no timestamp",
                                field="timestamp")
        order = np.argsort(ts, kind="stable")
        cutoff = ts[order[len(data) - n]]  # the latest n playlists (ties: all of them)
        after = ts >= cutoff
        test = np.flatnonzero(after & self._eligible(data))
        train = np.flatnonzero(~after)
        if len(train) == 0:
            raise ApcInputError("the time cut-off leaves no training playlist", field="timestamp")
        return test, train

    def _build(self, data, test, train_rows, rng, counts) -> Split:  # pragma: no cover
        raise NotImplementedError


def _notes(split: Split, counts: dict[str, int]) -> list[str]:
    notes = []
    q = counts.get("queries", len(split.queries))
    if q < 10:
        notes.append(f"unusually few queries ({q})")
    if len(split.train) < 10:
        notes.append(f"unusually small training side ({len(split.train)} playlists)")
    dropped = counts.get("oov_targets_dropped", 0)
    if dropped:
        notes.append(f"{dropped} target tracks unseen in training were dropped")
    if counts.get("duplicate_playlists_across_sides"):
        notes.append(f"{counts['duplicate_playlists_across_sides']} held-out playlists have an "
                     "identical copy in training")
    titles = split.queries.titles
    if titles is None or not any(isinstance(t, str) and t.strip() for t in titles):
        notes.append("queries carry no playlist titles: the title model (and the title "
                     "fallback) can only answer with popularity here, so it equals popularity")
    if counts.get("empty_seeds"):
        notes.append(f"{counts['empty_seeds']} of {q} queries have no seed track known to "
                     "training (all unseen, or none): the title fallback answers them (by "
                     "playlist title, popularity without one) where the model is wrapped in it, "
                     "as the benchmark runner and `apc evaluate` do")
    return notes
