"""Amateur bands: names ↔ IONIS band ids (102–111), WSPR dial frequencies and per-band σ ↔ dB constants."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from registry.errors import InvalidInput

BAND_IDS: dict[str, int] = {
    "160m": 102, "80m": 103, "60m": 104, "40m": 105, "30m": 106,
    "20m": 107, "17m": 108, "15m": 109, "12m": 110, "10m": 111,
}
"""Band name → IONIS band id (the ``band`` column of the signature tables)."""

BAND_NAMES: dict[int, str] = {v: k for k, v in BAND_IDS.items()}

SPEC_DIAL_HZ: dict[int, int] = {
    102: 1_836_600, 103: 3_568_600, 104: 5_287_200, 105: 7_038_600, 106: 10_138_700,
    107: 14_097_100, 108: 18_104_600, 109: 21_094_600, 110: 24_924_600, 111: 28_124_600,
}
"""WSPR dial frequencies of the spec; used only when a version has no config (V21-α)."""

SPEC_WSPR_NORM: dict[int, tuple[float, float]] = {
    102: (-18.04, 6.9), 103: (-17.90, 6.9), 104: (-17.60, 7.1), 105: (-17.34, 6.6), 106: (-18.07, 6.5),
    107: (-17.53, 6.7), 108: (-18.35, 7.0), 109: (-18.32, 6.6), 110: (-18.76, 6.6), 111: (-17.86, 6.5),
}
"""Per-band WSPR (mean, std) in dB, identical in every released config; used when a version has no config."""


@dataclass(frozen=True)
class BandPlan:
    """Dial frequency and WSPR normalisation of each band for one version."""

    dial_hz: Mapping[int, int]
    wspr_norm: Mapping[int, tuple[float, float]]
    source_norm: Mapping[str, Mapping[int, tuple[float, float]]] = field(default_factory=dict)
    """Per source (``wspr``, ``rbn``, …) the per-band constants a training target is normalised with."""

    def norm(self, source: str) -> Mapping[int, tuple[float, float]]:
        """The per-band (mean, std) of ``source``; contest rows use the WSPR constants, as upstream trained."""
        if source in ("wspr", "contest"):
            return self.wspr_norm
        if source not in self.source_norm:
            known = ", ".join(sorted({"wspr", "contest", *self.source_norm}))
            raise InvalidInput(f"no normalisation constants for source {source!r} in the config (known: {known})")
        return self.source_norm[source]

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> BandPlan:
        """Read ``band_to_hz`` and ``norm_constants_per_band[*].wspr`` of a config, or the spec's defaults."""
        if not config:
            return cls(dict(SPEC_DIAL_HZ), dict(SPEC_WSPR_NORM))
        dial = {int(k): int(v) for k, v in config.get("band_to_hz", SPEC_DIAL_HZ).items()}
        norm_cfg = config.get("norm_constants_per_band")
        if norm_cfg is None:
            norm = dict(SPEC_WSPR_NORM)
        else:
            norm = {int(k): (float(v["wspr"]["mean"]), float(v["wspr"]["std"])) for k, v in norm_cfg.items()}
        sources: dict[str, dict[int, tuple[float, float]]] = {}
        for band, by_source in (norm_cfg or {}).items():
            for source, c in by_source.items():
                sources.setdefault(source, {})[int(band)] = (float(c["mean"]), float(c["std"]))
        return cls(dial, norm, sources)

    def band_id(self, band: str | int) -> int:
        """``"10m"``, ``"111"`` or ``111`` → 111; anything else raises ``InvalidInput``."""
        text = str(band).strip().lower()
        if text in BAND_IDS:
            return BAND_IDS[text]
        if text.isdigit() and int(text) in self.dial_hz:
            return int(text)
        raise InvalidInput(f"unknown band {band!r} (use one of {', '.join(BAND_IDS)} or an id 102–111)")

    def freq_mhz(self, band_ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Dial frequency in MHz of each band id."""
        return np.array([self.dial_hz[int(b)] for b in band_ids], dtype=np.float64) / 1e6

    def nearest_band(self, freq_mhz: np.ndarray) -> np.ndarray:
        """Band id whose dial frequency is closest (in log frequency) to each ``freq_mhz``."""
        ids = np.array(sorted(self.dial_hz))
        dial = np.log(np.array([self.dial_hz[i] for i in ids], dtype=np.float64) / 1e6)
        pick = np.abs(np.log(np.asarray(freq_mhz, dtype=np.float64))[:, None] - dial[None, :]).argmin(axis=1)
        return ids[pick]

    def to_db(self, sigma: np.ndarray, band_ids: np.ndarray) -> np.ndarray:
        """σ → dB as ``σ·std_band + mean_band`` with the WSPR constants."""
        mean = np.array([self.wspr_norm[int(b)][0] for b in band_ids], dtype=np.float64)
        std = np.array([self.wspr_norm[int(b)][1] for b in band_ids], dtype=np.float64)
        return np.asarray(sigma, dtype=np.float64) * std + mean
