import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from apc.testing import SHARED_DATA, TEST_SEED

os.environ.setdefault("APC_PROGRESS", "0")  # no progress bars in test logs
# no feature tables in the user's cache folder; tests of that cache set it themselves
os.environ.setdefault("APC_CACHE_DIR", "off")

# Property tests must not depend on the machine's speed: no per-example deadline and no
# "data generation too slow" health check (both fail on a loaded CI machine), and the
# examples are drawn from a fixed seed, so a run is repeatable.
settings.register_profile(
    "apc", deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True,
    database=None,
)
settings.load_profile(os.environ.get("APC_HYPOTHESIS_PROFILE", "apc"))


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
