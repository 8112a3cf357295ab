"""The DeepECH gate suites: the release suite with the published thresholds, built by one configurable factory."""

from __future__ import annotations

from gates.base import Gate
from gates.suite import GateSuite

RELEASE = "deepech-release"
STORM_MIN_ROWS = 50
STORM_MIN_EVENTS = 10


def release_suite(*, accuracy_min: float = 0.912, r2_min: float = 0.7094, reliability_max: float = 0.02,
                  storm_min_rows: int = STORM_MIN_ROWS, storm_min_events: int = STORM_MIN_EVENTS,
                  name: str = RELEASE, version: str = "1") -> GateSuite:
    """The release gates; the published accuracy 0.912 and R² 0.7094 are defaults, not truths (a suite built
    with other thresholds must get its own ``name`` or ``version``)."""
    from plugins.deepech.amplitude_gates import AmplitudeR2Gate, AmplitudeSkillGate
    from plugins.deepech.class_gates import AccuracyGate, MarginOverBaselines, ReliabilityGate
    from plugins.deepech.sanity_gates import DeterminismGate, OutputRangeGate

    gates: tuple[Gate, ...] = (
        AccuracyGate(accuracy_min),
        *(MarginOverBaselines(m, against="majority") for m in ("accuracy", "balanced_accuracy", "precision",
                                                               "recall", "f1")),
        MarginOverBaselines("roc_auc"),
        MarginOverBaselines("brier", on="lower"),
        ReliabilityGate(reliability_max),
        AmplitudeR2Gate(r2_min),
        AmplitudeSkillGate(),
        MarginOverBaselines("brier", storm_only=True, min_rows=storm_min_rows, min_events=storm_min_events),
        AmplitudeSkillGate(storm_only=True, min_events=storm_min_events),
        OutputRangeGate(),
        DeterminismGate(),
    )
    return GateSuite(name, version, "deepech", gates,
                     "DeepECH release: presence scores vs majority class and (L, MLT) climatology, amplitude vs "
                     "(L, MLT) mean, storm slice (SYM-H ≤ −50 nT), sanity; test window after the training window")


def deepech_suites() -> list[GateSuite]:
    return [release_suite()]
