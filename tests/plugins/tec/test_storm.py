"""The storm-probability gate on SYNTHETIC rows with a set Kp: events at Kp ≥ storm_kp, the training storm rate,
clipped probabilities, the interval and the bound it holds, per-lead slices, and the refusal when nothing is a storm."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from tec_gate_runs import Ctx, Make, Oracle, rows, table

from gates.base import Threshold
from gates.bootstrap import resampled_means
from plugins.tec.gates import TecThresholds, scored, shared_counts, split_rows
from plugins.tec.storm import StormProbabilityGate
from registry.errors import GateError

LIMITS = TecThresholds(n_resamples=200)
REPORTED = Threshold(">", -1.0)  # the default suite's: reported, fails only past twice the reference's Brier score


def context(train: dict[str, np.ndarray], test: dict[str, np.ndarray], storm: Make) -> Ctx:
    return Ctx(Oracle(test, storm=storm), table(train, test))


@pytest.fixture(scope="module")
def data() -> dict[str, dict[str, np.ndarray]]:
    # the spec's windows: training ends 2022-01-01, the test window starts 2023-01-01; it ends inside a storm,
    # so that the later leads see more storm hours than the earlier ones
    return {"train": rows("2021-12-01", "2022-01-01", 4, storm_days=5),
            "test": rows("2023-01-01", "2023-01-14T12", 5, storm_days=3),
            "calm_train": rows("2021-12-01", "2022-01-01", 4, calm=True),
            "calm_test": rows("2023-01-01", "2023-01-14T12", 5, calm=True)}


def perfect(kp: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.where(kp >= 5, 1.3, -0.2)  # outside [0, 1] on purpose: scored as 1 and 0


def noisy(kp: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.clip(np.where(kp >= 5, 0.45, 0.2) + rng.normal(0, 0.2, kp.shape), 0, 1)


def evaluate(data: dict, make: Make, threshold: Threshold = REPORTED, limits: TecThresholds = LIMITS,
             train: str = "train", test: str = "test") -> tuple[Any, Ctx]:
    ctx = context(data[train], data[test], make)
    return StormProbabilityGate(threshold, limits).evaluate(ctx), ctx


def truth(ctx: Ctx, storm_kp: float = 5.0) -> tuple[np.ndarray, np.ndarray, float]:
    """Events, clipped probabilities and the training storm rate, computed here from the rows."""
    ev = scored(ctx)
    events = (split_rows(ctx, "test")["kp"][ev.samples.target_row] >= storm_kp).astype(float)
    return events, np.clip(ev.storm_probability, 0, 1), float(np.mean(split_rows(ctx, "train")["kp"] >= storm_kp))


def test_the_synthetic_kp_has_storms_at_exactly_the_limit(data) -> None:
    assert (data["test"]["kp"] == 5.0).any() and (data["train"]["kp"] == 5.0).any()
    assert (data["calm_test"]["kp"] < 5).all() and (data["calm_train"]["kp"] < 5).all()


def test_a_perfect_forecast_clipped_into_0_1_scores_1_at_every_lead_kp_5_included(data) -> None:
    out, ctx = evaluate(data, perfect)
    events, _, base = truth(ctx)
    assert out.passed and out.value == 1.0 and out.interval["lower"] == out.interval["upper"] == 1.0
    assert [s.name for s in out.slices] == [f"+{k} h" for k in range(1, 25)]
    assert all(s.value == 1.0 and s.interval["lower"] == 1.0 for s in out.slices)
    assert (out.details["base_rate"], out.details["storm_lead_hours"]) == (base, int(events.sum()))
    assert 0.05 < base < 0.2 and 0 < events.mean() < 0.3
    assert base != np.mean(data["train"]["kp"] > 5)  # Kp exactly 5 counts as a storm hour in training
    assert (events != (split_rows(ctx, "test")["kp"][scored(ctx).samples.target_row] > 5)).any()
    assert f"({int(events.sum()):,} storm lead-hours of {events.size:,})" in out.message
    assert f"training storm rate {base:.3%}" in out.message and "Brier skill 1.000 [1.000, 1.000]" in out.message
    figure = out.figures[0]
    assert figure["kind"] == "reliability" and sum(figure["counts"]) == events.size
    assert figure["title"] == "storm probability reliability"


def test_a_forecast_of_the_training_rate_scores_0_and_misses_greater_than_0(data) -> None:
    base = float(np.mean(data["train"]["kp"] >= 5))
    climate: Make = lambda kp, rng: np.full(kp.shape, base)  # noqa: E731
    out, _ = evaluate(data, climate, Threshold(">", 0.0))
    assert out.value == 0.0 and (out.interval["lower"], out.interval["upper"]) == (0.0, 0.0)
    assert not out.passed and out.message.endswith("; misses value > 0")
    held, _ = evaluate(data, climate, Threshold(">=", 0.0))
    assert held.passed and held.message.endswith("; meets value >= 0")


def test_skill_interval_and_slices_are_the_brier_skill_over_the_shared_resamples(data) -> None:
    out, ctx = evaluate(data, noisy)
    events, prob, base = truth(ctx)
    e_model, e_base = (prob - events) ** 2, (base - events) ** 2
    skill = 1 - e_model.mean() / e_base.mean()
    assert 0.05 < skill < 0.9 and out.value == pytest.approx(skill, rel=1e-12)
    draws = resampled_means(np.hstack([e_model, e_base]), counts=shared_counts(ctx, len(events), LIMITS))
    pooled = 1 - draws[:, :24].mean(axis=1) / draws[:, 24:].mean(axis=1)
    lower, upper = np.quantile(pooled, [0.025, 0.975])
    assert out.interval == {"lower": pytest.approx(lower), "upper": pytest.approx(upper), "level": 0.95}
    assert lower < skill < upper and upper - lower > 0.01
    per_lead = 1 - e_model.mean(axis=0) / e_base.mean(axis=0)
    assert [s.value for s in out.slices] == pytest.approx(per_lead.tolist(), rel=1e-12)
    assert len(set(np.round(per_lead, 6))) > 1 and len(set(e_base.mean(axis=0))) > 1  # each slice its own lead's
    for k in (0, 23):
        lead = 1 - draws[:, k] / draws[:, 24 + k]
        lo, hi = np.quantile(lead, [0.025, 0.975])
        assert out.slices[k].interval == {"lower": pytest.approx(lo), "upper": pytest.approx(hi), "level": 0.95}
    assert out.message.startswith(f"Brier skill {skill:.3f} [{lower:.3f}, {upper:.3f}] against the training storm")


def test_the_threshold_holds_the_bound_it_names(data) -> None:
    out, _ = evaluate(data, noisy)
    lower, upper, skill = out.interval["lower"], out.interval["upper"], out.value
    mid_low, mid_high = (lower + skill) / 2, (skill + upper) / 2
    on_lower = evaluate(data, noisy, Threshold(">", mid_low, on="lower"))[0]
    assert not on_lower.passed and f"misses lower > {mid_low:g}" in on_lower.message
    on_value = evaluate(data, noisy, Threshold(">", mid_low))[0]
    assert on_value.passed and f"meets value > {mid_low:g}" in on_value.message
    on_upper = evaluate(data, noisy, Threshold(">", mid_high, on="upper"))[0]
    assert on_upper.passed and f"meets upper > {mid_high:g}" in on_upper.message
    assert not evaluate(data, noisy, Threshold(">", mid_high))[0].passed


def test_nothing_stormy_in_either_window_is_refused_with_the_limit_named(data) -> None:
    with pytest.raises(GateError, match=r"^no storm hour \(Kp ≥ 5\) in the test window and none in training: the "
                                        "storm probabilities cannot be scored$"):
        evaluate(data, perfect, train="calm_train", test="calm_test")
    with pytest.raises(GateError, match=r"no storm hour \(Kp ≥ 7.5\)"):
        evaluate(data, perfect, limits=replace(LIMITS, storm_kp=7.5))


def test_a_calm_test_window_is_still_scored_against_a_stormy_training_rate(data) -> None:
    out, ctx = evaluate(data, lambda kp, rng: np.zeros(kp.shape), test="calm_test")
    assert out.value == 1.0 and out.details["storm_lead_hours"] == 0 and "(0 storm lead-hours of " in out.message
    stormy_test, _ = evaluate(data, lambda kp, rng: np.zeros(kp.shape), train="calm_train")
    assert stormy_test.details["base_rate"] == 0.0 and stormy_test.value == 0.0  # base 0 and forecast 0 alike


def test_the_storm_limit_is_configurable_and_described(data) -> None:
    limits = replace(LIMITS, storm_kp=6.0)
    out, ctx = evaluate(data, perfect, limits=limits)
    events, _, base = truth(ctx, storm_kp=6.0)
    assert (out.details["base_rate"], out.details["storm_lead_hours"]) == (base, int(events.sum())) and out.value < 1
    gate = StormProbabilityGate(Threshold(">", 0.0, on="lower"), limits)
    assert gate.name == "storm-brier-skill" and gate.version == "1"
    assert gate.description == ("Brier skill of the storm probabilities (Kp ≥ 6 at each lead) against the training "
                                "window's storm-hour rate; held lower > 0")
