"""Maidenhead centroids, haversine distance, bearing and solar elevation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugins.ionis.geo import grid_centroid, haversine_km, initial_bearing_deg, solar_elevation_deg
from registry.errors import InvalidInput

lats = st.floats(-89.9, 89.9)
lons = st.floats(-179.9, 179.9)


def test_grid_centroid_matches_the_spec_example():
    lat, lon = grid_centroid(["DN46", "jn48", "FN20xx"])
    assert lat.tolist() == [46.5, 48.5, 40.5]
    assert lon.tolist() == [-111.0, 9.0, -75.0]


@pytest.mark.parametrize("bad", ["DN4", "ZZ00", "D146", "", "46DN"])
def test_bad_grid_names_the_row_and_column(bad):
    with pytest.raises(InvalidInput, match=r"row 1: column 'rx_grid'"):
        grid_centroid(["DN46", bad], column="rx_grid")


def test_haversine_known_distance_w3_to_london():
    d = haversine_km(np.array([39.14]), np.array([-77.01]), np.array([51.50]), np.array([-0.12]))
    assert d[0] == pytest.approx(0.293989 * 20000, rel=1e-5)


def test_bearing_cardinal_directions():
    zero = np.zeros(4)
    b = initial_bearing_deg(zero, zero, np.array([10.0, 0.0, -10.0, 0.0]), np.array([0.0, 10.0, 0.0, -10.0]))
    assert b == pytest.approx([0.0, 90.0, 180.0, 270.0])


@given(lats, lons, lats, lons)
def test_distance_is_symmetric_and_bounded(a, b, c, d):
    one = haversine_km(np.array([a]), np.array([b]), np.array([c]), np.array([d]))[0]
    two = haversine_km(np.array([c]), np.array([d]), np.array([a]), np.array([b]))[0]
    assert one == pytest.approx(two, abs=1e-6)
    assert 0.0 <= one <= np.pi * 6371.0 + 1e-6


@given(lats, lons, lats, lons)
def test_bearing_is_in_range(a, b, c, d):
    assert 0.0 <= initial_bearing_deg(np.array([a]), np.array([b]), np.array([c]), np.array([d]))[0] < 360.0


def test_solar_elevation_noon_and_midnight():
    # 21 June (doy 172), Greenwich: noon sun at 90 − 51.5 + 23.44 ≈ 62°, midnight below the horizon
    el = solar_elevation_deg(np.array([51.5, 51.5]), np.array([0.0, 0.0]), np.array([12.0, 0.0]), np.array([172, 172]))
    assert el[0] == pytest.approx(61.9, abs=0.2)
    assert el[1] < -10.0
