"""The TEC release gates: skill against climatology and persistence with intervals, sanity, horizon, split, inputs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gates.base import GateContext, Outcome, Slice, Threshold
from gates.bootstrap import block_counts, resampled_means
from gates.metrics import pearson
from plugins.tec.evaluation import EvaluationSet, arrow_columns, evaluation_set
from plugins.tec.extracts import TEC_HOURLY, TEC_HOURLY_SPEC
from plugins.tec.integrity import row_problems, split_problems

LEVEL = 0.95


@dataclass(frozen=True)
class TecThresholds:
    """The suite's configurable limits (TECU where a unit applies)."""

    good_rmse: float = 13.0
    storm_rmse: float = 13.0
    storm_kp: float = 5.0
    min_storm_hours: int = 24
    min_correlation: float = 0.3
    min_std_ratio: float = 0.3
    max_mode_share: float = 0.5
    max_storm_share: float = 0.2
    min_reference_skill: float = -1.0  # persistence and IRI in the default suite: reported, fail only past 2× RMSE
    n_resamples: int = 1000
    block: int = 24  # samples are hourly per location: a day of consecutive issue hours stays together


def extract_params(ctx: GateContext) -> dict[str, Any]:
    """The parameters of the ``tec-hourly`` request the version was trained on (its lineage), else the defaults."""
    for entry in (ctx.version.lineage or {}).get("extracts") or ():
        if isinstance(entry, dict) and entry.get("name") == TEC_HOURLY and isinstance(entry.get("params"), dict):
            return dict(entry["params"])
    return {}


def split_rows(ctx: GateContext, split: str) -> dict[str, np.ndarray]:
    """The rows of one window of the spec (``train`` or ``test``), cut from that one pinned extract by time."""
    def cut() -> dict[str, np.ndarray]:
        rows = ctx.memo("tec-rows", lambda: arrow_columns(ctx.extract(TEC_HOURLY, params=extract_params(ctx))))
        lo, hi = (np.datetime64(b, "s") for b in TEC_HOURLY_SPEC.window(split).bounds)
        keep = (rows["time"] >= lo) & (rows["time"] < hi)
        return {k: v[keep] for k, v in rows.items()}

    return ctx.memo(f"tec-rows-{split}", cut)


def scored(ctx: GateContext) -> EvaluationSet:
    """The run's evaluation set, computed once and shared by the gates."""
    return ctx.memo("tec-evaluation",
                    lambda: evaluation_set(ctx.model, split_rows(ctx, "test"), split_rows(ctx, "train")))


def shared_counts(ctx: GateContext, n: int, limits: TecThresholds, subset: str = "all") -> np.ndarray:
    """One set of block resamples per run (and subset), shared by every score: intervals of different gates
    then come from the same resampled rows."""
    return ctx.memo(f"tec-bootstrap-{subset}-{n}", lambda: block_counts(
        n, min(limits.block, n), limits.n_resamples, ctx.rng(f"bootstrap-{subset}")))


def iri_baseline(ctx: GateContext, ev: EvaluationSet) -> np.ndarray:
    """IRI-2020 TEC at each sample's location and target hour, from the month's mean observed F10.7."""
    from plugins.tec.iri import iri_forecast

    def compute() -> np.ndarray:
        test = split_rows(ctx, "test")
        rows = ev.samples.issue_row
        latlon = np.stack([test["lat"][rows], test["lon"][rows]], axis=1)
        leads = ev.truth.shape[1]
        return iri_forecast(test, latlon, ev.samples.issue_hour[:, None] + np.arange(1, leads + 1)[None, :])

    return ctx.memo("tec-iri", compute)


def interval_of(draws: np.ndarray) -> dict[str, float]:
    lo, hi = np.quantile(draws, [(1 - LEVEL) / 2, 1 - (1 - LEVEL) / 2])
    return {"lower": float(lo), "upper": float(hi), "level": LEVEL}


