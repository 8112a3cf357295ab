"""Each release after V22 judged by its own battery, as named suites for dry runs and ``pytest --candidate``."""

from __future__ import annotations

from gates.base import Gate, Threshold
from gates.suite import GateSuite
from plugins.ionis.gates import BatteryGate, SidecarEffectGate, ValPearsonGate
from plugins.ionis.physics import DecompositionGate, GateRangeGate, MonotoneGate
from plugins.ionis.release_gates import AcidBatteryGate, SfiBandSpreadGate, SfiIgnoredGate, ValidationGate
from plugins.ionis.scenarios import TST900_V22, TST900_V24, TST_V26_NINE, Scenario

V23_SUITE = "ionis-v23-release"
V24_SUITE = "ionis-v24-release"
V25_SUITE = "ionis-v25-release"
V26_SUITE = "ionis-v26-release"
OWN_SUITE = {"IonisGateV24": V24_SUITE, "IonisGateV25": V25_SUITE, "IonisGateV25Beta": V25_SUITE,
             "IonisGateV26": V26_SUITE}
"""Architecture → the suite holding its own battery (V23 and AUDIT-03 are ``IonisGate`` reading an atlas)."""


def own_suite(architecture: str, reads_atlas: bool) -> str | None:
    """The name of the suite with this version's own battery, or None for V20–V22 and V27 (V22's suite)."""
    return V23_SUITE if reads_atlas else OWN_SUITE.get(architecture)


def _pearson() -> Gate:
    return ValidationGate("val-pearson", "pearson_min", ">=", ValPearsonGate,
                          description="training-reported validation Pearson r ≥ the config's pearson_min")


def _storm() -> Gate:
    return ValidationGate("storm-cost", "kp_storm_min", ">=",
                          lambda t: SidecarEffectGate("storm-cost", "storm_cost", t),
                          description="raw storm sidecar Kp 9 → 0 ≥ the config's kp_storm_min")


def _sfi() -> Gate:
    return ValidationGate("sfi-benefit", "sfi_benefit_min", ">=",
                          lambda t: SidecarEffectGate("sfi-benefit", "sfi_benefit", t),
                          description="raw sun sidecar SFI 70 → 200 (the least over bands where it reads the "
                                      "frequency) ≥ the config's sfi_benefit_min")


def _battery(name: str, battery: tuple[Scenario, ...], what: str) -> Gate:
    return ValidationGate(name, "tst900_min", ">=", lambda t: BatteryGate(name, battery, t),
                          description=f"{what}; pass count ≥ the config's tst900_min")


def _physics(sun: bool) -> tuple[Gate, ...]:
    kp = MonotoneGate("physics-kp-monotone", "kp", description="σ never rises as Kp goes 0 → 9, on 512 random paths")
    if not sun:
        return kp, SfiIgnoredGate(), GateRangeGate(description="the storm gate stays within [0.5, 2.0] "
                                                               "(no sun gate in this architecture)"), \
            DecompositionGate()
    return (kp, MonotoneGate("physics-sfi-monotone", "sfi", description="σ never falls as SFI goes 50 → 400"),
            GateRangeGate(), DecompositionGate())


def release_suites() -> list[GateSuite]:
    """V23 (and AUDIT-03), V24, V25 (α and β) and V26-α suites; thresholds come from the candidate's config."""
    tst = "TST-900 band×time battery, V22's 11 scenarios on W3 → G"
    return [
        GateSuite(V23_SUITE, "1", "ionis",
                  (_pearson(), _sfi(), _storm()) + _physics(True) + (_battery("tst900", TST900_V22, tst),),
                  "V23 / AUDIT-03 (IonisGate reading the IRI atlas): training metrics, physics on paths around "
                  "the atlas's grids, TST-900; thresholds from the config's validation block"),
        GateSuite(V24_SUITE, "1", "ionis",
                  (_pearson(), _storm()) + _physics(False) + (_battery(
                      "tst900-v24", TST900_V24, "V24's battery: V22's with its winter TST-910 (dB(00) − dB(14) ≥ 0)"),),
                  "V24 (no sun sidecar): no SFI benefit or SFI monotonicity to check — instead σ must ignore SFI; "
                  "thresholds from the config's validation block (no sfi_benefit_min)"),
        GateSuite(V25_SUITE, "1", "ionis",
                  (_sfi(), _storm()) + _physics(True) + (
                      SfiBandSpreadGate(Threshold(">", 0.1)), _battery("tst900", TST900_V22, tst)),
                  "V25-α / V25-β (frequency-aware sun sidecar): per-band SFI benefit, ΔSFI(10 m) − ΔSFI(160 m) "
                  "> 0.1σ, physics, TST-900; no meta shipped, so no Pearson gate"),
        GateSuite(V26_SUITE, "1", "ionis",
                  (_sfi(), _storm()) + _physics(True) + (AcidBatteryGate(
                      "acid-battery", TST_V26_NINE, Threshold(">=", 10),
                      description="acid test (10 m DN13 → JN48, 02 UTC, doy 45, SFI 150: σ ≤ 0) + 9 TST "
                                  "scenarios, all 10 must pass"),),
                  "V26-α (nine band heads): its own gate of acid test + 9 TST ≥ 10/10, physics on every head; "
                  "no meta shipped, so no Pearson gate"),
    ]
