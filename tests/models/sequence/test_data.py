import numpy as np
import pytest

torch = pytest.importorskip("torch")

from apc.data import Playlists  # noqa: E402
from apc.models.sequence.data import (  # noqa: E402
    IGNORE,
    PrefixWindows,
    SequenceDataModule,
    SequenceWindows,
    SessionParallelBatches,
    pad_seeds,
    validation_split,
)


def _corpus():
    # playlists: [0 1 2] [3 4] [5] [6 7 8 9] [10 11]   (track index == name)
    seqs = [["0", "1", "2"], ["3", "4"], ["5"], ["6", "7", "8", "9"], ["10", "11"]]
    return Playlists.from_sequences(seqs)


def test_session_parallel_hand_made_corpus():
    pl = _corpus()
    steps = list(SessionParallelBatches(pl.indptr, pl.items, batch_size=2))
    got = [
        (
            s.inputs.tolist(),
            s.targets.tolist(),
            s.reset.tolist(),
            None if s.keep is None else s.keep.tolist(),
        )
        for s in steps
    ]
    # playlist 2 has no pair and is skipped; slot 1 continues with playlist 3, slot 0 with 4
    assert got == [
        ([0, 3], [1, 4], [True, True], None),  # both slots start fresh
        ([1, 6], [2, 7], [False, True], None),  # slot 1: playlist 1 ended -> playlist 3, reset
        ([10, 7], [11, 8], [True, False], None),  # slot 0: playlist 0 ended -> playlist 4, reset
        ([8], [9], [False], [1]),  # slot 0 ended with nothing left: dropped, slot 1 carries on
    ]
    # every transition of the corpus is emitted exactly once
    pairs = sorted((i, t) for s in steps for i, t in zip(s.inputs, s.targets, strict=True))
    expected = sorted((int(p[j]), int(p[j + 1])) for p in pl for j in range(len(p) - 1))
    assert pairs == expected


def test_session_parallel_min_rows_stops_early():
    pl = _corpus()
    steps = list(SessionParallelBatches(pl.indptr, pl.items, batch_size=2, min_rows=2))
    assert len(steps) == 3  # the lone remaining slot (playlist 3) is not trained without negatives


def test_session_parallel_n_steps_matches_iteration():
    pl = _corpus()
    it = SessionParallelBatches(pl.indptr, pl.items, batch_size=3)
    assert it.n_steps() == len(list(it))


def test_validation_split_is_seeded_and_by_playlist():
    lengths = np.array([3, 1, 4, 2, 5, 2, 2, 1, 6, 3])
    fit_a, val_a = validation_split(lengths, 0.3, seed=1)
    fit_b, val_b = validation_split(lengths, 0.3, seed=1)
    np.testing.assert_array_equal(val_a, val_b)
    assert len(val_a) == 3
    assert (lengths[val_a] >= 2).all()
    assert sorted(np.concatenate([fit_a, val_a]).tolist()) == list(range(10))
    assert len(validation_split(lengths, 0.0, seed=1)[1]) == 0


def test_sequence_windows_cover_each_transition_once():
    pl = _corpus()
    ds = SequenceWindows(pl, max_len=2)
    batch = ds.collate(list(range(len(ds))))
    seq, tgt = batch["seq"].numpy(), batch["targets"].numpy()
    pad = pl.n_tracks
    pairs = sorted(
        (int(s), int(t)) for s, t in zip(seq.ravel(), tgt.ravel(), strict=True) if t != IGNORE
    )
    expected = sorted((int(p[j]), int(p[j + 1])) for p in pl for j in range(len(p) - 1))
    assert pairs == expected
    assert ((seq == pad) == (tgt == IGNORE)).all()
    # playlist 3 (6 7 8 9) has 3 transitions -> windows [6 7]->[7 8] and [8]->[9]
    rows = [r.tolist() for r in seq]
    assert [6, 7] in rows and [8, pad] in rows


def test_prefix_windows_and_limit():
    pl = _corpus()
    ds = PrefixWindows(pl, max_len=2)
    assert len(ds) == 7  # one example per non-first position
    batch = ds.collate(list(range(len(ds))))
    pad = pl.n_tracks
    rows = [(r.tolist(), int(t)) for r, t in zip(batch["seq"], batch["target"], strict=True)]
    assert ([0, pad], 1) in rows and ([0, 1], 2) in rows and ([7, 8], 9) in rows
    small = PrefixWindows(pl, max_len=None, limit=3, seed=0)
    assert len(small) == 3
    assert len(PrefixWindows(pl, max_len=None, limit=3, seed=0).ends) == 3
    np.testing.assert_array_equal(small.ends, PrefixWindows(pl, None, limit=3, seed=0).ends)


def test_pad_seeds_keeps_last_tracks_and_pads_empty():
    indptr = np.array([0, 3, 3, 4])
    seeds = np.array([5, 6, 7, 8], dtype=np.int32)
    out = pad_seeds(indptr, seeds, max_len=2, pad=99).tolist()
    assert out == [[6, 7], [99, 99], [8, 99]]
    assert pad_seeds(indptr, seeds, None, 99).tolist()[0] == [5, 6, 7]


def test_datamodule_layouts():
    pl = Playlists.from_sequences([[f"t{(s + j) % 7}" for j in range(5)] for s in range(20)])
    dm = SequenceDataModule(
        pl, val_fraction=0.2, layout="sequence", batch_size=4, max_len=3, seed=0
    )
    assert dm.has_validation and len(dm.val_rows) == 4
    assert dm.n_train_events == 16 * 4
    batch = next(iter(dm.train_dataloader()))
    assert batch["seq"].shape[0] == 4 and batch["seq"].shape[1] <= 3
    assert batch["targets"].shape == batch["seq"].shape
    vb = next(iter(dm.val_dataloader()))
    assert vb["target"].shape[0] == 16  # 4 playlists x 4 positions
    dm2 = SequenceDataModule(
        pl, val_fraction=0.0, layout="session", batch_size=4, max_len=None, seed=0
    )
    assert not dm2.has_validation
    first = next(iter(dm2.train_dataloader()))  # a chunk of steps, packed flat
    ptr, rptr = first["ptr"].tolist(), first["reset_ptr"].tolist()
    assert ptr[-1] == len(first["inputs"]) == len(first["targets"]) == dm2.n_train_events
    assert ptr[1] == 4 and first["reset"][: rptr[1]].tolist() == [0, 1, 2, 3]  # all slots new
