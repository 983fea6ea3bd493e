import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from apc.models._topk import Prior, PriorScores, top_k, topn_mask


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


# ---------------------------------------------------------------- the one rule, every form
_FMAX = np.finfo(np.float32).max


def reference(scores: np.ndarray, k: int, exclude=None, tie_rank=None):
    """Full stable sort of the dense float32 scores (the documented rule), padded."""
    s = np.array(scores, dtype=np.float32)
    s[np.isnan(s)] = -np.inf
    s[s == np.inf] = _FMAX
    if exclude is not None:
        s[exclude.toarray() != 0] = -np.inf
    b, n = s.shape
    items = np.full((b, k), -1, dtype=np.int32)
    vals = np.full((b, k), -np.inf, dtype=np.float32)
    for r in range(b):
        ties = np.arange(n) if tie_rank is None else tie_rank
        order = np.lexsort((ties, -s[r]))[:k]
        order = order[np.isfinite(s[r, order])]
        items[r, : len(order)] = order
        vals[r, : len(order)] = s[r, order]
    return items, vals


# few distinct values: many ties, plus the special floats of the NaN/inf policy
VALUES = [0.0, -0.0, 1.0, 2.0, 0.5, -1.0, np.nan, np.inf, -np.inf, -3e38]
blocks = st.tuples(st.integers(1, 6), st.integers(1, 40)).flatmap(
    lambda shape: st.tuples(
        arrays(np.float32, shape, elements=st.sampled_from(VALUES)),
        arrays(np.bool_, shape),
    )
)


@settings(max_examples=200, deadline=None)
@given(blocks, st.integers(1, 50), st.booleans())
def test_dense_and_sparse_equal_full_stable_argsort(block, k, use_exclude):
    scores, mask = block
    ex = sp.csr_array(mask.astype(np.float32)) if use_exclude else None
    want_items, want_vals = reference(scores, k, ex)
    for form in (scores, sp.csr_array(scores)):  # sparse: stored non-zeros, 0 elsewhere
        items, vals = top_k(form, k, exclude=ex)
        np.testing.assert_array_equal(items, want_items)
        np.testing.assert_array_equal(vals, want_vals)


@settings(max_examples=100, deadline=None)
@given(blocks, st.integers(1, 50))
def test_sparse_with_explicit_zeros_equals_dense(block, k):
    scores, mask = block
    m = sp.csr_array(np.where(mask, 1.0, 0.0).astype(np.float32))
    m.data[:] = 0.0  # stored zeros must rank exactly like missing ones
    items, vals = top_k(m, k)
    want_items, want_vals = reference(np.zeros(scores.shape, np.float32), k)
    np.testing.assert_array_equal(items, want_items)
    np.testing.assert_array_equal(vals, want_vals)


@settings(max_examples=100, deadline=None)
@given(
    st.tuples(st.integers(1, 5), st.integers(1, 30)).flatmap(
        lambda sh: st.tuples(
            arrays(np.float32, sh, elements=st.sampled_from([0.0, 0.0, 1.0, 0.5, -0.25])),
            arrays(np.float32, sh[1:], elements=st.sampled_from([0.0, 1.0, 2.0, 3.0])),
            arrays(np.float32, sh[:1], elements=st.sampled_from([0.0, 0.5, 1.0])),
            arrays(np.float32, sh[:1], elements=st.sampled_from([0.0, 1.0, -1.0])),
            arrays(np.bool_, sh),
        )
    ),
    st.integers(1, 35),
)
def test_prior_scores_equal_dense_with_prior_rank_ties(parts, k):
    s, prior_values, w, c, mask = parts
    prior = Prior.of(prior_values)
    ps = PriorScores(sp.csr_array(s), w, c, prior)
    ex = sp.csr_array(mask.astype(np.float32))
    items, vals = top_k(ps, k, exclude=ex)
    want_items, want_vals = reference(ps.dense(), k, ex, tie_rank=prior.rank)
    np.testing.assert_array_equal(items, want_items)
    np.testing.assert_array_equal(vals, want_vals)


