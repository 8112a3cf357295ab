"""SYNTHETIC hourly TEC rows for tests and the demo: documented formulas, never observations.

Drivers: where real Kp and F10.7 are given they are used as they are; Dst, solar-wind speed and density and IMF
Bz are made up here (no offline source has them): speed and density are AR(1) processes around 420 km/s and
6 cm⁻³, Bz an AR(1) around 0 nT whose swings grow with Kp, Dst follows −12·Kp² with noise. The TEC target is a
model-derived quantity (labelled so in every table made from it): a diurnal cycle peaking at 14 h local time,
scaled by F10.7 and season, reduced at high magnetic latitude, with a storm response that enhances TEC for a few
hours after Kp rises and depletes it for a day after, plus AR(1) noise.
"""

from __future__ import annotations

from typing import Any

import numpy as np

LABEL = "SYNTHETIC (model-derived TEC, made-up Dst/solar wind/Bz)"


def _ar1(rng: np.random.Generator, n: int, phi: float, sigma: float) -> np.ndarray:
    noise = rng.normal(0, sigma, n)
    out = np.empty(n)
    acc = 0.0
    for i in range(n):  # n ≤ a few 10^5: fast enough, and only for making test data
        acc = phi * acc + noise[i]
        out[i] = acc
    return out


def synthetic_drivers(hours: np.ndarray, *, kp: np.ndarray | None = None, f107: np.ndarray | None = None,
                      f107_81: np.ndarray | None = None, seed: int = 0) -> dict[str, np.ndarray]:
    """Hourly drivers for consecutive ``hours`` (hours since 1970); real ``kp``/``f107``/``f107_81`` when given."""
    rng = np.random.default_rng(seed)
    n = len(hours)
    if kp is None:
        kp = np.clip(np.round((2 + 1.2 * _ar1(rng, n, 0.97, 0.35)) * 3) / 3, 0, 9)
    if f107 is None:
        f107 = np.clip(120 + 40 * np.sin(2 * np.pi * hours / (24 * 365.25 * 11)) + _ar1(rng, n, 0.999, 1.0), 65, 300)
    if f107_81 is None:
        csum = np.concatenate([[0.0], np.cumsum(f107)])
        lo = np.clip(np.arange(n) - 40 * 24, 0, n)
        hi = np.clip(np.arange(n) + 40 * 24 + 1, 0, n)
        f107_81 = (csum[hi] - csum[lo]) / (hi - lo)  # centred 81-day mean, shorter at the ends
    speed = np.clip(420 + 25 * kp + _ar1(rng, n, 0.98, 12.0), 250, 1100)
    density = np.clip(6 + _ar1(rng, n, 0.95, 0.8), 0.5, 60)
    bz = np.clip(_ar1(rng, n, 0.9, 1.0) * (1 + 0.5 * kp), -60, 60)
    dst = np.clip(-12 * kp**2 / 3 + _ar1(rng, n, 0.95, 3.0), -590, 90)
    return {"kp": np.asarray(kp, float), "f107": np.asarray(f107, float), "f107_81": np.asarray(f107_81, float),
            "sw_speed": speed, "sw_density": density, "bz": bz, "dst": dst}


def synthetic_tec(hours: np.ndarray, lat: float, lon: float, drivers: dict[str, np.ndarray], *,
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Model-derived TEC and its within-hour std (TECU) at one location for consecutive ``hours``."""
    rng = np.random.default_rng(seed)
    t = hours.astype("datetime64[h]")
    doy = (t.astype("datetime64[D]") - t.astype("datetime64[Y]").astype("datetime64[D]")).astype(float) + 1
    local = ((hours % 24) + lon / 15.0) % 24
    diurnal = 0.25 + 0.75 * np.exp(-0.5 * ((local - 14) / 3.5) ** 2)
    season = 1 + 0.15 * np.cos(2 * np.pi * (doy - 80) / 182.6) * np.sign(lat or 1)
    solar = 0.28 * drivers["f107_81"] + 0.1 * drivers["f107"]
    latitude = np.cos(np.radians(lat)) ** 1.2
    kp = drivers["kp"]
    rise = np.clip(np.diff(kp, prepend=kp[0]), 0, None)
    enhance = np.convolve(rise, np.exp(-np.arange(12) / 3.0), mode="full")[: len(kp)]
    deplete = np.convolve(np.clip(kp - 4, 0, None), np.exp(-np.arange(48) / 18.0), mode="full")[: len(kp)] / 12
    tec = solar * diurnal * season * latitude * (1 + 0.25 * enhance) * (1 - np.clip(0.3 * deplete, 0, 0.6))
    tec = np.clip(tec * (1 + 0.08 * _ar1(rng, len(hours), 0.9, 0.45)) + 1.0, 0.5, None)
    return tec, 0.05 * tec + 0.3


def synthetic_rows(start: str, end: str, stations: tuple[tuple[str, float, float], ...] = (("SYN1", 45.0, 10.0),),
                   *, seed: int = 0, drivers: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
    """Rows of every station for each hour in ``[start, end)``: the extract's columns (``time`` as datetime64)."""
    first = np.datetime64(start, "h").astype(np.int64)
    hours = np.arange(first, np.datetime64(end, "h").astype(np.int64))
    d = drivers if drivers is not None else synthetic_drivers(hours, seed=seed)
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("time", "station", "lat", "lon", "tec", "tec_std", *d)}
    for i, (name, lat, lon) in enumerate(stations):
        tec, std = synthetic_tec(hours, lat, lon, d, seed=seed + 1 + i)
        cols["time"].append(hours.astype("datetime64[h]").astype("datetime64[s]"))
        cols["station"].append(np.full(len(hours), name))
        cols["lat"].append(np.full(len(hours), lat))
        cols["lon"].append(np.full(len(hours), lon))
        cols["tec"].append(tec)
        cols["tec_std"].append(std)
        for k, v in d.items():
            cols[k].append(np.asarray(v, float))
    return {k: np.concatenate(v) for k, v in cols.items()}
