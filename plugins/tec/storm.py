"""The storm-probability gate: Brier skill of the 24 hourly storm probabilities against the training base rate."""

from __future__ import annotations

import numpy as np

from gates.base import GateContext, Outcome, Slice, Threshold
from gates.bootstrap import resampled_means
from gates.probabilistic import reliability_diagram
from plugins.tec.gates import TecThresholds, interval_of, scored, shared_counts, split_rows
from registry.errors import GateError


class StormProbabilityGate:
    """Brier skill of ``storm_probability`` (+1 … +24 h) against the share of Kp ≥ storm_kp hours in the
    training window, with its block-bootstrap interval, per-lead slices and a reliability diagram."""

    name = "storm-brier-skill"
    version = "1"

    def __init__(self, threshold: Threshold, limits: TecThresholds) -> None:
        self.threshold, self.limits = threshold, limits
        self.description = (f"Brier skill of the storm probabilities (Kp ≥ {limits.storm_kp:g} at each lead) against "
                            f"the training window's storm-hour rate; held {threshold.on} {threshold}")

    def evaluate(self, ctx: GateContext) -> Outcome:
        ev = scored(ctx)
        test, train = split_rows(ctx, "test"), split_rows(ctx, "train")
        events = (test["kp"][ev.samples.target_row] >= self.limits.storm_kp).astype(np.float64)
        base = float(np.mean(train["kp"] >= self.limits.storm_kp))
        prob = np.clip(ev.storm_probability, 0.0, 1.0)
        e_model, e_base = (prob - events) ** 2, (base - events) ** 2
        if e_base.mean() == 0:
            raise GateError(f"no storm hour (Kp ≥ {self.limits.storm_kp:g}) in the test window and none in training: "
                            "the storm probabilities cannot be scored")
        leads = events.shape[1]
        draws = resampled_means(np.hstack([e_model, e_base]), counts=shared_counts(ctx, len(events), self.limits))
        dm, db = draws[:, :leads], draws[:, leads:]
        skill = float(1 - e_model.mean() / e_base.mean())
        pooled = 1 - dm.mean(axis=1) / np.maximum(db.mean(axis=1), 1e-12)
        per_lead = 1 - e_model.mean(axis=0) / np.maximum(e_base.mean(axis=0), 1e-12)
        lead_draws = 1 - dm / np.maximum(db, 1e-12)
        slices = tuple(Slice(f"+{k + 1} h", float(per_lead[k]), interval=interval_of(lead_draws[:, k]))
                       for k in range(leads))
        interval = interval_of(pooled)
        held = interval[self.threshold.on] if self.threshold.on != "value" else skill
        message = (f"Brier skill {skill:.3f} [{interval['lower']:.3f}, {interval['upper']:.3f}] against the training "
                   f"storm rate {base:.3%} ({int(events.sum()):,} storm lead-hours of {events.size:,}); "
                   f"{'meets' if self.threshold.check(held) else 'misses'} {self.threshold.on} {self.threshold}")
        figure = reliability_diagram(prob.ravel(), events.ravel()).figure("storm probability reliability")
        return Outcome.held_to(skill, self.threshold, message, interval=interval, slices=slices, figures=(figure,),
                               details={"base_rate": base, "storm_lead_hours": int(events.sum())})
