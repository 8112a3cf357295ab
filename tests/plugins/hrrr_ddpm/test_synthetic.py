"""The SYNTHETIC cases: their statistics match the generating model, pairs line up, the upstream layout round trips.

Marginal statistics are checked on a case with ρ = 0 and the shortest correlation length (1.5 cells), where about
16,000 values are effectively independent per variable: a mean's sd is then ≈ 0.01 σ, so 0.05 σ is a 5-sd bound.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from plugins.hrrr_ddpm.synthetic import (
    LABEL,
    VARIABLES,
    SyntheticCase,
    SyntheticModel,
    make_case,
    write_upstream_layout,
)

WHITE = SyntheticModel(correlation_length=0.01, rho=0.0, cell_lifetime=1.0, cells_per_kcell=2.0)


@pytest.fixture(scope="module")
def white() -> SyntheticCase:
    return make_case(100, 48, 48, seed=11, model=WHITE)


@pytest.fixture(scope="module")
def flowing() -> SyntheticCase:
    return make_case(40, 32, 32, seed=5, model=SyntheticModel(drift=(1.0, 2.0)))


@pytest.mark.parametrize("name", ["T2M", "D2M", "U10", "V10"])
def test_means_and_stds_match_the_model(white: SyntheticCase, name: str) -> None:
    known, values = white.known()[name], white.data[name].astype(np.float64)
    assert values.dtype == np.float64 and white.data[name].dtype == np.float32
    assert abs(values.mean() - known["mean"]) < 0.05 * known["std"]
    assert values.std() == pytest.approx(known["std"], rel=0.05)


def test_dewpoint_is_always_at_least_two_kelvin_below_temperature(white: SyntheticCase) -> None:
    assert float((white.data["T2M"] - white.data["D2M"]).min()) > 1.99


def test_cape_and_cin_are_skewed_as_specified(white: SyntheticCase) -> None:
    known, cape = white.known()["CAPE"], white.data["CAPE"].astype(np.float64)
    assert cape.min() > 0 and np.median(cape) == pytest.approx(500, rel=0.05)
    assert (cape > 1000).mean() == pytest.approx(known["p_gt_1000"], abs=0.02)
    assert (cape > 2500).mean() == pytest.approx(known["p_gt_2500"], abs=0.01)
    corr = np.corrcoef(np.log(cape).ravel(), white.data["T2M"].ravel())[0, 1]
    assert corr == pytest.approx(0.6, abs=0.03)
    cin = white.data["CIN"].astype(np.float64)
    assert cin.max() < 0 and np.median(cin) == pytest.approx(-50, rel=0.05)


def test_convective_cells_have_the_known_count_and_coverage(white: SyntheticCase) -> None:
    known, refc = white.known()["REFC"], white.data["REFC"]
    assert refc.min() == -10.0 and refc.max() <= 60.0
    # lifetime 1: frames are independent Poisson draws; 100 frames of mean 4.6 → the mean's sd ≈ 0.21
    assert white.cells.mean() == pytest.approx(known["active_cells"], abs=0.9)
    # a disk with a uniformly placed centre covers its area in grid cells on average; overlaps are rare at 2.6 %
    assert (refc > 35).mean() == pytest.approx(known["p_gt_35_sparse"], rel=0.2)
    assert (refc > 35).any(axis=(1, 2)).mean() > 0.5  # convection is intermittent, not absent


def test_lag_one_correlation_along_the_flow_is_rho(flowing: SyntheticCase) -> None:
    t2m = flowing.data["T2M"].astype(np.float64) - 295
    moved = np.roll(t2m[:-1], shift=(1, 2), axis=(1, 2))  # drift (1, 2) cells per step
    assert np.corrcoef(moved.ravel(), t2m[1:].ravel())[0, 1] == pytest.approx(0.9, abs=0.03)
    assert np.corrcoef(t2m[:-1].ravel(), t2m[1:].ravel())[0, 1] < 0.85  # without following the flow it is lower


def test_cells_move_with_the_flow(flowing: SyntheticCase) -> None:
    refc = flowing.data["REFC"]
    moved = np.roll(refc[:-1], shift=(1, 2), axis=(1, 2))
    assert np.mean((moved > 35) & (refc[1:] > 35)) > 0.5 * np.mean(refc[1:] > 35)


def test_pairs_are_the_state_and_the_next_state_z_scored(flowing: SyntheticCase) -> None:
    cond, target = flowing.pairs()
    assert cond.shape == target.shape == (39, 7, 32, 32) and cond.dtype == np.float32
    np.testing.assert_array_equal(cond[1:], target[:-1])
    stacked = flowing.stack().astype(np.float64)
    np.testing.assert_allclose(stacked.mean(axis=(0, 2, 3)), 0.0, atol=1e-5)
    np.testing.assert_allclose(stacked.std(axis=(0, 2, 3)), 1.0, rtol=1e-5)
    raw = flowing.stack(normalised=False)
    assert raw[3, VARIABLES.index("CAPE"), 4, 5] == flowing.data["CAPE"][3, 4, 5]


def test_a_seed_fixes_the_case() -> None:
    a, b, c = (make_case(3, 8, 8, seed=s) for s in (1, 1, 2))
    assert all(np.array_equal(a.data[v], b.data[v]) for v in VARIABLES)
    assert not np.array_equal(a.data["T2M"], c.data["T2M"])


@pytest.mark.parametrize("args", [(1, 8, 8), (3, 1, 8), (3, 8, 1)])
def test_too_small_cases_are_refused(args: tuple[int, int, int]) -> None:
    with pytest.raises(ValueError, match="at least 2 steps"):
        make_case(*args, seed=0)


@pytest.mark.parametrize("bad", [{"rho": 1.0}, {"rho": -0.1}, {"correlation_length": 0.0}, {"cell_lifetime": 0.5},
                                 {"drift": (math.nan, 0.0)}, {"cell_radius": (0.0, 1.0)}])
def test_invalid_model_parameters_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="invalid synthetic model"):
        SyntheticModel(**bad)  # type: ignore[arg-type]


def test_upstream_layout_round_trips_and_says_synthetic(flowing: SyntheticCase, tmp_path: Path) -> None:
    written = write_upstream_layout(flowing, tmp_path / "case")
    names = [f"{v}.npy" for v in VARIABLES] + ["lat.npy", "lon.npy", "stats.json", "synthetic.json"]
    assert sorted(p.name for p in written) == sorted(names)
    refc = np.load(tmp_path / "case" / "REFC.npy")
    assert refc.dtype == np.float32 and refc.shape == (40, 32, 32) and np.array_equal(refc, flowing.data["REFC"])
    assert json.loads((tmp_path / "case" / "stats.json").read_text()) == flowing.stats
    note = json.loads((tmp_path / "case" / "synthetic.json").read_text())
    assert note["synthetic"] is True and note["description"] == LABEL and LABEL.startswith("SYNTHETIC")
    lat = np.load(tmp_path / "case" / "lat.npy")
    assert lat.shape == (32, 32) and -90 <= lat.min() <= lat.max() <= 90


def test_the_core_reads_the_upstream_layout(flowing: SyntheticCase, tmp_path: Path) -> None:
    from cache.gridded_input import open_input

    write_upstream_layout(flowing, tmp_path / "case")
    found = open_input([tmp_path / "case"])
    assert set(found.variables) == set(VARIABLES) and found.stats == flowing.stats
