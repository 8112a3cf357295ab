"""Vectorised geodesy and sun position: Maidenhead grids, haversine distance, bearing, solar elevation."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from registry.errors import InvalidInput

EARTH_RADIUS_KM = 6371.0
"""Mean Earth radius used by IONIS for every distance feature."""

_GRID4 = re.compile(r"^[A-R]{2}[0-9]{2}$")


def grid_centroid(grids: Sequence[str] | np.ndarray, *, column: str = "grid") -> tuple[np.ndarray, np.ndarray]:
    """Centre ``(lat, lon)`` in degrees of 4-character Maidenhead squares (``DN46`` → 46.5, −111.0).

    Longer locators are cut to their square; anything else raises ``InvalidInput`` naming the row.
    """
    codes = [str(g).strip().upper()[:4] for g in grids]
    for row, code in enumerate(codes):
        if not _GRID4.match(code):
            raise InvalidInput(f"row {row}: column {column!r}: {grids[row]!r} is not a Maidenhead grid like 'DN46'")
    if not codes:
        return np.zeros(0), np.zeros(0)
    raw = np.frombuffer("".join(codes).encode("ascii"), dtype=np.uint8).reshape(-1, 4).astype(np.float64)
    lon = 20.0 * (raw[:, 0] - ord("A")) - 180.0 + 2.0 * (raw[:, 2] - ord("0")) + 1.0
    lat = 10.0 * (raw[:, 1] - ord("A")) - 90.0 + (raw[:, 3] - ord("0")) + 0.5
    return lat, lon


def haversine_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Great-circle distance in km on a sphere of radius ``EARTH_RADIUS_KM``."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def initial_bearing_deg(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Initial great-circle bearing from point 1 to point 2, degrees clockwise from north in [0, 360)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dlmb = np.radians(np.asarray(lon2) - np.asarray(lon1))
    y = np.sin(dlmb) * np.cos(p2)
    x = np.cos(p1) * np.sin(p2) - np.sin(p1) * np.cos(p2) * np.cos(dlmb)
    bearing = np.mod(np.degrees(np.arctan2(y, x)), 360.0)
    return np.where(bearing >= 360.0, 0.0, bearing)  # mod of a tiny negative angle rounds up to 360


def solar_declination_deg(day_of_year: np.ndarray) -> np.ndarray:
    """Solar declination δ = −23.44°·cos(360°/365·(doy + 10))."""
    return -23.44 * np.cos(np.radians(360.0 / 365.0 * (np.asarray(day_of_year, dtype=np.float64) + 10.0)))


def solar_elevation_deg(lat: np.ndarray, lon: np.ndarray, hour_utc: np.ndarray,
                        day_of_year: np.ndarray) -> np.ndarray:
    """Sun elevation in degrees (positive = day) at ``(lat, lon)`` for a UTC hour and exact day of year."""
    dec = np.radians(solar_declination_deg(day_of_year))
    hour_angle = np.radians((np.asarray(hour_utc, dtype=np.float64) + np.asarray(lon) / 15.0 - 12.0) * 15.0)
    phi = np.radians(lat)
    sin_el = np.sin(phi) * np.sin(dec) + np.cos(phi) * np.cos(dec) * np.cos(hour_angle)
    return np.degrees(np.arcsin(np.clip(sin_el, -1.0, 1.0)))
