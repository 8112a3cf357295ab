"""The TEC family's gate suite (versioned: any gate or threshold change bumps it)."""

from __future__ import annotations

from gates.base import Threshold
from gates.suite import GateSuite
from plugins.tec.gates import HorizonGate, RmseGate, RowsGate, SanityGate, SkillGate, SplitGate, TecThresholds
from plugins.tec.storm import StormProbabilityGate

TEC_RELEASE = "tec-release"


TEC_RELEASE_STRICT = "tec-release-strict"


def tec_suite(limits: TecThresholds | None = None, *, name: str = TEC_RELEASE, version: str = "2",
              strict: bool = False) -> GateSuite:
    """Inputs and split first (their failures explain the rest), then horizon, sanity, skill and RMSE gates.

    The spec requires beating climatology (at the interval's lower bound); skill against persistence and IRI is
    measured with intervals and, by default, fails only beyond ``min_reference_skill`` (−1: twice the reference's
    RMSE); so is the storm probabilities' Brier skill against the training storm rate. ``strict`` holds these
    to > 0 at the lower bound too (suite ``tec-release-strict``, for a policy that wants it).
    """
    limits = limits or TecThresholds()
    reference = Threshold(">", 0.0, on="lower") if strict else Threshold(">", limits.min_reference_skill)
    return GateSuite(name, version, "tec", (
        RowsGate(limits),
        SplitGate(),
        HorizonGate(),
        SanityGate("correlation", limits),
        SanityGate("spread", limits),
        SkillGate("climatology", Threshold(">", 0.0, on="lower"), limits),
        SkillGate("persistence", reference, limits),
        SkillGate("iri", reference, limits),
        StormProbabilityGate(reference, limits),
        RmseGate("rmse-good", limits.good_rmse, limits),
        RmseGate("storm-rmse", limits.storm_rmse, limits, storm=True),
    ), description="V2.1 release: physical inputs, a held-out temporal split, leads scored at their own time, no "
                    "collapsed forecast, skill over climatology at the interval's lower bound, skill against "
                    "persistence and IRI " + ("> 0 at the lower bound" if strict else "reported") + ", RMSE and "
                    "storm RMSE below the configured TECU")


def tec_suites() -> list[GateSuite]:
    return [tec_suite(), tec_suite(name=TEC_RELEASE_STRICT, strict=True)]