class SkillGate:
    """RMSE skill ``1 − RMSE_model / RMSE_baseline`` over all leads, its block-bootstrap interval, and per lead."""

    version = "1"

    def __init__(self, baseline: str, threshold: Threshold, limits: TecThresholds) -> None:
        self.baseline, self.threshold, self.limits = baseline, threshold, limits
        self.name = f"skill-vs-{baseline}"
        self.description = (f"RMSE skill against {baseline} (pairs aligned by target time, every lead +1…+24 h), "
                            f"{LEVEL:.0%} block-bootstrap interval; held {threshold.on} {threshold}")

    def evaluate(self, ctx: GateContext) -> Outcome:
        ev = scored(ctx)
        base = iri_baseline(ctx, ev) if self.baseline == "iri" else getattr(ev, self.baseline)
        e_model, e_base = (ev.model - ev.truth) ** 2, (base - ev.truth) ** 2
        leads = e_model.shape[1]
        draws = resampled_means(np.hstack([e_model, e_base]), counts=shared_counts(ctx, len(e_model), self.limits))
        dm, db = draws[:, :leads], draws[:, leads:]
        skill = 1 - np.sqrt(e_model.mean()) / np.sqrt(e_base.mean())
        pooled = 1 - np.sqrt(dm.mean(axis=1)) / np.sqrt(db.mean(axis=1))
        per_lead = 1 - np.sqrt(e_model.mean(axis=0)) / np.sqrt(e_base.mean(axis=0))
        lead_draws = 1 - np.sqrt(dm) / np.sqrt(db)
        bands = [interval_of(lead_draws[:, k]) for k in range(leads)]
        slices = tuple(Slice(f"+{k + 1} h", float(per_lead[k]), interval=bands[k]) for k in range(leads))
        rmse_m, rmse_b = float(np.sqrt(e_model.mean())), float(np.sqrt(e_base.mean()))
        note = (f"; {ev.climatology_fallbacks:,} of {base.size:,} climatology values fell back to the training mean"
                if self.baseline == "climatology" else "")
        interval = interval_of(pooled)
        passed_text = "meets" if self.threshold.check(interval[self.threshold.on] if self.threshold.on != "value"
                                                      else skill) else "misses"
        message = (f"skill {skill:.3f} [{interval['lower']:.3f}, {interval['upper']:.3f}] (RMSE {rmse_m:.2f} vs "
                   f"{self.baseline} {rmse_b:.2f} TECU on {len(e_model):,} samples × {leads} leads){note}; "
                   f"{passed_text} {self.threshold.on} {self.threshold}")
        figure = {"kind": "lines", "title": f"skill vs {self.baseline} by lead", "x": list(range(1, leads + 1)),
                  "xlabel": "lead (h)", "ylabel": "RMSE skill", "hline": 0.0,
                  "series": {"skill": {"y": per_lead.tolist(), "lower": [b["lower"] for b in bands],
                                       "upper": [b["upper"] for b in bands]}}}
        return Outcome.held_to(float(skill), self.threshold, message, interval=interval, slices=slices,
                               figures=(figure,), details={"rmse_model": rmse_m, f"rmse_{self.baseline}": rmse_b,
                                                           "climatology_fallbacks": ev.climatology_fallbacks})


