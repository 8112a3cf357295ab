"""The HRRR DDPM ensemble gates: CRPS skill, rank flatness, spread/skill, Brier skill, FSS, spectra and tails."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from gates.base import GateContext, Outcome, Slice, Threshold, table
from plugins.hrrr_ddpm import scores
from plugins.hrrr_ddpm.evaluation import EvaluationPlan
from plugins.hrrr_ddpm.scoring import UNITS, Sums
from registry.errors import GateError


@dataclass(frozen=True)
class HrrrLimits:
    """The suite's configurable limits and resampling."""

    skill_persistence: Threshold = Threshold(">", 0.0, on="lower")
    skill_climatology: Threshold = Threshold(">", 0.0, on="lower")
    rank_reliability_index: Threshold = Threshold("<=", 0.2)
    spread_skill: Threshold = Threshold.band(0.7, 1.3)
    brier_skill: Threshold = Threshold(">", 0.0, on="lower")
    spectrum_ratio: Threshold = Threshold.band(0.5, 2.0)
    tail_difference: Threshold = Threshold.band(-0.5, 0.5)
    n_resamples: int = 1000
    setup: EvaluationPlan = EvaluationPlan()


def scored(ctx: GateContext, limits: HrrrLimits) -> Sums:
    """The run's scoring pass over its generated ensembles, done once per evaluation plan and shared by the gates
    (``plugins.hrrr_ddpm.evaluation`` reads the run's dataset and on-disk ensembles)."""
    def compute() -> Sums:
        from plugins.hrrr_ddpm.evaluation import score_run

        return score_run(ctx, limits.setup)

    return ctx.memo(limits.setup.key(), compute)


def shared_counts(ctx: GateContext, sums: Sums, limits: HrrrLimits) -> np.ndarray:
    """One set of row-block resamples per run, shared by every interval."""
    return ctx.memo("hrrr-bootstrap", lambda: scores.resample_counts(sums, ctx.rng("bootstrap"), limits.n_resamples))


def _held(threshold: Threshold, value: float, interval: Mapping[str, float] | None) -> float | None:
    if threshold.on == "value":
        return value
    return None if interval is None else interval[threshold.on]


def _margin(threshold: Threshold, held: float | None) -> float:
    if held is None or not np.isfinite(held):
        return -np.inf
    if isinstance(threshold.limit, tuple):
        lo, hi = threshold.limit
        return float(min(held - lo, hi - held))
    if threshold.op == "==":  # only an equal value passes: every other one is past the limit, the further the worse
        return -abs(float(held - threshold.limit))
    return float(held - threshold.limit if threshold.op in (">", ">=") else threshold.limit - held)


def per_variable(values: Mapping[str, float], threshold: Threshold, what: str, *,
                 intervals: Mapping[str, Mapping[str, float] | None] | None = None, noun: str = "variable",
                 **kw: Any) -> Outcome:
    """Every variable (or sampler: ``noun``) held to ``threshold``; the outcome's value (and interval) is the one
    nearest to failing, or furthest past it, and it passes only if every one does."""
    intervals = intervals or {}
    if not values:
        raise GateError(f"no {noun} was scored for {what}")
    slices = tuple(Slice(v, values[v], threshold.check(_held(threshold, values[v], intervals.get(v))),
                         None if intervals.get(v) is None else dict(intervals[v])) for v in values)  # type: ignore[arg-type]
    worst = min(values, key=lambda v: _margin(threshold, _held(threshold, values[v], intervals.get(v))))
    failing = [s.name for s in slices if not s.passed]
    shown = ", ".join(f"{s.name} {s.value:.3g}" + (f" [{s.interval['lower']:.3g}, {s.interval['upper']:.3g}]"
                                                   if s.interval else "") for s in slices)
    verdict = f"fails for {', '.join(failing)}" if failing else f"every {noun} meets it"
    message = f"{what} ({threshold.on} {threshold}): {shown}; {verdict}"
    out = Outcome.held_to(values[worst], threshold, message, interval=intervals.get(worst), slices=slices, **kw)
    if out.passed != (not failing):  # the worst slice decides; kept consistent with the slices shown
        raise GateError(f"{what}: the worst variable {worst} and the slices disagree")
    return out


class _ScoreGate:
    version = "1"
    name = ""
    description = ""

    def __init__(self, limits: HrrrLimits | None = None) -> None:
        self.limits = limits or HrrrLimits()

    def evaluate(self, ctx: GateContext) -> Outcome:
        sums = scored(ctx, self.limits)
        return self.measure(sums, lambda: shared_counts(ctx, sums, self.limits))

    def measure(self, sums: Sums, counts: Callable[[], np.ndarray]) -> Outcome:
        raise NotImplementedError


