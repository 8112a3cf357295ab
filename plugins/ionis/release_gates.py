"""Gates of the later releases' own batteries: thresholds from the config, V24's ignored SFI, V25's band
spread of the SFI benefit, V26-α's acid test with its nine TST scenarios."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from gates.base import Gate, GateContext, Outcome, Threshold, table
from plugins.ionis.features import PathBatch
from plugins.ionis.gates import SCENARIO_COLUMNS, battery_figures, bundle_of, inputs_note
from plugins.ionis.physics import SFI_LEVELS, _sweep, not_applicable, random_paths
from plugins.ionis.predict import predict_sigma
from plugins.ionis.scenarios import Scenario, run_battery
from registry.errors import DataMissing

ACID_PATH = ((33.5, -105.5), (48.5, 13.5))
"""V26-α acid test DN13 → JN48 with the coordinates upstream's test uses (not the grid centroids)."""
ACID = {"freq_band": 111, "hour_utc": 2.0, "month": 2, "day_of_year": 45, "sfi": 150.0, "kp": 2.0}


@dataclass
class ValidationGate:
    """A gate held to the candidate config's ``validation[key]`` (compared with ``op``); a config without that
    key cannot be judged by it, and the gate errors (fail closed)."""

    name: str
    key: str
    op: str
    make: Callable[[Threshold], Gate]
    version: str = "1"
    description: str = ""

    def evaluate(self, ctx: GateContext) -> Outcome:
        bundle = bundle_of(ctx)
        block = (bundle.config or {}).get("validation") or {}
        limit = block.get(self.key)
        if isinstance(limit, bool) or not isinstance(limit, int | float) or not math.isfinite(limit):
            raise DataMissing(f"{self.name} takes its threshold from the config's validation.{self.key}, "
                              f"which {'is not a number' if self.key in block else 'is absent'}")
        outcome = self.make(Threshold(self.op, limit)).evaluate(ctx)
        return replace(outcome, details={**outcome.details, "threshold_source": f"config validation.{self.key}"})


@dataclass
class SfiIgnoredGate:
    """An architecture without a sun sidecar ignores SFI: σ is the same at every SFI on every random path."""

    name: str = "physics-sfi-ignored"
    paths: int = 256
    tolerance: float = 1e-6
    version: str = "1"
    description: str = "σ does not change with SFI 50 → 400 (no sun sidecar: the SFI input is unused)"

    def evaluate(self, ctx: GateContext) -> Outcome:
        bundle = bundle_of(ctx)
        if bundle.arch.has_sun:
            raise not_applicable(bundle, self.name, "it has a sun sidecar, so SFI is meant to move σ")
        sigma = _sweep(bundle, random_paths(ctx.rng(self.name), self.paths, bundle=bundle), "sfi", SFI_LEVELS)
        spread = float((sigma.max(axis=1) - sigma.min(axis=1)).max())
        return Outcome.held_to(spread, Threshold("<=", self.tolerance),
                               f"largest σ change with SFI over {self.paths} paths: {spread:.2e}σ",
                               details={**inputs_note(bundle), "paths": self.paths,
                                        "levels": " → ".join(f"{v:g}" for v in SFI_LEVELS)})


@dataclass
class SfiBandSpreadGate:
    """V25: the raw sun sidecar's SFI 70 → 200 benefit at 10 m minus at 160 m (the sidecar reads log frequency)."""

    threshold: Threshold
    name: str = "sfi-band-spread"
    version: str = "1"
    description: str = "ΔSFI(10 m) − ΔSFI(160 m) of the raw sun sidecar > 0.1σ (V25's band-aware sun sidecar)"

    def evaluate(self, ctx: GateContext) -> Outcome:
        bundle = bundle_of(ctx)
        sun = bundle.arch.sidecar("sun")
        if sun is None or "freq_log" not in sun.inputs:
            raise not_applicable(bundle, self.name, "its sun sidecar does not read the frequency")
        rows = [{"band": b, "sfi_benefit": round(bundle.module.sfi_benefit(math.log10(bundle.bands.dial_hz[b]) / 8),
                                                 6)} for b in sorted(bundle.bands.dial_hz)]
        by_band = {r["band"]: r["sfi_benefit"] for r in rows}
        value = by_band[111] - by_band[102]
        return Outcome.held_to(value, self.threshold,
                               f"ΔSFI 10 m {by_band[111]:+.4f}σ − 160 m {by_band[102]:+.4f}σ = {value:+.4f}σ "
                               f"(needs {self.threshold})",
                               details={"table": table(rows, ("band", "sfi_benefit"), "raw sun sidecar SFI 70 → 200")})


@dataclass
class AcidBatteryGate:
    """V26-α's own battery: the acid test (10 m DN13 → JN48, 02 UTC, doy 45, SFI 150, Kp 2: σ ≤ 0) plus TST
    scenarios, counted together."""

    name: str
    battery: tuple[Scenario, ...]
    threshold: Threshold
    version: str = "1"
    description: str = ""

    def evaluate(self, ctx: GateContext) -> Outcome:
        bundle = bundle_of(ctx)
        (tx_lat, tx_lon), (rx_lat, rx_lon) = ACID_PATH
        one = np.ones(1)
        batch = PathBatch(tx_lat * one, tx_lon * one, rx_lat * one, rx_lon * one,
                          bundle.bands.freq_mhz([int(ACID["freq_band"])]),
                          *(ACID[k] * one for k in ("hour_utc", "month", "day_of_year", "sfi", "kp")))
        acid = float(predict_sigma(bundle, batch)[0])
        results = run_battery(bundle, self.battery)
        rows: list[dict[str, Any]] = [{"id": "ACID", "scenario": "10m night closure DN13 → JN48, Feb, 02 UTC",
                                       "rule": "σ ≤ 0", "measured": round(acid, 3), "unit": "σ",
                                       "passed": acid <= 0.0}]
        rows += [{"id": r.id, "scenario": r.title, "rule": r.rule, "measured": round(r.value, 3), "unit": r.unit,
                  "passed": r.passed} for r in results]
        passed = [r["id"] for r in rows if r["passed"]]
        message = (f"{len(passed)}/{len(rows)} pass ({', '.join(passed) or 'none'}; acid test {acid:+.3f}σ); "
                   f"needs {self.threshold}")
        return Outcome.held_to(len(passed), self.threshold, message,
                               details={**inputs_note(bundle),
                                        "table": table(rows, SCENARIO_COLUMNS, "acid test + TST scenarios"),
                                        "acid_sigma": acid}, figures=battery_figures(results))