class RmseGate:
    """Pooled RMSE of the forecast (all samples, or the storm subset Kp ≥ storm_kp at issue time)."""

    version = "1"

    def __init__(self, name: str, limit: float, limits: TecThresholds, storm: bool = False) -> None:
        self.name, self.limits, self.storm = name, limits, storm
        self.threshold = Threshold("<", limit)
        subset = f"storm hours (Kp ≥ {limits.storm_kp:g} at issue, ≥ {limits.min_storm_hours} of them)" \
            if storm else "all samples"
        self.description = f"RMSE over {subset} and every lead < {limit:g} TECU"

    def evaluate(self, ctx: GateContext) -> Outcome:
        ev = scored(ctx)
        rows = ev.kp_now >= self.limits.storm_kp if self.storm else np.ones(len(ev.truth), bool)
        if self.storm:
            hours = int(np.unique(ev.samples.issue_hour[rows]).size)
            if hours < self.limits.min_storm_hours:
                return Outcome(value=None, passed=False, threshold=self.threshold.limit, comparator="<",
                               message=f"only {hours} storm hour(s) (Kp ≥ {self.limits.storm_kp:g}) in the "
                                       f"evaluation, fewer than {self.limits.min_storm_hours}: too few events to "
                                       "judge the storm slice", details={"storm_hours": hours})
        err = (ev.model[rows] - ev.truth[rows]) ** 2
        value = float(np.sqrt(err.mean()))
        subset = "storm" if self.storm else "all"
        counts = shared_counts(ctx, len(err), self.limits, subset)
        draws = np.sqrt(resampled_means(err.mean(axis=1), counts=counts)[:, 0])
        per_lead = np.sqrt(err.mean(axis=0))
        slices = tuple(Slice(f"+{k + 1} h", float(v)) for k, v in enumerate(per_lead))
        pred, obs = ev.model[rows].ravel(), ev.truth[rows].ravel()
        step = max(1, pred.size // 2000)  # every step-th pair: a fixed, reproducible thinning for the figure
        figure = {"kind": "density", "title": f"predicted vs observed TEC ({'storm' if self.storm else 'all'})",
                  "x": np.round(pred[::step], 2).tolist(), "y": np.round(obs[::step], 2).tolist(),
                  "xlabel": "predicted TEC (TECU)", "ylabel": "observed TEC (TECU)"}
        return Outcome.held_to(value, self.threshold, interval=interval_of(draws), slices=slices,
                               details={"samples": int(rows.sum())}, figures=(figure,))


class SanityGate:
    """No constant or collapsed forecast: a finite correlation above a floor, and std(pred)/std(obs) above one."""

    version = "1"

    def __init__(self, kind: str, limits: TecThresholds) -> None:
        self.kind, self.limits = kind, limits
        self.name = f"forecast-{kind}"
        floor = limits.min_correlation if kind == "correlation" else limits.min_std_ratio
        self.threshold = Threshold(">=", floor)
        self.description = ("Pearson r of forecast and truth (all leads) ≥ floor; NaN (a constant forecast) fails"
                            if kind == "correlation" else "std(pred)/std(obs) ≥ floor, and no single value in "
                            f"more than {limits.max_mode_share:.0%} of forecasts (a fallback output)")

    def evaluate(self, ctx: GateContext) -> Outcome:
        ev = scored(ctx)
        pred, truth = ev.model.ravel(), ev.truth.ravel()
        values, counts = np.unique(np.round(pred, 6), return_counts=True)
        mode, share = float(values[counts.argmax()]), float(counts.max() / pred.size)
        constant = f"; {share:.0%} of forecasts are {mode:g} TECU (a constant or fallback output)" \
            if share > self.limits.max_mode_share else ""
        if self.kind == "correlation":
            r = pearson(pred, truth)
            text = "undefined (a constant forecast)" if not np.isfinite(r) else f"{r:.3f}"
            return Outcome.held_to(r, self.threshold, f"correlation {text} (floor {self.threshold.limit:g}){constant}")
        ratio = float(pred.std() / truth.std()) if truth.std() > 0 else float("nan")
        message = (f"std(pred) {pred.std():.2f} TECU vs std(obs) {truth.std():.2f} TECU: ratio {ratio:.3f} "
                   f"(floor {self.threshold.limit:g}){constant}")
        outcome = Outcome.held_to(ratio, self.threshold, message, details={"mode": mode, "mode_share": share})
        if constant and outcome.passed:
            return Outcome(ratio, False, self.threshold.limit, ">=", message, details=outcome.details)
        return outcome


class HorizonGate:
    """Leads are scored at their own target time: proved on a synthetic series with a known shift, and the
    candidate's +1 h output must match the truth at +1 h better than at any other lead."""

    name = "horizon-alignment"
    version = "2"  # 2: the slices of outputs +2 … +24 h pass at their own lead (1 marked every one of them failed)
    description = ("pairing self-test on a synthetic series shifted by a known lead; best-matching lag of the "
                   "+1 h output == 1")
    threshold = Threshold("==", 1)

    def evaluate(self, ctx: GateContext) -> Outcome:
        from plugins.tec.horizon import pairing_self_test

        broken = pairing_self_test()
        if broken:
            return Outcome(None, False, 1, "==", f"the scorer's pairing is misaligned: {broken}")
        ev = scored(ctx)
        leads = ev.truth.shape[1]
        rmse = np.stack([np.sqrt(((ev.model[:, k, None] - ev.truth) ** 2).mean(axis=0)) for k in range(leads)])
        best = rmse.argmin(axis=1) + 1
        # each output's slice passes when it matches the truth best at its own lead (+2 h output at +2 h, …)
        slices = tuple(Slice(f"output +{k + 1} h", int(best[k]), passed=bool(best[k] == k + 1)) for k in range(leads))
        message = (f"the +1 h output matches the truth at +{best[0]} h best (RMSE {rmse[0, best[0] - 1]:.2f} vs "
                   f"{rmse[0, 0]:.2f} TECU at +1 h)" + ("" if best[0] == 1 else ": the leads are misaligned "
                                                          "(an output scored against another lead's truth)"))
        return Outcome.held_to(int(best[0]), self.threshold, message, slices=slices)


class RowsGate:
    """The evaluation and training rows are physical: no NULL/fill values, ranges, no stuck driver, plausible Kp."""

    name = "input-integrity"
    version = "1"
    threshold = Threshold("<=", 0)

    def __init__(self, limits: TecThresholds) -> None:
        self.limits = limits
        self.description = ("test and training rows: no NULL or fill values, physical ranges, no driver stuck at "
                            f"one value (> {limits.max_mode_share:.0%}), Kp ≥ 5 in ≤ {limits.max_storm_share:.0%}")

    def evaluate(self, ctx: GateContext) -> Outcome:
        problems = [p for split in ("test", "train") for p in row_problems(
            split_rows(ctx, split), label=split, max_mode_share=self.limits.max_mode_share,
            max_storm_share=self.limits.max_storm_share)]
        message = "; ".join(problems[:6]) + (f"; … {len(problems) - 6} more" if len(problems) > 6 else "") \
            if problems else "no NULL or fill values, every value in range, no stuck driver"
        return Outcome.held_to(len(problems), self.threshold, message, details={"problems": problems})


class SplitGate:
    """The evaluation window lies strictly after the training window the version's lineage records."""

    name = "split-integrity"
    version = "1"
    description = "evaluation hours strictly after the recorded training span, none shared, temporal split"
    threshold = Threshold("<=", 0)

    def evaluate(self, ctx: GateContext) -> Outcome:
        times = split_rows(ctx, "test")["time"]
        inside, problems, facts = split_problems(ctx.version.lineage, times)
        message = "; ".join(problems) if problems else (
            f"evaluation {facts['test_first']} … {facts['test_last']} after training {facts['train_first']} … "
            f"{facts['train_last']}")
        value: Any = inside + (len(problems) if not inside else 0)
        return Outcome.held_to(value, self.threshold, message, details=facts)
