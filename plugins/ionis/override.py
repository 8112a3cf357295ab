"""The V22 PhysicsOverrideLayer: a reported post-processing step that clamps physically closed paths to −2σ."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plugins.ionis.features import PathBatch

CLOSED_SIGMA = -2.0
RULES: tuple[str, ...] = ("A", "B", "C-severe", "C-moderate")
RULE_TEXT: dict[str, str] = {
    "A": "f ≥ 21 MHz with both ends darker than −6° (civil twilight)",
    "B": "f ≥ 21 MHz with the transmitter darker than −18° (astronomical night)",
    "C-severe": "f ≤ 4 MHz, > 1500 km, either end sunlit (D-layer absorption)",
    "C-moderate": "4 < f ≤ 7.5 MHz, > 1500 km, both ends sunlit",
}


@dataclass(frozen=True)
class OverrideResult:
    """Overridden σ, the rule that fired per row (``""`` where none changed it) and changes per rule."""

    sigma: np.ndarray
    rule: np.ndarray
    counts: dict[str, int]

    @property
    def changed(self) -> int:
        return sum(self.counts.values())


def apply_override(sigma: np.ndarray, freq_mhz: np.ndarray, distance_km: np.ndarray,
                   el_tx: np.ndarray, el_rx: np.ndarray) -> OverrideResult:
    """Apply rules A, B, C-severe, C-moderate (first match wins) to rows with σ > −2; those become −2."""
    sigma = np.asarray(sigma, dtype=np.float64)
    f, d = np.asarray(freq_mhz), np.asarray(distance_km)
    conditions = {
        "A": (f >= 21.0) & (el_tx < -6.0) & (el_rx < -6.0),
        "B": (f >= 21.0) & (el_tx < -18.0),
        "C-severe": (f <= 4.0) & (d > 1500.0) & ((el_tx > 0.0) | (el_rx > 0.0)),
        "C-moderate": (f > 4.0) & (f <= 7.5) & (d > 1500.0) & (el_tx > 0.0) & (el_rx > 0.0),
    }
    open_now = sigma > CLOSED_SIGMA
    taken = np.zeros(sigma.shape, dtype=bool)
    rule = np.full(sigma.shape, "", dtype=object)
    counts: dict[str, int] = {}
    for name in RULES:
        fire = conditions[name] & open_now & ~taken
        rule[fire] = name
        counts[name] = int(fire.sum())
        taken |= fire
    return OverrideResult(sigma=np.where(taken, CLOSED_SIGMA, sigma), rule=rule, counts=counts)


def override_batch(sigma: np.ndarray, batch: PathBatch) -> OverrideResult:
    """``apply_override`` with frequency, distance and sun elevations taken from ``batch``."""
    return apply_override(sigma, batch.freq_mhz, batch.distance_km, batch.tx_elevation_deg, batch.rx_elevation_deg)
