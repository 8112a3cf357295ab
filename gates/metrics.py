"""Verification metrics the gate suites share: deterministic scores, skill against a baseline, ensembles.

Every function takes numpy arrays, checks shapes and finiteness, and raises ``GateError`` on input it
cannot score (NaN, fill values that reached the evaluation, mismatched shapes, empty sets), so a gate
built on them errors — and refuses — instead of passing on garbage. A constant forecast is not an
error: its Pearson r is NaN, which no threshold passes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from registry.errors import GateError


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


def _ensemble(members: Any, obs: Any) -> tuple[np.ndarray, np.ndarray]:
    """``members`` of shape (m, n) for n cases, ``obs`` of shape (n,)."""
    x = finite_array("ensemble", members, ndim=2)
    y = finite_array("observations", obs, ndim=1)
    if x.shape[1] != y.shape[0]:
        raise GateError(f"ensemble has {x.shape[1]} cases, observations {y.shape[0]}")
    return x, y


def crps_ensemble(members: Any, obs: Any, *, fair: bool = False) -> np.ndarray:
    """CRPS of an m-member ensemble for each case: E|X − y| − ½·E|X − X'|.

    ``fair`` uses the unbiased estimator of the spread term (divides by m(m − 1), not m²), which does not
    reward small ensembles. With one member the (plain) CRPS is the absolute error.
    """
    x, y = _ensemble(members, obs)
    m = x.shape[0]
    if fair and m < 2:
        raise GateError("the fair CRPS needs at least two members")
    skill = np.mean(np.abs(x - y[None, :]), axis=0)
    s = np.sort(x, axis=0)
    weights = (2 * np.arange(1, m + 1) - m - 1)[:, None]
    pair_sum = 2.0 * np.sum(weights * s, axis=0)  # Σ_i Σ_j |x_i − x_j|
    spread = pair_sum / (m * (m - 1) if fair else m * m)
    return np.asarray(skill - 0.5 * spread)


def rank_histogram(members: Any, obs: Any, rng: np.random.Generator) -> np.ndarray:
    """Counts of the observation's rank among the members (m + 1 bins); ties are broken at random with
    ``rng`` so that a discrete field (e.g. zero reflectivity) does not pile up in the lowest bin."""
    x, y = _ensemble(members, obs)
    below = np.sum(x < y[None, :], axis=0)
    ties = np.sum(x == y[None, :], axis=0)
    rank = below + np.floor(rng.random(len(y)) * (ties + 1)).astype(np.int64)
    return np.bincount(rank, minlength=x.shape[0] + 1)


def rank_histogram_chi2(counts: Any) -> float:
    """χ² of the counts against a flat histogram (0 for perfectly flat; compare with m degrees of freedom)."""
    c = finite_array("rank histogram", counts, ndim=1)
    expected = c.sum() / len(c)
    if expected <= 0:
        raise GateError("rank histogram has no cases")
    return float(np.sum((c - expected) ** 2) / expected)


def spread_skill_ratio(members: Any, obs: Any) -> float:
    """√(mean ensemble variance) / RMSE of the ensemble mean, with the (m + 1)/m finite-ensemble factor,
    so that a statistically consistent ensemble scores 1; below 1 is under-dispersive."""
    x, y = _ensemble(members, obs)
    m = x.shape[0]
    if m < 2:
        raise GateError("spread needs at least two members")
    error = rmse(x.mean(axis=0), y)
    if error == 0:
        raise GateError("the ensemble mean is exact on every case: spread/skill is undefined")
    spread = np.sqrt(np.mean(x.var(axis=0, ddof=1)) * (m + 1) / m)
    return float(spread / error)
