"""SYNTHETIC HRRR-like cases: advected Gaussian random fields with intermittent convective cells, known statistics.

Not observations, not HRRR output. The generating model (all in grid cells and steps):

- Six independent stationary Gaussian random fields h1 … h6, each of zero mean and unit variance with a Gaussian
  covariance of length ℓ (``correlation_length`` × the shorter side, at least 1.5 cells). Each evolves as an AR(1)
  along the flow, h_n(x) = ρ·h_{n−1}(x − c) + √(1−ρ²)·new_n(x), c = ``drift`` cells per step (periodic grid; the
  shift is applied in Fourier space), so the lag-one correlation along the flow is exactly ρ.
- T2M = 295 + 3·h1 K. D2M = T2M − (2 + 4·exp(0.5·h2)) K (a log-normal dewpoint depression, so D2M < T2M − 2).
  U10 = 3 + 4·h3, V10 = 1 + 4·h4 m/s. CAPE = 500·exp(g5) J/kg with g5 = 0.6·h1 + 0.8·h5 (log-normal, median 500,
  log-sd 1, warmer air holds more CAPE). CIN = −50·exp(0.7·h6) J/kg.
- REFC = max(−10, max over active cells of P − 20·(d/r)²) dBZ, d the periodic distance to a cell's centre. Cells
  are born at uniformly random places as a Poisson process (``cells_per_kcell``/lifetime per 1000 cells per step),
  each lives a geometric number of steps (mean ``cell_lifetime``), moves with the drift, and has a peak
  P ~ U(40, 60) dBZ and radius r ~ U(1.5, 3) cells; the number active at any step is Poisson with mean
  ``cells_per_kcell`` × H·W / 1000, and one cell covers π·r²·(P − 35)/20 cells above 35 dBZ.

:func:`known_statistics` gives the moments these imply; tests compare the generated fields with them.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

VARIABLES = ("REFC", "T2M", "D2M", "U10", "V10", "CAPE", "CIN")
UNITS = {"REFC": "dBZ", "T2M": "K", "D2M": "K", "U10": "m/s", "V10": "m/s", "CAPE": "J/kg", "CIN": "J/kg"}
LABEL = "SYNTHETIC (plugins.hrrr_ddpm.synthetic): advected Gaussian random fields and convective cells; not HRRR data"
REFC_FLOOR = -10.0
FALLOFF = 20.0  # dBZ lost at one radius from a cell's centre


@dataclass(frozen=True)
class SyntheticModel:
    """The parameters of the generating model (see the module docstring)."""

    correlation_length: float = 0.125
    rho: float = 0.9
    drift: tuple[float, float] = (0.5, 1.0)
    cells_per_kcell: float = 1.0
    cell_lifetime: float = 6.0
    cell_peak: tuple[float, float] = (40.0, 60.0)
    cell_radius: tuple[float, float] = (1.5, 3.0)

    def __post_init__(self) -> None:
        if not (0 < self.correlation_length <= 1 and 0 <= self.rho < 1 and self.cells_per_kcell >= 0
                and self.cell_lifetime >= 1 and all(math.isfinite(v) for v in self.drift)
                and 0 < self.cell_radius[0] <= self.cell_radius[1] and self.cell_peak[0] <= self.cell_peak[1]):
            raise ValueError(f"invalid synthetic model parameters: {self}")


@dataclass(frozen=True, eq=False)
class SyntheticCase:
    """One SYNTHETIC case: per-variable float32 (N, H, W) in physical units, z-score stats, coordinates, cell counts."""

    data: dict[str, np.ndarray]
    stats: dict[str, dict[str, float]]
    lat: np.ndarray
    lon: np.ndarray
    cells: np.ndarray
    seed: int
    model: SyntheticModel = field(default_factory=SyntheticModel)
    label: str = LABEL

    @property
    def shape(self) -> tuple[int, int, int]:
        """(N, H, W)."""
        n, h, w = self.data[VARIABLES[0]].shape
        return n, h, w

    def stack(self, *, normalised: bool = True) -> np.ndarray:
        """All variables as float32 (N, 7, H, W) in :data:`VARIABLES` order, z-scored with :attr:`stats` by default."""
        out = np.stack([self.data[v] for v in VARIABLES], axis=1)
        if normalised:
            mean = np.array([self.stats[v]["mean"] for v in VARIABLES], dtype=np.float64)[None, :, None, None]
            std = np.array([self.stats[v]["std"] for v in VARIABLES], dtype=np.float64)[None, :, None, None]
            out = (out - mean) / std
        return out.astype(np.float32)

    def pairs(self, *, normalised: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """(condition, target): the state at step n and at step n + 1, each (N − 1, 7, H, W)."""
        states = self.stack(normalised=normalised)
        return states[:-1], states[1:]

    def known(self) -> dict[str, dict[str, float]]:
        """:func:`known_statistics` for this case's model and grid."""
        _, h, w = self.shape
        return known_statistics(self.model, h, w)


