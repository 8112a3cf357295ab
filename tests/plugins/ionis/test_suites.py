"""The registered suites: names, refusal of V20/V21 by named gates; a repeated run decides the same."""

from __future__ import annotations

import pytest

from gates.suite import GateSuite
from plugins.ionis.suites import TST900_V21_SUITE, V20_RELEASE, V22_RELEASE, ionis_suites


def _run(suite: GateSuite, ctx) -> dict[str, bool]:
    return {g.name: g.evaluate(ctx).passed for g in suite.gates}


def _suite(name: str) -> GateSuite:
    return next(s for s in ionis_suites() if s.name == name)


def test_suite_names_and_family():
    suites = ionis_suites()
    assert [s.name for s in suites] == [V22_RELEASE, V20_RELEASE, TST900_V21_SUITE, "ionis-v23-release",
                                        "ionis-v24-release", "ionis-v25-release", "ionis-v26-release"]
    assert all(s.family == "ionis" and s.version for s in suites)
    assert [g.name for g in _suite(V22_RELEASE).gates] == [
        "val-pearson", "sfi-benefit", "storm-cost", "physics-kp-monotone", "physics-sfi-monotone",
        "physics-gate-range", "physics-decomposition", "tst900", "ki7mt-raw-hard", "ki7mt-override-hard",
        "ki7mt-regressions", "ki7mt-acid-test"]


@pytest.mark.parametrize(("name", "failing"), [
    ("v20", {"tst900", "ki7mt-raw-hard", "ki7mt-override-hard"}),
    ("v21-alpha", {"tst900", "ki7mt-raw-hard", "ki7mt-override-hard"}),
    ("v21-beta", {"tst900", "ki7mt-raw-hard", "ki7mt-override-hard"}),
])
def test_v22_release_refuses_older_versions_by_name(name, failing, context_for):
    results = _run(_suite(V22_RELEASE), context_for(name))
    assert {g for g, ok in results.items() if not ok} == failing


def test_v20_release_criteria(context_for):
    assert all(_run(_suite(V20_RELEASE), context_for("v20")).values())
    beta = _run(_suite(V20_RELEASE), context_for("v21-beta"))
    assert {g for g, ok in beta.items() if not ok} == {"val-pearson", "storm-cost"}


def test_v22_suite_gives_the_same_verdicts_when_run_twice(context_for):
    """Its speed is measured by bench/bench_ionis_gates.py (a timed test fails on a loaded machine, not on a bug);
    here: a second run on the same bundle (shared memo, warmed torch) decides exactly as the first."""
    ctx = context_for("v21-beta")
    suite = _suite(V22_RELEASE)
    assert _run(suite, ctx) == _run(suite, ctx)


@pytest.mark.parametrize(("suite", "config", "op"), [(V22_RELEASE, "config_v22.json", ">="),
                                                      (V20_RELEASE, "config_v20.json", ">"),
                                                      (V20_RELEASE, "config_v21.json", ">")])
def test_suite_thresholds_are_the_released_configs_validation_blocks(suite, config, op, ionis_data):
    import json

    validation = json.loads((ionis_data / config).read_text())["validation"]
    gates = {g.name: g for g in _suite(suite).gates}
    held = {"pearson_min": gates["val-pearson"].threshold, "sfi_benefit_min": gates["sfi-benefit"].threshold,
            "kp_storm_min": gates["storm-cost"].threshold}
    if "tst900_min" in validation:
        held["tst900_min"] = gates["tst900"].threshold
    assert {k: t.limit for k, t in held.items()} == validation
    assert {t.op for k, t in held.items() if k != "tst900_min"} == {op}
