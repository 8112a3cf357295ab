"""The IONIS gate suites: the V22 release suite (default), the V20/V21-era criteria and battery, later releases'."""

from __future__ import annotations

from gates.base import Gate, Threshold
from gates.suite import GateSuite
from plugins.ionis.gates import BatteryGate, KI7MTGate, SidecarEffectGate, ValPearsonGate
from plugins.ionis.physics import DecompositionGate, GateRangeGate, MonotoneGate
from plugins.ionis.scenarios import TST900_V21, TST900_V22

V22_RELEASE = "ionis-v22-release"
V20_RELEASE = "ionis-v20-release"
TST900_V21_SUITE = "ionis-tst900-v21"


def physics_gates() -> tuple[Gate, ...]:
    """Structural properties every IonisGate must keep (seeded random paths, ≥ 512 per property)."""
    return (
        MonotoneGate("physics-kp-monotone", "kp",
                     description="σ never rises as Kp goes 0 → 9, on 512 random paths, times and seasons"),
        MonotoneGate("physics-sfi-monotone", "sfi",
                     description="σ never falls as SFI goes 50 → 400, on 512 random paths, times and seasons"),
        GateRangeGate(),
        DecompositionGate(),
    )


def metric_gates(op: str, pearson: float, sfi: float, storm: float) -> tuple[Gate, ...]:
    """Training metrics against a config's ``validation`` block (``op`` is ``>`` for V20/V21, ``>=`` for V22)."""
    return (
        ValPearsonGate(Threshold(op, pearson)),
        SidecarEffectGate("sfi-benefit", "sfi_benefit", Threshold(op, sfi),
                          description="raw sun sidecar SFI 70 → 200 (cannot fail under the [0.5, 2.0] clamp)"),
        SidecarEffectGate("storm-cost", "storm_cost", Threshold(op, storm),
                          description="raw storm sidecar Kp 9 → 0"),
    )


def ionis_suites() -> list[GateSuite]:
    """Every suite the IONIS plugin contributes."""
    v22 = GateSuite(
        name=V22_RELEASE, version="3", family="ionis",
        description="V22-γ release gates (config_v22 validation: Pearson ≥ 0.46, SFI ≥ 0.4, storm ≥ 1.0, "
                    "TST-900 ≥ 8/11; KI7MT raw 16/17, override 17/17, no regressions, acid test)",
        gates=metric_gates(">=", 0.46, 0.4, 1.0) + physics_gates() + (
            BatteryGate("tst900", TST900_V22, Threshold(">=", 8),
                        description="TST-900 band×time battery, 11 scenarios on W3 → G (tst900_min = 8)"),
            KI7MTGate("ki7mt-raw-hard", "raw", Threshold("==", 16),
                      description="KI7MT hard paths passing without the override (V22-γ: exactly 16 of 17)"),
            KI7MTGate("ki7mt-override-hard", "override", Threshold("==", 17),
                      description="KI7MT hard paths passing with the PhysicsOverrideLayer (17/17)"),
            KI7MTGate("ki7mt-regressions", "regressions", Threshold("==", 0),
                      description="no KI7MT path that passes raw fails once the override is applied"),
            KI7MTGate("ki7mt-acid-test", "acid", Threshold("==", 1),
                      description="KI7MT-005 (10m EU at 02 UTC) fails raw and passes with the override"),
        ),
    )
    v20 = GateSuite(
        name=V20_RELEASE, version="3", family="ionis",
        description="V20/V21-era release criteria (config_v20/v21 validation, strict '>': Pearson > 0.48, "
                    "SFI > 0.4, storm > 3.0) plus the structural physics properties",
        gates=metric_gates(">", 0.48, 0.4, 3.0) + physics_gates(),
    )
    v21_battery = GateSuite(
        name=TST900_V21_SUITE, version="1", family="ionis",
        description="V21-era TST-900 battery: 10 scenarios, all June; all must pass",
        gates=(BatteryGate("tst900-v21", TST900_V21, Threshold(">=", 10),
                           description="V21-era band×time battery, 10 June scenarios on W3 → G"),),
    )
    from plugins.ionis.release_suites import release_suites

    return [v22, v20, v21_battery, *release_suites()]