class CRPSSkillGate(_ScoreGate):
    """CRPS skill of the ensemble per variable against persistence (the condition as a forecast) or a
    climatological ensemble (states of other times), with row-block bootstrap intervals."""

    def __init__(self, reference: str, limits: HrrrLimits | None = None) -> None:
        super().__init__(limits)
        if reference not in ("persistence", "climatology"):
            raise ValueError(f"reference must be persistence or climatology, got {reference!r}")
        self.reference = reference
        self.threshold = getattr(self.limits, f"skill_{reference}")
        self.name = f"crps-skill-vs-{reference}"
        self.description = (f"1 − CRPS(ensemble) / CRPS({reference}) per variable, {scores.LEVEL:.0%} bootstrap "
                            f"interval over blocks of rows; every variable {self.threshold.on} {self.threshold}")

    def measure(self, sums: Sums, counts: Callable[[], np.ndarray]) -> Outcome:
        est = scores.crps_skill(sums, self.reference, counts())
        crps = scores.crps(sums)
        rows = [{"variable": v, "unit": UNITS.get(v, ""), **{k: round(x, 6) for k, x in crps[v].items()},
                 "skill": round(est[v].value, 4)} for v in est]
        columns = ["variable", "unit", *crps[next(iter(crps))].keys(), "skill"]
        return per_variable({v: e.value for v, e in est.items()}, self.threshold, f"CRPS skill vs {self.reference}",
                            intervals={v: e.interval for v, e in est.items()},
                            details={"table": table(rows, columns, "mean CRPS per variable (physical units)"),
                                     "cases": sums.cases, "members": sums.members})


class RankFlatnessGate(_ScoreGate):
    """Rank histograms per variable (ties shared): the reliability index Σ|f_k − 1/(m+1)| held to a limit;
    χ² and its p-value reported (spatially correlated points make p small for any real ensemble)."""

    name = "rank-flatness"

    def __init__(self, limits: HrrrLimits | None = None) -> None:
        super().__init__(limits)
        self.description = f"rank-histogram reliability index per variable {self.limits.rank_reliability_index}"

    def measure(self, sums: Sums, counts: Callable[[], np.ndarray]) -> Outcome:
        flat = scores.rank_flatness(sums)
        figures = tuple({"kind": "rank_histogram", "title": f"Rank histogram {v} (χ² {r['chi2']:.3g})",
                         "counts": [round(float(c), 3) for c in r["counts"]], "chi2": r["chi2"], "p": r["p"]}
                        for v, r in flat.items())
        rows = [{"variable": v, "reliability_index": round(r["reliability_index"], 4), "chi2": round(r["chi2"], 2),
                 "p": r["p"]} for v, r in flat.items()]
        return per_variable({v: r["reliability_index"] for v, r in flat.items()}, self.limits.rank_reliability_index,
                            "rank reliability index", figures=figures,
                            details={"table": table(rows, ["variable", "reliability_index", "chi2", "p"])})


class SpreadSkillGate(_ScoreGate):
    """Spread/skill per variable, √(mean variance · (m+1)/m) / RMSE of the ensemble mean, in a band."""

    name = "spread-skill"

    def __init__(self, limits: HrrrLimits | None = None) -> None:
        super().__init__(limits)
        self.description = f"spread/skill ratio per variable {self.limits.spread_skill} (1: consistent)"

    def measure(self, sums: Sums, counts: Callable[[], np.ndarray]) -> Outcome:
        est = scores.spread_skill(sums, counts())
        lo, hi = self.limits.spread_skill.limit  # type: ignore[misc]
        fig = {"kind": "bar", "title": "Spread/skill by variable", "labels": list(est),
               "values": [round(e.value, 4) for e in est.values()], "threshold": 1.0, "threshold_label": "consistent",
               "ylabel": "spread / RMSE", "band": [lo, hi]}
        rows = [{"variable": v, "spread": round(e.parts["spread"], 5), "rmse": round(e.parts["rmse"], 5),
                 "ratio": round(e.value, 4)} for v, e in est.items()]
        return per_variable({v: e.value for v, e in est.items()}, self.limits.spread_skill, "spread/skill",
                            intervals={v: e.interval for v, e in est.items()}, figures=(fig,),
                            details={"table": table(rows, ["variable", "spread", "rmse", "ratio"])})


