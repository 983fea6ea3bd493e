"""Training data for the neural next-track models, built straight from a :class:`Playlists`.

Three ways to cut playlists into mini-batches, one per model family:

- **session-parallel** (GRU4Rec; Hidasi et al. 2016, Sec. 3.1.1, Fig. 2): ``B`` playlists
  run side by side, one time step per mini-batch; when a playlist ends the next unused
  one takes its slot and that slot's hidden state is reset. No padding, no truncated
  BPTT. :class:`SessionParallelBatches` is the iterator, :class:`SessionParallelDataset`
  its Lightning-facing wrapper.
- **sequence windows** (SASRec): each playlist is cut into windows of at most
  ``max_len`` inputs; every position predicts the next track (:class:`SequenceWindows`).
- **prefix windows** (attentive bi-GRU, and validation for every model): one example
  per position, the up to ``max_len`` tracks before it and the track itself as target
  (:class:`PrefixWindows`).

Windows are right-padded with ``pad = n_tracks`` (an index no track has); targets are
padded with :data:`IGNORE`. Validation playlists are carved out of ``train`` by playlist
with a seeded generator (:func:`validation_split`), so the test queries are never seen.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset, Sampler

from apc.data.playlists import Playlists

try:
    import pytorch_lightning as pl
except ImportError:  # pragma: no cover - lightning is a hard dependency of apc
    pl = None

#: Target value of padded positions (ignored by the losses).
IGNORE = -1
#: Validation uses at most this many (prefix, next track) examples, sampled with the seed.
MAX_VAL_EXAMPLES = 4096
#: Session-parallel steps per ``training_step`` on one device (see SessionParallelDataset).
SESSION_CHUNK = 256


# ---------------------------------------------------------------------------- splits
def validation_split(
    lengths: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Split playlist rows into (fit, validation), seeded, by playlist.

    Only playlists with at least two tracks (one transition) can validate; the number
    drawn is ``round(fraction * n_playlists)``, capped so that the fit side keeps at
    least one transition.

    Parameters
    ----------
    lengths : np.ndarray
        int64 (P,): playlist lengths.
    fraction : float
        Share of playlists held out, in ``[0, 1)``.
    seed : int
        Seed of the draw.

    Returns
    -------
    fit_rows, val_rows : np.ndarray
        int64, sorted playlist rows; ``val_rows`` may be empty.

    Examples
    --------
    >>> lengths = np.array([3, 1, 4, 2, 5])
    >>> fit, val = validation_split(lengths, 0.4, seed=0)
    >>> len(val), sorted(set(fit) | set(val)) == list(range(5)), bool((lengths[val] >= 2).all())
    (2, True, True)
    """
    lengths = np.asarray(lengths)
    n = len(lengths)
    eligible = np.flatnonzero(lengths >= 2)
    n_val = min(int(round(fraction * n)), max(0, len(eligible) - 1))
    if n_val <= 0:
        return np.arange(n, dtype=np.int64), np.empty(0, dtype=np.int64)
    val = np.sort(np.random.default_rng(seed).permutation(eligible)[:n_val]).astype(np.int64)
    keep = np.ones(n, dtype=bool)
    keep[val] = False
    return np.flatnonzero(keep).astype(np.int64), val


def n_transitions(pl_: Playlists) -> int:
    """Count the (track, next track) pairs of a corpus."""
    return int(np.maximum(pl_.lengths - 1, 0).sum())


# ---------------------------------------------------------------------------- session-parallel
@dataclass(frozen=True)
class SessionStep:
    """One session-parallel mini-batch (one time step of ``b`` playlists).

    Attributes
    ----------
    inputs : np.ndarray
        int64 (b,): current track of each active slot.
    targets : np.ndarray
        int64 (b,): the track that follows it.
    reset : np.ndarray
        bool (b,): True where the slot starts a new playlist, so its hidden state must
        be zeroed before this step.
    keep : np.ndarray or None
        int64: rows of the previous step's hidden state that carry over (slots whose
        playlist ended with no playlist left to replace it are dropped); None = all.
    """

    inputs: np.ndarray
    targets: np.ndarray
    reset: np.ndarray
    keep: np.ndarray | None


