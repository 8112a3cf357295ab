"""Ensemble scores on torch tensors (CPU or CUDA, one code path): exact CRPS, rank histogram, spread/skill."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from gates.ensemble import NAN_POLICIES
from registry.errors import GateError

CHUNK_VALUES = 1 << 22  # members scored per chunk: bounds the float64 temporaries (32 MB) whatever the case's size


def _float_tensor(name: str, values: Any) -> torch.Tensor:
    try:  # through NumPy, so that Python floats stay float64 as on the NumPy path (torch would make them float32)
        t = values if isinstance(values, torch.Tensor) else torch.as_tensor(np.asarray(values))
    except (TypeError, ValueError, RuntimeError) as exc:
        raise GateError(f"{name} must be numeric, got {type(values).__name__}") from exc
    if t.dtype in (torch.float32, torch.float64):
        return t
    if t.dtype.is_complex:
        raise GateError(f"{name} must be real numbers, got {t.dtype}")
    return t.to(torch.float64)


def ensemble_tensors(members: Any, obs: Any, member_axis: int) -> tuple[torch.Tensor, torch.Tensor, tuple[int, ...]]:
    """Checked ``(members, obs, obs shape)``: members as ``(N, m)``, members last, obs as ``(N,)`` float64, both on the
    members' device; the same checks, and the same messages, as ``gates.ensemble.ensemble_pair``. Members whose
    member axis is not last are copied once to that layout (a view cannot be flattened otherwise)."""
    x = _float_tensor("members", members)
    if x.ndim == 0:
        raise GateError("members must have a member axis, got a scalar")
    if not isinstance(member_axis, int) or isinstance(member_axis, bool):
        raise GateError(f"member_axis must be an int, got {member_axis!r}")
    if not -x.ndim <= member_axis < x.ndim:
        raise GateError(f"member_axis {member_axis} is out of range for members of shape {tuple(x.shape)}")
    axis = member_axis % x.ndim
    y = _float_tensor("obs", obs).to(device=x.device, dtype=torch.float64)
    expected = tuple(x.shape[:axis] + x.shape[axis + 1:])
    if tuple(y.shape) != expected:
        raise GateError(f"obs shape {tuple(y.shape)} does not match members shape {tuple(x.shape)} less member "
                        f"axis {axis} ({expected})")
    if x.shape[axis] == 0:
        raise GateError("members is an empty ensemble (0 members)")
    if y.numel() == 0:
        raise GateError("obs is empty: nothing to score")
    return x.movedim(axis, -1).reshape(-1, x.shape[axis]), y.reshape(-1), expected


def _chunks(n: int, m: int) -> list[slice]:
    step = max(1, CHUNK_VALUES // m)
    return [slice(start, min(n, start + step)) for start in range(0, n, step)]


def crps_ensemble_torch(members: Any, obs: Any, *, member_axis: int = 0, fair: bool = False,
                        nan_policy: str = "raise", threshold: float | None = None) -> torch.Tensor:
    """Exact CRPS per point, as ``gates.ensemble.crps_ensemble`` (same arguments, same values to 1e-6) on
    tensors: float64 of ``obs``'s shape on the members' device.

    Each chunk of points is sorted along the members in the input's precision, then summed in float64:
    CRPS = Σ|x − y|/k − Σ(2i − k + 1)(x₍ᵢ₎ − y)/k² (or /k(k − 1), fair), k the members counted at that point.
    ``threshold`` gives the threshold-weighted CRPS for exceedances (as ``twcrps_ensemble``).
    """
    if nan_policy not in NAN_POLICIES:
        raise GateError(f"nan_policy must be one of {', '.join(NAN_POLICIES)}, got {nan_policy!r}")
    if threshold is not None and not math.isfinite(float(threshold)):
        raise GateError(f"threshold must be finite, got {threshold!r}")
    x, y, shape = ensemble_tensors(members, obs, member_axis)
    n, m = x.shape
    if fair and m < 2:
        raise GateError("the fair CRPS needs at least two members")
    if nan_policy == "raise":
        if bad := int((~torch.isfinite(y)).sum()):
            raise GateError(f"obs holds {bad} non-finite value(s) of {y.numel()}; remove them or pass "
                            "nan_policy='omit'")
        if bad := int((~torch.isfinite(x).all(dim=1)).sum()):
            raise GateError(f"members hold non-finite values at {bad} of {n} point(s); remove them or pass "
                            "nan_policy='omit' (NaN members dropped) or 'propagate' (NaN for those points)")
    out = torch.empty(n, dtype=torch.float64, device=x.device)
    rank = torch.arange(m, dtype=torch.float64, device=x.device)
    for part in _chunks(n, m):
        xs, yc = x[part].sort(dim=1).values.to(torch.float64), y[part]  # NaN sorts last
        if threshold is not None:
            xs, yc = xs.clamp(min=float(threshold)), yc.clamp(min=float(threshold))
        d = xs - yc[:, None]
        if nan_policy == "omit":
            kept = ~torch.isnan(xs)
            k = kept.sum(dim=1).to(torch.float64)
            d = torch.where(kept, d, torch.zeros_like(d))  # a NaN obs keeps d NaN where members are kept
        else:
            k = torch.full_like(yc, float(m))
        s_w = 2 * (d @ rank) - (k - 1) * d.sum(dim=1)  # Σ(2i − k + 1)·d₍ᵢ₎
        # no member left (k = 0), or one for the fair spread term: 0/0, NaN as on the NumPy path
        out[part] = d.abs().sum(dim=1) / k - s_w / (k * (k - 1) if fair else k * k)
    return out.reshape(shape)


def ranks_torch(members: Any, obs: Any, generator: torch.Generator | None = None, *,
                member_axis: int = 0) -> torch.Tensor:
    """Rank of each observation among its members (0 … m, int64, ``obs``'s shape); ties broken at random with
    ``generator`` (on the members' device), as ``gates.ensemble.ranks``. Non-finite input is a ``GateError``."""
    x, y, shape = ensemble_tensors(members, obs, member_axis)
    if not (bool(torch.isfinite(y).all()) and bool(torch.isfinite(x).all())):
        raise GateError("members or obs hold non-finite values: ranks need finite input")
    if generator is not None and generator.device.type != x.device.type:
        raise GateError(f"generator is on {generator.device}, the members on {x.device}: ties need one device")
    n, m = x.shape
    out = torch.empty(n, dtype=torch.int64, device=x.device)
    for part in _chunks(n, m):
        xc, yc = x[part].to(torch.float64), y[part, None]
        below, ties = (xc < yc).sum(dim=1), (xc == yc).sum(dim=1)
        draw = torch.rand(len(xc), generator=generator, dtype=torch.float64, device=x.device)
        out[part] = below + torch.floor(draw * (ties + 1)).to(torch.int64)
    return out.reshape(shape)


def rank_histogram_torch(members: Any, obs: Any, generator: torch.Generator | None = None, *,
                         member_axis: int = 0) -> torch.Tensor:
    """Counts of the observation's rank among the members: m + 1 bins (int64 on the members' device)."""
    x, y, _ = ensemble_tensors(members, obs, member_axis)
    r = ranks_torch(x, y, generator, member_axis=1)
    return torch.bincount(r, minlength=x.shape[1] + 1)


def spread_skill_ratio_torch(members: Any, obs: Any, *, member_axis: int = 0,
                             by: int | tuple[int, ...] | None = None) -> Any:
    """√(mean ensemble variance · (m + 1)/m) / RMSE of the ensemble mean, as ``gates.ensemble.spread_skill_ratio``:
    a float, or a float64 tensor along the ``by`` axes of ``obs``."""
    x, y, shape = ensemble_tensors(members, obs, member_axis)
    n, m = x.shape
    if m < 2:
        raise GateError("spread needs at least two members")
    if not (bool(torch.isfinite(y).all()) and bool(torch.isfinite(x).all())):
        raise GateError("members or obs hold non-finite values: spread/skill needs finite input")
    kept = () if by is None else (by,) if isinstance(by, int) else tuple(by)
    if any(not -len(shape) <= a < len(shape) for a in kept):
        raise GateError(f"by axis {kept} is out of range for obs of shape {shape}")
    kept = tuple(a % len(shape) for a in kept)
    mean = torch.empty(n, dtype=torch.float64, device=x.device)
    var = torch.empty_like(mean)
    for part in _chunks(n, m):
        xc = x[part].to(torch.float64)
        mean[part], var[part] = xc.mean(dim=1), xc.var(dim=1)  # ddof 1
    reduce = tuple(a for a in range(len(shape)) if a not in kept)
    se = (mean - y).reshape(shape) ** 2
    error = se.mean(dim=reduce).sqrt() if reduce else se.sqrt()
    if bool((error == 0).any()):
        raise GateError("the ensemble mean is exact on every case: spread/skill is undefined")
    spread = var.reshape(shape).mean(dim=reduce) if reduce else var.reshape(shape)
    ratio = torch.sqrt(spread * (m + 1) / m) / error
    return float(ratio) if by is None else ratio
