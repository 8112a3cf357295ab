"""A loaded TEC version: the V2.1 module and its facts, forecasting TECU and storm probabilities for windows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from plugins.tec.model import TecV21

TEC_SCALE = 100.0  # the tec_forecast head predicts TEC / 100


@dataclass
class TecBundle:
    """``forecast(x)`` on windows (m, steps, 24) → ``tec`` (m, leads) TECU, ``storm_probability`` (m, leads),
    ``storm`` (m,) and ``uncertainty`` (m,)."""

    model: TecV21
    facts: dict[str, Any] = field(default_factory=dict)
    device: str = "cpu"

    def forecast(self, x: np.ndarray, batch: int = 2048) -> dict[str, np.ndarray]:
        import torch

        parts: dict[str, list[np.ndarray]] = {"tec": [], "storm_probability": [], "storm": [], "uncertainty": []}
        self.model.eval()
        with torch.no_grad():
            for lo in range(0, len(x), batch):
                out = self.model(torch.as_tensor(x[lo:lo + batch], dtype=torch.float32, device=self.device))
                parts["tec"].append(out["tec_forecast"].double().cpu().numpy() * TEC_SCALE)
                parts["storm_probability"].append(out["storm_probability"].double().cpu().numpy())
                parts["storm"].append(out["storm_binary"].double().cpu().numpy()[:, 0])
                parts["uncertainty"].append(out["uncertainty"].double().cpu().numpy()[:, 0])
        return {k: np.concatenate(v) if v else np.empty((0,)) for k, v in parts.items()}