class SessionParallelBatches:
    """Session-parallel mini-batches (Hidasi et al. 2016, Sec. 3.1.1).

    Playlists with fewer than two tracks are skipped (they hold no transition). The
    first ``batch_size`` playlists fill the slots; at every step each slot emits
    ``(track, next track)``; a slot whose playlist has no further pair takes the next
    unused playlist (``reset=True``) or, when none is left, is dropped (``keep``). As in
    the reference implementation the iteration stops once fewer than ``min_rows``
    slots remain (2 when the loss needs another row as negative).

    Parameters
    ----------
    indptr, items : np.ndarray
        CSR playlists (int64 (P+1,), int32 (N,)).
    batch_size : int
        Number of parallel slots.
    min_rows : int
        Stop when fewer slots than this remain.

    Examples
    --------
    >>> it = SessionParallelBatches(np.array([0, 3, 5]), np.array([0, 1, 2, 3, 4]), 2)
    >>> [(s.inputs.tolist(), s.targets.tolist(), s.reset.tolist()) for s in it]
    [([0, 3], [1, 4], [True, True]), ([1], [2], [False])]
    """

    def __init__(
        self, indptr: np.ndarray, items: np.ndarray, batch_size: int, *, min_rows: int = 1
    ) -> None:
        lengths = np.diff(indptr)
        sessions = np.flatnonzero(lengths >= 2)
        self.starts = indptr[:-1][sessions].astype(np.int64)
        self.ends = indptr[1:][sessions].astype(np.int64)
        self.items = items
        self.batch_size = int(batch_size)
        self.min_rows = int(min_rows)

    def __iter__(self) -> Iterator[SessionStep]:
        n_sessions = len(self.starts)
        b = min(self.batch_size, n_sessions)
        if b < max(1, self.min_rows):
            return
        pos = self.starts[:b].copy()
        end = self.ends[:b].copy()
        nxt = b
        reset = np.ones(b, dtype=bool)
        keep = None
        items = self.items
        while True:
            yield SessionStep(
                items[pos].astype(np.int64), items[pos + 1].astype(np.int64), reset, keep
            )
            pos += 1
            done = np.flatnonzero(pos + 1 >= end)  # slots with no further (input, target) pair
            reset = np.zeros(len(pos), dtype=bool)
            keep = None
            if len(done) == 0:
                continue
            n_new = min(len(done), n_sessions - nxt)
            fill = done[:n_new]
            pos[fill] = self.starts[nxt : nxt + n_new]
            end[fill] = self.ends[nxt : nxt + n_new]
            reset[fill] = True
            nxt += n_new
            drop = done[n_new:]
            if len(drop):
                mask = np.ones(len(pos), dtype=bool)
                mask[drop] = False
                keep = np.flatnonzero(mask)
                pos, end, reset = pos[keep], end[keep], reset[keep]
                if len(pos) < max(1, self.min_rows):
                    return

    def n_steps(self) -> int:
        """Count the mini-batches of one pass (cheap: only the slot bookkeeping runs)."""
        return sum(1 for _ in self)


class SessionParallelDataset(IterableDataset):
    """Lightning/DataLoader wrapper of :class:`SessionParallelBatches` (``batch_size=None``).

    Each item packs ``chunk`` consecutive session-parallel steps into flat tensors, so
    that one ``training_step`` runs many mini-batches (one update each) and the
    per-batch hooks of Lightning and the DataLoader run once per chunk:

    - ``inputs``, ``targets``: int64 (N,), the steps one after another; step ``i`` is
      ``[ptr[i], ptr[i + 1])``;
    - ``reset``: int64, the slots of step ``i`` that start a new playlist (their hidden
      state is zeroed), ``[reset_ptr[i], reset_ptr[i + 1])``;
    - ``keep``: int64, the rows of the previous state that carry over into step ``i``,
      ``[keep_ptr[i], keep_ptr[i + 1])``; an empty range means all of them.

    Under distributed training each rank takes every ``world_size``-th playlist and all
    ranks stop after the same number of steps (the smallest rank's), because DDP needs
    equal step counts; a single process sees every step.
    """

    def __init__(
        self,
        train: Playlists,
        batch_size: int,
        *,
        min_rows: int = 1,
        rank: int = 0,
        world_size: int = 1,
        chunk: int = 1,
    ) -> None:
        super().__init__()
        self.shards = []
        for r in range(world_size):
            part = train.subset(np.arange(r, len(train), world_size)) if world_size > 1 else train
            self.shards.append(
                SessionParallelBatches(part.indptr, part.items, batch_size, min_rows=min_rows)
            )
        self.rank = rank
        self.chunk = max(1, int(chunk))
        self.max_steps = min(s.n_steps() for s in self.shards) if world_size > 1 else None

    def __iter__(self):
        steps: list[SessionStep] = []
        for i, step in enumerate(self.shards[self.rank]):
            if self.max_steps is not None and i >= self.max_steps:
                break
            steps.append(step)
            if len(steps) == self.chunk:
                yield _pack(steps)
                steps = []
        if steps:
            yield _pack(steps)


