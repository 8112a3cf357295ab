"""A physics climatology for TEC: IRI-2020 (PyIRI, offline) vertical TEC per location, month and UT hour, driven
by the month's mean observed F10.7 of the evaluation rows."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from registry.errors import GateError

ALTITUDES_KM = np.arange(90.0, 2000.0, 10.0)  # IRI's bottomside to its 2,000 km topside (no plasmasphere)
MID_MONTH_DAY = 15


def iri_tec_table(year: int, month: int, f107: float, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """IRI TEC (TECU) of ``(24 UT hours, locations)`` on the 15th of the month (PyIRI interpolates monthly
    coefficients, so the day within a month changes little)."""
    import PyIRI
    import PyIRI.main_library as iri

    try:
        out = iri.IRI_density_1day(year, month, MID_MONTH_DAY, np.arange(24.0), np.asarray(lon, float),
                                   np.asarray(lat, float), ALTITUDES_KM, float(f107), PyIRI.coeff_dir, 0)
    except Exception as exc:  # PyIRI raises plain exceptions on bad inputs
        raise GateError(f"IRI for {year}-{month:02d} (F10.7 {f107:.1f}) failed: {exc}") from None
    density = np.asarray(out[-1], dtype=np.float64)  # (hours, altitudes, locations), electrons per m³
    return density.sum(axis=1) * 10e3 / 1e16


def iri_forecast(test: Mapping[str, np.ndarray], latlon: np.ndarray, target_hours: np.ndarray) -> np.ndarray:
    """IRI TEC at every sample's location and target hour (m, leads)."""
    key = np.round(latlon * 1e6).astype(np.int64)
    uniq, loc = np.unique(key[:, 0] * 10**10 + key[:, 1], return_inverse=True)
    first = np.array([np.flatnonzero(loc == i)[0] for i in range(len(uniq))])
    t = target_hours.astype("datetime64[h]")
    months = t.astype("datetime64[M]")
    row_month = test["time"].astype("datetime64[M]")
    out = np.full(target_hours.shape, np.nan)
    for month in np.unique(months):
        f107 = test["f107"][row_month == month]
        f107 = f107[np.isfinite(f107)]
        if f107.size == 0:  # a target month after the last row: that month's flux is not in the extract
            f107 = test["f107"][np.isfinite(test["f107"])][-24 * 27:]
        year, mon = int(str(month)[:4]), int(str(month)[5:7])
        table = iri_tec_table(year, mon, float(f107.mean()), latlon[first, 0], latlon[first, 1])
        hit = months == month
        rows = np.nonzero(hit)
        out[hit] = table[(target_hours[hit] % 24), loc[rows[0]]]
    if not np.isfinite(out).all():
        raise GateError("IRI left non-finite TEC for some samples")
    return out
