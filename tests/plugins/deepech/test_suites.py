"""plugins.deepech.suites: the published thresholds, the storm slice and the temporal split are suite options —
changing them changes the verdict with no code edit, and the evidence names them."""

from __future__ import annotations

import functools
from types import SimpleNamespace
from typing import Any

import pytest

from plugins.deepech.suites import OPTIONS, RELEASE
from registry.errors import GateError, InvalidInput


@functools.cache
def _plugins() -> Any:
    from registry.plugins import get_plugin_manager

    return get_plugin_manager(entry_points=False)


def suite(name: str) -> Any:
    """The suite as every command looks it up (``Plugins.suite``), options in its name."""
    return _plugins().suite("deepech", name)


def verdicts(s: Any, ctx: Any) -> dict[str, bool]:
    return {g.name: bool(g.evaluate(ctx).passed) for g in s.gates}


def test_the_published_numbers_are_the_options_defaults() -> None:
    assert dict(OPTIONS) == {"accuracy_min": 0.912, "r2_min": 0.7094, "reliability_max": 0.02,
                             "storm_symh_nt": -50.0, "storm_min_rows": 50, "storm_min_events": 10,
                             "test_from": "2015-01-01T17:00:00"}
    plain = suite(RELEASE)
    assert suite(f"{RELEASE}[accuracy_min=0.912,test_from=2015-01-01T17:00:00]") is plain
    gates = {g.name: g for g in suite(f"{RELEASE}[r2_min=0.25,accuracy_min=0.8,storm_min_events=3]").gates}
    assert gates["accuracy"].minimum == 0.8 and gates["amplitude-r2"].minimum == 0.25
    assert gates["storm-brier-vs-baselines"].min_events == 3 and gates["storm-amplitude-rmse-skill"].min_events == 3


def test_changing_the_options_changes_the_verdict(labelled: Any, make_ctx: Any, oracle: Any) -> None:
    """The forecast that knows the synthetic occurrence model misses only the published accuracy and R² (the
    synthetic labels are noisier than upstream's data); with bars it clears, every gate passes."""
    ctx = make_ctx(oracle(), labelled)
    plain = verdicts(suite(RELEASE), ctx)
    assert sorted(n for n, ok in plain.items() if not ok) == ["accuracy", "amplitude-r2"]
    mine = suite(f"{RELEASE}[accuracy_min=0.8,r2_min=0.25]")
    assert mine.name == "deepech-release[accuracy_min=0.8,r2_min=0.25]" and mine.version == suite(RELEASE).version
    assert all(verdicts(mine, ctx).values())
    accuracy = mine.gates[0].evaluate(ctx)
    assert accuracy.details["split"] == {"test_from": "2015-01-01T17:00:00", "storm_symh_nt": -50.0}
    assert accuracy.details["threshold"] == 0.5  # the presence threshold: the version's own (its config)


def test_the_split_is_an_option(labelled: Any, make_ctx: Any, oracle: Any) -> None:
    ctx = make_ctx(oracle(), labelled)
    acc = suite(f"{RELEASE}[test_from=2015-01-01T12:00:00]").gates[0].evaluate(ctx)
    assert (acc.details["test_rows"], acc.details["training_rows"]) == (720, 720)
    assert suite(RELEASE).gates[0].evaluate(ctx).details["test_rows"] == 420  # 17:00 → midnight
    late = suite(f"{RELEASE}[test_from=2015-01-02T00:00:00]").gates[0]
    with pytest.raises(GateError, match="rows on both sides of the temporal split at 2015-01-02T00:00:00 "
                                        r"\(training 1440, test 0\)"):
        late.evaluate(ctx)
    for bad, msg in (("17:00", "not an ISO date-time"), ("2015-01-01T17:00:00+01:00", "UTC without an offset")):
        with pytest.raises(InvalidInput, match=msg):
            suite(f"{RELEASE}[test_from={bad}]")


def test_the_storm_slice_threshold_is_an_option(labelled: Any, make_ctx: Any, oracle: Any) -> None:
    ctx = make_ctx(oracle(), labelled)
    default = suite(RELEASE).gates[11].evaluate(ctx)  # storm-brier-vs-baselines
    looser = suite(f"{RELEASE}[storm_symh_nt=-20.0]").gates[11]
    assert looser.name == "storm-brier-vs-baselines" and "SYM-H ≤ -20 nT" in looser.description
    assert looser.evaluate(ctx).details["rows"] > default.details["rows"]
    with pytest.raises(InvalidInput, match="must be ≥ 0"):
        suite(f"{RELEASE}[storm_min_rows=-1]")


def test_a_version_trained_past_the_test_windows_start_is_refused(labelled: Any, make_ctx: Any,
                                                                   oracle: Any) -> None:
    lineage = {"training": {"split": {"test_window_from": "2015-01-01T18:00:00"}}}
    ctx = make_ctx(oracle(), labelled, version=SimpleNamespace(lineage=lineage))
    with pytest.raises(GateError, match="trained on rows up to 2015-01-01T18:00:00, after this suite's test window "
                                        r"starts \(2015-01-01T17:00:00\)"):
        suite(RELEASE).gates[0].evaluate(ctx)
    assert suite(f"{RELEASE}[test_from=2015-01-01T18:00:00]").gates[0].evaluate(ctx).details["test_rows"] == 360
    bad = make_ctx(oracle(), labelled, version=SimpleNamespace(lineage={"training": {"split": {
        "test_window_from": "yesterday"}}}))
    with pytest.raises(GateError, match="unreadable training split end 'yesterday'"):
        suite(RELEASE).gates[0].evaluate(bad)