def _pack(steps: list[SessionStep]) -> dict[str, torch.Tensor]:
    """Flat tensors and offsets of a run of steps (see :class:`SessionParallelDataset`)."""
    empty = np.empty(0, dtype=np.int64)
    resets = [np.flatnonzero(s.reset) for s in steps]
    keeps = [empty if s.keep is None else s.keep.astype(np.int64) for s in steps]

    def ptr(parts):
        return torch.from_numpy(np.concatenate([[0], np.cumsum([len(a) for a in parts])]))

    return {
        "inputs": torch.from_numpy(np.concatenate([s.inputs for s in steps])),
        "targets": torch.from_numpy(np.concatenate([s.targets for s in steps])),
        "ptr": ptr([s.inputs for s in steps]),
        "reset": torch.from_numpy(np.concatenate(resets).astype(np.int64)),
        "reset_ptr": ptr(resets),
        "keep": torch.from_numpy(np.concatenate(keeps)),
        "keep_ptr": ptr(keeps),
    }


# ---------------------------------------------------------------------------- windows
def _gather(items: np.ndarray, starts: np.ndarray, lengths: np.ndarray, fill: int) -> np.ndarray:
    """(B, max(lengths)) int64: ``items[starts[b] : starts[b] + lengths[b]]``, right-padded."""
    width = max(1, int(lengths.max())) if len(lengths) else 1
    offs = np.arange(width)
    valid = offs[None, :] < lengths[:, None]
    if not valid.any():  # e.g. a block of empty seeds
        return np.full(valid.shape, fill, dtype=np.int64)
    idx = np.where(valid, starts[:, None] + offs[None, :], 0)
    return np.where(valid, items[idx], fill).astype(np.int64)


class _Windows(Dataset):
    """Map-style dataset of window ids; :meth:`collate` builds a padded batch at once."""

    def __init__(
        self, items: np.ndarray, starts: np.ndarray, lengths: np.ndarray, pad: int
    ) -> None:
        self.items, self.starts, self.lengths, self.pad = items, starts, lengths, pad

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, i: int) -> int:
        return i

    @property
    def n_targets(self) -> int:
        """Number of (input, target) pairs the windows hold."""
        return int(self.lengths.sum())