def known_statistics(model: SyntheticModel, height: int, width: int) -> dict[str, dict[str, float]]:
    """Moments the generating model implies (means and stds; exceedance probabilities; cell counts and coverage)."""
    e = math.exp
    dd_mean, dd_var = 2 + 4 * e(0.125), 16 * (e(0.25) - 1) * e(0.25)
    cells = model.cells_per_kcell * height * width / 1000
    r0, r1 = model.cell_radius
    p0, p1 = model.cell_peak
    mean_r2 = (r0 * r0 + r0 * r1 + r1 * r1) / 3
    above = ((p1 - 35) ** 2 - max(p0 - 35, 0) ** 2) / (2 * (p1 - p0)) if p1 > p0 else max(p0 - 35, 0)
    return {
        "T2M": {"mean": 295.0, "std": 3.0}, "D2M": {"mean": 295.0 - dd_mean, "std": math.sqrt(9 + dd_var)},
        "U10": {"mean": 3.0, "std": 4.0}, "V10": {"mean": 1.0, "std": 4.0},
        "CAPE": {"mean": 500 * e(0.5), "median": 500.0, "p_gt_1000": _upper(math.log(2)),
                 "p_gt_2500": _upper(math.log(5)), "log_corr_t2m": 0.6},
        "CIN": {"mean": -50 * e(0.245), "median": -50.0},
        "REFC": {"active_cells": cells, "cell_area_gt_35": math.pi * mean_r2 * above / FALLOFF,
                 "p_gt_35_sparse": cells * math.pi * mean_r2 * above / FALLOFF / (height * width)},
        "fields": {"lag_one_correlation": model.rho, "correlation_length": _length(model, height, width)},
    }


def _upper(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2))


def _length(model: SyntheticModel, height: int, width: int) -> float:
    return max(1.5, model.correlation_length * min(height, width))


