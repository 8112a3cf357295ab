"""Row and split checks at their boundaries: fill values, NULLs, ranges, stuck drivers, storm share, leakage."""

from __future__ import annotations

import numpy as np
import pytest

from plugins.tec.integrity import row_problems, split_problems
from plugins.tec.synthetic import synthetic_rows
from registry.errors import GateError


@pytest.fixture(scope="module")
def rows() -> dict[str, np.ndarray]:
    return synthetic_rows("2023-01-01", "2023-03-01", seed=3)


def test_clean_synthetic_rows_have_no_problem(rows) -> None:
    assert row_problems(rows, label="test") == []


def test_each_kind_of_problem_is_named(rows) -> None:
    bad = dict(rows)
    bad["dst"] = rows["dst"].copy()
    bad["dst"][:3] = np.nan
    bad["sw_speed"] = rows["sw_speed"].copy()
    bad["sw_speed"][5] = 9999.0
    bad["tec"] = rows["tec"].copy()
    bad["tec"][7] = -0.5
    problems = row_problems(bad, label="test")
    assert "test dst: 3 NULL/missing value(s) (a fill value turned NULL)" in problems
    assert "test sw_speed: 1 row(s) hold the fill value 9999" in problems
    assert any(p.startswith("test tec: 1 value(s) outside the physical range [0, 300]") for p in problems)


def test_storm_share_and_stuck_drivers_at_their_limits(rows) -> None:
    n = len(rows["kp"])
    kp = np.full(n, 2.0) + (np.arange(n) % 7) / 3
    kp[: int(0.2 * n)] = 6.0  # exactly 20 %: plausible limit
    ok = row_problems(dict(rows) | {"kp": kp}, label="t", max_storm_share=0.2)
    assert not any("claim Kp" in p for p in ok)
    kp[: int(0.2 * n) + 2] = 6.0
    assert any("claim Kp ≥ 5" in p for p in row_problems(dict(rows) | {"kp": kp}, label="t", max_storm_share=0.2))
    f107 = np.where(np.arange(n) < n // 2, 120.0, rows["f107"])  # exactly half: not stuck; one more row: stuck
    assert not any("stuck" in p for p in row_problems(dict(rows) | {"f107": f107}, label="t"))
    f107[n // 2] = 120.0
    assert any("f107 is stuck at 120" in p for p in row_problems(dict(rows) | {"f107": f107}, label="t"))


def test_split_boundaries() -> None:
    lineage = {"training": {"split": {"method": "temporal", "train": {"first": "2015-01-01T00:00:00",
                                                                        "last": "2022-12-31T23:00:00"}}}}
    after = np.array(["2023-01-01T00", "2023-01-01T01"], dtype="datetime64[s]")
    assert split_problems(lineage, after)[:2] == (0, [])
    touching = np.array(["2022-12-31T23", "2023-01-01T00"], dtype="datetime64[s]")
    inside, problems, _ = split_problems(lineage, touching)
    assert inside == 1 and "1 of 2 evaluation hours" in problems[0]
    with pytest.raises(GateError, match="unreadable training end"):
        split_problems({"training": {"split": {"train": {"first": "2015-01-01", "last": "soon"}}}}, after)
