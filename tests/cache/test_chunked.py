"""Chunk-verified reads equal NumPy slicing for any window and chunking; digests see values and shapes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cache.chunked import VerifiedArray, chunk_digest, chunk_grid, chunk_slices, combine, create_array


def _window(draw, n: int):  # noqa: ANN001, ANN202
    kind = draw(st.sampled_from(["int", "slice", "none"]))
    if kind == "int":
        return draw(st.integers(-n, n - 1))
    if kind == "none":
        return None
    return slice(draw(st.one_of(st.none(), st.integers(-n - 2, n + 2))),
                 draw(st.one_of(st.none(), st.integers(-n - 2, n + 2))))


@st.composite
def cases(draw):  # noqa: ANN001, ANN201
    shape = tuple(draw(st.lists(st.integers(1, 7), min_size=1, max_size=3)))
    chunks = tuple(draw(st.integers(1, n + 1)) for n in shape)
    keys = tuple(_window(draw, n) for n in shape[:draw(st.integers(0, len(shape)))])
    return shape, chunks, keys


@settings(max_examples=60, deadline=None)
@given(cases())
def test_reads_equal_numpy_slicing(tmp_path_factory, case):  # noqa: ANN001
    import zarr

    shape, chunks, keys = case
    values = np.arange(np.prod(shape), dtype=np.float32).reshape(shape) * 0.5 - 3
    group = zarr.open_group(tmp_path_factory.mktemp("z"), mode="w", zarr_format=3)
    array = create_array(group, "a", shape, chunks)
    array[...] = values
    digests = [chunk_digest(values[chunk_slices(i, shape, chunks)]) for i in chunk_grid(shape, chunks)]
    got = VerifiedArray(array, digests, "a").read(*keys)
    expected = values[tuple(slice(None) if k is None else k for k in keys)]
    assert got.shape == expected.shape and np.array_equal(got, expected)


def test_digests_tell_values_order_and_shape_apart():
    a = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
    assert chunk_digest(a) == chunk_digest(a.astype(np.float64))  # stored as float32 either way
    assert chunk_digest(a) != chunk_digest(a.T)
    assert chunk_digest(a) != chunk_digest(a.reshape(1, 4))
    assert chunk_digest(np.float32([np.nan])) == chunk_digest(np.float32([np.nan]))
    assert chunk_digest(np.float32([0.0])) != chunk_digest(np.float32([-0.0]))
    one, two = chunk_digest(a), chunk_digest(a + 1)
    assert combine("h", [one, two]) != combine("h", [two, one]) != combine("g", [two, one])


@pytest.mark.parametrize(("shape", "chunks", "count"), [((5,), (2,), 3), ((4, 4), (4, 4), 1), ((3, 5), (2, 2), 6)])
def test_the_chunk_grid_covers_the_array_once(shape, chunks, count):
    grid = chunk_grid(shape, chunks)
    assert len(grid) == count
    covered = np.zeros(shape, int)
    for index in grid:
        covered[chunk_slices(index, shape, chunks)] += 1
    assert (covered == 1).all()