class _Fields:
    """Six AR(1) Gaussian random fields advected in Fourier space."""

    def __init__(self, model: SyntheticModel, height: int, width: int, rng: np.random.Generator) -> None:
        ky = 2 * np.pi * np.fft.fftfreq(height)[:, None]
        kx = 2 * np.pi * np.fft.fftfreq(width)[None, :]
        gain = np.exp(-(ky**2 + kx**2) * _length(model, height, width) ** 2 / 4)
        if height % 2 == 0:
            gain[height // 2, :] = 0.0  # no Nyquist row/column: a fractional shift keeps the field real
        if width % 2 == 0:
            gain[:, width // 2] = 0.0
        self.gain = gain / np.sqrt(np.mean(gain**2))  # unit variance per point
        self.phase = np.exp(-1j * (ky * model.drift[0] + kx * model.drift[1]))
        self.rho, self.rng, self.shape = model.rho, rng, (6, height, width)
        self.spectra = self._innovation()

    def _innovation(self) -> np.ndarray:
        return np.fft.fft2(self.rng.standard_normal(self.shape)) * self.gain

    def step(self) -> None:
        self.spectra = self.rho * self.phase * self.spectra + math.sqrt(1 - self.rho**2) * self._innovation()

    def values(self) -> np.ndarray:
        return np.fft.ifft2(self.spectra).real


def _reflectivity(cells: np.ndarray, height: int, width: int) -> np.ndarray:
    refc = np.full((height, width), REFC_FLOOR)
    yy, xx = np.arange(height)[:, None], np.arange(width)[None, :]
    for y, x, peak, radius in cells:
        dy = (yy - y + height / 2) % height - height / 2
        dx = (xx - x + width / 2) % width - width / 2
        np.maximum(refc, peak - FALLOFF * (dy**2 + dx**2) / radius**2, out=refc)
    return refc


def _births(model: SyntheticModel, count: int, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    return np.column_stack([rng.uniform(0, height, count), rng.uniform(0, width, count),
                            rng.uniform(*model.cell_peak, count), rng.uniform(*model.cell_radius, count)])


def make_case(n_times: int, height: int, width: int, *, seed: int,
              model: SyntheticModel | None = None) -> SyntheticCase:
    """A SYNTHETIC case of ``n_times`` steps on a ``height`` × ``width`` grid, deterministic for ``seed``.

    :returns: a :class:`SyntheticCase` whose stats are the case's own global mean and std per variable (as upstream).
    """
    if min(n_times, height, width) < 2:
        raise ValueError(f"a synthetic case needs at least 2 steps and a 2 × 2 grid, not {(n_times, height, width)}")
    model = model or SyntheticModel()
    field_rng, cell_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    fields = _Fields(model, height, width, field_rng)
    mean_cells = model.cells_per_kcell * height * width / 1000
    cells = _births(model, int(cell_rng.poisson(mean_cells)), height, width, cell_rng)
    out = {v: np.empty((n_times, height, width), dtype=np.float32) for v in VARIABLES}
    counts = np.empty(n_times, dtype=np.int64)
    for n in range(n_times):
        if n:
            fields.step()
            cells = cells[cell_rng.random(len(cells)) >= 1 / model.cell_lifetime]
            cells[:, 0] = (cells[:, 0] + model.drift[0]) % height
            cells[:, 1] = (cells[:, 1] + model.drift[1]) % width
            born = int(cell_rng.poisson(mean_cells / model.cell_lifetime))
            cells = np.concatenate([cells, _births(model, born, height, width, cell_rng)])
        h = fields.values()
        t2m = 295 + 3 * h[0]
        out["T2M"][n], out["D2M"][n] = t2m, t2m - (2 + 4 * np.exp(0.5 * h[1]))
        out["U10"][n], out["V10"][n] = 3 + 4 * h[2], 1 + 4 * h[3]
        out["CAPE"][n] = 500 * np.exp(0.6 * h[0] + 0.8 * h[4])
        out["CIN"][n] = -50 * np.exp(0.7 * h[5])
        out["REFC"][n] = _reflectivity(cells, height, width)
        counts[n] = len(cells)
    stats = {v: {"mean": float(a.mean(dtype=np.float64)), "std": float(a.std(dtype=np.float64))}
             for v, a in out.items()}
    lat = np.repeat(np.linspace(35.0, 35.0 + 0.027 * (height - 1), height)[:, None], width, axis=1)
    lon = np.repeat(np.linspace(-97.0, -97.0 + 0.033 * (width - 1), width)[None, :], height, axis=0)
    return SyntheticCase(out, stats, lat, lon, counts, seed, model)


def write_upstream_layout(case: SyntheticCase, directory: str | Path) -> list[Path]:
    """Write ``case`` as upstream lays data out: one float32 (N, H, W) ``VAR.npy`` per variable in physical units,
    ``lat.npy``/``lon.npy`` and ``stats.json`` (``{var: {"mean", "std"}}``), plus ``synthetic.json`` saying what it is.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name in VARIABLES:
        np.save(directory / f"{name}.npy", case.data[name])
        written.append(directory / f"{name}.npy")
    for name, coord in (("lat", case.lat), ("lon", case.lon)):
        np.save(directory / f"{name}.npy", coord)
        written.append(directory / f"{name}.npy")
    (directory / "stats.json").write_text(json.dumps(case.stats, indent=1, sort_keys=True))
    note: dict[str, Any] = {"synthetic": True, "description": case.label, "seed": case.seed, "units": UNITS,
                            "variables": list(VARIABLES), "model": asdict(case.model)}
    (directory / "synthetic.json").write_text(json.dumps(note, indent=1))
    return [*written, directory / "stats.json", directory / "synthetic.json"]
