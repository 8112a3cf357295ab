"""The 24 V2.1 features, computed by one vectorised function for training and for serving."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from plugins.tec.magnetic import magnetic_latitude
from registry.errors import InvalidInput
from registry.family import InputColumn

DRIVER_COLUMNS = (
    InputColumn("time", "UTC", "start of the hour (ISO date-time); rows of one location an hour apart"),
    InputColumn("lat", "deg", "geographic latitude of the station or grid cell"),
    InputColumn("lon", "deg", "geographic longitude, east positive"),
    InputColumn("tec", "TECU", "mean vertical TEC in that hour"),
    InputColumn("tec_std", "TECU", "standard deviation of TEC within the hour"),
    InputColumn("kp", "0-9", "planetary K index"),
    InputColumn("dst", "nT", "Dst index"),
    InputColumn("sw_speed", "km/s", "solar-wind flow speed"),
    InputColumn("sw_density", "1/cm3", "solar-wind proton density"),
    InputColumn("bz", "nT", "IMF Bz, GSM"),
    InputColumn("f107", "sfu", "F10.7 of the day"),
    InputColumn("f107_81", "sfu", "81-day centred mean of F10.7"),
)
NUMERIC = tuple(c.name for c in DRIVER_COLUMNS[1:])
FEATURE_NAMES = (
    "tec_mean", "tec_std", "kp", "dst", "sw_speed", "sw_density", "bz", "f107", "f107_81", "hour_sin", "hour_cos",
    "doy_sin", "doy_cos", "ram_pressure", "bz_coupling", "d_tec", "mlat_sin", "mlat_cos", "solar_cycle_phase",
    "d_kp", "d_dst", "daytime", "season", "high_latitude")
HOUR = np.timedelta64(1, "h")


@dataclass(frozen=True)
class Features:
    """``values`` (rows, 24) float32 in the input's row order; ``complete`` is False where a row has no row one hour
    earlier at its location (its three hour-to-hour differences are undefined, and no window may use it)."""

    values: np.ndarray
    complete: np.ndarray
    location: np.ndarray
    hours: np.ndarray
    mlat_undefined: int


def hours_since_epoch(times: Any) -> np.ndarray:
    """Whole UTC hours since 1970 (``InvalidInput`` for a time that is not on the hour)."""
    t = np.asarray(times).astype("datetime64[s]")
    h = t.astype("datetime64[h]")
    if (h != t).any():
        bad = t[h != t][0]
        raise InvalidInput(f"times must be on the hour; {bad} is not")
    return h.astype(np.int64)


def location_ids(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """One integer per distinct (lat, lon)."""
    key = np.round(np.asarray(lat) * 1e6).astype(np.int64) * 10**9 + np.round(np.asarray(lon) * 1e6).astype(np.int64)
    return np.unique(key, return_inverse=True)[1].reshape(-1)


def previous_hour_index(location: np.ndarray, hours: np.ndarray) -> np.ndarray:
    """Index of the row one hour earlier at the same location, or -1 (matched by timestamp, never by position)."""
    key = location.astype(np.int64) * 10**8 + hours
    order = np.argsort(key, kind="stable")
    sorted_keys = key[order]
    if (np.diff(sorted_keys) == 0).any():
        raise InvalidInput("two rows share a location and hour; give one row per location and hour")
    pos = np.searchsorted(sorted_keys, key - 1)
    pos_c = np.minimum(pos, len(key) - 1)
    found = sorted_keys[pos_c] == key - 1
    return np.where(found, order[pos_c], -1)


def compute_features(columns: Mapping[str, Any]) -> Features:
    """The 24 features of every row (spec order, each clipped to [-5, 5]); differences by timestamp per location.

    :param columns: arrays named as ``DRIVER_COLUMNS`` (``time`` as datetime64 or ISO strings, UTC).
    """
    missing = [c.name for c in DRIVER_COLUMNS if c.name not in columns]
    if missing:
        raise InvalidInput(f"driver rows lack column(s) {', '.join(missing)}")
    v = {n: np.asarray(columns[n], dtype=np.float64) for n in NUMERIC}
    n = len(v["tec"])
    for name, arr in v.items():
        if arr.shape != (n,):
            raise InvalidInput(f"column {name} has {arr.shape} values for {n} rows")
        if not np.isfinite(arr).all():
            raise InvalidInput(f"column {name} holds {int((~np.isfinite(arr)).sum())} missing or non-finite value(s)")
    times = np.asarray(columns["time"]).astype("datetime64[s]")
    hours = hours_since_epoch(times)
    location = location_ids(v["lat"], v["lon"])
    prev = previous_hour_index(location, hours)
    complete = prev >= 0
    p = np.where(complete, prev, np.arange(n))

    hour_utc = (hours % 24).astype(np.float64)
    year = times.astype("datetime64[Y]").astype(np.int64) + 1970
    doy = (times.astype("datetime64[D]") - times.astype("datetime64[Y]").astype("datetime64[D]")).astype(
        np.float64) + 1
    local_hour = (hour_utc + v["lon"] / 15.0) % 24
    mag = magnetic_latitude(times, v["lat"], v["lon"])
    mlat = mag.mlat
    out = np.empty((n, 24), dtype=np.float64)
    out[:, 0] = v["tec"] / 100
    out[:, 1] = v["tec_std"] / 20
    out[:, 2] = v["kp"] / 9
    out[:, 3] = v["dst"] / 100
    out[:, 4] = v["sw_speed"] / 1000
    out[:, 5] = v["sw_density"] / 20
    out[:, 6] = v["bz"] / 20
    out[:, 7] = v["f107"] / 300
    out[:, 8] = v["f107_81"] / 300
    out[:, 9], out[:, 10] = np.sin(2 * np.pi * hour_utc / 24), np.cos(2 * np.pi * hour_utc / 24)
    out[:, 11], out[:, 12] = np.sin(2 * np.pi * doy / 365), np.cos(2 * np.pi * doy / 365)
    out[:, 13] = np.clip(v["sw_density"] * v["sw_speed"] ** 2 * 1.6726e-6 / 10, 0, 1)
    out[:, 14] = 1 / (1 + np.abs(v["bz"]) / 10)
    out[:, 15] = (v["tec"] - v["tec"][p]) / 100
    out[:, 16], out[:, 17] = np.sin(2 * np.pi * mlat / 180), np.cos(2 * np.pi * mlat / 180)
    out[:, 18] = np.mod(year - 2019, 11) / 11
    out[:, 19] = (v["kp"] - v["kp"][p]) / 9
    out[:, 20] = (v["dst"] - v["dst"][p]) / 100
    out[:, 21] = 0.5 + 0.5 * np.cos(2 * np.pi * (local_hour - 12) / 24)
    out[:, 22] = np.mod((doy - 355) / 365, 1)
    out[:, 23] = ((np.abs(mlat) >= 55) & (np.abs(mlat) <= 75)).astype(np.float64)
    return Features(np.clip(out, -5, 5).astype(np.float32), complete, location, hours, mag.undefined)
