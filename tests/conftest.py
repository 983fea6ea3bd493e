import os

import numpy as np
import pytest

from apc.testing import SHARED_DATA, TEST_SEED

os.environ.setdefault("APC_PROGRESS", "0")  # no progress bars in test logs


@pytest.fixture
def seed() -> int:
    return TEST_SEED


@pytest.fixture
def rng(seed) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.fixture
def shared_data():
    """Path to ../shared/data; skips the test with a clear message when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA} (set APC_SHARED_DATA); skipping realdata test")
    return SHARED_DATA


@pytest.fixture
def torch_device():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    return torch.device("cuda")
