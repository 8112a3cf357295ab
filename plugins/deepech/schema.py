"""The 224-column DeepECH input row: names, units, slices the networks read, and physical range checks."""

from __future__ import annotations

import numpy as np

from registry.errors import InvalidInput
from registry.family import InputColumn

N_COLUMNS = 224
POSITION = slice(0, 4)
HISTORY_SLICES = (slice(4, 53), slice(53, 102), slice(102, 163), slice(163, 224))
"""lstm1: SME at the first cadence (49 steps); lstm2: SYM-H at the first cadence; lstm3, lstm4: SME and SYM-H at
the second cadence (61 steps each)."""

L_COL, COS_MLT_COL, SIN_MLT_COL, COS6_MLAT_COL = 0, 1, 2, 3
SYMH_FIRST = HISTORY_SLICES[1]

_HISTORIES = (("sme_a", "SME", HISTORY_SLICES[0]), ("symh_a", "SYM-H", HISTORY_SLICES[1]),
              ("sme_b", "SME", HISTORY_SLICES[2]), ("symh_b", "SYM-H", HISTORY_SLICES[3]))
# generous physical bounds: no SME beyond 10,000 nT or SYM-H outside [-2000, 500] nT has been recorded
INDEX_RANGES = {"SME": (0.0, 10_000.0), "SYM-H": (-2_000.0, 500.0)}
UNIT_CIRCLE_TOLERANCE = 0.01  # cos² + sin² of MLT must be 1 within this


def _columns() -> tuple[InputColumn, ...]:
    cols = [InputColumn("l_shell", "R_E", "McIlwain L-shell of the spacecraft, 1–10"),
            InputColumn("cos_mlt", "1", "cos(2π·MLT/24), in [−1, 1]"),
            InputColumn("sin_mlt", "1", "sin(2π·MLT/24), in [−1, 1]"),
            InputColumn("cos6_mlat", "1", "cos(magnetic latitude)^6, in [0, 1]")]
    for prefix, index, sl in _HISTORIES:
        n = sl.stop - sl.start
        cadence = "first" if n == 49 else "second"
        cols += [InputColumn(f"{prefix}_{i:02d}", "nT", f"{index} history at the {cadence} cadence, step {i + 1} "
                             f"of {n}") for i in range(n)]
    return tuple(cols)


INPUT_COLUMNS = _columns()
COLUMN_NAMES = tuple(c.name for c in INPUT_COLUMNS)
assert len(INPUT_COLUMNS) == N_COLUMNS


def _first_bad(rows: np.ndarray, bad: np.ndarray, what: str, source: str) -> InvalidInput:
    r, c = (int(v) for v in np.argwhere(bad)[0])
    return InvalidInput(f"{source}: row {r} column {c} ({COLUMN_NAMES[c]}) = {rows[r, c]!r} {what} "
                        f"({int(bad.any(axis=1).sum())} row(s) affected)")


def check_rows(rows: np.ndarray, source: str = "input") -> np.ndarray:
    """``rows`` as float64 ``(n, 224)`` if every value is in its physical range; ``InvalidInput`` naming the
    first offending row and column otherwise."""
    x = np.asarray(rows)
    if x.ndim != 2 or x.shape[1] != N_COLUMNS:
        raise InvalidInput(f"{source}: need rows of {N_COLUMNS} columns, got shape {x.shape}")
    if x.shape[0] == 0:
        raise InvalidInput(f"{source}: no rows")
    if x.dtype.kind not in "biuf":
        raise InvalidInput(f"{source}: values must be numbers, got dtype {x.dtype}")
    x = x.astype(np.float64, copy=False)
    finite = np.isfinite(x)
    if not finite.all():
        raise _first_bad(x, ~finite, "is not finite", source)
    checks = [(POSITION.start, POSITION.start + 1, 1.0, 10.0, "is outside the L-shell range [1, 10]"),
              (COS_MLT_COL, SIN_MLT_COL + 1, -1.0, 1.0, "is outside [-1, 1]"),
              (COS6_MLAT_COL, COS6_MLAT_COL + 1, 0.0, 1.0, "is outside [0, 1]")]
    for _prefix, index, sl in _HISTORIES:
        lo, hi = INDEX_RANGES[index]
        checks.append((sl.start, sl.stop, lo, hi, f"is outside the {index} range [{lo:g}, {hi:g}] nT"))
    for start, stop, lo, hi, what in checks:
        bad = np.zeros_like(finite)
        bad[:, start:stop] = (x[:, start:stop] < lo) | (x[:, start:stop] > hi)
        if bad.any():
            raise _first_bad(x, bad, what, source)
    off = np.abs(x[:, COS_MLT_COL] ** 2 + x[:, SIN_MLT_COL] ** 2 - 1.0) > UNIT_CIRCLE_TOLERANCE
    if off.any():
        r = int(np.argmax(off))
        raise InvalidInput(f"{source}: row {r}: cos_mlt² + sin_mlt² = {x[r, 1] ** 2 + x[r, 2] ** 2:.4f}, not 1 "
                           f"(the two must encode one MLT; {int(off.sum())} row(s) affected)")
    return x


def mlt_hours(rows: np.ndarray) -> np.ndarray:
    """Magnetic local time in hours [0, 24) from the cos/sin columns."""
    return np.mod(np.arctan2(rows[:, SIN_MLT_COL], rows[:, COS_MLT_COL]) * 12.0 / np.pi, 24.0)


def current_symh(rows: np.ndarray) -> np.ndarray:
    """SYM-H now (nT): the last step of the first-cadence history. In upstream's sample rows that history moves
    by one step every 60 rows (one-minute rows, hourly steps), the newest value last."""
    return rows[:, SYMH_FIRST.stop - 1]


def current_sme(rows: np.ndarray) -> np.ndarray:
    """SME now (nT): the last step of the first-cadence SME history."""
    return rows[:, HISTORY_SLICES[0].stop - 1]
