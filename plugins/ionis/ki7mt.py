"""The KI7MT operator-grounded paths (18 from DN46): raw and override verdicts per path, read at run time."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from plugins.ionis.bands import BAND_IDS
from plugins.ionis.checkpoint import IonisBundle
from plugins.ionis.features import PathBatch
from plugins.ionis.geo import grid_centroid
from plugins.ionis.override import override_batch
from plugins.ionis.predict import predict_sigma
from registry.errors import DataMissing

SHARED_DATA_ENV = "REGISTRY_SHARED_DATA"
KI7MT_FILE = "ionis/ki7mt_test_paths.json"
ACID_TEST = "KI7MT-005"
ORDER_BANDS = ("10m", "15m", "20m", "40m", "80m", "160m")
ORDER_RULES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "order_day": (("10m", "15m", "20m"), ("80m", "160m")),
    "order_night": (("40m", "80m", "160m"), ("10m", "15m")),
}


def shared_data_dir() -> Path:
    """``$REGISTRY_SHARED_DATA`` or ``<repo>/../shared/data`` (third-party files, never in the repository)."""
    env = os.environ.get(SHARED_DATA_ENV)
    return Path(env) if env else Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def load_paths(path: Path | None = None) -> list[dict[str, Any]]:
    """The ``tests`` list of ``ki7mt_test_paths.json``; ``DataMissing`` when the file is absent or unreadable."""
    path = path or shared_data_dir() / KI7MT_FILE
    try:
        tests = json.loads(Path(path).read_text(encoding="utf-8"))["tests"]
    except (OSError, ValueError, KeyError) as exc:
        raise DataMissing(f"KI7MT test paths not available at {path} ({type(exc).__name__}); "
                          f"set {SHARED_DATA_ENV} to the directory holding ionis/ki7mt_test_paths.json") from None
    return list(tests)


@dataclass(frozen=True)
class PathVerdict:
    """One KI7MT path: σ (or band-order Δσ) raw and after the override, and whether each passes."""

    id: str
    name: str
    band: str
    expected: str
    confidence: str
    raw: float
    overridden: float
    rule: str
    raw_pass: bool
    override_pass: bool

    @property
    def hard(self) -> bool:
        return self.confidence == "hard"

    def row(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "band": self.band, "expected": self.expected,
                "confidence": self.confidence, "raw_sigma": round(self.raw, 4),
                "override_sigma": round(self.overridden, 4), "rule": self.rule or "-",
                "raw_pass": self.raw_pass, "override_pass": self.override_pass}


def _judge(expected: str, value: float, threshold: float) -> bool:
    if expected == "positive":
        return value > threshold
    if expected == "negative":
        return value <= threshold
    return value > 0.0  # band-order tests: Δσ(high − low) must be positive


def evaluate_paths(bundle: IonisBundle, tests: list[dict[str, Any]]) -> list[PathVerdict]:
    """Every path judged raw and with the PhysicsOverrideLayer, from one forward pass."""
    rows: list[tuple[int, str]] = []
    for i, t in enumerate(tests):
        bands = ORDER_BANDS if t["expected"] in ORDER_RULES else (t["band"],)
        rows.extend((i, b) for b in bands)
    idx = np.array([i for i, _ in rows])
    pick = [tests[i] for i in idx]
    tx_lat, tx_lon = grid_centroid([t["tx_grid"] for t in pick], column="tx_grid")
    rx_lat, rx_lon = grid_centroid([t["rx_grid"] for t in pick], column="rx_grid")
    batch = PathBatch(tx_lat, tx_lon, rx_lat, rx_lon, bundle.bands.freq_mhz([BAND_IDS[b] for _, b in rows]),
                      *(np.array([t[k] for t in pick], dtype=np.float64)
                        for k in ("hour_utc", "month", "day_of_year", "sfi", "kp")))
    raw = predict_sigma(bundle, batch)
    over = override_batch(raw, batch)
    verdicts = []
    for i, t in enumerate(tests):
        mine = {b: k for k, (j, b) in enumerate(rows) if j == i}
        if t["expected"] in ORDER_RULES:
            high, low = ORDER_RULES[t["expected"]]
            raw_v = float(np.mean([raw[mine[b]] for b in high]) - np.mean([raw[mine[b]] for b in low]))
            over_v = float(np.mean([over.sigma[mine[b]] for b in high]) - np.mean([over.sigma[mine[b]] for b in low]))
            rule = ",".join(sorted({over.rule[k] for k in mine.values() if over.rule[k]}))
        else:
            k = mine[t["band"]]
            raw_v, over_v, rule = float(raw[k]), float(over.sigma[k]), over.rule[k]
        threshold = float(t.get("threshold_sigma") or 0.0)
        verdicts.append(PathVerdict(t["id"], t.get("name", ""), t["band"], t["expected"], t["confidence"], raw_v,
                                    over_v, rule, _judge(t["expected"], raw_v, threshold),
                                    _judge(t["expected"], over_v, threshold)))
    return verdicts


@dataclass(frozen=True)
class KI7MTSummary:
    """The four numbers the V22 release gates hold: hard passes raw and overridden, regressions, acid test."""

    hard_total: int
    raw_hard_passes: int
    override_hard_passes: int
    regressions: tuple[str, ...]
    acid_raw_pass: bool
    acid_override_pass: bool


def summarise(verdicts: list[PathVerdict]) -> KI7MTSummary:
    """Counts over the hard paths; regressions over all paths (raw pass → override fail)."""
    hard = [v for v in verdicts if v.hard]
    acid = next((v for v in verdicts if v.id == ACID_TEST), None)
    if acid is None:
        raise DataMissing(f"KI7MT paths lack the acid test {ACID_TEST}")
    return KI7MTSummary(len(hard), sum(v.raw_pass for v in hard), sum(v.override_pass for v in hard),
                        tuple(v.id for v in verdicts if v.raw_pass and not v.override_pass),
                        acid.raw_pass, acid.override_pass)
