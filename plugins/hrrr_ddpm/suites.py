"""The HRRR DDPM gate suite (versioned: any gate, threshold or evaluation setting change bumps it)."""

from __future__ import annotations

from dataclasses import replace

from gates.suite import GateSuite
from plugins.hrrr_ddpm.family import RELEASE
from registry.errors import InvalidInput

DEVICE_TOLERANCE = {"rtol": 1e-2, "atol": 1e-4}  # sampling on another device moves members by float rounding
OPTIONS: tuple[tuple[str, object], ...] = (("members", 8), ("cases", 4), ("climatology", 8), ("resamples", 1000),
                                           ("conditioning_members", 8))


def release_suite(*, members: int = 8, cases: int = 4, climatology: int = 8, resamples: int = 1000,
                  conditioning_members: int = 8, name: str = RELEASE, version: str = "1") -> GateSuite:
    """Model checks first (schedule agreement, sampler check, conditioning check: their failures explain the
    rest), then the ensemble scores of ``cases`` test-period cases with ``members`` members each, against
    persistence and a climatological ensemble of ``climatology`` training-period states."""
    from plugins.hrrr_ddpm.checks import CheckLimits, ConditioningGate, SamplerCheckGate, ScheduleGate
    from plugins.hrrr_ddpm.evaluation import EvaluationPlan
    from plugins.hrrr_ddpm.gates import (
        BrierSkillGate,
        CRPSSkillGate,
        FSSGate,
        HrrrLimits,
        RankFlatnessGate,
        SpectrumGate,
        SpreadSkillGate,
        TailGate,
    )

    for key, value in (("members", members), ("cases", cases), ("climatology", climatology),
                       ("resamples", resamples), ("conditioning_members", conditioning_members)):
        least = 2 if key in ("members", "conditioning_members") else 1
        if value < least:
            raise InvalidInput(f"suite {name!r}: option {key} must be ≥ {least}, got {value}")
    limits = HrrrLimits(n_resamples=resamples, setup=EvaluationPlan(cases=cases, members=members,
                                                                   climatology=climatology))
    checks = replace(CheckLimits(), conditioning_members=conditioning_members)
    return GateSuite(name, version, "hrrr_ddpm", (
        ScheduleGate(checks),
        SamplerCheckGate(checks),
        ConditioningGate(checks),
        CRPSSkillGate("persistence", limits),
        CRPSSkillGate("climatology", limits),
        RankFlatnessGate(limits),
        SpreadSkillGate(limits),
        BrierSkillGate("REFC", 35.0, limits),
        BrierSkillGate("CAPE", 1000.0, limits),
        FSSGate(limits),
        SpectrumGate(limits),
        TailGate(limits),
    ), description=(f"HRRR DDPM release: schedule agreement, sampler check on the N(0, 0.1²) toy, conditioning "
                    f"check, then {cases} test cases × {members} members scored from the on-disk ensembles (CRPS "
                    f"skill vs persistence and a {climatology}-state climatology, ranks, spread/skill, Brier, FSS, "
                    "spectra, tails) per variable with intervals"),
        options=OPTIONS, build=release_suite, device_tolerance=DEVICE_TOLERANCE)


def hrrr_suites() -> list[GateSuite]:
    return [release_suite()]
