"""csr_lookup: reads of a sparse matrix at (row, column) pairs, against the dense matrix."""

import numpy as np
import pytest
import scipy.sparse as sp

from apc.models._sparse_prior import csr_lookup


@pytest.mark.parametrize("shape, density", [((50, 70), 0.1), ((300, 5000), 0.02),
                                            ((5, 1), 0.5), ((4, 9), 0.0), ((3, 6), 1.0)])
def test_equals_dense_indexing(shape, density):
    rng = np.random.default_rng(7)
    m = sp.random_array(shape, density=density, format="csr", rng=rng, dtype=np.float32)
    rows = rng.integers(0, shape[0], 5000)
    cols = rng.integers(0, shape[1], 5000)
    np.testing.assert_array_equal(csr_lookup(m, rows, cols), m.toarray()[rows, cols])


def test_every_stored_entry_is_found_and_unsorted_input_is_sorted():
    m = sp.csr_array((np.array([5.0, 1.0, 2.0, 7.0], np.float32), np.array([3, 0, 2, 1]),
                      np.array([0, 2, 4])), shape=(2, 4))
    m.has_sorted_indices = False  # row 0 holds columns 3, 0
    got = csr_lookup(m, np.array([0, 0, 1, 1, 0, 1]), np.array([3, 0, 2, 1, 1, 3]))
    assert got.tolist() == [5.0, 1.0, 2.0, 7.0, 0.0, 0.0]


def test_no_pairs():
    m = sp.csr_array(np.eye(3, dtype=np.float32))
    assert csr_lookup(m, np.array([], int), np.array([], int)).shape == (0,)
