"""SYNTHETIC TEC rows with a set Kp, an oracle forecaster and a gate context, for the TEC gates' tests."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from plugins.tec.features import compute_features
from plugins.tec.model import TecConfig
from plugins.tec.sequences import build_samples
from plugins.tec.synthetic import synthetic_drivers, synthetic_rows

STATIONS = (("SYN1", 45.0, 10.0), ("SYN2", -20.0, 130.0))
Make = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def rows(start: str, end: str, seed: int, *, storm_days: int = 3, calm: bool = False) -> dict[str, np.ndarray]:
    """SYNTHETIC rows of both stations for each hour in ``[start, end)`` whose Kp is set, on the thirds grid: calm
    hours cycle 1, 2⅓, 3, 4⅔; on every ``storm_days``-th day (days since 1970), 06–17 UTC cycle 5 (exactly the
    storm limit), 5⅔, 5, 7 — unless ``calm``."""
    hours = np.arange(np.datetime64(start, "h").astype(np.int64), np.datetime64(end, "h").astype(np.int64))
    kp = np.array([1.0, 7 / 3, 3.0, 14 / 3])[hours % 4]
    storm = ((hours // 24) % storm_days == 0) & (hours % 24 >= 6) & (hours % 24 < 18) & (not calm)
    kp = np.where(storm, np.array([5.0, 17 / 3, 5.0, 7.0])[hours % 4], kp)
    drivers = synthetic_drivers(hours, kp=kp, seed=seed)
    # the 81-day mean of weeks of rows would be one value (a stuck driver): a scaled copy of F10.7 stands in
    drivers["f107_81"] = 0.9 * drivers["f107"] + 10.0
    return synthetic_rows(start, end, STATIONS, seed=seed, drivers=drivers)


def good(truth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The truth plus noise of 0.3 of its spread: a genuinely good forecast."""
    return truth + rng.normal(0, 0.3 * truth.std(), truth.shape)


@dataclass
class Version:
    lineage: dict[str, Any]
    ref: str = "tec@1"


class Oracle:
    """A forecaster that knows the SYNTHETIC truth and Kp of each test window's target hours: its TEC is
    ``make(truth)`` (the truth itself without one), its storm probabilities ``storm(Kp)`` (0.1 without one)."""

    def __init__(self, test: dict[str, np.ndarray], make: Make | None = None, storm: Make | None = None) -> None:
        self.model = type("M", (), {"config": TecConfig()})()
        s = build_samples(compute_features(test), test["tec"])
        self.known = {x.tobytes(): (t, test["kp"][r]) for x, t, r in zip(s.x, s.target, s.target_row, strict=True)}
        self.make, self.storm = make, storm

    def forecast(self, x: np.ndarray) -> dict[str, np.ndarray]:
        truth = np.stack([self.known[w.tobytes()][0] for w in x])
        kp = np.stack([self.known[w.tobytes()][1] for w in x])
        tec = truth if self.make is None else self.make(truth, np.random.default_rng(0))
        p = np.full_like(tec, 0.1) if self.storm is None else self.storm(kp, np.random.default_rng(0))
        return {"tec": tec, "storm_probability": p, "storm": np.zeros(len(x)), "uncertainty": np.zeros(len(x))}


@dataclass
class Ctx:
    """The part of the gate context the TEC gates use: one pinned ``tec-hourly`` extract, a memo, seeded streams."""

    model: Any
    table: pa.Table | None = None
    version: Version = field(default_factory=lambda: Version({}))
    seed: int = 0
    _memo: dict[str, Any] = field(default_factory=dict)

    def extract(self, name: str, *, params: Any = None, split: str | None = None) -> pa.Table:
        assert name == "tec-hourly" and params == {} and split is None and self.table is not None
        return self.table

    def memo(self, key: str, compute: Callable[[], Any]) -> Any:
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def rng(self, stream: str = "") -> np.random.Generator:
        digest = hashlib.sha256(f"{self.seed}:{stream}".encode()).digest()[:8]
        return np.random.default_rng(int.from_bytes(digest, "little"))


def table(*parts: dict[str, np.ndarray]) -> pa.Table:
    """The rows of each part, one after the other, as the one extract."""
    return pa.concat_tables([pa.table({k: pa.array(v) for k, v in p.items()}) for p in parts])
