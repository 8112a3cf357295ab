"""Two-stage DeepECH inference in batches: presence probability everywhere, amplitude only where a wave is present."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

DEFAULT_THRESHOLD = 0.5
DEFAULT_BATCH = 4096


@dataclass(frozen=True)
class Predictions:
    """Per row: the classifier's logit and probability, whether the probability exceeds the threshold, and the
    regressor's amplitude in dB where it does (NaN elsewhere)."""

    logit: np.ndarray
    probability: np.ndarray
    present: np.ndarray
    amplitude_db: np.ndarray

    def rows(self) -> list[dict[str, Any]]:
        """One JSON-able dict per row; ``amplitude_db`` is None where no wave is present."""
        return [{"logit": float(lg), "probability": float(p), "present": bool(on),
                 "amplitude_db": float(a) if on else None}
                for lg, p, on, a in zip(self.logit, self.probability, self.present, self.amplitude_db, strict=True)]


class TwoStageModel:
    """The loaded pair (eval mode) and the version's recorded presence threshold."""

    def __init__(self, classifier: Any, regressor: Any, *, threshold: float = DEFAULT_THRESHOLD,
                 device: str = "cpu") -> None:
        self.classifier = classifier.to(device).eval()
        self.regressor = regressor.to(device).eval()
        self.threshold = float(threshold)
        self.device = device

    def _tensor(self, rows: np.ndarray) -> Any:
        import torch

        x = np.ascontiguousarray(rows, dtype=np.float32)
        if not x.flags.writeable:  # a memory-mapped or read-only batch: torch wants memory it may write
            x = x.copy()
        return torch.as_tensor(x, device=self.device)

    def logits(self, rows: np.ndarray, batch_size: int = DEFAULT_BATCH) -> np.ndarray:
        """The classifier's logits for every row."""
        import torch

        out = []
        with torch.inference_mode():
            for start in range(0, len(rows), batch_size):
                out.append(self.classifier(self._tensor(rows[start:start + batch_size])).float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros(0, np.float32)

    def amplitudes(self, rows: np.ndarray, batch_size: int = DEFAULT_BATCH) -> np.ndarray:
        """The regressor's amplitude (dB) for every row, present or not (the regression gates use this)."""
        import torch

        out = []
        with torch.inference_mode():
            for start in range(0, len(rows), batch_size):
                out.append(self.regressor(self._tensor(rows[start:start + batch_size])).float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros(0, np.float32)

    def predict_batches(self, batches: Iterable[np.ndarray]) -> Iterator[Predictions]:
        """Both stages on each batch in turn (memory bounded by one batch); the regressor sees only the rows
        whose probability exceeds the threshold."""
        import torch

        with torch.inference_mode():
            for rows in batches:
                x = self._tensor(rows)
                logit = self.classifier(x).float()
                prob = torch.sigmoid(logit)
                present = prob > self.threshold
                amp = torch.full_like(prob, float("nan"))
                if bool(present.any()):
                    amp[present] = self.regressor(x[present]).float()
                yield Predictions(logit.cpu().numpy(), prob.cpu().numpy(), present.cpu().numpy(), amp.cpu().numpy())

    def predict(self, rows: np.ndarray, batch_size: int = DEFAULT_BATCH) -> Predictions:
        """Both stages on all ``rows``, ``batch_size`` rows at a time."""
        parts = list(self.predict_batches(rows[s:s + batch_size] for s in range(0, len(rows), batch_size)))
        if not parts:
            empty = np.zeros(0, np.float32)
            return Predictions(empty, empty, np.zeros(0, bool), empty)
        return Predictions(*(np.concatenate([getattr(p, f) for p in parts])
                             for f in ("logit", "probability", "present", "amplitude_db")))
