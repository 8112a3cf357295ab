"""Ensemble scores over arrays of any shape: exact CRPS (plain, fair, threshold-weighted), ranks, spread/skill."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from registry.errors import GateError

NAN_POLICIES = ("raise", "propagate", "omit")


def as_float_array(name: str, values: Any) -> np.ndarray:
    """``values`` as a float32 or float64 array (float32 kept as it is, anything else as float64)."""
    arr = np.asarray(values)
    if arr.dtype not in (np.float32, np.float64):
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise GateError(f"{name} must be numeric, got {arr.dtype}") from exc
    return arr


def member_axis_of(members: np.ndarray, member_axis: int) -> int:
    """``member_axis`` as a non-negative axis of ``members``, or ``GateError`` naming the argument."""
    if not isinstance(member_axis, int | np.integer) or isinstance(member_axis, bool):
        raise GateError(f"member_axis must be an int, got {member_axis!r}")
    if not -members.ndim <= member_axis < members.ndim:
        raise GateError(f"member_axis {member_axis} is out of range for members of shape {members.shape}")
    return int(member_axis) % members.ndim


def ensemble_pair(members: Any, obs: Any, member_axis: int = 0) -> tuple[np.ndarray, np.ndarray, int]:
    """Checked ``(members, obs, axis)``: obs has the members' shape less the member axis, neither is empty."""
    x = as_float_array("members", members)
    if x.ndim == 0:
        raise GateError("members must have a member axis, got a scalar")
    axis = member_axis_of(x, member_axis)
    y = as_float_array("obs", obs).astype(np.float64, copy=False)
    expected = x.shape[:axis] + x.shape[axis + 1:]
    if y.shape != expected:
        raise GateError(f"obs shape {y.shape} does not match members shape {x.shape} less member axis {axis} "
                        f"({expected})")
    if x.shape[axis] == 0:
        raise GateError("members is an empty ensemble (0 members)")
    if y.size == 0:
        raise GateError("obs is empty: nothing to score")
    return x, y, axis


def _nan_policy(nan_policy: str) -> str:
    if nan_policy not in NAN_POLICIES:
        raise GateError(f"nan_policy must be one of {', '.join(NAN_POLICIES)}, got {nan_policy!r}")
    return nan_policy


def _crps(members: Any, obs: Any, member_axis: int, fair: bool, nan_policy: str, floor: float) -> np.ndarray:
    from gates.crps_kernel import crps_sorted_blocks  # numba is imported on first use only

    policy = _nan_policy(nan_policy)
    x, y, axis = ensemble_pair(members, obs, member_axis)
    m = x.shape[axis]
    if fair and m < 2:
        raise GateError("the fair CRPS needs at least two members")
    if policy == "raise" and (bad := int((~np.isfinite(y)).sum())):
        raise GateError(f"obs holds {bad} non-finite value(s) of {y.size}; remove them or pass nan_policy='omit'")
    before = math.prod(x.shape[:axis])
    out = crps_sorted_blocks(x.reshape(before, m, -1), y.reshape(before, -1), fair=fair, mode=policy, floor=floor)
    if policy == "raise" and (bad := int(np.isnan(out).sum())):
        raise GateError(f"members hold non-finite values at {bad} of {out.size} point(s); remove them or pass "
                        "nan_policy='omit' (NaN members dropped) or 'propagate' (NaN for those points)")
    return out.reshape(y.shape)


def crps_ensemble(members: Any, obs: Any, *, member_axis: int = 0, fair: bool = False,
                  nan_policy: str = "raise") -> np.ndarray:
    """Exact CRPS of an ensemble at each point: E|X − y| − ½·E|X − X'|, as float64 of ``obs``'s shape.

    :param members: ensemble of any shape; ``member_axis`` indexes the members (float32 stays float32: the
        members are sorted in place in small blocks, never copied whole to float64).
    :param obs: observations, the members' shape less the member axis.
    :param fair: the unbiased spread term (divides by m(m − 1), not m²), which does not reward small ensembles.
    :param nan_policy: ``"raise"`` (a NaN or infinity is a ``GateError``), ``"propagate"`` (NaN for that point) or
        ``"omit"`` (NaN members dropped for that point; a point with none left, or a NaN obs, is NaN).
    :returns: CRPS per point; with one member the plain CRPS is the absolute error.
    """
    return _crps(members, obs, member_axis, fair, nan_policy, -np.inf)


