"""plugins.hrrr_ddpm.gates: every ensemble gate on a calibrated and a broken SYNTHETIC ensemble, and its figures."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hrrr_ensembles import synthetic_case

from gates.base import Threshold
from plugins.hrrr_ddpm import scores
from plugins.hrrr_ddpm.figures import case_maps
from plugins.hrrr_ddpm.gates import (
    BrierSkillGate,
    CRPSSkillGate,
    FSSGate,
    HrrrLimits,
    RankFlatnessGate,
    SpectrumGate,
    SpreadSkillGate,
    TailGate,
    per_variable,
)
from plugins.hrrr_ddpm.scoring import UNITS, Case, ScoringPlan, Sums, score_cases
from registry.errors import GateError
from registry.figures import render_figure


class MemoContext:  # defined before LIMITS is used at call time
    """The two things these gates ask of a run: ``memo`` and ``rng`` (the scoring pass is memoised in advance)."""

    def __init__(self, sums: Sums) -> None:
        self.memos: dict[str, Any] = {LIMITS.setup.key(): sums}
        self.seed = 0
        self.streams: list[str] = []  # the random streams the gates asked for

    def memo(self, key: str, compute: Callable[[], Any]) -> Any:
        if key not in self.memos:
            self.memos[key] = compute()
        return self.memos[key]

    def rng(self, stream: str = "") -> np.random.Generator:
        self.streams.append(stream)
        return np.random.default_rng([self.seed, len(stream)])


PLAN = ScoringPlan(fss_windows=(1, 5, 9), block_rows=8)
LIMITS = HrrrLimits(n_resamples=300)


@pytest.fixture(scope="module")
def calibrated() -> Sums:
    return score_cases([Case(**synthetic_case(s, m=10, h=32, w=32)) for s in range(20, 24)], PLAN)


@pytest.fixture(scope="module")
def narrow() -> Sums:
    return score_cases([Case(**synthetic_case(s, m=10, h=32, w=32, spread=0.3, bias=0.6)) for s in range(20, 24)],
                       PLAN)


def gates() -> list[Any]:
    return [CRPSSkillGate("persistence", LIMITS), CRPSSkillGate("climatology", LIMITS), RankFlatnessGate(LIMITS),
            SpreadSkillGate(LIMITS), BrierSkillGate("REFC", 35.0, LIMITS), BrierSkillGate("CAPE", 1000.0, LIMITS),
            FSSGate(LIMITS), SpectrumGate(LIMITS), TailGate(LIMITS)]


def test_a_calibrated_ensemble_passes_and_a_narrow_biased_one_is_refused(calibrated: Sums, narrow: Sums) -> None:
    good = {g.name: g.evaluate(MemoContext(calibrated)) for g in gates()}
    bad = {g.name: g.evaluate(MemoContext(narrow)) for g in gates()}
    assert all(o.passed for o in good.values()), {k: o.message for k, o in good.items() if not o.passed}
    for name in ("rank-flatness", "spread-skill", "crps-skill-vs-climatology", "tail-quantile"):
        assert not bad[name].passed, bad[name].message
    spread = good["spread-skill"]
    assert [s["name"] for s in spread.details["slices"]] == ["REFC", "T2M", "D2M", "U10", "V10", "CAPE", "CIN"]
    assert spread.details["interval"]["lower"] <= spread.value <= spread.details["interval"]["upper"]
    assert "fails for" in bad["spread-skill"].message and "every variable meets it" in spread.message
    for outcome in good.values():
        for fig in outcome.figures:
            assert render_figure(fig).startswith("<svg")


def test_figures_show_ranks_reliability_and_one_cases_maps(calibrated: Sums) -> None:
    ranks = RankFlatnessGate(LIMITS).evaluate(MemoContext(calibrated))
    assert [f["kind"] for f in ranks.figures] == ["rank_histogram"] * 7 and len(ranks.figures[0]["counts"]) == 11
    brier = BrierSkillGate("REFC", 35.0, LIMITS).evaluate(MemoContext(calibrated))
    assert brier.figures[0]["kind"] == "reliability" and "REFC > 35 dBZ" in brier.message
    assert set(brier.details["decomposition"]) >= {"reliability", "resolution", "uncertainty"}
    fss = FSSGate(LIMITS).evaluate(MemoContext(calibrated))
    kinds = [f["kind"] for f in fss.figures]
    assert kinds == ["lines", "maps", "maps", "maps", "paintball"]
    truth_mean, _spread, prob, paint = fss.figures[1:]
    assert [p["title"] for p in truth_mean["panels"]] == ["truth", "ensemble mean"]
    assert np.shape(prob["panels"][0]["z"]) == (32, 32) and (prob["vmin"], prob["vmax"]) == (0.0, 1.0)
    assert len(paint["members"]) == 6 and np.shape(paint["truth"]) == (32, 32)
    assert [s["name"] for s in fss.details["slices"]] == ["1 px", "5 px", "9 px"]
    assert not any("SYNTHETIC" in f["title"] for f in fss.figures)  # the data are not labelled synthetic


def test_maps_of_synthetic_data_say_so_in_every_title(calibrated: Sums) -> None:
    from dataclasses import replace

    fss = FSSGate(LIMITS).evaluate(MemoContext(replace(calibrated, source="SYNTHETIC")))
    assert [f["title"].split(" ")[0] for f in fss.figures[1:]] == ["SYNTHETIC"] * 4
    assert fss.figures[1]["title"] == "SYNTHETIC REFC: truth and ensemble mean (first case)"


def test_per_variable_outcome_is_the_worst_variable_and_fails_closed() -> None:
    out = per_variable({"A": 0.9, "B": 1.6, "C": 1.05}, Threshold.band(0.8, 1.2), "ratio")
    assert not out.passed and out.value == 1.6 and "fails for B" in out.message
    out = per_variable({"A": 0.3, "B": 0.1}, Threshold(">", 0.0, on="lower"), "skill",
                       intervals={"A": {"lower": 0.2, "upper": 0.4, "level": 0.95},
                                  "B": {"lower": -0.01, "upper": 0.2, "level": 0.95}})
    assert not out.passed and out.value == 0.1 and out.details["interval"]["lower"] == -0.01
    out = per_variable({"A": 0.3, "B": float("nan")}, Threshold(">", 0.0), "skill")
    assert not out.passed and "fails for B" in out.message
    out = per_variable({"A": 0.3, "B": 0.2}, Threshold(">", 0.0, on="lower"), "skill", intervals={"A": None})
    assert not out.passed  # no interval: a bound cannot be held
    with pytest.raises(GateError, match="no variable"):
        per_variable({}, Threshold(">", 0.0), "skill")


def test_missing_references_and_unscored_events_are_gate_errors() -> None:
    c = synthetic_case(30, m=4, h=16, w=16)
    bare = score_cases([Case(c["members"], c["truth"])], ScoringPlan(fss_windows=(1, 3), block_rows=4))
    with pytest.raises(GateError, match="no crps_persistence"):
        CRPSSkillGate("persistence", LIMITS).evaluate(MemoContext(bare))
    with pytest.raises(GateError, match="did not score REFC > 20"):
        BrierSkillGate("REFC", 20.0, LIMITS).evaluate(MemoContext(bare))
    with pytest.raises(ValueError, match="persistence or climatology"):
        CRPSSkillGate("ifs")


@pytest.fixture(scope="module")
def small() -> Sums:
    """Three SYNTHETIC cases of 5 members on 16 × 16: some gates pass, some fail."""
    return score_cases([Case(**synthetic_case(s, m=5, h=16, w=16)) for s in range(40, 43)],
                       ScoringPlan(fss_windows=(1, 3, 5), block_rows=4))


def two_variables(seed: int) -> Case:
    """A SYNTHETIC case of REFC and a variable the plugin has no unit for, truth drawn apart from the members."""
    c, other = synthetic_case(seed, m=4, h=12, w=12), synthetic_case(seed + 100, m=4, h=12, w=12)
    return Case(c["members"][:, [0, 5]], other["truth"][[0, 5]], c["persistence"][[0, 5]],
                c["climatology"][:, [0, 5]])


@pytest.fixture(scope="module")
def foreign() -> Sums:
    """REFC and SNOW (no unit known), one FSS window: an ensemble without skill (FSS and Brier skill fail)."""
    plan = ScoringPlan(variables=("REFC", "SNOW"), events=(("REFC", 35.0), ("SNOW", 1000.0)), fss_windows=(1,),
                       block_rows=4)
    return score_cases([two_variables(s) for s in (50, 51)], plan)


def counts(sums: Sums) -> np.ndarray:
    """The resamples a run with seed 0 draws (the same stream MemoContext gives the gates)."""
    return scores.resample_counts(sums, MemoContext(sums).rng("bootstrap"), LIMITS.n_resamples)


def test_per_variable_message_shows_every_value_its_interval_and_which_fail() -> None:
    iv = {"A": {"lower": 0.85, "upper": 0.95, "level": 0.9}, "B": {"lower": 1.1, "upper": 1.4, "level": 0.9}}
    out = per_variable({"A": 0.9, "B": 1.25, "C": 1.0}, Threshold.band(0.8, 1.2), "ratio", intervals=iv,
                       details={"table": [1]})
    assert out.message == "ratio (value in [0.8, 1.2]): A 0.9 [0.85, 0.95], B 1.25 [1.1, 1.4], C 1; fails for B"
    assert out.details["slices"] == [{"name": "A", "value": 0.9, "passed": True, "interval": iv["A"]},
                                     {"name": "B", "value": 1.25, "passed": False, "interval": iv["B"]},
                                     {"name": "C", "value": 1.0, "passed": True, "interval": None}]
    assert out.details["interval"] == iv["B"] and out.details["table"] == [1]
    assert (out.value, out.passed, out.threshold, out.comparator) == (1.25, False, [0.8, 1.2], "between")
    worst = per_variable({"A": 0.1, "B": 0.5, "C": 0.3}, Threshold("<=", 0.2), "index")
    assert worst.message == "index (value <= 0.2): A 0.1, B 0.5, C 0.3; fails for B, C" and worst.value == 0.5
    ok = per_variable({"A": 0.9, "B": 0.6}, Threshold(">=", 0.5), "skill", noun="sampler")
    assert ok.passed and ok.value == 0.6 and ok.message == "skill (value >= 0.5): A 0.9, B 0.6; every sampler meets it"
    lower = per_variable({"A": 0.9, "B": 0.6}, Threshold(">", 0.5, on="lower"), "skill",
                         intervals={"A": {"lower": 0.51, "upper": 1.0, "level": 0.9},
                                    "B": {"lower": 0.55, "upper": 0.7, "level": 0.9}})
    assert lower.passed and lower.value == 0.9  # the lower bound nearest the limit decides, not the value


def test_per_variable_worst_is_the_furthest_outside_the_band_on_either_side() -> None:
    band = Threshold.band(0.8, 1.2)
    assert per_variable({"A": 0.5, "B": 1.3}, band, "ratio").value == 0.5
    assert per_variable({"A": 0.7, "B": 1.6}, band, "ratio").value == 1.6
    assert per_variable({"A": 1.19, "B": 0.82}, band, "ratio").value == 1.19


def test_per_variable_equality_and_infinities_fail_closed_without_an_error() -> None:
    # "== 0" (a count of regressions): every unequal value fails, the furthest from the limit is shown
    out = per_variable({"A": 1.0, "B": -2.5, "C": 3.0}, Threshold("==", 1.0), "regressions")
    assert not out.passed and out.value == -2.5 and out.message.endswith("fails for B, C")
    assert per_variable({"A": 0.0, "B": 0.0}, Threshold("==", 0.0), "regressions").passed
    inf = per_variable({"A": 0.3, "B": float("inf")}, Threshold(">", 0.0), "skill")
    assert not inf.passed and inf.value == float("inf") and inf.message.endswith("fails for B")
    low = per_variable({"A": 0.3, "B": float("-inf")}, Threshold("<=", 1.0), "index")
    assert not low.passed and low.value == float("-inf")


def test_crps_skill_gate_tables_each_variables_crps_and_holds_each_lower_bound(small: Sums, foreign: Sums) -> None:
    for sums in (small, foreign):
        for reference in ("persistence", "climatology"):
            ctx = MemoContext(sums)
            out = CRPSSkillGate(reference, LIMITS).evaluate(ctx)
            est, crps = scores.crps_skill(sums, reference, counts(sums)), scores.crps(sums)
            names = list(sums.plan.variables)
            assert out.details["table"] == {
                "title": "mean CRPS per variable (physical units)",
                "columns": ["variable", "unit", "model", "persistence", "climatology", "skill"],
                "rows": [[v, UNITS.get(v, ""), *(round(crps[v][k], 6) for k in ("model", "persistence", "climatology")),
                          round(est[v].value, 4)] for v in names]}
            assert (out.details["cases"], out.details["members"]) == (sums.cases, sums.members)
            assert [(s["name"], s["value"], s["interval"]) for s in out.details["slices"]] == [
                (v, est[v].value, est[v].interval) for v in names]
            lowest = min(names, key=lambda v: est[v].interval["lower"])  # type: ignore[index]
            assert out.passed == (est[lowest].interval["lower"] > 0) and out.value == est[lowest].value  # type: ignore[index]
            assert out.message.startswith(f"CRPS skill vs {reference} (lower > 0): {names[0]} ")
            assert ctx.streams == ["bootstrap"]
    assert not CRPSSkillGate("climatology", LIMITS).evaluate(MemoContext(small)).passed  # T2M's lower bound < 0


def test_rank_flatness_gate_shows_each_histogram_and_tables_index_chi2_and_p(small: Sums) -> None:
    out = RankFlatnessGate(LIMITS).evaluate(MemoContext(small))
    flat = scores.rank_flatness(small)
    assert out.figures == tuple({"kind": "rank_histogram", "title": f"Rank histogram {v} (χ² {r['chi2']:.3g})",
                                 "counts": [round(float(c), 3) for c in r["counts"]], "chi2": r["chi2"], "p": r["p"]}
                                for v, r in flat.items())
    assert any(c != round(c, 2) for f in out.figures for c in f["counts"])  # shared ties: fractions of a count
    assert out.details["table"] == {"title": "", "columns": ["variable", "reliability_index", "chi2", "p"],
                                    "rows": [[v, round(r["reliability_index"], 4), round(r["chi2"], 2), r["p"]]
                                             for v, r in flat.items()]}
    assert not out.passed and out.value == flat["REFC"]["reliability_index"] > 0.2
    assert out.message.startswith("rank reliability index (value <= 0.2): REFC ") and out.message.endswith(
        "fails for REFC")


def test_spread_skill_gate_draws_each_ratio_in_its_band_and_tables_spread_and_rmse(small: Sums) -> None:
    ctx = MemoContext(small)
    out = SpreadSkillGate(LIMITS).evaluate(ctx)
    est = scores.spread_skill(small, counts(small))
    assert out.figures == ({"kind": "bar", "title": "Spread/skill by variable", "labels": list(est),
                            "values": [round(e.value, 4) for e in est.values()], "threshold": 1.0,
                            "threshold_label": "consistent", "ylabel": "spread / RMSE", "band": [0.7, 1.3]},)
    assert out.details["table"] == {"title": "", "columns": ["variable", "spread", "rmse", "ratio"],
                                    "rows": [[v, round(e.parts["spread"], 5), round(e.parts["rmse"], 5),
                                              round(e.value, 4)] for v, e in est.items()]}
    assert [s["interval"] for s in out.details["slices"]] == [e.interval for e in est.values()]
    assert out.passed and out.message.startswith("spread/skill (value in [0.7, 1.3]): REFC ")
    assert ctx.streams == ["bootstrap"]


@pytest.mark.parametrize(("which", "variable", "level"), [("small", "REFC", 35.0), ("foreign", "SNOW", 1000.0),
                                                           ("calibrated", "CAPE", 1000.0)])
def test_brier_skill_gate_says_what_it_measured_and_decomposes_it(which: str, variable: str, level: float,
                                                                  request: pytest.FixtureRequest) -> None:
    sums: Sums = request.getfixturevalue(which)
    gate = BrierSkillGate(variable, level, LIMITS)
    out = gate.evaluate(MemoContext(sums))
    e = list(sums.plan.events).index((variable, level))
    est, (parts, diagram) = scores.brier_skill(sums, e, counts(sums)), scores.brier_parts(sums, e)
    event = f"{variable} > {level:g} {UNITS.get(variable, '')}".strip()
    passed = est.interval is not None and est.interval["lower"] > 0
    assert (out.value, out.passed, out.threshold, out.comparator) == (est.value, passed, 0.0, ">")
    assert out.message == (f"Brier skill {est.value:.3f} (BS {est.parts['brier']:.4g} vs climatology "
                           f"{est.parts['brier_climatology']:.4g}; reliability {parts.reliability:.3g}, resolution "
                           f"{parts.resolution:.3g}, uncertainty {parts.uncertainty:.3g}) for {event}; "
                           f"{'meets' if passed else 'misses'} lower > 0")
    assert out.figures == (diagram.figure(f"Reliability {event}"),)
    assert out.details == {"decomposition": vars(parts), **est.parts, "interval": est.interval}
    assert gate.name == f"brier-skill-{variable.lower()}-{level:g}"
    assert gate.description == f"Brier skill of P({event}) vs the climatological ensemble, lower > 0"
    assert passed == (which == "calibrated")


def test_fss_gate_holds_the_largest_window_to_useful_and_shows_every_window(small: Sums, foreign: Sums) -> None:
    for sums in (small, foreign):
        out = FSSGate(LIMITS).evaluate(MemoContext(sums))
        f = scores.fss(sums)
        useful, last = round(f["useful"], 6), f["fss"][-1]
        assert (out.value, out.passed, out.threshold, out.comparator) == (last, last >= useful, useful, ">=")
        assert out.message == (f"FSS at {f['windows'][-1]} px {last:.3f} {'meets' if last >= useful else 'misses'} "
                               f"useful ≥ {f['useful']:.3f} (observed base rate {f['observed_base_rate']:.3g})")
        assert out.details["slices"] == [{"name": f"{w} px", "value": v, "passed": v >= useful, "interval": None}
                                         for w, v in zip(f["windows"], f["fss"], strict=True)]
        assert out.figures[0] == {"kind": "lines", "title": "FSS REFC > 35", "x": f["windows"],
                                  "xlabel": "neighbourhood (px)", "ylabel": "FSS",
                                  "series": {"members": {"y": f["fss"]}}, "hline": f["useful"]}
        assert out.figures[1:] == case_maps(sums) and {k: out.details[k] for k in f} == f
    assert FSSGate(LIMITS).evaluate(MemoContext(small)).passed
    assert not FSSGate(LIMITS).evaluate(MemoContext(foreign)).passed


def test_fss_gate_with_no_event_anywhere_fails_closed() -> None:
    plan = ScoringPlan(fss_event=("REFC", 500.0), fss_windows=(1, 3), block_rows=4)
    sums = score_cases([Case(**synthetic_case(s, m=3, h=8, w=8)) for s in (60, 61)], plan)
    out = FSSGate(LIMITS).evaluate(MemoContext(sums))
    assert (out.value, out.passed, out.threshold, out.comparator) == (None, False, 0.5, ">=")
    assert out.message == "no REFC > 500 in truth or members: FSS undefined"
    assert [(s["name"], s["passed"]) for s in out.details["slices"]] == [("1 px", False), ("3 px", False)]
    assert all(math.isnan(s["value"]) for s in out.details["slices"]) and out.details["windows"] == [1, 3]
    assert out.figures[0]["title"] == "FSS REFC > 500" and len(out.figures) == 5


def test_spectrum_gate_draws_every_ratio_and_holds_the_small_scales(small: Sums) -> None:
    out = SpectrumGate(LIMITS).evaluate(MemoContext(small))
    spec = scores.spectrum_ratio(small)
    assert out.figures == ({"kind": "lines", "title": "Power ratio samples / truth", "x": spec["REFC"]["k"],
                            "xlabel": "wavenumber (per domain)", "ylabel": "ratio", "hline": 1.0, "yscale": "log",
                            "series": {v: {"y": s["ratio"]} for v, s in spec.items()}},)
    assert [(s["name"], s["value"]) for s in out.details["slices"]] == [(v, s["upper_half"]) for v, s in spec.items()]
    assert out.message.startswith("small-scale power ratio (value in [0.5, 2]): REFC ")


def test_tail_gate_tables_both_quantiles_and_holds_their_difference(small: Sums, foreign: Sums) -> None:
    for sums in (small, foreign):
        out = TailGate(LIMITS).evaluate(MemoContext(sums))
        t = scores.tails(sums)
        assert out.details["table"] == {"title": "", "columns": ["variable", "unit", "samples", "truth", "scale",
                                                                 "difference"],
                                        "rows": [[v, UNITS.get(v, ""), *(round(r[k], 4) for k in
                                                                        ("samples", "truth", "scale", "difference"))]
                                                 for v, r in t.items()]}
        assert [s["value"] for s in out.details["slices"]] == [r["difference"] for r in t.values()]
        assert out.message.startswith("q99.9 difference (value in [-0.5, 0.5]): REFC ")
    assert TailGate(LIMITS).evaluate(MemoContext(small)).passed
    assert not TailGate(LIMITS).evaluate(MemoContext(foreign)).passed


def test_every_gate_holds_the_limits_it_was_given(small: Sums) -> None:
    strict = HrrrLimits(skill_persistence=Threshold(">", 0.9, on="lower"),
                        skill_climatology=Threshold(">", 0.9, on="lower"), rank_reliability_index=Threshold("<=", 0.01),
                        spread_skill=Threshold.band(0.1, 0.2), brier_skill=Threshold(">", 0.9, on="lower"),
                        spectrum_ratio=Threshold.band(3.0, 4.0), tail_difference=Threshold.band(5.0, 6.0),
                        n_resamples=LIMITS.n_resamples)
    made = [CRPSSkillGate("persistence", strict), CRPSSkillGate("climatology", strict), RankFlatnessGate(strict),
            SpreadSkillGate(strict), BrierSkillGate("CAPE", 1000.0, strict), SpectrumGate(strict), TailGate(strict)]
    outcomes = {g.name: g.evaluate(MemoContext(small)) for g in made}
    assert not any(o.passed for o in outcomes.values()), {k: o.message for k, o in outcomes.items() if o.passed}
    assert outcomes["crps-skill-vs-persistence"].threshold == 0.9 and outcomes["spread-skill"].threshold == [0.1, 0.2]
    assert outcomes["spread-skill"].figures[0]["band"] == [0.1, 0.2]
    assert [g.description for g in made[2:4] + made[5:]] == [
        "rank-histogram reliability index per variable <= 0.01",
        "spread/skill ratio per variable in [0.1, 0.2] (1: consistent)",
        "member / truth power over the upper half of wavenumbers in [3, 4]",
        "(q99.9 samples − q99.9 truth) / truth spread per variable in [5, 6]"]
    assert CRPSSkillGate("climatology").limits == HrrrLimits() and SpreadSkillGate().limits.n_resamples == 1000


def test_the_gates_score_a_registered_version_with_the_evaluation_plan_they_are_given(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    import json

    from hrrr_ensembles import register_series, synthetic_series

    from plugins.hrrr_ddpm.evaluation import EvaluationPlan
    from plugins.hrrr_ddpm.family import HrrrDDPMFamily
    from plugins.hrrr_ddpm.model import TinyDDPM, save_model
    from plugins.hrrr_ddpm.scoring import VARIABLES
    from registry.gate_context import RunContext
    from registry.store import Store

    home = tmp_path_factory.mktemp("hrrr-gates-run")
    ds = register_series(home, "case", synthetic_series(8, 16, 16))
    save_model(TinyDDPM.from_config({"cond_channels": 7, "width": 8}, seed=0), home / "net.safetensors")
    (home / "config.json").write_text(json.dumps({
        "variables": list(VARIABLES), "stats": {v: ds.stats[v] for v in VARIABLES},
        "samplers": [{"kind": "ddim", "steps": 2}], "dataset": "case", "test_from": 5}))
    store = Store(home)
    version, _ = store.register("hrrr_ddpm", {"weights": home / "net.safetensors", "config": home / "config.json"})
    ctx = RunContext(store, HrrrDDPMFamily(), version, champion=None, seed=1, device="cpu")
    limits = HrrrLimits(n_resamples=20, setup=EvaluationPlan(cases=2, members=3, climatology=2,
                                                             plan=ScoringPlan(fss_windows=(1,), block_rows=4)))
    crps = CRPSSkillGate("persistence", limits).evaluate(ctx)
    assert (crps.details["cases"], crps.details["members"]) == (2, 3)  # the plan given, not the default (4, 8)
    spread = SpreadSkillGate(limits).evaluate(ctx)  # the same scoring pass and resamples, memoised by the run
    assert spread.details["slices"][0]["interval"] is not None and len(spread.details["slices"]) == 7
