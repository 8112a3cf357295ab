"""plugins.deepech.schema: 224 named columns with units, ranges checked at their boundaries."""

from __future__ import annotations

import numpy as np
import pytest

from plugins.deepech.schema import COLUMN_NAMES, INPUT_COLUMNS, check_rows, current_symh, mlt_hours
from registry.errors import InvalidInput


def _row() -> np.ndarray:
    r = np.zeros((1, 224))
    r[0, :4] = [5.0, 1.0, 0.0, 0.5]
    r[0, 4:53] = r[0, 102:163] = 300.0
    r[0, 53:102] = r[0, 163:224] = -20.0
    return r


def test_names_and_units() -> None:
    assert len(COLUMN_NAMES) == len(set(COLUMN_NAMES)) == 224
    assert COLUMN_NAMES[:4] == ("l_shell", "cos_mlt", "sin_mlt", "cos6_mlat")
    assert (COLUMN_NAMES[4], COLUMN_NAMES[52], COLUMN_NAMES[53], COLUMN_NAMES[101]) == (
        "sme_a_00", "sme_a_48", "symh_a_00", "symh_a_48")
    assert (COLUMN_NAMES[102], COLUMN_NAMES[162], COLUMN_NAMES[163], COLUMN_NAMES[223]) == (
        "sme_b_00", "sme_b_60", "symh_b_00", "symh_b_60")
    assert {c.unit for c in INPUT_COLUMNS[4:]} == {"nT"}


@pytest.mark.parametrize(("col", "value", "ok"), [
    (0, 1.0, True), (0, 10.0, True), (0, 0.999, False), (0, 10.001, False),
    (1, -1.0, True), (2, 1.0001, False), (3, 0.0, True), (3, 1.0, True), (3, -0.001, False), (3, 1.001, False),
    (4, -0.1, False), (52, 10_000.0, True), (53, -2000.0, True), (101, -2000.5, False), (223, 500.5, False),
    (150, np.nan, False), (200, np.inf, False), (0, -np.inf, False),
])
def test_each_range_at_its_boundary(col: int, value: float, ok: bool) -> None:
    r = _row()
    if col in (1, 2):  # keep the MLT pair on the unit circle where the value itself is allowed
        r[0, 1:3] = [value, np.sqrt(max(0.0, 1 - value**2))] if col == 1 else [np.sqrt(max(0.0, 1 - value**2)), value]
    r[0, col] = value
    if ok:
        assert check_rows(r, "t").shape == (1, 224)
    else:
        with pytest.raises(InvalidInput, match=rf"t: row 0 column {col} \({COLUMN_NAMES[col]}\)"):
            check_rows(r, "t")


def test_second_row_is_reported_and_counted() -> None:
    r = np.repeat(_row(), 3, axis=0)
    r[1, 0] = r[2, 0] = 11.0
    with pytest.raises(InvalidInput, match=r"row 1 column 0 .* \(2 row\(s\) affected\)"):
        check_rows(r)


def test_mlt_pair_must_be_one_angle_and_shape_and_dtype() -> None:
    r = _row()
    r[0, 1:3] = [0.7, 0.7]  # |(cos, sin)|² = 0.98
    with pytest.raises(InvalidInput, match="cos_mlt² \\+ sin_mlt² = 0.98"):
        check_rows(r)
    for bad, msg in ((np.zeros((2, 223)), "224 columns"), (np.zeros((0, 224)), "no rows"),
                     (np.array([["a"] * 224]), "numbers")):
        with pytest.raises(InvalidInput, match=msg):
            check_rows(bad)


def test_mlt_and_current_symh() -> None:
    r = np.repeat(_row(), 2, axis=0)
    r[1, 1:3] = [0.0, -1.0]  # 18 MLT
    r[1, 101] = -80.0
    np.testing.assert_allclose(mlt_hours(r), [0.0, 18.0])
    np.testing.assert_array_equal(current_symh(r), [-20.0, -80.0])


def test_real_sample_rows_pass(sample_rows: np.ndarray) -> None:
    assert sample_rows.shape == (1440, 224)
    assert 1 <= sample_rows[:, 0].min() and sample_rows[:, 0].max() <= 10
