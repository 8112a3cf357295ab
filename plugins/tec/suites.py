"""The TEC family's gate suite (versioned: any gate or threshold change bumps it)."""

from __future__ import annotations

from gates.base import Threshold
from gates.suite import GateSuite
from plugins.tec.gates import HorizonGate, RmseGate, RowsGate, SanityGate, SkillGate, SplitGate, TecThresholds

TEC_RELEASE = "tec-release"


def tec_suite(limits: TecThresholds | None = None, *, name: str = TEC_RELEASE, version: str = "1") -> GateSuite:
    """Inputs and split first (their failures explain the rest), then horizon, sanity, skill and RMSE gates."""
    limits = limits or TecThresholds()
    return GateSuite(name, version, "tec", (
        RowsGate(limits),
        SplitGate(),
        HorizonGate(),
        SanityGate("correlation", limits),
        SanityGate("spread", limits),
        SkillGate("climatology", Threshold(">", 0.0, on="lower"), limits),
        SkillGate("persistence", Threshold(">", 0.0), limits),
        SkillGate("iri", Threshold(">", 0.0), limits),
        RmseGate("rmse-good", limits.good_rmse, limits),
        RmseGate("storm-rmse", limits.storm_rmse, limits, storm=True),
    ), description="V2.1 release: physical inputs, a held-out temporal split, leads scored at their own time, no "
                    "collapsed forecast, skill over climatology at the interval's lower bound and over persistence, "
                    "RMSE and storm RMSE below the configured TECU")


def tec_suites() -> list[GateSuite]:
    return [tec_suite()]
