"""Each TEC gate at its boundaries on two SYNTHETIC weeks: what it measured, the bound it holds, what its message
says; the split windows' edges, the shared resamples, the limits' defaults."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from tec_gate_runs import STATIONS, Ctx, Make, Oracle, Version, good, rows, table

from gates.base import Threshold
from gates.bootstrap import resampled_means
from plugins.tec.gates import (
    HorizonGate,
    RmseGate,
    RowsGate,
    SanityGate,
    SkillGate,
    SplitGate,
    TecThresholds,
    extract_params,
    interval_of,
    scored,
    shared_counts,
    split_rows,
)
from plugins.tec.iri import iri_forecast

LIMITS = TecThresholds(n_resamples=200, min_storm_hours=5)
LINEAGE = {"training": {"split": {"method": "temporal", "train": {"first": "2020-12-20T00:00:00",
                                                                    "last": "2021-01-07T23:00:00"}}}}


@pytest.fixture(scope="module")
def data() -> dict[str, dict[str, np.ndarray]]:
    # training days 20 Dec … 7 Jan: some test target days have a climatology cell, the others fall back
    return {"train": rows("2020-12-20", "2021-01-08", seed=4), "test": rows("2023-01-01", "2023-01-15", seed=5)}


def ctx_of(data: dict, make: Make = good, test: dict | None = None, lineage: dict | None = None) -> Ctx:
    test = test if test is not None else data["test"]
    return Ctx(Oracle(data["test"], make), table(data["train"], test), Version(lineage or LINEAGE))


@pytest.fixture(scope="module")
def ctx(data) -> Ctx:
    return ctx_of(data)


def test_the_default_limits_are_the_versioned_suites_and_the_specs_targets() -> None:
    limits = TecThresholds()  # a changed default changes the suite without a version bump: a test must notice
    assert (limits.good_rmse, limits.storm_rmse, limits.storm_kp) == (13.0, 13.0, 5.0)  # the spec's targets
    assert (limits.min_storm_hours, limits.min_correlation, limits.min_std_ratio) == (24, 0.3, 0.3)
    assert (limits.max_mode_share, limits.max_storm_share, limits.min_reference_skill) == (0.5, 0.2, -1.0)
    assert (limits.n_resamples, limits.block) == (1000, 24)


def test_extract_params_skip_entries_that_are_not_the_tec_request() -> None:
    lineage = {"extracts": ["tec-hourly", {"name": "tec-hourly", "params": "db.t"}, {"params": {"x": 1}},
                            {"name": "tec-hourly", "params": {"table": "t"}}, {"name": "tec-hourly", "params": {}}]}
    got = extract_params(Ctx(None, version=Version(lineage)))
    assert got == {"table": "t"}
    got["table"] = "changed"
    assert lineage["extracts"][3] == {"name": "tec-hourly", "params": {"table": "t"}}  # a copy, not the lineage
    assert extract_params(Ctx(None, version=Version(None))) == {}  # type: ignore[arg-type]
    assert extract_params(Ctx(None, version=Version({"extracts": None}))) == {}


def test_split_rows_cut_the_spec_windows_first_hour_in_last_hour_out() -> None:
    t = np.array(["2014-12-31T23", "2015-01-01T00", "2021-12-31T23", "2022-01-01T00", "2022-12-31T23",
                  "2023-01-01T00", "2024-12-31T23", "2025-01-01T00"], dtype="datetime64[s]")
    c = Ctx(None, table({"time": t, "tec": np.arange(8.0)}))
    assert split_rows(c, "train")["tec"].tolist() == [1.0, 2.0]
    assert split_rows(c, "test")["tec"].tolist() == [5.0, 6.0]
    assert split_rows(c, "validation")["tec"].tolist() == [3.0, 4.0]
    assert split_rows(c, "train")["time"].tolist() == t[1:3].tolist()


def test_interval_of_is_the_central_95_percent() -> None:
    expected = {"lower": pytest.approx(25.0), "upper": pytest.approx(975.0), "level": 0.95}
    assert interval_of(np.arange(1001.0)) == expected


def test_shared_counts_are_one_resample_set_per_size_and_subset() -> None:
    c = Ctx(None)
    counts = shared_counts(c, 100, LIMITS)
    assert shared_counts(c, 100, LIMITS) is counts and counts.shape == (200, 100)
    assert (counts.sum(axis=1) == 100).all() and (counts != 1).any()  # rows resampled, not the rows themselves
    storm = shared_counts(c, 100, LIMITS, "storm")
    assert storm.shape == (200, 100) and not np.array_equal(storm, counts)
    assert shared_counts(c, 120, LIMITS).shape == (200, 120)
    short = shared_counts(c, 10, LIMITS)  # fewer rows than a block: one block of them all
    assert short.shape == (200, 10) and (short == 1).all()


def _skill_parts(ctx: Ctx, base: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ev = scored(ctx)
    return (ev.model - ev.truth) ** 2, (base - ev.truth) ** 2


def test_skill_its_interval_slices_message_and_figure_against_climatology(ctx) -> None:
    out = SkillGate("climatology", Threshold(">", 0.0, on="lower"), LIMITS).evaluate(ctx)
    ev = scored(ctx)
    e_model, e_base = _skill_parts(ctx, ev.climatology)
    rmse_m, rmse_b = np.sqrt(e_model.mean()), np.sqrt(e_base.mean())
    assert out.value == pytest.approx(1 - rmse_m / rmse_b, rel=1e-12) and out.passed
    draws = resampled_means(np.hstack([e_model, e_base]), counts=shared_counts(ctx, len(e_model), LIMITS))
    pooled = 1 - np.sqrt(draws[:, :24].mean(axis=1)) / np.sqrt(draws[:, 24:].mean(axis=1))
    lo, hi = np.quantile(pooled, [0.025, 0.975])
    assert out.interval == {"lower": pytest.approx(lo), "upper": pytest.approx(hi), "level": 0.95} and lo < hi
    per_lead = 1 - np.sqrt(e_model.mean(axis=0)) / np.sqrt(e_base.mean(axis=0))
    assert [s.value for s in out.slices] == pytest.approx(per_lead.tolist(), rel=1e-12)
    assert [s.name for s in out.slices[:2]] == ["+1 h", "+2 h"] and out.slices[-1].name == "+24 h"
    for k in (0, 23):
        band = np.quantile(1 - np.sqrt(draws[:, k]) / np.sqrt(draws[:, 24 + k]), [0.025, 0.975])
        assert out.slices[k].interval == {"lower": pytest.approx(band[0]), "upper": pytest.approx(band[1]),
                                          "level": 0.95}
    fallbacks = ev.climatology_fallbacks
    assert 0 < fallbacks < e_base.size
    assert out.message == (f"skill {out.value:.3f} [{lo:.3f}, {hi:.3f}] (RMSE {rmse_m:.2f} vs climatology "
                           f"{rmse_b:.2f} TECU on {len(e_model):,} samples × 24 leads); {fallbacks:,} of "
                           f"{e_base.size:,} climatology values fell back to the training mean; meets lower > 0")
    details = {k: out.details[k] for k in ("rmse_model", "rmse_climatology", "climatology_fallbacks")}
    assert details == {"rmse_model": pytest.approx(rmse_m), "rmse_climatology": pytest.approx(rmse_b),
                       "climatology_fallbacks": fallbacks}
    fig = out.figures[0]
    assert (fig["kind"], fig["title"], fig["x"], fig["hline"]) == ("lines", "skill vs climatology by lead",
                                                                  list(range(1, 25)), 0.0)
    assert (fig["xlabel"], fig["ylabel"]) == ("lead (h)", "RMSE skill")
    series = fig["series"]["skill"]
    assert series["y"] == pytest.approx(per_lead.tolist())
    assert series["lower"] == [s.interval["lower"] for s in out.slices]
    assert series["upper"] == [s.interval["upper"] for s in out.slices]


def test_skill_held_on_its_bound_and_the_reference_baselines(ctx) -> None:
    out = SkillGate("persistence", Threshold(">", -1.0), LIMITS).evaluate(ctx)
    e_model, e_base = _skill_parts(ctx, scored(ctx).persistence)
    assert out.value == pytest.approx(1 - np.sqrt(e_model.mean() / e_base.mean()), rel=1e-12)
    assert "fell back" not in out.message and out.message.endswith(" × 24 leads); meets value > -1")
    assert {"rmse_model", "rmse_persistence", "climatology_fallbacks"} <= set(out.details)
    assert "rmse_climatology" not in out.details
    lower, skill = out.interval["lower"], out.value
    mid = (lower + skill) / 2
    on_lower = SkillGate("persistence", Threshold(">", mid, on="lower"), LIMITS).evaluate(ctx)
    assert not on_lower.passed and on_lower.message.endswith(f"; misses lower > {mid:g}")
    on_value = SkillGate("persistence", Threshold(">", mid), LIMITS).evaluate(ctx)
    assert on_value.passed and on_value.message.endswith(f"; meets value > {mid:g}")
    iri = SkillGate("iri", Threshold(">", -1.0), LIMITS).evaluate(ctx)
    ev, test = scored(ctx), split_rows(ctx, "test")
    r = ev.samples.issue_row
    expected = iri_forecast(test, np.stack([test["lat"][r], test["lon"][r]], axis=1),
                            ev.samples.issue_hour[:, None] + np.arange(1, 25)[None, :])
    assert iri.details["rmse_iri"] == pytest.approx(np.sqrt(((expected - ev.truth) ** 2).mean()), rel=1e-12)
    assert " vs iri " in iri.message and "fell back" not in iri.message


def test_rmse_over_all_samples_holds_strictly_below_its_limit(ctx) -> None:
    out = RmseGate("rmse-good", 13.0, LIMITS).evaluate(ctx)
    ev = scored(ctx)
    err = (ev.model - ev.truth) ** 2
    value = float(np.sqrt(err.mean()))
    assert out.value == pytest.approx(value, rel=1e-12) and out.passed and out.details["samples"] == len(err)
    assert [s.value for s in out.slices] == pytest.approx(np.sqrt(err.mean(axis=0)).tolist())
    assert [s.name for s in out.slices] == [f"+{k} h" for k in range(1, 25)]
    draws = np.sqrt(resampled_means(err.mean(axis=1), counts=shared_counts(ctx, len(err), LIMITS))[:, 0])
    assert (out.interval["lower"], out.interval["upper"]) == pytest.approx(tuple(np.quantile(draws, [0.025, 0.975])))
    assert not RmseGate("rmse-good", out.value, LIMITS).evaluate(ctx).passed  # < limit: equal misses
    pred, obs = ev.model.ravel(), ev.truth.ravel()
    step = pred.size // 2000
    fig = out.figures[0]
    assert step > 1 and fig["x"] == np.round(pred[::step], 2).tolist() and fig["y"] == np.round(obs[::step], 2).tolist()
    assert fig["title"] == "predicted vs observed TEC (all)" and fig["kind"] == "density"
    assert (fig["xlabel"], fig["ylabel"]) == ("predicted TEC (TECU)", "observed TEC (TECU)")
    assert RmseGate("rmse-good", 13.0, LIMITS).description == "RMSE over all samples and every lead < 13 TECU"


def test_the_density_figure_keeps_every_pair_whose_index_is_a_multiple_of_size_over_2000(data) -> None:
    test = rows("2023-01-01", "2023-01-08T05", seed=5)  # 125 samples per station: 6000 pairs
    c = Ctx(Oracle(test, good), table(data["train"], test))
    fig = RmseGate("rmse-good", 13.0, LIMITS).evaluate(c).figures[0]
    pred = scored(c).model.ravel()
    assert pred.size == 6000 and fig["x"] == np.round(pred[::3], 2).tolist() and len(fig["x"]) == 2000


def test_storm_rmse_counts_kp_5_at_issue_and_refuses_below_the_storm_hours(ctx) -> None:
    ev = scored(ctx)
    storm = ev.kp_now >= 5
    hours = int(np.unique(ev.samples.issue_hour[storm]).size)
    assert storm.sum() > (ev.kp_now > 5).sum() > 0
    enough = RmseGate("storm-rmse", 13.0, replace(LIMITS, min_storm_hours=hours), storm=True).evaluate(ctx)
    err = (ev.model[storm] - ev.truth[storm]) ** 2
    assert enough.passed and enough.details["samples"] == storm.sum()
    assert enough.value == pytest.approx(float(np.sqrt(err.mean())), rel=1e-12)
    draws = np.sqrt(resampled_means(err.mean(axis=1), counts=shared_counts(ctx, len(err), LIMITS, "storm"))[:, 0])
    assert (enough.interval["lower"], enough.interval["upper"]) == pytest.approx(
        tuple(np.quantile(draws, [0.025, 0.975])))
    assert enough.figures[0]["title"] == "predicted vs observed TEC (storm)"
    assert len(enough.figures[0]["x"]) == len(range(0, err.size, max(1, err.size // 2000)))
    few = RmseGate("storm-rmse", 13.0, replace(LIMITS, min_storm_hours=hours + 1), storm=True).evaluate(ctx)
    assert (few.value, few.passed, few.threshold, few.comparator) == (None, False, 13.0, "<")
    assert few.message == (f"only {hours} storm hour(s) (Kp ≥ 5) in the evaluation, fewer than {hours + 1}: too "
                           "few events to judge the storm slice") and few.details == {"storm_hours": hours}
    gate = RmseGate("storm-rmse", 12.5, LIMITS, storm=True)
    assert gate.description == "RMSE over storm hours (Kp ≥ 5 at issue, ≥ 5 of them) and every lead < 12.5 TECU"


def test_one_value_in_half_the_forecasts_is_allowed_and_in_more_is_refused(data) -> None:
    def stuck(extra: int) -> Make:
        def make(truth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
            out = good(truth, rng).ravel()
            out[: out.size // 2 + extra] = 20.0
            return out.reshape(truth.shape)
        return make

    half = ctx_of(data, stuck(0))
    spread = SanityGate("spread", LIMITS).evaluate(half)
    assert spread.passed and "of forecasts are" not in spread.message and spread.details["mode_share"] == 0.5
    more = ctx_of(data, stuck(1))
    refused = SanityGate("spread", LIMITS).evaluate(more)
    assert refused.value >= 0.3 and not refused.passed and refused.comparator == ">=" and refused.threshold == 0.3
    assert refused.message.endswith("(floor 0.3); 50% of forecasts are 20 TECU (a constant or fallback output)")
    assert refused.details["mode"] == 20.0 and refused.details["mode_share"] > 0.5
    corr = SanityGate("correlation", LIMITS).evaluate(more)
    assert corr.message.endswith("(floor 0.3); 50% of forecasts are 20 TECU (a constant or fallback output)")


def test_a_fallback_value_wobbling_below_a_millionth_of_a_tecu_is_one_value(data) -> None:
    def wobble(truth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        out = good(truth, rng).ravel()
        n = out.size // 2 + 1
        out[:n] = 20.0 + (np.arange(n) % 4) * 1e-7
        return out.reshape(truth.shape)

    refused = SanityGate("spread", LIMITS).evaluate(ctx_of(data, wobble))
    assert not refused.passed and refused.message.endswith("; 50% of forecasts are 20 TECU (a constant or fallback "
                                                           "output)")


def test_spread_of_a_quiet_truth_is_its_ratio_and_of_a_flat_one_undefined(data) -> None:
    tec = data["test"]["tec"]
    quiet = dict(data["test"]) | {"tec": 20 + 0.05 * (tec - tec.mean())}
    c = Ctx(Oracle(quiet, good), table(data["train"], quiet))
    ev = scored(c)
    out = SanityGate("spread", LIMITS).evaluate(c)
    assert 0 < ev.truth.std() < 1 and out.value == pytest.approx(ev.model.std() / ev.truth.std()) and out.passed
    flat = dict(data["test"]) | {"tec": np.full(len(tec), 20.0)}
    c = Ctx(Oracle(flat, lambda t, r: t + r.normal(0, 1.0, t.shape)), table(data["train"], flat))
    out = SanityGate("spread", LIMITS).evaluate(c)
    assert np.isnan(out.value) and not out.passed and "std(obs) 0.00 TECU: ratio nan (floor 0.3)" in out.message


def test_a_constant_forecast_has_an_undefined_correlation_and_says_so(data) -> None:
    out = SanityGate("correlation", LIMITS).evaluate(ctx_of(data, lambda t, r: np.full_like(t, 20.0)))
    assert np.isnan(out.value) and not out.passed
    assert out.message == ("correlation undefined (a constant forecast) (floor 0.3); 100% of forecasts are 20 TECU "
                           "(a constant or fallback output)")


def test_sanity_floors_are_inclusive_and_say_what_they_measured(ctx) -> None:
    ev = scored(ctx)
    pred, truth = ev.model.ravel(), ev.truth.ravel()
    r, ratio = SanityGate("correlation", LIMITS).evaluate(ctx).value, SanityGate("spread", LIMITS).evaluate(ctx).value
    assert r == pytest.approx(np.corrcoef(pred, truth)[0, 1], rel=1e-9) and ratio == pred.std() / truth.std()
    at = SanityGate("correlation", replace(LIMITS, min_correlation=r)).evaluate(ctx)
    assert at.passed and at.message == f"correlation {r:.3f} (floor {r:g})"
    above = SanityGate("correlation", replace(LIMITS, min_correlation=r + 1e-9)).evaluate(ctx)
    assert not above.passed
    spread = SanityGate("spread", replace(LIMITS, min_std_ratio=ratio)).evaluate(ctx)
    assert spread.passed and spread.message == (f"std(pred) {pred.std():.2f} TECU vs std(obs) {truth.std():.2f} TECU: "
                                                f"ratio {ratio:.3f} (floor {ratio:g})")
    assert not SanityGate("spread", replace(LIMITS, min_std_ratio=ratio + 1e-9)).evaluate(ctx).passed
    assert SanityGate("spread", LIMITS).description == ("std(pred)/std(obs) ≥ floor, and no single value in more "
                                                        "than 50% of forecasts (a fallback output)")
    assert SanityGate("correlation", LIMITS).name == "forecast-correlation"


def test_horizon_reports_the_best_matching_lead_of_each_output(data, ctx, monkeypatch) -> None:
    out = HorizonGate().evaluate(ctx)
    ev = scored(ctx)
    rmse = np.sqrt(((ev.model[:, :1] - ev.truth) ** 2).mean(axis=0))
    assert out.passed and out.value == 1 and [s.value for s in out.slices] == list(range(1, 25))
    assert all(s.passed is True for s in out.slices)  # each output at its own lead, not each held to "== 1"
    assert [s.name for s in out.slices[:2]] == ["output +1 h", "output +2 h"]
    assert out.message == (f"the +1 h output matches the truth at +1 h best (RMSE {rmse[0]:.2f} vs {rmse[0]:.2f} "
                           "TECU at +1 h)")
    late = ctx_of(data, lambda t, r: good(t, r)[:, ::-1])
    bad = HorizonGate().evaluate(late)
    ev = scored(late)
    rmse = np.sqrt(((ev.model[:, :1] - ev.truth) ** 2).mean(axis=0))
    assert not bad.passed and bad.value == 24 and [s.value for s in bad.slices[:2]] == [24, 23]
    assert not any(s.passed for s in bad.slices)  # output +k h matches +(25 − k) h: never its own lead
    assert bad.message == (f"the +1 h output matches the truth at +24 h best (RMSE {rmse[23]:.2f} vs {rmse[0]:.2f} "
                           "TECU at +1 h): the leads are misaligned (an output scored against another lead's truth)")
    import plugins.tec.horizon as horizon

    monkeypatch.setattr(horizon, "pairing_self_test", lambda: "lead 1 scored as 24")
    broken = HorizonGate().evaluate(ctx)
    assert (broken.value, broken.passed, broken.threshold, broken.comparator) == (None, False, 1, "==")
    assert broken.message == "the scorer's pairing is misaligned: lead 1 scored as 24"


def test_rows_gate_lists_six_problems_then_counts_the_rest(data) -> None:
    clean = RowsGate(LIMITS).evaluate(ctx_of(data))
    assert clean.passed and clean.value == 0
    assert clean.message == "no NULL or fill values, every value in range, no stuck driver"
    nulls = ("dst", "f107", "f107_81", "sw_speed", "sw_density", "bz", "tec_std")

    def with_nulls(k: int) -> Any:
        test = dict(data["test"]) | {c: np.full(len(data["test"]["tec"]), np.nan) for c in nulls[:k]}
        return RowsGate(LIMITS).evaluate(ctx_of(data, test=test))

    six, seven = with_nulls(6), with_nulls(7)
    assert six.value == 6 and six.message == "; ".join(six.details["problems"]) and six.message.count("; ") == 5
    assert seven.value == 7 and seven.message == "; ".join(seven.details["problems"][:6]) + "; … 1 more"
    assert len(seven.details["problems"]) == 7 and not seven.passed
    strict = RowsGate(replace(LIMITS, max_storm_share=0.1, max_mode_share=0.2)).evaluate(ctx_of(data))
    share = np.mean(data["test"]["kp"] >= 5)  # Kp exactly 5 counts
    assert f"test: {share:.0%} of rows claim Kp ≥ 5 (more than 10%" in strict.message  # the limits given, not 0.2
    assert "test kp is stuck at 1 in 21% of rows" in strict.message  # and not 0.5


def test_split_gate_counts_hours_inside_training_or_the_problems(data) -> None:
    ok = SplitGate().evaluate(ctx_of(data))
    assert ok.passed and ok.value == 0
    assert ok.message == ("evaluation 2023-01-01T00:00:00 … 2023-01-14T23:00:00 after training "
                          "2020-12-20T00:00:00 … 2021-01-07T23:00:00")
    random = {"training": {"split": {"method": "random", "train": LINEAGE["training"]["split"]["train"]}}}
    one = SplitGate().evaluate(ctx_of(data, lineage=random))
    assert one.value == 1 and not one.passed and one.message == "the training split was random temporal"
    span = {"training": {"split": {"method": "shuffled", "train": {"first": "2023-01-01T00:00:00",
                                                                   "last": "2023-01-01T09:00:00"}}}}
    inside = SplitGate().evaluate(ctx_of(data, lineage=span))
    assert inside.value == 10 * len(STATIONS) and not inside.passed  # the hours inside, not also the problems
    assert inside.message.startswith(f"the training split was shuffled temporal; 20 of {len(data['test']['tec'])} "
                                     "evaluation hours (2023-01-01T00:00:00 … 2023-01-14T23:00:00) lie inside")
    assert (ok.details["method"], ok.details["train_first"], ok.details["test_last"]) == (
        "temporal", "2020-12-20T00:00:00", "2023-01-14T23:00:00")
