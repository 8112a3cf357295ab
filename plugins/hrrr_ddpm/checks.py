"""Gates on the model rather than its scores: the sampler check, the conditioning check and schedule agreement."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gates.base import GateContext, Outcome, Threshold, table
from plugins.hrrr_ddpm.gates import per_variable
from registry.errors import GateError

SIGMA0 = 0.1  # the toy's data std: small, so that a sampler that mis-scales its posterior shows (spec)


@dataclass(frozen=True)
class CheckLimits:
    """Limits of the model checks."""

    sampler_ratio: Threshold = Threshold.band(0.9, 1.1)
    conditioning_snr: Threshold = Threshold(">=", 4.0)
    alpha_bar_max: float = 0.01
    conditioning_members: int = 8
    conditioning_crop: int = 32
    toy_samples: int = 16_384  # relative sd of the estimate ≈ 1/√(2n) ≈ 0.6 %


def spec_label(spec: Any) -> str:
    """``ddim-50 η=0`` / ``ddpm-100 adjacent uniform`` … for slices and tables."""
    d = spec.to_dict() if hasattr(spec, "to_dict") else dict(spec)
    label = f"{d['kind']}-{d['steps']}"
    if d["kind"] == "ddim":
        label += f" η={d.get('eta', 0.0):g}"
    if d.get("posterior", "next-listed") != "next-listed":
        label += f" {d['posterior']}"
    if d.get("spacing", "quadratic") != "quadratic":
        label += f" {d['spacing']}"
    if d.get("clamp") is not None:
        label += f" clamp ±{d['clamp']:g}"
    return label


class SamplerCheckGate:
    """Every sampler the version is configured with, run with the exact ε-optimal denoiser for x₀ ~ N(0, 0.1²),
    must return std within 10 % of 0.1 (upstream's strided sampler with the adjacent ᾱ returns 0.64–0.80)."""

    name = "sampler-check"
    version = "1"

    def __init__(self, limits: CheckLimits | None = None) -> None:
        self.limits = limits or CheckLimits()
        self.description = (f"std returned / {SIGMA0} on the N(0, {SIGMA0}²) toy with its exact denoiser, for "
                            f"every sampler the version uses, {self.limits.sampler_ratio}")

    def evaluate(self, ctx: GateContext) -> Outcome:
        from plugins.hrrr_ddpm.sampler_check import toy_sampler_std

        model = ctx.model
        specs = tuple(model.samplers)
        if not specs:
            raise GateError("the version names no sampler")
        ratios, rows = {}, []
        for spec in specs:
            std = float(toy_sampler_std(model.schedule, spec, sigma0=SIGMA0, n=self.limits.toy_samples,
                                        seed=ctx.seed))
            ratios[spec_label(spec)] = std / SIGMA0
            rows.append({"sampler": spec_label(spec), "std": round(std, 5), "ratio": round(std / SIGMA0, 4)})
        return per_variable(ratios, self.limits.sampler_ratio, "toy std / 0.1", noun="sampler",
                            details={"table": table(rows, ["sampler", "std", "ratio"], "x₀ ~ N(0, 0.1²) toy")})


class ScheduleGate:
    """The sampling schedule is the training schedule (same T and s) and ends in noise (ᾱ_T < 0.01), and every
    sampler's steps fit in T."""

    name = "schedule-agreement"
    version = "1"

    def __init__(self, limits: CheckLimits | None = None) -> None:
        self.limits = limits or CheckLimits()
        self.description = f"training and sampling schedule agree (T, s) and ᾱ_T < {self.limits.alpha_bar_max:g}"

    def evaluate(self, ctx: GateContext) -> Outcome:
        model = ctx.model
        train, sample = model.training_schedule, model.sampling_schedule
        problems = []
        if (train["T"], train["s"]) != (sample["T"], sample["s"]):
            problems.append(f"trained with T={train['T']}, s={train['s']:g} but sampled with T={sample['T']}, "
                            f"s={sample['s']:g}")
        alpha_bar_t = float(np.asarray(model.schedule.alphas_bar)[-1])
        if not alpha_bar_t < self.limits.alpha_bar_max:
            problems.append(f"ᾱ_T = {alpha_bar_t:.4g} is not < {self.limits.alpha_bar_max:g}: the last step is not "
                            "noise")
        too_long = [spec_label(s) for s in model.samplers if int(s.steps) > int(sample["T"])]
        if too_long:
            problems.append(f"samplers with more steps than T={sample['T']}: {', '.join(too_long)}")
        message = "; ".join(problems) or (f"T={train['T']}, s={train['s']:g} in training and sampling; "
                                          f"ᾱ_T = {alpha_bar_t:.4g}")
        return Outcome(alpha_bar_t, not problems, self.limits.alpha_bar_max, "<", message,
                       details={"training": dict(train), "sampling": dict(sample), "alpha_bar_T": alpha_bar_t})


def conditioning_snr(model: Any, cond_a: Any, cond_b: Any, *, members: int, seed: int, device: str) -> dict[str, Any]:
    """Members drawn with the same seeds under two conditions (z-scores, (C, H, W)), paired member by member: the
    mean over points of the squared t-statistic of the differences, mean(d)² / (var(d)/members). About 1 when the
    condition only reshuffles members, 0 when it is ignored (every difference is 0), large when it moves the
    ensemble mean. Points where every difference is 0 count 0; also per variable. Fewer than 2 members have no
    spread to measure the change against: a gate error saying so (one member gave an infinite t², which failed the
    gate without measuring anything)."""
    import torch

    if members < 2:
        raise GateError(f"the conditioning check needs at least 2 members to measure their spread, got {members}")
    ids = list(range(members))
    a = model.sample_z(cond_a, member_ids=ids, seed=seed, device=device).double()
    b = model.sample_z(cond_b, member_ids=ids, seed=seed, device=device).double()
    d = a - b
    mean, var = d.mean(dim=0), d.var(dim=0)
    t2 = torch.where(var > 0, mean**2 / (var / members).clamp_min(1e-300),
                     torch.where(mean == 0, torch.zeros_like(mean), torch.full_like(mean, float("inf"))))
    ratio = t2.cpu().numpy()
    return {"snr": float(ratio.mean()), "by_variable": ratio.reshape(ratio.shape[0], -1).mean(axis=1).tolist(),
            "mean_change": float(mean.abs().mean()), "spread": float(a.std(dim=0).mean())}


class ConditioningGate:
    """Swapping the condition must change the ensemble mean well beyond sampling noise; an unconditional model (or
    one that ignores its condition) is refused as a forecaster."""

    name = "conditioning-check"
    version = "1"

    def __init__(self, limits: CheckLimits | None = None) -> None:
        self.limits = limits or CheckLimits()
        self.description = ("members with the same seeds under two conditions (the first test state and the "
                            "first state): mean over points of the paired t² of their differences (0 when the "
                            "condition is ignored, ≈ 1 when it only reshuffles members), "
                            f"{self.limits.conditioning_snr}")

    def evaluate(self, ctx: GateContext) -> Outcome:
        from plugins.hrrr_ddpm.evaluation import condition_pair

        model = ctx.model
        if not model.conditional:
            return Outcome(None, False, self.limits.conditioning_snr.limit, self.limits.conditioning_snr.op,
                           "unconditional model (no condition channels): its ensembles are climate samples, not "
                           "forecasts; refused as a forecaster", details={"cond_channels": 0})
        (ta, cond_a), (tb, cond_b) = condition_pair(ctx, self.limits.conditioning_crop)
        m, snr = self.limits.conditioning_members, self.limits.conditioning_snr
        got = conditioning_snr(model, cond_a, cond_b, members=m, seed=ctx.seed, device=ctx.device)
        names = list(model.variables)
        rows = [{"variable": v, "snr": round(x, 3)} for v, x in zip(names, got["by_variable"], strict=True)]
        return Outcome.held_to(
            got["snr"], snr,
            f"swapping the condition (times {ta} and {tb}, {m} members with the same seeds, "
            f"{tuple(cond_a.shape[-2:])} crop): paired t² {got['snr']:.3g} (mean |change| {got['mean_change']:.3g}, "
            f"spread {got['spread']:.3g} z); {'meets' if snr.check(got['snr']) else 'misses'} {snr}",
            details={"table": table(rows, ["variable", "snr"]), "times": [ta, tb], "members": m,
                     "mean_change_z": got["mean_change"], "spread_z": got["spread"]})
