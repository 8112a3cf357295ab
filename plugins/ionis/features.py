"""Named, vectorised IONIS feature functions and the path batch they read; a version's input is its config list."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from plugins.ionis.geo import haversine_km, initial_bearing_deg, solar_elevation_deg
from registry.errors import InvalidInput

if TYPE_CHECKING:
    from plugins.ionis.atlas import IriAtlas

_RANGES: dict[str, tuple[float, float, str]] = {
    "tx_lat": (-90.0, 90.0, "−90–90°"),
    "rx_lat": (-90.0, 90.0, "−90–90°"),
    "tx_lon": (-180.0, 180.0, "−180–180°"),
    "rx_lon": (-180.0, 180.0, "−180–180°"),
    "freq_mhz": (1.8, 30.0, "1.8–30 MHz"),
    "hour_utc": (0.0, 24.0, "0–24 h"),
    "month": (1.0, 12.0, "1–12"),
    "day_of_year": (1.0, 366.0, "1–366"),
    "sfi": (50.0, 400.0, "50–400 SFU"),
    "kp": (0.0, 9.0, "0–9"),
}


_COMMON_MONTH_START = np.array([1, 32, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335])
_LEAP_MONTH_START = np.array([1, 32, 61, 92, 122, 153, 183, 214, 245, 275, 306, 336])


@dataclass(frozen=True)
class PathBatch:
    """N propagation queries as float64 arrays; scalars broadcast. Out-of-range or NaN values raise
    ``InvalidInput`` naming the first bad row and column."""

    tx_lat: np.ndarray
    tx_lon: np.ndarray
    rx_lat: np.ndarray
    rx_lon: np.ndarray
    freq_mhz: np.ndarray
    hour_utc: np.ndarray
    month: np.ndarray
    day_of_year: np.ndarray
    sfi: np.ndarray
    kp: np.ndarray

    def __post_init__(self) -> None:
        names = [f.name for f in fields(self)]
        arrays = np.broadcast_arrays(*(np.atleast_1d(np.asarray(getattr(self, n), dtype=np.float64))
                                       for n in names))
        for name, arr in zip(names, arrays, strict=True):
            lo, hi, shown = _RANGES[name]
            bad = ~((arr >= lo) & (arr <= hi))  # NaN compares False, so it is bad too
            if bad.any():
                row = int(np.argmax(bad))
                shown_value = f"{float(arr[row]):g}"
                raise InvalidInput(f"row {row}: column {name!r}: {shown_value} is outside the physical range {shown}")
            object.__setattr__(self, name, np.ascontiguousarray(arr))
        self._check_calendar()

    def _check_calendar(self) -> None:
        """The day of year must fall in the row's month (of a common or a leap year): the solar features
        use the day, the season features the month, and a mismatch silently mixes two seasons."""
        month = np.floor(self.month).astype(np.int64)
        day = np.floor(self.day_of_year)
        fits = np.zeros(len(month), dtype=bool)
        for starts in (_COMMON_MONTH_START, _LEAP_MONTH_START):
            fits |= np.searchsorted(starts, day, side="right") == month
        if not fits.all():
            row = int(np.argmax(~fits))
            raise InvalidInput(f"row {row}: day_of_year {self.day_of_year[row]:g} is not in month "
                               f"{self.month[row]:g}")

    def __len__(self) -> int:
        return int(self.tx_lat.shape[0])

    @cached_property
    def distance_km(self) -> np.ndarray:
        return haversine_km(self.tx_lat, self.tx_lon, self.rx_lat, self.rx_lon)

    @cached_property
    def azimuth_deg(self) -> np.ndarray:
        return initial_bearing_deg(self.tx_lat, self.tx_lon, self.rx_lat, self.rx_lon)

    @cached_property
    def tx_elevation_deg(self) -> np.ndarray:
        return solar_elevation_deg(self.tx_lat, self.tx_lon, self.hour_utc, self.day_of_year)

    @cached_property
    def rx_elevation_deg(self) -> np.ndarray:
        return solar_elevation_deg(self.rx_lat, self.rx_lon, self.hour_utc, self.day_of_year)


FeatureFn = Callable[[PathBatch], np.ndarray]
FEATURES: dict[str, FeatureFn] = {}
"""Feature name (as in a config's ``features`` list) → function of a ``PathBatch`` returning one column."""


def feature(name: str) -> Callable[[FeatureFn], FeatureFn]:
    """Register a feature function under ``name``."""
    def register(fn: FeatureFn) -> FeatureFn:
        FEATURES[name] = fn
        return fn
    return register


V21_ALPHA_FEATURES: tuple[str, ...] = (
    "distance", "freq_log", "hour_sin", "hour_cos", "az_sin", "az_cos", "lat_diff", "midpoint_lat",
    "season_sin", "season_cos", "day_night_est", "vertex_lat", "sfi", "kp_penalty",
)
"""V21-α ships no config; the spec (ionis.md, "Features": features 0–9, day_night_est, vertex_lat; dnn 12)."""

SPEC_FEATURES_BY_DNN: dict[int, tuple[str, ...]] = {
    11: V21_ALPHA_FEATURES[:11] + ("sfi", "kp_penalty"),
    12: V21_ALPHA_FEATURES,
    13: V21_ALPHA_FEATURES[:10] + ("mutual_darkness", "mutual_daylight", "vertex_lat", "sfi", "kp_penalty"),
    15: V21_ALPHA_FEATURES[:10] + ("vertex_lat", "tx_solar_dep", "rx_solar_dep", "freq_x_tx_dark",
                                   "freq_x_rx_dark", "sfi", "kp_penalty"),
}
"""Feature lists of the released versions by trunk width (V20, V21-α, V21-β, V22-γ), for files without config."""


ATLAS_FEATURES: dict[str, Callable[[PathBatch, dict[str, np.ndarray]], np.ndarray]] = {
    "foF2_freq_ratio": lambda b, iri: iri["foF2"] / b.freq_mhz,
    "foE_mid": lambda b, iri: iri["foE"] / 10.0,
    "hmF2_mid": lambda b, iri: iri["hmF2"] / 500.0,
}
"""V23/AUDIT-03 features read from the IRI atlas at the path's midpoint grid, hour, month and SFI bucket."""


def build_features(names: Sequence[str], batch: PathBatch, *, atlas: IriAtlas | None = None) -> np.ndarray:
    """The ``(N, len(names))`` float32 input matrix of a version, columns in ``names`` order; IRI features
    need ``atlas`` (``InvalidInput`` without it)."""
    unknown = [n for n in names if n not in FEATURES and n not in ATLAS_FEATURES]
    if unknown:
        raise InvalidInput(f"unknown feature(s) {', '.join(unknown)} (known: {', '.join(sorted(FEATURES))})")
    iri: dict[str, np.ndarray] | None = None
    if any(n in ATLAS_FEATURES for n in names):
        if atlas is None:
            raise InvalidInput("this version reads IRI features; it needs its IRI atlas")
        from plugins.ionis.atlas import midpoint_grid

        grids = midpoint_grid(batch.tx_lat, batch.tx_lon, batch.rx_lat, batch.rx_lon)
        iri = atlas.lookup(grids, batch.hour_utc, batch.month, batch.sfi)
    out = np.empty((len(batch), len(names)), dtype=np.float32)
    for col, name in enumerate(names):
        out[:, col] = FEATURES[name](batch) if name in FEATURES else ATLAS_FEATURES[name](batch, iri or {})
    return out


def _band_head(freq_mhz: np.ndarray) -> np.ndarray:
    from plugins.ionis.architectures import SPEC_BAND_HEADS
    from plugins.ionis.bands import SPEC_DIAL_HZ

    ids = np.array(sorted(SPEC_DIAL_HZ))
    dial = np.log(np.array([SPEC_DIAL_HZ[i] for i in ids], dtype=np.float64) / 1e6)
    nearest = ids[np.abs(np.log(freq_mhz)[:, None] - dial[None, :]).argmin(axis=1)]
    heads = dict(SPEC_BAND_HEADS)
    return np.array([heads[int(b)] for b in nearest], dtype=np.float64)


def _darkness(hour: np.ndarray, lon: np.ndarray) -> np.ndarray:
    local = np.mod(hour + lon / 15.0, 24.0)
    return 1.0 / (1.0 + np.exp(-2.5 * (np.abs(local - 12.0) - 6.0)))


def _freq_centred(freq_mhz: np.ndarray) -> np.ndarray:
    return np.where(freq_mhz >= 10.0, (freq_mhz - 10.0) / 18.0, (freq_mhz - 10.0) / 8.2)


feature("distance")(lambda b: b.distance_km / 20000.0)
feature("freq_log")(lambda b: np.log10(b.freq_mhz * 1e6) / 8.0)
feature("hour_sin")(lambda b: np.sin(2 * np.pi * b.hour_utc / 24.0))
feature("hour_cos")(lambda b: np.cos(2 * np.pi * b.hour_utc / 24.0))
feature("az_sin")(lambda b: np.sin(np.radians(b.azimuth_deg)))
feature("az_cos")(lambda b: np.cos(np.radians(b.azimuth_deg)))
feature("lat_diff")(lambda b: np.abs(b.tx_lat - b.rx_lat) / 180.0)
feature("midpoint_lat")(lambda b: (b.tx_lat + b.rx_lat) / 2.0 / 90.0)
feature("season_sin")(lambda b: np.sin(2 * np.pi * b.month / 12.0))
feature("season_cos")(lambda b: np.cos(2 * np.pi * b.month / 12.0))
feature("day_night_est")(lambda b: np.cos(2 * np.pi * (b.hour_utc + (b.tx_lon + b.rx_lon) / 2.0 / 15.0) / 24.0))
feature("mutual_darkness")(lambda b: _darkness(b.hour_utc, b.tx_lon) * _darkness(b.hour_utc, b.rx_lon))
feature("mutual_daylight")(lambda b: (1 - _darkness(b.hour_utc, b.tx_lon)) * (1 - _darkness(b.hour_utc, b.rx_lon)))
feature("vertex_lat")(lambda b: np.degrees(np.arccos(np.clip(
    np.abs(np.sin(np.radians(b.azimuth_deg)) * np.cos(np.radians(b.tx_lat))), 0.0, 1.0))) / 90.0)
feature("tx_solar_dep")(lambda b: b.tx_elevation_deg / 90.0)
feature("rx_solar_dep")(lambda b: b.rx_elevation_deg / 90.0)
feature("freq_x_tx_dark")(lambda b: _freq_centred(b.freq_mhz) * b.tx_elevation_deg / 90.0)
feature("freq_x_rx_dark")(lambda b: _freq_centred(b.freq_mhz) * b.rx_elevation_deg / 90.0)
feature("sfi")(lambda b: b.sfi / 300.0)
feature("kp_penalty")(lambda b: 1.0 - b.kp / 9.0)
feature("band_idx")(lambda b: _band_head(b.freq_mhz))  # V26-α: head of the nearest WSPR band (not a trunk input)
