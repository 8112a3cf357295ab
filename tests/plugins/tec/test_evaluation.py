"""plugins.tec.evaluation.unique_rows: the same rows, order and inverse as ``np.unique(axis=0)``."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from plugins.tec.evaluation import unique_rows


@settings(max_examples=200, deadline=None)
@given(arrays(np.int64, st.tuples(st.integers(0, 40), st.integers(1, 4)),
              elements=st.one_of(st.integers(-3, 3), st.integers(-2**62, 2**62))))
def test_unique_rows_is_numpys_unique_over_rows(keys: np.ndarray) -> None:
    want, want_inverse = np.unique(keys, axis=0, return_inverse=True)
    got, inverse = unique_rows(keys)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(inverse, want_inverse.reshape(-1))
    np.testing.assert_array_equal(got[inverse], keys)


def test_rows_equal_in_one_column_only_stay_apart() -> None:
    keys = np.array([[1, 5, 0], [1, 5, 1], [0, 5, 0], [1, 5, 0], [-1, 366, 9]])
    got, inverse = unique_rows(keys)
    assert got.tolist() == [[-1, 366, 9], [0, 5, 0], [1, 5, 0], [1, 5, 1]] and inverse.tolist() == [2, 3, 1, 2, 0]
