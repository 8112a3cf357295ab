"""The DeepECH gate suites: the release suite, whose thresholds and split are options of the suite, not code."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gates.base import Gate
from gates.suite import GateSuite
from registry.errors import InvalidInput

RELEASE = "deepech-release"
STORM_MIN_ROWS = 50
STORM_MIN_EVENTS = 10
OPTIONS: tuple[tuple[str, Any], ...] = (
    ("accuracy_min", 0.912),          # upstream's published accuracy: a bar to choose, not a truth
    ("r2_min", 0.7094),               # upstream's published amplitude R²
    ("reliability_max", 0.02),
    ("storm_symh_nt", -50.0),         # storm rows: SYM-H at or below this
    ("storm_min_rows", STORM_MIN_ROWS),
    ("storm_min_events", STORM_MIN_EVENTS),
    ("test_from", "2015-01-01T17:00:00"),  # temporal split: training window before, test window from (UTC)
)
"""The release suite's options and defaults: ``registry promote --suite 'deepech-release[accuracy_min=0.95]'`` or
``registry policy set deepech production --suite 'deepech-release[r2_min=0.6,test_from=2016-01-01T00:00:00]'``
run it with others; the evidence records the suite under that name. (The presence threshold, 0.5 by default, is
the version's own: its config's ``threshold``.)"""


def _instant(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"suite {RELEASE!r}: option test_from={text!r} is not an ISO date-time "
                           "(e.g. 2015-01-01T17:00:00)") from None
    if when.tzinfo is not None:
        raise InvalidInput(f"suite {RELEASE!r}: option test_from={text!r} must be UTC without an offset")
    return when


def release_suite(*, accuracy_min: float = 0.912, r2_min: float = 0.7094, reliability_max: float = 0.02,
                  storm_symh_nt: float = -50.0, storm_min_rows: int = STORM_MIN_ROWS,
                  storm_min_events: int = STORM_MIN_EVENTS, test_from: str = "2015-01-01T17:00:00",
                  name: str = RELEASE, version: str = "2") -> GateSuite:
    """The release gates with the given options (``OPTIONS`` holds the defaults; the published accuracy 0.912 and
    R² 0.7094 are among them, not truths)."""
    from plugins.deepech.amplitude_gates import AmplitudeR2Gate, AmplitudeSkillGate
    from plugins.deepech.class_gates import AccuracyGate, MarginOverBaselines, ReliabilityGate
    from plugins.deepech.evaluation import Setup
    from plugins.deepech.sanity_gates import DeterminismGate, OutputRangeGate

    if storm_min_rows < 0 or storm_min_events < 0:
        raise InvalidInput(f"suite {RELEASE!r}: storm_min_rows and storm_min_events must be ≥ 0")
    setup = Setup(_instant(test_from), storm_symh_nt)
    gates: tuple[Gate, ...] = (
        AccuracyGate(accuracy_min, setup),
        *(MarginOverBaselines(m, against="majority", setup=setup)
          for m in ("accuracy", "balanced_accuracy", "precision", "recall", "f1")),
        MarginOverBaselines("roc_auc", setup=setup),
        MarginOverBaselines("brier", on="lower", setup=setup),
        ReliabilityGate(reliability_max, setup=setup),
        AmplitudeR2Gate(r2_min, setup),
        AmplitudeSkillGate(setup=setup),
        MarginOverBaselines("brier", storm_only=True, min_rows=storm_min_rows, min_events=storm_min_events,
                            setup=setup),
        AmplitudeSkillGate(storm_only=True, min_events=storm_min_events, setup=setup),
        OutputRangeGate(setup),
        DeterminismGate(setup),
    )
    return GateSuite(name, version, "deepech", gates,
                     f"DeepECH release: presence scores vs majority class and (L, MLT) climatology, amplitude vs "
                     f"(L, MLT) mean, storm slice (SYM-H ≤ {storm_symh_nt:g} nT), sanity; test window from "
                     f"{setup.test_from.isoformat()}, after the training window",
                     options=OPTIONS, build=release_suite)


def deepech_suites() -> list[GateSuite]:
    return [release_suite()]
