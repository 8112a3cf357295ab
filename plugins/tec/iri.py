"""A physics climatology for TEC: IRI-2020 (PyIRI, offline) vertical TEC per location, month and UT hour, driven
by the month's mean observed F10.7 of the evaluation rows."""

from __future__ import annotations

import contextlib
import sys
import types
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from registry.errors import GateError

ALTITUDES_KM = np.arange(90.0, 2000.0, 10.0)  # IRI's bottomside to its 2,000 km topside (no plasmasphere)
MID_MONTH_DAY = 15


def import_pyiri() -> Any:
    """``PyIRI`` without its plotting module (which imports matplotlib.pyplot: half of PyIRI's import time, and
    nothing here draws with it); a later ``import PyIRI.plotting`` still gets the real module."""
    if "PyIRI" in sys.modules:
        return sys.modules["PyIRI"]
    stub = types.ModuleType("PyIRI.plotting")
    sys.modules["PyIRI.plotting"] = stub
    try:
        import PyIRI
        import PyIRI.main_library  # noqa: F401
    finally:
        if sys.modules.get("PyIRI.plotting") is stub:
            del sys.modules["PyIRI.plotting"]
        if getattr(sys.modules.get("PyIRI"), "plotting", None) is stub:
            delattr(sys.modules["PyIRI"], "plotting")
    return PyIRI


class FixedE15Reader:
    """Reads the one record format of PyIRI's CCIR/URSI coefficient files, ``(1X,4E15.8)``, as
    ``fortranformat.FortranRecordReader`` does (four 15-character fields after one blank; a field past the end of a
    short line is None) — about 10× faster; tested equal on every line of every file."""

    FORMAT = "(1X,4E15.8)"

    def __init__(self, fmt: str) -> None:
        if fmt != self.FORMAT:
            raise ValueError(f"only {self.FORMAT} is read here, not {fmt}")

    def read(self, line: str) -> list[float | None]:
        body = line.rstrip("\r\n")
        out: list[float | None] = []
        for k in range(4):
            start = 1 + 15 * k
            field = body[start:start + 15].strip()
            out.append(None if start >= len(body) else float(field.replace("D", "E")) if field else 0.0)
        return out


@contextlib.contextmanager
def fast_coefficients() -> Iterator[Any]:
    """PyIRI's ``main_library`` with its coefficient reader memoised by month for the duration (the 24 months of a
    test window read 12 monthly files instead of 48 times) and with ``FixedE15Reader`` in place of the general
    Fortran format reader; both restored afterwards. Each call gets its own copies of the arrays."""
    import_pyiri()
    import PyIRI.main_library as iri

    original: Callable[..., Any] = iri.read_ccir_ursi_coeff
    reader = iri.FortranRecordReader
    cache: dict[tuple[Any, ...], tuple[np.ndarray, ...]] = {}

    def read(mth: int, coeff_dir: str, *args: Any, **kwargs: Any) -> tuple[np.ndarray, ...]:
        key = (mth, coeff_dir, args, tuple(sorted(kwargs.items())))
        if key not in cache:
            cache[key] = tuple(original(mth, coeff_dir, *args, **kwargs))
        return tuple(np.array(a, copy=True) for a in cache[key])

    iri.read_ccir_ursi_coeff, iri.FortranRecordReader = read, FixedE15Reader
    try:
        yield iri
    finally:
        iri.read_ccir_ursi_coeff, iri.FortranRecordReader = original, reader


def iri_tec_table(year: int, month: int, f107: float, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """IRI TEC (TECU) of ``(24 UT hours, locations)`` on the 15th of the month (PyIRI interpolates monthly
    coefficients, so the day within a month changes little)."""
    PyIRI = import_pyiri()
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
    with fast_coefficients():
        _fill(out, test, latlon[first], loc, months, row_month, target_hours)
    if not np.isfinite(out).all():
        raise GateError("IRI left non-finite TEC for some samples")
    return out


def _fill(out: np.ndarray, test: Mapping[str, np.ndarray], sites: np.ndarray, loc: np.ndarray, months: np.ndarray,
          row_month: np.ndarray, target_hours: np.ndarray) -> None:
    for month in np.unique(months):
        f107 = test["f107"][row_month == month]
        f107 = f107[np.isfinite(f107)]
        if f107.size == 0:  # a target month after the last row: that month's flux is not in the extract
            f107 = test["f107"][np.isfinite(test["f107"])][-24 * 27:]
        year, mon = int(str(month)[:4]), int(str(month)[5:7])
        table = iri_tec_table(year, mon, float(f107.mean()), sites[:, 0], sites[:, 1])
        hit = months == month
        rows = np.nonzero(hit)
        out[hit] = table[(target_hours[hit] % 24), loc[rows[0]]]