def test_large_tie_group_in_one_row_only():
    # row 0: 1,000 tracks tied at the boundary; row 1: no ties. Each row is settled alone.
    n = 5000
    s = np.zeros((2, n), dtype=np.float32)
    s[0, 4000:] = 1.0  # 1,000 ties at 1.0, then zeros
    s[1] = np.arange(n, dtype=np.float32)
    items, vals = top_k(s, 10)
    assert items[0].tolist() == list(range(4000, 4010))  # lowest indices of the tie group
    assert items[1].tolist() == list(range(n - 1, n - 11, -1))
    items, _ = top_k(sp.csr_array(s), 1010)
    assert items[0, 1000:].tolist() == list(range(10))  # then the zeros, by index


def test_sparse_rows_short_of_k_are_padded_by_index_around_exclusions():
    m = sp.csr_array(np.array([[0, 0, 3.0, 0, 0, -1.0]], dtype=np.float32))
    ex = sp.csr_array(np.array([[1, 0, 0, 1, 0, 0]], dtype=np.float32))
    items, vals = top_k(m, 6, exclude=ex)
    assert items.tolist() == [[2, 1, 4, 5, -1, -1]]
    assert vals[0, :4].tolist() == [3.0, 0.0, 0.0, -1.0]


def test_many_rows_use_chunked_packed_keys():
    # 3,000 rows over 2**21 tracks: more rows than one packed-key sort holds
    b, n = 3000, 1 << 21
    rows = np.arange(b)
    m = sp.csr_array((np.full(b, 2.0, np.float32), (rows, (rows * 7919) % n)), shape=(b, n))
    items, vals = top_k(m, 3)
    first = (rows * 7919) % n
    assert (items[:, 0] == first).all() and (vals[:, 0] == 2.0).all()
    # then the zero-scored tracks by index: the two lowest that are not the stored one
    pad = np.where(first[:, None] == 0, [1, 2], np.where(first[:, None] == 1, [0, 2], [0, 1]))
    np.testing.assert_array_equal(items[:, 1:], pad)


def test_k_zero_and_empty_blocks():
    assert top_k(np.zeros((2, 3), np.float32), 0)[0].shape == (2, 0)
    assert top_k(np.zeros((0, 3), np.float32), 2)[0].shape == (0, 2)
    assert top_k(sp.csr_array((0, 3), dtype=np.float32), 2)[0].shape == (0, 2)


def test_not_2d_is_refused():
    import pytest

    with pytest.raises(ValueError, match="2-D"):
        top_k(np.zeros(3, np.float32), 1)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 300), min_size=1, max_size=5), st.integers(1, 4),
       st.sampled_from([np.float32, np.float64]), st.integers(0, 2**31))
def test_topn_mask_equals_lexsort(lengths, n, dtype, seed):
    # rows up to 64 n long take the packed-key sort, longer rows the chunk pruning
    # (issue 13); both must keep exactly the first n of (value desc, key asc)
    rng = np.random.default_rng(seed)
    lengths = np.array(lengths)
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    data = rng.choice(np.array([0.0, -0.0, 1.0, 0.5, -2.0, 3.0]), indptr[-1]).astype(dtype)
    keys = np.concatenate([rng.permutation(1000)[:m] for m in lengths])  # distinct per row
    keep = topn_mask(indptr, keys, data, n)
    want = np.zeros(len(data), dtype=bool)
    for r in range(len(lengths)):
        lo, hi = indptr[r], indptr[r + 1]
        want[lo + np.lexsort((keys[lo:hi], -data[lo:hi].astype(np.float64)))[:n]] = True
    assert (keep == want).all()


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from([0.0, 1.0, 2.0, 0.5, -1.0, -np.inf, -0.0]), max_size=14),
             min_size=1, max_size=6),
    st.integers(0, 6),
    st.sampled_from([np.float32, np.float64]),
)
def test_topn_mask_equals_sorting_each_row(rows, n, dtype):
    # float32 rows take the packed-key sort, float64 ones the chunked pruning
    rng = np.random.default_rng(len(rows) * 31 + n)
    lens = np.array([len(r) for r in rows])
    indptr = np.concatenate([[0], np.cumsum(lens)])
    data = np.array([v for r in rows for v in r], dtype=dtype)
    keys = np.concatenate([rng.permutation(40)[:m] for m in lens]).astype(np.int64)
    got = topn_mask(indptr, keys, data, n)
    want = np.zeros(len(data), bool)
    for a, b in zip(indptr[:-1], indptr[1:], strict=True):
        order = sorted(range(a, b), key=lambda e: (-data[e], keys[e]))
        want[order[:n] if b - a > n else order] = True
    np.testing.assert_array_equal(got, want)
