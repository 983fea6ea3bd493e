"""Scoped torch thread settings for models whose per-step tensors are small."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads, then restore the previous count.

    Small per-step products (a (1024, n_tracks) logit block, a few thousand tracks) gain
    little from a second thread, while OpenMP spin-waiting on a shared 2-core machine can
    multiply their CPU time several times over (issue 13: LME on ``synth:small`` took 3.3
    CPU s per epoch with one thread, 16.6 with two, on a loaded machine).

    Parameters
    ----------
    n : int
        Threads inside the block; 0 leaves torch's setting unchanged.
    """
    import torch

    if n <= 0:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)