class BrierSkillGate(_ScoreGate):
    """Brier skill of the exceedance probability (share of members above the threshold) against the
    climatological ensemble's, with its decomposition and reliability diagram."""

    def __init__(self, variable: str, threshold: float, limits: HrrrLimits | None = None) -> None:
        super().__init__(limits)
        self.variable, self.level = variable, float(threshold)
        self.event = f"{variable} > {threshold:g} {UNITS.get(variable, '')}".strip()
        self.name = f"brier-skill-{variable.lower()}-{threshold:g}"
        self.description = (f"Brier skill of P({self.event}) vs the climatological ensemble, "
                            f"{self.limits.brier_skill.on} {self.limits.brier_skill}")

    def measure(self, sums: Sums, counts: Callable[[], np.ndarray]) -> Outcome:
        events = list(sums.plan.events)
        if (self.variable, self.level) not in events:
            raise GateError(f"the scoring pass did not score {self.variable} > {self.level:g}")
        e = events.index((self.variable, self.level))
        est = scores.brier_skill(sums, e, counts())
        parts, diagram = scores.brier_parts(sums, e)
        message = (f"Brier skill {est.value:.3f} (BS {est.parts['brier']:.4g} vs climatology "
                   f"{est.parts['brier_climatology']:.4g}; reliability {parts.reliability:.3g}, resolution "
                   f"{parts.resolution:.3g}, uncertainty {parts.uncertainty:.3g}) for {self.event}")
        out = Outcome.held_to(est.value, self.limits.brier_skill, interval=est.interval,
                              figures=(diagram.figure(f"Reliability {self.event}"),),
                              details={"decomposition": vars(parts), **est.parts})
        verdict = "meets" if out.passed else "misses"
        return Outcome(out.value, out.passed, out.threshold, out.comparator,
                       f"{message}; {verdict} {self.limits.brier_skill.on} {self.limits.brier_skill}", out.details,
                       out.figures)


class FSSGate(_ScoreGate):
    """Fractions skill score of the FSS event per neighbourhood, pooled over members: useful (≥ 0.5 + f₀/2) at
    the largest neighbourhood."""

    name = "fss"
    description = ("member-pooled FSS of REFC > 35 dBZ by neighbourhood; useful (≥ 0.5 + f₀/2) at the largest; "
                   "shows one case's truth, mean, spread, P(REFC > 35 dBZ) and a paintball of members")

    def measure(self, sums: Sums, counts: Callable[[], np.ndarray]) -> Outcome:
        from plugins.hrrr_ddpm.figures import case_maps

        f = scores.fss(sums)
        useful = Threshold(">=", round(f["useful"], 6))
        name, thr = sums.plan.fss_event
        slices = tuple(Slice(f"{w} px", v, useful.check(v)) for w, v in zip(f["windows"], f["fss"], strict=True))
        fig = {"kind": "lines", "title": f"FSS {name} > {thr:g}", "x": f["windows"], "xlabel": "neighbourhood (px)",
               "ylabel": "FSS", "series": {"members": {"y": f["fss"]}}, "hline": f["useful"]}
        figures = (fig, *case_maps(sums))
        if not np.isfinite(f["fss"][-1]):
            return Outcome(None, False, useful.limit, useful.op,  # type: ignore[arg-type]
                           f"no {name} > {thr:g} in truth or members: FSS undefined", details=f, slices=slices,
                           figures=figures)
        verdict = "meets" if useful.check(f["fss"][-1]) else "misses"
        return Outcome.held_to(f["fss"][-1], useful, f"FSS at {f['windows'][-1]} px {f['fss'][-1]:.3f} {verdict} "
                               f"useful ≥ {f['useful']:.3f} (observed base rate {f['observed_base_rate']:.3g})",
                               details=f, slices=slices, figures=figures)


class SpectrumGate(_ScoreGate):
    """Power of samples over truth at the upper half of the wavenumbers, per variable, in a band."""

    name = "power-spectrum"

    def __init__(self, limits: HrrrLimits | None = None) -> None:
        super().__init__(limits)
        self.description = f"member / truth power over the upper half of wavenumbers {self.limits.spectrum_ratio}"

    def measure(self, sums: Sums, counts: Callable[[], np.ndarray]) -> Outcome:
        spec = scores.spectrum_ratio(sums)
        k = next(iter(spec.values()))["k"]
        fig = {"kind": "lines", "title": "Power ratio samples / truth", "x": k, "xlabel": "wavenumber (per domain)",
               "ylabel": "ratio", "hline": 1.0, "yscale": "log",
               "series": {v: {"y": s["ratio"]} for v, s in spec.items()}}
        return per_variable({v: s["upper_half"] for v, s in spec.items()}, self.limits.spectrum_ratio,
                            "small-scale power ratio", figures=(fig,))


class TailGate(_ScoreGate):
    """The tail quantile (99.9th percentile) of samples vs truth per variable, in the truth's spread."""

    name = "tail-quantile"

    def __init__(self, limits: HrrrLimits | None = None) -> None:
        super().__init__(limits)
        self.description = f"(q99.9 samples − q99.9 truth) / truth spread per variable {self.limits.tail_difference}"

    def measure(self, sums: Sums, counts: Callable[[], np.ndarray]) -> Outcome:
        t = scores.tails(sums)
        rows = [{"variable": v, "unit": UNITS.get(v, ""), **{k: round(x, 4) for k, x in r.items()}}
                for v, r in t.items()]
        return per_variable({v: r["difference"] for v, r in t.items()}, self.limits.tail_difference,
                            f"q{sums.plan.tail_q * 100:g} difference",
                            details={"table": table(rows, ["variable", "unit", "samples", "truth", "scale",
                                                           "difference"])})