def twcrps_ensemble(members: Any, obs: Any, threshold: float, *, member_axis: int = 0, fair: bool = False,
                    nan_policy: str = "raise") -> np.ndarray:
    """Threshold-weighted CRPS for exceedances of ``threshold`` (weight 1 above it, 0 below): the CRPS of
    ``max(X, t)`` against ``max(y, t)``, so only the forecast's upper tail and its misses there count."""
    t = float(threshold)
    if not math.isfinite(t):
        raise GateError(f"threshold must be finite, got {threshold!r}")
    return _crps(members, obs, member_axis, fair, nan_policy, t)


def crps_gaussian(mu: Any, sigma: Any, obs: Any) -> np.ndarray:
    """Closed-form CRPS of N(mu, sigma²): σ·[z(2Φ(z) − 1) + 2φ(z) − 1/√π], z = (y − μ)/σ; σ = 0 gives |y − μ|.
    The arguments broadcast against each other."""
    from scipy.special import ndtr

    m = as_float_array("mu", mu).astype(np.float64, copy=False)
    s = as_float_array("sigma", sigma).astype(np.float64, copy=False)
    y = as_float_array("obs", obs).astype(np.float64, copy=False)
    if (s < 0).any():
        raise GateError("sigma must be ≥ 0")
    try:
        m, s, y = np.broadcast_arrays(m, s, y)
    except ValueError as exc:
        raise GateError(f"mu {m.shape}, sigma {s.shape} and obs {y.shape} do not broadcast") from exc
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (y - m) / s
        pdf = np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
        crps = s * (z * (2 * ndtr(z) - 1) + 2 * pdf - 1 / math.sqrt(math.pi))
    return np.asarray(np.where(s == 0, np.abs(y - m), crps))


def crps_point(pred: Any, obs: Any) -> np.ndarray:
    """CRPS of a deterministic forecast: the absolute error ``|pred − obs|`` (shapes must match)."""
    p = as_float_array("pred", pred).astype(np.float64, copy=False)
    y = as_float_array("obs", obs).astype(np.float64, copy=False)
    if p.shape != y.shape:
        raise GateError(f"pred shape {p.shape} does not match obs shape {y.shape}")
    return np.abs(p - y)


def ranks(members: Any, obs: Any, rng: np.random.Generator, *, member_axis: int = 0) -> np.ndarray:
    """Rank of each observation among its members (0 … m); ties are broken at random with ``rng`` so that a
    discrete field (zero reflectivity) does not pile up in the lowest bin. Non-finite input is a ``GateError``."""
    x, y, axis = ensemble_pair(members, obs, member_axis)
    if not (np.isfinite(y).all() and np.isfinite(x).all()):
        raise GateError("members or obs hold non-finite values: ranks need finite input")
    x = np.moveaxis(x, axis, 0)
    below = np.zeros(y.shape, dtype=np.int64)
    ties = np.zeros(y.shape, dtype=np.int64)
    for member in x:  # one member at a time: no (m × N) boolean temporaries
        below += member < y
        ties += member == y
    return np.asarray(below + np.floor(rng.random(y.shape) * (ties + 1)).astype(np.int64))


def rank_histogram(members: Any, obs: Any, rng: np.random.Generator, *, member_axis: int = 0) -> np.ndarray:
    """Counts of the observation's rank among the members: m + 1 bins (see ``ranks`` for ties)."""
    x = as_float_array("members", members)
    m = x.shape[member_axis_of(x, member_axis)] if x.ndim else 0
    return np.bincount(ranks(members, obs, rng, member_axis=member_axis).ravel(), minlength=m + 1)


def rank_histogram_shared_ties(members: Any, obs: Any, *, member_axis: int = 0) -> np.ndarray:
    """Rank histogram (m + 1 bins, float64) with ties shared instead of drawn: an observation tied with t members
    adds 1/(t + 1) to each of the t + 1 ranks it could take — the expectation of random tie-breaking, so the
    counts depend neither on a generator nor on how a case is cut into tiles. Non-finite input is a ``GateError``."""
    x, y, axis = ensemble_pair(members, obs, member_axis)
    if not (np.isfinite(y).all() and np.isfinite(x).all()):
        raise GateError("members or obs hold non-finite values: ranks need finite input")
    m = x.shape[axis]
    below = np.zeros(y.shape, dtype=np.int64)
    ties = np.zeros(y.shape, dtype=np.int64)
    for member in np.moveaxis(x, axis, 0):
        below += member < y
        ties += member == y
    share = (1.0 / (ties + 1)).ravel()
    steps = (np.bincount(below.ravel(), share, minlength=m + 2)
             - np.bincount((below + ties + 1).ravel(), share, minlength=m + 2))
    return np.asarray(np.cumsum(steps)[: m + 1])


