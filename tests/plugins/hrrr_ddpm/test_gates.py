"""plugins.hrrr_ddpm.gates: every ensemble gate on a calibrated and a broken SYNTHETIC ensemble, and its figures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hrrr_ensembles import synthetic_case

from gates.base import Threshold
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
from plugins.hrrr_ddpm.scoring import Case, ScoringPlan, Sums, score_cases
from registry.errors import GateError
from registry.figures import render_figure


class MemoContext:  # defined before LIMITS is used at call time
    """The two things these gates ask of a run: ``memo`` and ``rng`` (the scoring pass is memoised in advance)."""

    def __init__(self, sums: Sums) -> None:
        self.memos: dict[str, Any] = {LIMITS.setup.key(): sums}
        self.seed = 0

    def memo(self, key: str, compute: Callable[[], Any]) -> Any:
        if key not in self.memos:
            self.memos[key] = compute()
        return self.memos[key]

    def rng(self, stream: str = "") -> np.random.Generator:
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