class SequenceWindows(_Windows):
    """Windows of at most ``max_len`` inputs; target at each position is the next track.

    A playlist of ``n`` tracks has ``n - 1`` transitions; they are covered by
    ``ceil((n - 1) / max_len)`` windows, so no transition is lost and none repeats.

    Batches are ``{"seq": (B, T) int64, "targets": (B, T) int64}`` with ``pad`` and
    :data:`IGNORE` on padded positions.
    """

    def __init__(self, pl_: Playlists, max_len: int) -> None:
        trans = np.maximum(pl_.lengths - 1, 0)
        n_win = -(-trans // max_len)  # ceil
        rows = np.repeat(np.arange(len(pl_)), n_win)
        k = np.arange(n_win.sum()) - np.repeat(np.cumsum(n_win) - n_win, n_win)
        starts = pl_.indptr[:-1][rows] + k * max_len
        lengths = np.minimum(max_len, trans[rows] - k * max_len)
        super().__init__(pl_.items, starts.astype(np.int64), lengths.astype(np.int64), pl_.n_tracks)

    def collate(self, ids: list[int]) -> dict[str, torch.Tensor]:
        """Build the padded ``seq`` and ``targets`` (B, T) of the windows ``ids``."""
        ids = np.asarray(ids)
        s, n = self.starts[ids], self.lengths[ids]
        return {
            "seq": torch.from_numpy(_gather(self.items, s, n, self.pad)),
            "targets": torch.from_numpy(_gather(self.items, s + 1, n, IGNORE)),
        }


class PrefixWindows(_Windows):
    """One example per playlist position ``t >= 1``: the up to ``max_len`` tracks before it.

    Batches are ``{"seq": (B, T) int64 right-padded with pad, "target": (B,) int64}``.

    Parameters
    ----------
    pl_ : Playlists
        The playlists.
    max_len : int or None
        Window length (None: the whole prefix).
    limit : int, optional
        Keep at most this many examples, drawn without replacement with ``seed``.
    seed : int
        Seed of that draw.
    """

    def __init__(
        self, pl_: Playlists, max_len: int | None, *, limit: int | None = None, seed: int = 0
    ) -> None:
        pos = pl_.positions
        ends = np.flatnonzero(pos >= 1)  # global index of each target
        if limit is not None and len(ends) > limit:
            ends = np.sort(np.random.default_rng(seed).choice(ends, limit, replace=False))
        lengths = pos[ends] if max_len is None else np.minimum(pos[ends], max_len)
        super().__init__(
            pl_.items, (ends - lengths).astype(np.int64), lengths.astype(np.int64), pl_.n_tracks
        )
        self.ends = ends.astype(np.int64)

    @property
    def n_targets(self) -> int:
        """Number of examples (one target each)."""
        return len(self.ends)

    def collate(self, ids: list[int]) -> dict[str, torch.Tensor]:
        """Build the padded ``seq`` (B, T) and ``target`` (B,) of the examples ``ids``."""
        ids = np.asarray(ids)
        return {
            "seq": torch.from_numpy(
                _gather(self.items, self.starts[ids], self.lengths[ids], self.pad)
            ),
            "target": torch.from_numpy(self.items[self.ends[ids]].astype(np.int64)),
        }


class BucketBatchSampler(Sampler):
    """Length-bucketed mini-batches: each batch holds windows of (nearly) equal length.

    Every epoch (each ``iter``) the windows are permuted with the seeded generator,
    stably sorted by length, cut into batches of ``batch_size`` consecutive windows,
    and the batches are shuffled. So every window is in exactly one batch per epoch,
    batch composition changes between epochs (ties keep the random order), and a
    batch's length spread is at most one step of the sorted lengths. A recurrent or
    attention step then runs over ``max(len in batch)`` positions instead of the
    longest window of a random batch.

    Parameters
    ----------
    lengths : np.ndarray
        int64 (N,): the window lengths.
    batch_size : int
        Windows per batch (the last batch of the sorted order may be smaller).
    seed : int
        Seed of the generator (one stream over the epochs).

    Examples
    --------
    >>> s = BucketBatchSampler(np.array([3, 1, 3, 1, 2]), batch_size=2, seed=0)
    >>> sorted(sorted(b) for b in s)
    [[0, 2], [1, 3], [4]]
    """

    def __init__(self, lengths: np.ndarray, batch_size: int, seed: int) -> None:
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.batch_size = int(batch_size)
        self.rng = np.random.default_rng(int(seed))

    def __len__(self) -> int:
        return -(-len(self.lengths) // self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        perm = self.rng.permutation(len(self.lengths))
        order = perm[np.argsort(self.lengths[perm], kind="stable")]
        batches = [
            order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)
        ]
        for j in self.rng.permutation(len(batches)):
            yield batches[j].tolist()


def pad_seeds(
    seeds_indptr: np.ndarray, seeds: np.ndarray, max_len: int | None, pad: int
) -> torch.Tensor:
    """(Q, T) int64: the last ``max_len`` seed tracks of each query, right-padded with ``pad``.

    Empty seeds become a single ``pad`` (their scores are replaced by the base class'
    title fallback anyway).
    """
    lengths = np.diff(seeds_indptr)
    keep = lengths if max_len is None else np.minimum(lengths, max_len)
    starts = seeds_indptr[1:] - keep
    return torch.from_numpy(_gather(seeds, starts, keep, pad))


# ---------------------------------------------------------------------------- DataModule
_Base = pl.LightningDataModule if pl is not None else object


class SequenceDataModule(_Base):
    """Lightning DataModule for the three layouts; validation is always prefix windows.

    Parameters
    ----------
    train : Playlists
        The corpus given to ``fit``.
    val_fraction : float
        Share of playlists held out for validation (early stopping).
    layout : {"session", "sequence", "prefix"}
        Training layout (session-parallel, sequence windows, prefix windows).
    batch_size : int
        Playlists per step (session), windows (sequence) or examples (prefix).
    max_len : int or None
        Window length for the window layouts and validation.
    seed : int
        Seeds the validation split, the validation sample and the shuffling.
    min_rows : int
        Session layout: stop an epoch when fewer slots remain.
    val_batch_size : int
        Validation examples per batch (each scores the whole catalogue).
    """

    def __init__(
        self,
        train: Playlists,
        *,
        val_fraction: float,
        layout: str,
        batch_size: int,
        max_len: int | None,
        seed: int,
        min_rows: int = 1,
        val_batch_size: int = 256,
    ) -> None:
        super().__init__()
        self.train_pl = train
        self.layout = layout
        self.batch_size = batch_size
        self.max_len = max_len
        self.seed = seed
        self.min_rows = min_rows
        self.val_batch_size = val_batch_size
        self.fit_rows, self.val_rows = validation_split(train.lengths, val_fraction, seed)
        self.fit_pl = train.subset(self.fit_rows) if len(self.val_rows) else train
        self.val_data = PrefixWindows(
            train.subset(self.val_rows), max_len, limit=MAX_VAL_EXAMPLES, seed=seed
        )
        self.train_data = None
        #: Window layouts: length-bucketed batches (:class:`BucketBatchSampler`) instead
        #: of uniformly shuffled ones. A model turns it on in ``_build_lightning``.
        self.bucket = False

    @property
    def has_validation(self) -> bool:
        """Whether any validation example exists."""
        return len(self.val_data) > 0

    @property
    def n_train_events(self) -> int:
        """Training (input, target) pairs per epoch."""
        return n_transitions(self.fit_pl)

    def setup(self, stage: str | None = None) -> None:
        """Build the training dataset (once)."""
        if self.train_data is not None:
            return
        if self.layout == "session":
            trainer = getattr(self, "trainer", None)
            rank = trainer.global_rank if trainer is not None else 0
            world = trainer.world_size if trainer is not None else 1
            self.train_data = SessionParallelDataset(
                self.fit_pl,
                self.batch_size,
                min_rows=self.min_rows,
                rank=rank,
                world_size=world,
                # one training_step per chunk of steps; DDP needs one backward per step
                chunk=SESSION_CHUNK if world == 1 else 1,
            )
        elif self.layout == "sequence":
            self.train_data = SequenceWindows(self.fit_pl, self.max_len)
        elif self.layout == "prefix":
            self.train_data = PrefixWindows(self.fit_pl, self.max_len)
        else:
            raise ValueError(f"unknown layout {self.layout!r}")

    def train_dataloader(self) -> DataLoader:
        """Session steps in playlist order, or shuffled (or length-bucketed) windows, seeded."""
        self.setup()
        if self.layout == "session":
            return DataLoader(self.train_data, batch_size=None)
        trainer = getattr(self, "trainer", None)
        world = trainer.world_size if trainer is not None else 1
        if self.bucket and world == 1:  # DDP shards with its own DistributedSampler
            sampler = BucketBatchSampler(self.train_data.lengths, self.batch_size, self.seed)
            return DataLoader(
                self.train_data, batch_sampler=sampler, collate_fn=self.train_data.collate
            )
        g = torch.Generator()
        g.manual_seed(int(self.seed))
        return DataLoader(
            self.train_data,
            batch_size=self.batch_size,
            shuffle=True,
            generator=g,
            collate_fn=self.train_data.collate,
        )

    def val_dataloader(self) -> DataLoader:
        """Prefix windows of the held-out playlists, in a fixed order."""
        return DataLoader(
            self.val_data,
            batch_size=self.val_batch_size,
            shuffle=False,
            collate_fn=self.val_data.collate,
        )