def rank_reliability_index(counts: Any) -> float:
    """Σ_k |f_k − 1/(m + 1)| of the normalised rank frequencies f_k (Delle Monache et al. 2006): 0 for a flat
    histogram, up to 2·m/(m + 1) when every observation takes one rank. Unlike χ² it does not grow with the
    number of (spatially correlated) points, so one limit suits a small and a full grid."""
    c = as_float_array("counts", counts).astype(np.float64, copy=False)
    if c.ndim != 1 or len(c) < 2:
        raise GateError(f"counts must be one-dimensional with at least two bins, got shape {c.shape}")
    if not np.isfinite(c).all() or (c < 0).any():
        raise GateError("counts must be finite and ≥ 0")
    if c.sum() <= 0:
        raise GateError("rank histogram has no cases")
    return float(np.abs(c / c.sum() - 1.0 / len(c)).sum())


def rank_histogram_chi2(counts: Any) -> float:
    """χ² of the counts against a flat histogram (0 if flat; compare with bins − 1 degrees of freedom)."""
    return rank_histogram_test(counts)[0]


def rank_histogram_test(counts: Any) -> tuple[float, float]:
    """``(χ², p)``: χ² of the counts against a flat histogram and its p-value with bins − 1 degrees of freedom
    (a small p says the ranks are not flat: the ensemble is biased or mis-dispersed)."""
    from scipy.stats import chi2

    c = as_float_array("counts", counts)
    if c.ndim != 1 or len(c) < 2:
        raise GateError(f"counts must be one-dimensional with at least two bins, got shape {c.shape}")
    if not np.isfinite(c).all() or (c < 0).any():
        raise GateError("counts must be finite and ≥ 0")
    expected = c.sum() / len(c)
    if expected <= 0:
        raise GateError("rank histogram has no cases")
    stat = float(np.sum((c - expected) ** 2) / expected)
    return stat, float(chi2.sf(stat, len(c) - 1))


def member_mean_var(x: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Ensemble mean and variance (ddof 1) in float64, one member at a time: two arrays of the points' size,
    never a float64 copy of the whole ensemble."""
    members = np.moveaxis(x, axis, 0)
    m = len(members)
    mean = np.zeros(members.shape[1:], dtype=np.float64)
    for member in members:
        mean += member
    mean /= m
    ss = np.zeros_like(mean)
    for member in members:
        d = member - mean
        ss += d * d
    return mean, ss / (m - 1)


def spread_skill_ratio(members: Any, obs: Any, *, member_axis: int = 0,
                       by: int | tuple[int, ...] | None = None) -> Any:
    """√(mean ensemble variance · (m + 1)/m) / RMSE of the ensemble mean, so that a statistically consistent
    ensemble scores 1; below 1 is under-dispersive. ``by`` keeps axes of ``obs`` (variable, lead): one ratio per
    index along them (an array), else one float over all points."""
    x, y, axis = ensemble_pair(members, obs, member_axis)
    m = x.shape[axis]
    if m < 2:
        raise GateError("spread needs at least two members")
    if not (np.isfinite(y).all() and np.isfinite(x).all()):
        raise GateError("members or obs hold non-finite values: spread/skill needs finite input")
    kept = () if by is None else tuple(by) if isinstance(by, tuple | list) else (by,)
    if any(isinstance(a, bool) or not isinstance(a, int | np.integer) for a in kept):
        raise GateError(f"by must be an int or a tuple of ints (axes of obs), got {by!r}")
    if any(not -y.ndim <= a < y.ndim for a in kept):
        raise GateError(f"by axis {kept} is out of range for obs of shape {y.shape}")
    kept = tuple(a % y.ndim for a in kept)
    if len(set(kept)) != len(kept):
        raise GateError(f"by names an axis twice: {by!r} for obs of shape {y.shape}")
    reduce = tuple(a for a in range(y.ndim) if a not in kept)
    mean, var = member_mean_var(x, axis)
    error = np.sqrt(np.mean((mean - y) ** 2, axis=reduce))
    if (error == 0).any():
        raise GateError("the ensemble mean is exact on every case: spread/skill is undefined")
    ratio = np.sqrt(np.mean(var, axis=reduce) * (m + 1) / m) / error
    return float(ratio) if by is None else np.asarray(ratio)
