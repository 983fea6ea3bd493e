import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from apc.models._topk import top_k


def test_ties_break_by_lower_index_and_exclusion():
    s = np.array([[1.0, 3.0, 3.0, 2.0, 3.0]], dtype=np.float32)
    items, scores = top_k(s, 3)
    assert items.tolist() == [[1, 2, 4]]
    ex = sp.csr_array(np.array([[0, 1, 0, 0, 0]]))
    items, _ = top_k(s, 3, exclude=ex)
    assert items.tolist() == [[2, 4, 3]]


def test_padding_when_k_exceeds_items_or_inf():
    s = np.array([[0.5, -np.inf, 0.1]], dtype=np.float32)
    items, scores = top_k(s, 5)
    assert items.tolist() == [[0, 2, -1, -1, -1]]
    assert np.isneginf(scores[0, 2:]).all()


def test_torch_and_sparse_inputs():
    import torch

    t = torch.tensor([[0.2, 0.9, 0.1]])
    assert top_k(t, 2)[0].tolist() == [[1, 0]]
    m = sp.csr_array(np.array([[0.0, 0.0, 2.0]]))
    assert top_k(m, 2)[0].tolist() == [[2, 0]]


@settings(max_examples=60, deadline=None)
@given(arrays(np.float32, st.tuples(st.integers(1, 5), st.integers(1, 30)),
              elements=st.sampled_from([0.0, 1.0, 2.0, 0.5, -1.0])), st.integers(1, 35))
def test_top_k_equals_full_stable_sort(scores, k):
    items, vals = top_k(scores, k)
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    kk = min(k, scores.shape[1])
    np.testing.assert_array_equal(items[:, :kk], order)
    np.testing.assert_array_equal(vals[:, :kk], np.take_along_axis(scores, order, axis=1))
