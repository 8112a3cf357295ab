"""The gates' statistics from one scoring pass: per-variable values with block-bootstrap intervals over row blocks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gates.bootstrap import block_counts, resampled_means
from gates.ensemble import rank_histogram_test, rank_reliability_index
from gates.probabilistic import BrierDecomposition, ReliabilityDiagram
from plugins.hrrr_ddpm.scoring import Sums
from registry.errors import GateError

LEVEL = 0.95


@dataclass(frozen=True)
class Estimate:
    """A statistic, its percentile interval at ``level`` (None without resamples) and its parts for the details."""

    value: float
    interval: dict[str, float] | None
    parts: dict[str, float]


def _interval(draws: np.ndarray, level: float = LEVEL) -> dict[str, float] | None:
    if not np.isfinite(draws).all():
        return None
    lo, hi = np.quantile(draws, [(1 - level) / 2, 1 - (1 - level) / 2])
    return {"lower": float(lo), "upper": float(hi), "level": level}


def resample_counts(sums: Sums, rng: np.random.Generator, n_resamples: int = 1000) -> np.ndarray:
    """How often each unit (a case's block of rows) is drawn in each resample; share one per run. Fewer than two
    units is a gate error: every resample would be the one unit, an interval of zero width a gate could pass on."""
    n = len(sums.unit_matrix("points"))
    if n < 2:
        raise GateError(f"{n} block of rows was scored; an interval needs at least 2 (score more cases, or "
                        f"blocks smaller than block_rows={sums.plan.block_rows})")
    return block_counts(n, 1, n_resamples, rng)


def _means(sums: Sums, keys: tuple[str, ...], counts: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    mats = [sums.unit_matrix(k) for k in keys]
    whole = [m.sum(axis=0) for m in mats]
    draws = [resampled_means(m, counts=counts) for m in mats]
    return whole, draws


def crps(sums: Sums) -> dict[str, dict[str, float]]:
    """Mean CRPS per variable of the model, persistence and the climatological ensemble (where scored)."""
    points = sums.unit_matrix("points").sum()
    out: dict[str, dict[str, float]] = {v: {} for v in sums.plan.variables}
    for key, label in (("crps", "model"), ("crps_persistence", "persistence"), ("crps_climatology", "climatology")):
        if key in sums.units:
            for v, s in zip(sums.plan.variables, sums.unit_matrix(key).sum(axis=0), strict=True):
                out[v][label] = float(s / points)
    return out


def crps_skill(sums: Sums, reference: str, counts: np.ndarray) -> dict[str, Estimate]:
    """``1 − CRPS_model / CRPS_reference`` per variable (reference ``persistence`` or ``climatology``)."""
    (model, ref), (dm, dr) = _means(sums, ("crps", f"crps_{reference}"), counts)
    out = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for i, v in enumerate(sums.plan.variables):
            value = float(1 - model[i] / ref[i]) if ref[i] > 0 else float("nan")
            out[v] = Estimate(value, _interval(1 - dm[:, i] / dr[:, i]),
                              {"crps_model": float(model[i]), f"crps_{reference}": float(ref[i])})
    return {v: _per_point(e, sums) for v, e in out.items()}


def _per_point(e: Estimate, sums: Sums) -> Estimate:
    points = float(sums.unit_matrix("points").sum())
    return Estimate(e.value, e.interval, {k: v / points for k, v in e.parts.items()})


def spread_skill(sums: Sums, counts: np.ndarray) -> dict[str, Estimate]:
    """√(mean ensemble variance · (m + 1)/m) / RMSE of the ensemble mean, per variable (1: consistent)."""
    m = sums.members
    (var, se), (dv, ds) = _means(sums, ("var", "se"), counts)
    out = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for i, v in enumerate(sums.plan.variables):
            ratio = float(np.sqrt(var[i] * (m + 1) / m / se[i])) if se[i] > 0 else float("nan")
            points = float(sums.unit_matrix("points").sum())
            out[v] = Estimate(ratio, _interval(np.sqrt(dv[:, i] * (m + 1) / m / ds[:, i])),
                              {"spread": float(np.sqrt(var[i] / points)), "rmse": float(np.sqrt(se[i] / points))})
    return out


def brier_skill(sums: Sums, event: int, counts: np.ndarray) -> Estimate:
    """Brier skill of the ensemble's exceedance probability against the climatological ensemble's."""
    (bs, bc), (db, dc) = _means(sums, ("brier", "brier_climatology"), counts)
    points = float(sums.unit_matrix("points").sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(1 - bs[event] / bc[event]) if bc[event] > 0 else float("nan")
        return Estimate(value, _interval(1 - db[:, event] / dc[:, event]),
                        {"brier": float(bs[event] / points), "brier_climatology": float(bc[event] / points)})


def brier_parts(sums: Sums, event: int) -> tuple[BrierDecomposition, ReliabilityDiagram]:
    """The Murphy decomposition and the reliability diagram (90 % consistency bars) of one event."""
    bins = sums.bins[event]
    return bins.decomposition(), bins.reliability(0.9)


def rank_flatness(sums: Sums) -> dict[str, dict[str, Any]]:
    """Per variable: the rank counts (ties shared), reliability index, χ² and its p-value."""
    if sums.ranks is None:
        raise GateError("no ranks were counted")
    out = {}
    for v, counts in zip(sums.plan.variables, sums.ranks, strict=True):
        stat, p = rank_histogram_test(counts)
        out[v] = {"counts": counts, "reliability_index": rank_reliability_index(counts), "chi2": stat, "p": p}
    return out


def fss(sums: Sums) -> dict[str, Any]:
    """Member-pooled FSS per window of the FSS event, and the 'useful' level 0.5 + f₀/2 (f₀: observed base rate)."""
    if sums.fss_num is None or sums.fss_den is None:
        raise GateError("no FSS window fits the grid")
    with np.errstate(divide="ignore", invalid="ignore"):
        values = np.where(sums.fss_den > 0, 1 - sums.fss_num / sums.fss_den, np.nan)
    base = sums.fss_obs_events / sums.fss_points
    return {"windows": list(sums.fss_windows), "fss": [float(v) for v in values], "useful": 0.5 + base / 2,
            "observed_base_rate": base}


def spectrum_ratio(sums: Sums) -> dict[str, dict[str, Any]]:
    """Per variable: member / truth power by wavenumber (averaged over cases) and its summary, the ratio of
    summed power over the upper half of the wavenumbers (the small scales a smoothing sampler loses)."""
    out = {}
    for v, pairs in sums.spectra.items():
        truth = np.mean([p[0] for p in pairs], axis=0)
        members = np.mean([p[1] for p in pairs], axis=0)
        upper = slice(len(truth) // 2, None)
        with np.errstate(divide="ignore", invalid="ignore"):
            by_k = members / truth
            summary = float(members[upper].sum() / truth[upper].sum()) if truth[upper].sum() > 0 else float("nan")
        out[v] = {"k": list(range(1, len(truth) + 1)), "ratio": [float(r) for r in by_k], "upper_half": summary}
    return out


def tails(sums: Sums) -> dict[str, dict[str, float]]:
    """Per variable: the tail quantile of samples and of truth, and their difference in the truth's spread
    (estimated from its quantiles 0.16 and 0.84: robust to the tail being tested)."""
    q = sums.plan.tail_q
    out = {}
    for v, (acc_x, acc_y) in zip(sums.plan.variables, sums.tails, strict=True):
        qx, qy = acc_x.quantile(q), acc_y.quantile(q)
        scale = (acc_y.quantile(0.84) - acc_y.quantile(0.16)) / 2
        if scale <= 0:
            scale = max(acc_y.high - acc_y.low, 1e-12)
        out[v] = {"samples": qx, "truth": qy, "scale": scale, "difference": (qx - qy) / scale}
    return out
