"""The 24 features: spec formulas at known rows, differences by timestamp, real AACGM-v2 latitude, refusals."""

from __future__ import annotations

import numpy as np
import pytest

from plugins.tec.features import FEATURE_NAMES, compute_features, previous_hour_index
from registry.errors import InvalidInput


def rows(n: int = 30, *, start: str = "2015-03-17T00", lat: float = 60.0, lon: float = 20.0) -> dict:
    t = np.datetime64(start) + np.arange(n) * np.timedelta64(1, "h")
    k = np.arange(n, dtype=float)
    return {"time": t, "lat": np.full(n, lat), "lon": np.full(n, lon), "tec": 10 + k, "tec_std": np.full(n, 2.0),
            "kp": (k % 9), "dst": -10 * k, "sw_speed": np.full(n, 400.0), "sw_density": np.full(n, 5.0),
            "bz": np.full(n, -5.0), "f107": np.full(n, 150.0), "f107_81": np.full(n, 140.0)}


def test_formulas_of_a_known_row() -> None:
    f = compute_features(rows())
    assert f.values.shape == (30, 24) and len(FEATURE_NAMES) == 24
    r = f.values[5].astype(float)  # 05 UTC on 2015-03-17 (day 76), tec 15, kp 5, dst -50
    assert r[0] == pytest.approx(0.15) and r[2] == pytest.approx(5 / 9) and r[3] == pytest.approx(-0.5)
    assert r[9] == pytest.approx(np.sin(2 * np.pi * 5 / 24), abs=1e-6)
    assert r[12] == pytest.approx(np.cos(2 * np.pi * 76 / 365), abs=1e-6)
    assert r[13] == pytest.approx(min(5 * 400**2 * 1.6726e-6 / 10, 1), abs=1e-6)
    assert r[14] == pytest.approx(1 / 1.5) and r[15] == pytest.approx(0.01) and r[19] == pytest.approx(1 / 9)
    assert r[20] == pytest.approx(-0.1) and r[18] == pytest.approx(((2015 - 2019) % 11) / 11)
    local = (5 + 20 / 15) % 24  # local solar hour, not UTC
    assert r[21] == pytest.approx(0.5 + 0.5 * np.cos(2 * np.pi * (local - 12) / 24), abs=1e-6)
    assert r[22] == pytest.approx(((76 - 355) / 365) % 1, abs=1e-6)


def test_magnetic_latitude_is_aacgm_not_geographic() -> None:
    f = compute_features(rows(lat=60.0, lon=20.0))
    mlat = np.degrees(np.arctan2(f.values[0, 16], f.values[0, 17])) / 2  # sin, cos of 2π·mlat/180
    assert 56 < mlat < 58.5  # AACGM-v2 at 350 km: ~57.5°, not 60°
    assert f.values[0, 23] == 1.0  # 55° ≤ |mlat| ≤ 75°
    g = compute_features(rows(lat=5.0, lon=-35.0))  # inside the band AACGM-v2 leaves undefined at 350 km
    assert g.mlat_undefined == 30 and g.values[0, 16] == 0.0 and g.values[0, 17] == 1.0


def test_differences_by_timestamp_a_missing_hour_leaves_the_next_row_incomplete() -> None:
    r = rows(10)
    keep = np.array([i for i in range(10) if i != 4])
    r = {k: v[keep] for k, v in r.items()}
    f = compute_features(r)
    assert f.complete.tolist() == [False, True, True, True, False, True, True, True, True]
    assert f.values[4, 15] == 0.0 and f.values[5, 15] == pytest.approx(0.01)  # 06 − 05, not 05 − 03


def test_shuffled_rows_give_the_same_features_per_row() -> None:
    r = rows(12)
    perm = np.random.default_rng(0).permutation(12)
    a = compute_features(r).values[perm]
    b = compute_features({k: v[perm] for k, v in r.items()}).values
    np.testing.assert_array_equal(a, b)


def test_refusals() -> None:
    r = rows(3)
    r["kp"] = np.array([1.0, np.nan, 2.0])
    with pytest.raises(InvalidInput, match="kp holds 1"):
        compute_features(r)
    r = rows(3)
    del r["bz"]
    with pytest.raises(InvalidInput, match="bz"):
        compute_features(r)
    with pytest.raises(InvalidInput, match="AACGM-v2 refuses 1 day"):
        compute_features(rows(3, start="2035-01-01T00"))
    r = rows(3)
    r["time"] = r["time"] + np.timedelta64(30, "m")
    with pytest.raises(InvalidInput, match="on the hour"):
        compute_features(r)
    with pytest.raises(InvalidInput, match="share a location and hour"):
        previous_hour_index(np.zeros(2, int), np.array([5, 5]))
