"""AACGM-v2 magnetic latitude at 350 km for many rows at once, with its undefined band and refused dates explicit."""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from registry.errors import InvalidInput

HEIGHT_KM = 350.0


@dataclass(frozen=True)
class MagneticLatitude:
    """``mlat`` in degrees per row; ``undefined`` rows sit in the band around the magnetic equator where AACGM-v2
    has no coordinate at 350 km (their field line's apex is lower): they are set to 0° (the magnetic equator) and
    counted, never replaced by the geographic latitude."""

    mlat: np.ndarray
    undefined: int


@contextlib.contextmanager
def _quiet_c_output():  # aacgmv2's C library prints banners to the process's stdout
    try:
        fd = os.dup(1)
    except OSError:
        yield
        return
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        try:
            yield
        finally:
            os.dup2(fd, 1)
            os.close(fd)


def magnetic_latitude(times: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> MagneticLatitude:
    """AACGM-v2 latitude (G2A, 350 km) of each row; one library call per UTC day (within a day the coefficients
    move mlat by < 0.01°).

    :param times: ``datetime64`` per row (UTC). :param lat: geographic latitude, degrees. :param lon: longitude.
    :raises InvalidInput: AACGM-v2 refuses dates outside its coefficient range; the message names them.
    """
    import aacgmv2

    days = np.asarray(times).astype("datetime64[D]")
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    out = np.full(len(days), np.nan)
    refused: list[str] = []
    order = np.argsort(days, kind="stable")
    uniq, starts = np.unique(days[order], return_index=True)
    bounds = [*starts[1:], len(order)]
    with _quiet_c_output(), io.StringIO() as sink, contextlib.redirect_stdout(sink):
        for day, lo, hi in zip(uniq, starts, bounds, strict=True):
            rows = order[lo:hi]
            when = datetime.fromisoformat(str(day))
            try:
                mlat = aacgmv2.convert_latlon_arr(lat[rows], lon[rows], HEIGHT_KM, when, method_code="G2A")[0]
            except (RuntimeError, ValueError):
                refused.append(str(day))
                continue
            out[rows] = np.asarray(mlat, dtype=np.float64)
    if refused:
        raise InvalidInput(f"AACGM-v2 refuses {len(refused)} day(s) outside its coefficient range, first "
                           f"{refused[0]}, last {refused[-1]}; magnetic latitude is not replaced by geographic")
    undefined = np.isnan(out)
    out[undefined] = 0.0
    return MagneticLatitude(out, int(undefined.sum()))
