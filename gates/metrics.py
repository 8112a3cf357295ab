"""Verification metrics the gate suites share: deterministic scores, skill against a baseline, ensembles.

Every function takes numpy arrays, checks shapes and finiteness, and raises ``GateError`` on input it
cannot score (NaN, fill values that reached the evaluation, mismatched shapes, empty sets), so a gate
built on them errors — and refuses — instead of passing on garbage. A constant forecast is not an
error: its Pearson r is NaN, which no threshold passes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gates.ensemble import crps_ensemble, rank_histogram, rank_histogram_chi2, spread_skill_ratio
from registry.errors import GateError

__all__ = ["brier_score", "crps_ensemble", "finite_array", "mae", "pearson", "rank_histogram", "rank_histogram_chi2",
           "rmse", "skill_score", "spread_skill_ratio"]  # the ensemble scores live in gates.ensemble


def finite_array(name: str, values: Any, ndim: int | None = None) -> np.ndarray:
    """``values`` as float64, or ``GateError`` if it is empty, has the wrong rank or holds NaN/inf."""
    arr = np.asarray(values, dtype=np.float64)
    if ndim is not None and arr.ndim != ndim:
        raise GateError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    if arr.size == 0:
        raise GateError(f"{name} is empty: nothing to score")
    bad = int((~np.isfinite(arr)).sum())
    if bad:
        raise GateError(f"{name} holds {bad} non-finite value(s) of {arr.size}; remove or flag them before scoring")
    return arr


def _pair(pred: Any, truth: Any) -> tuple[np.ndarray, np.ndarray]:
    p, t = finite_array("prediction", pred), finite_array("truth", truth)
    if p.shape != t.shape:
        raise GateError(f"prediction shape {p.shape} does not match truth shape {t.shape}")
    return p, t


def rmse(pred: Any, truth: Any) -> float:
    """Root-mean-square error."""
    p, t = _pair(pred, truth)
    return float(np.sqrt(np.mean((p - t) ** 2)))


def mae(pred: Any, truth: Any) -> float:
    """Mean absolute error."""
    p, t = _pair(pred, truth)
    return float(np.mean(np.abs(p - t)))


def pearson(pred: Any, truth: Any) -> float:
    """Pearson correlation; NaN when either side is constant (a constant forecast has no correlation)."""
    p, t = _pair(pred, truth)
    if p.size < 2 or np.ptp(p) == 0 or np.ptp(t) == 0:
        return float("nan")
    return float(np.corrcoef(p.ravel(), t.ravel())[0, 1])


def skill_score(model_error: float, baseline_error: float) -> float:
    """``1 − model/baseline`` for a negatively oriented score (RMSE, CRPS, Brier): 1 is perfect, 0 is no
    better than the baseline, negative is worse. A baseline with zero error leaves nothing to beat."""
    if not (np.isfinite(model_error) and np.isfinite(baseline_error)) or baseline_error <= 0:
        raise GateError(f"skill needs finite errors and a baseline error > 0 (model {model_error}, "
                        f"baseline {baseline_error})")
    return float(1.0 - model_error / baseline_error)


def brier_score(prob: Any, event: Any) -> float:
    """Mean squared difference between forecast probabilities (in [0, 1]) and 0/1 outcomes."""
    p, e = _pair(prob, event)
    if ((p < 0) | (p > 1)).any():
        raise GateError("probabilities must lie in [0, 1]")
    if not np.isin(e, (0.0, 1.0)).all():
        raise GateError("outcomes must be 0 or 1")
    return float(np.mean((p - e) ** 2))
