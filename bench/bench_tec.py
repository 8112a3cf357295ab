"""TEC family: the 24 features for 10 years of hourly rows (vectorised vs a per-row loop, upstream's style) and the
whole tec-release suite on ~17,500 forecast pairs with 1,000 bootstrap resamples. Data is SYNTHETIC."""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa

from plugins.tec.features import compute_features
from plugins.tec.gates import TecThresholds
from plugins.tec.model import TecConfig
from plugins.tec.suites import tec_suite
from plugins.tec.synthetic import synthetic_rows


def per_row_features(rows: dict[str, np.ndarray], n: int) -> None:
    """One row at a time with one AACGM-v2 call per row, as upstream's loop did (its numbers are not used)."""
    import aacgmv2

    for i in range(n):
        t = datetime.fromisoformat(str(rows["time"][i]))
        mlat = aacgmv2.get_aacgm_coord(rows["lat"][i], rows["lon"][i], 350.0, t)[0]
        hour, doy = t.hour, t.timetuple().tm_yday
        prev = max(i - 1, 0)
        _ = [rows["tec"][i] / 100, rows["tec_std"][i] / 20, rows["kp"][i] / 9, rows["dst"][i] / 100,
             rows["sw_speed"][i] / 1000, rows["sw_density"][i] / 20, rows["bz"][i] / 20, rows["f107"][i] / 300,
             rows["f107_81"][i] / 300, math.sin(2 * math.pi * hour / 24), math.cos(2 * math.pi * hour / 24),
             math.sin(2 * math.pi * doy / 365), math.cos(2 * math.pi * doy / 365),
             min(max(rows["sw_density"][i] * rows["sw_speed"][i] ** 2 * 1.6726e-6 / 10, 0), 1),
             1 / (1 + abs(rows["bz"][i]) / 10), (rows["tec"][i] - rows["tec"][prev]) / 100,
             math.sin(2 * math.pi * mlat / 180), math.cos(2 * math.pi * mlat / 180), ((t.year - 2019) % 11) / 11,
             (rows["kp"][i] - rows["kp"][prev]) / 9, (rows["dst"][i] - rows["dst"][prev]) / 100,
             0.5 + 0.5 * math.cos(2 * math.pi * (((hour + rows["lon"][i] / 15) % 24) - 12) / 24),
             ((doy - 355) / 365) % 1, float(55 <= abs(mlat) <= 75)]


class Forecaster:
    """Truth plus noise, looked up by the window's bytes: costs nothing next to the gates being timed."""

    def __init__(self, truth: dict[bytes, np.ndarray]) -> None:
        self.model = type("M", (), {"config": TecConfig()})()
        self.truth = truth

    def forecast(self, x: np.ndarray) -> dict[str, np.ndarray]:
        t = np.stack([self.truth[w.tobytes()] for w in x])
        tec = t + np.random.default_rng(0).normal(0, 0.3 * t.std(), t.shape)
        return {"tec": tec, "storm_probability": np.zeros_like(tec), "storm": np.zeros(len(x)),
                "uncertainty": np.zeros(len(x))}


class Ctx:
    def __init__(self, model: Any, tables: dict[str, pa.Table]) -> None:
        self.model, self.tables, self.seed, self.device = model, tables, 0, "cpu"
        self.champion = self.champion_model = None
        self.version = type("V", (), {"lineage": {"training": {"split": {
            "method": "temporal", "train": {"first": "2015-01-01T00:00:00", "last": "2022-12-31T23:00:00"}}}}})()
        self._memo: dict[str, Any] = {}

    def extract(self, name: str, *, params: Any = None, split: str | None = None) -> pa.Table:
        return pa.concat_tables([self.tables["train"], self.tables["test"]])  # gates cut the spec's windows

    def memo(self, key: str, compute: Callable[[], Any]) -> Any:
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def rng(self, stream: str = "") -> np.random.Generator:
        return np.random.default_rng(int.from_bytes(hashlib.sha256(stream.encode()).digest()[:8], "little"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--loop-rows", type=int, default=5000, help="rows the per-row loop runs (rate extrapolated)")
    ap.add_argument("--suite-only", action="store_true", help="skip the features comparison")
    args = ap.parse_args()
    rows = synthetic_rows("2015-01-01", "2025-01-01", seed=1)
    n = len(rows["tec"])
    if not args.suite_only:
        t0 = time.perf_counter()
        compute_features(rows)
        vec = time.perf_counter() - t0
        t0 = time.perf_counter()
        per_row_features(rows, args.loop_rows)
        loop = (time.perf_counter() - t0) / args.loop_rows * n
        print(f"features, {n:,} hourly rows × 24 incl. AACGM-v2: vectorised {vec:.2f} s ({n / vec:,.0f} rows/s); "
              f"per-row loop {n / loop:,.0f} rows/s (measured on {args.loop_rows:,} rows) → {loop / vec:.0f}× faster")

    from plugins.tec.sequences import build_samples

    t = rows["time"]
    split = {"train": t < np.datetime64("2023-01-01"), "test": t >= np.datetime64("2023-01-01")}
    parts = {k: {c: v[m] for c, v in rows.items()} for k, m in split.items()}
    s = build_samples(compute_features(parts["test"]), parts["test"]["tec"])
    model = Forecaster({x.tobytes(): y for x, y in zip(s.x, s.target, strict=True)})
    tables = {k: pa.table({c: pa.array(v) for c, v in p.items()}) for k, p in parts.items()}
    ctx = Ctx(model, tables)
    timings: dict[str, float] = {}
    cpu: dict[str, float] = {}
    outcomes = {}
    load = os.getloadavg()[0]
    for gate in tec_suite(TecThresholds(n_resamples=1000)).gates:
        t0, c0 = time.perf_counter(), time.process_time()
        outcomes[gate.name] = gate.evaluate(ctx)
        timings[gate.name] = time.perf_counter() - t0
        cpu[gate.name] = time.process_time() - c0
    suite, suite_cpu = sum(timings.values()), sum(cpu.values())
    print(f"tec-release suite: {len(s):,} forecast pairs × 24 leads, 1,000 resamples: {suite:.2f} s wall, "
          f"{suite_cpu:.2f} CPU-s (target < 3 s), of which skill-vs-iri (PyIRI import and 24 months) "
          f"{timings['skill-vs-iri']:.2f} s / {cpu['skill-vs-iri']:.2f} CPU-s; "
          f"{sum(o.passed for o in outcomes.values())}/{len(outcomes)} gates passed")
    print("slowest gates (wall / CPU s): " + ", ".join(f"{k} {timings[k]:.2f}/{cpu[k]:.2f}" for k in sorted(
        timings, key=timings.__getitem__, reverse=True)[:4]))
    print(f"load average {load:.1f} before the suite, {os.getloadavg()[0]:.1f} after, on {os.cpu_count()} CPUs "
          "(numpy here runs on one core: on a busy machine wall time exceeds CPU time)")


if __name__ == "__main__":
    main()
