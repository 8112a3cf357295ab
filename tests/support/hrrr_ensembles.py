"""SYNTHETIC HRRR-like ensembles with known calibration for the hrrr_ddpm scoring and gate tests."""

from __future__ import annotations

from typing import Any

import numpy as np

from plugins.hrrr_ddpm.scoring import VARIABLES

SCALE = np.array([12.0, 3.0, 3.0, 2.0, 2.0, 600.0, 40.0])  # physical-ish spreads (dBZ, K, K, m/s, m/s, J/kg, J/kg)
OFFSET = np.array([20.0, 295.0, 290.0, 0.0, 0.0, 800.0, -50.0])


def smooth(rng: np.random.Generator, shape: tuple[int, ...], width: int = 3) -> np.ndarray:
    """Gaussian noise smoothed by a box of ``width`` along the last two axes, rescaled to unit std (SYNTHETIC)."""
    z = rng.normal(size=shape)
    kernel = np.ones(width) / width
    for axis in (-1, -2):
        z = np.apply_along_axis(lambda v: np.convolve(v, kernel, mode="same"), axis, z)
    return np.asarray(z / z.std())


def synthetic_case(seed: int, m: int = 8, h: int = 24, w: int = 20, *, spread: float = 1.0,
                   bias: float = 0.0, k: int = 6) -> dict[str, np.ndarray]:
    """A SYNTHETIC case whose truth and members are draws from one distribution about a shared mean (a calibrated
    ensemble when ``spread`` is 1 and ``bias`` 0); REFC and CAPE floored at 0 so they hold ties."""
    rng = np.random.default_rng(seed)
    c = len(VARIABLES)
    mean = smooth(rng, (c, h, w))
    def draw(n: int, s: float = 1.0) -> np.ndarray:
        x = (mean[None] + s * smooth(rng, (n, c, h, w))) * SCALE[None, :, None, None] + OFFSET[None, :, None, None]
        x[:, [0, 5]] = np.maximum(x[:, [0, 5]], 0.0)
        return x.astype(np.float32)
    truth = draw(1)[0]
    members = draw(m, spread)
    members += np.float32(bias) * SCALE[None, :, None, None].astype(np.float32)
    return {"members": members, "truth": truth, "persistence": draw(1)[0], "climatology": draw(k, 1.5)}


def synthetic_series(n: int = 8, h: int = 24, w: int = 24, seed: int = 0) -> dict[str, np.ndarray]:
    """SYNTHETIC states (n, h, w) per variable: smooth fields advected one cell east per step plus a little noise,
    in physical-ish units; REFC and CAPE floored at 0."""
    rng = np.random.default_rng(seed)
    c = len(VARIABLES)
    base = smooth(rng, (c, h, w + n))
    out = {}
    for i, v in enumerate(VARIABLES):
        frames = np.stack([base[i, :, t:t + w] for t in range(n)]) + 0.05 * rng.normal(size=(n, h, w))
        x = frames * SCALE[i] + OFFSET[i]
        out[v] = (np.maximum(x, 0.0) if v in ("REFC", "CAPE") else x).astype(np.float32)
    return out


def register_series(home: Any, name: str, series: dict[str, np.ndarray]) -> Any:
    """``series`` written as upstream's layout (one .npy per variable) and registered as dataset ``name``."""
    from pathlib import Path

    from cache.datasets import DatasetStore
    from cache.gridded_input import open_input

    folder = Path(home) / f"{name}-npy"
    folder.mkdir(parents=True, exist_ok=True)
    for v, values in series.items():
        np.save(folder / f"{v}.npy", values)
    store = DatasetStore(Path(home))
    ref, _ = store.register(name, open_input([folder]))
    return store.open(ref)
