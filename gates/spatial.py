"""Scores of 2-D fields: fractions skill score by summed-area tables, radially averaged power spectrum."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from gates.ensemble import as_float_array
from registry.errors import GateError


def field_pair(fcst: Any, obs: Any) -> tuple[np.ndarray, np.ndarray]:
    """Checked 2-D fields of one shape (NaN allowed: it is never an event)."""
    f = as_float_array("fcst", fcst)
    o = as_float_array("obs", obs)
    if f.ndim != 2:
        raise GateError(f"fcst must be a 2-D field, got shape {f.shape}")
    if f.shape != o.shape:
        raise GateError(f"fcst shape {f.shape} does not match obs shape {o.shape}")
    return f, o


def windows_of(windows: int | Sequence[int], shape: tuple[int, ...]) -> tuple[int, ...]:
    """Square neighbourhood sizes, each ≥ 1 and no larger than the field."""
    ws = (windows,) if isinstance(windows, int | np.integer) else tuple(windows)
    if not ws:
        raise GateError("windows is empty: give at least one neighbourhood size")
    for w in ws:
        if isinstance(w, bool) or not isinstance(w, int | np.integer) or w < 1:
            raise GateError(f"windows must be positive ints, got {w!r}")
        if w > min(shape):
            raise GateError(f"window {w} does not fit a field of shape {shape}")
    return tuple(int(w) for w in ws)


def window_sums(binary: np.ndarray, w: int) -> np.ndarray:
    """Sum of every w × w window lying wholly inside the field, from one summed-area table (no loop over pixels)."""
    table = np.zeros((binary.shape[0] + 1, binary.shape[1] + 1), dtype=np.int64)
    np.cumsum(np.cumsum(binary, axis=0, dtype=np.int64), axis=1, out=table[1:, 1:])
    return np.asarray(table[w:, w:] - table[:-w, w:] - table[w:, :-w] + table[:-w, :-w])


def fss_terms(fb: np.ndarray, ob: np.ndarray, w: int) -> tuple[float, float]:
    """``(Σ (Pf − Po)², Σ Pf² + Σ Po²)`` over the windows of binary fields (fractions of the window's area)."""
    pf = window_sums(fb, w).astype(np.float64) / (w * w)
    po = window_sums(ob, w).astype(np.float64) / (w * w)
    return float(np.sum((pf - po) ** 2)), float(np.sum(pf * pf) + np.sum(po * po))


def fss(fcst: Any, obs: Any, threshold: float, windows: int | Sequence[int]) -> list[float]:
    """Fractions skill score of the event ``field > threshold`` for each square neighbourhood size, over the
    windows that lie wholly inside the field: 1 − Σ(Pf − Po)² / (ΣPf² + ΣPo²). NaN where neither field has an
    event (nothing to match)."""
    f, o = field_pair(fcst, obs)
    ws = windows_of(windows, f.shape)
    fb, ob = (f > threshold).astype(np.int8), (o > threshold).astype(np.int8)
    out = []
    for w in ws:
        num, den = fss_terms(fb, ob, w)
        out.append(1 - num / den if den > 0 else float("nan"))
    return out


def power_spectrum(field: Any) -> tuple[np.ndarray, np.ndarray]:
    """Radially averaged power spectrum of a 2-D field: ``(wavenumber k = 1 … min(ny, nx)//2, mean |F|²)`` over
    rings of integer radius in cycles per domain (mean removed first). Compare a generated sample's spectrum with
    the truth's at high k: a sampler that smooths loses power there."""
    f = as_float_array("field", field).astype(np.float64, copy=False)
    if f.ndim != 2 or min(f.shape) < 4:
        raise GateError(f"field must be 2-D with at least 4 points a side, got shape {f.shape}")
    if not np.isfinite(f).all():
        raise GateError("field holds non-finite values")
    power = np.abs(np.fft.fft2(f - f.mean())) ** 2 / f.size
    ky = np.fft.fftfreq(f.shape[0]) * f.shape[0]
    kx = np.fft.fftfreq(f.shape[1]) * f.shape[1]
    radius = np.rint(np.hypot(ky[:, None], kx[None, :])).astype(np.int64).ravel()
    kmax = min(f.shape) // 2
    sums = np.bincount(radius, power.ravel(), minlength=kmax + 1)[1:kmax + 1]
    counts = np.bincount(radius, minlength=kmax + 1)[1:kmax + 1]
    return np.arange(1, kmax + 1), sums / counts
