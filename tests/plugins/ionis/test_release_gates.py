"""The later releases' own gates: config thresholds, V24's ignored SFI, V25's band spread, V26-α's acid battery."""

from __future__ import annotations

import dataclasses

import pytest

from gates.base import Threshold
from plugins.ionis.checkpoint import load_bundle
from plugins.ionis.gates import SidecarEffectGate
from plugins.ionis.release_gates import AcidBatteryGate, SfiBandSpreadGate, SfiIgnoredGate, ValidationGate
from plugins.ionis.scenarios import TST_V26_NINE
from registry.errors import DataMissing, GateError


@pytest.fixture(scope="module")
def bundles(later_release):
    return {tag: load_bundle(later_release(tag)) for tag in ("v24", "v25-alpha", "v25-beta", "v26-alpha", "v27")}


def _storm_gate() -> ValidationGate:
    return ValidationGate("storm-cost", "kp_storm_min", ">=",
                          lambda t: SidecarEffectGate("storm-cost", "storm_cost", t))


def test_threshold_is_the_candidate_configs(bundles, make_context):
    bundle = bundles["v24"]
    cost = bundle.module.storm_cost()
    for limit, passes in ((cost - 0.01, True), (cost + 0.01, False)):
        config = {**bundle.config, "validation": {**bundle.config["validation"], "kp_storm_min": limit}}
        out = _storm_gate().evaluate(make_context(dataclasses.replace(bundle, config=config)))
        assert out.passed is passes and out.threshold == limit
        assert out.details["threshold_source"] == "config validation.kp_storm_min"


@pytest.mark.parametrize("value", [None, "1.0", float("nan"), True])
def test_missing_or_non_numeric_threshold_errors(bundles, make_context, value):
    bundle = bundles["v24"]
    validation = {k: v for k, v in bundle.config["validation"].items() if k != "kp_storm_min"}
    if value is not None:
        validation["kp_storm_min"] = value
    with pytest.raises(DataMissing, match="validation.kp_storm_min"):
        _storm_gate().evaluate(make_context(dataclasses.replace(bundle, config={**bundle.config,
                                                                               "validation": validation})))


def test_v24_ignores_sfi_and_the_check_does_not_apply_where_a_sun_sidecar_exists(bundles, make_context):
    out = SfiIgnoredGate(paths=32).evaluate(make_context(bundles["v24"]))
    assert out.passed and out.value == 0.0
    with pytest.raises(GateError, match="does not apply to IonisGate: it has a sun sidecar"):
        SfiIgnoredGate(paths=32).evaluate(make_context(bundles["v27"]))


def test_v25_band_spread_is_the_raw_sidecar_difference(bundles, make_context):
    import math

    bundle = bundles["v25-alpha"]
    out = SfiBandSpreadGate(Threshold(">", 0.1)).evaluate(make_context(bundle))
    expected = (bundle.module.sfi_benefit(math.log10(28_124_600) / 8)
                - bundle.module.sfi_benefit(math.log10(1_836_600) / 8))
    assert out.value == pytest.approx(expected, abs=1e-6)
    assert out.passed is (expected > 0.1)
    assert SfiBandSpreadGate(Threshold(">", expected + 1e-3)).evaluate(make_context(bundle)).passed is False
    with pytest.raises(GateError, match="does not apply to IonisGate"):
        SfiBandSpreadGate(Threshold(">", 0.1)).evaluate(make_context(bundles["v27"]))


def test_v26_acid_battery_counts_the_acid_test_with_nine_scenarios(bundles, make_context):
    gate = AcidBatteryGate("acid-battery", TST_V26_NINE, Threshold(">=", 10))
    out = gate.evaluate(make_context(bundles["v26-alpha"]))
    rows = out.details["table"]["rows"]
    assert [r[0] for r in rows] == ["ACID", "TST-901", "TST-903", "TST-904", "TST-905", "TST-906", "TST-907",
                                    "TST-908", "TST-909", "TST-910"]
    assert out.value == sum(1 for r in rows if r[-1])
    assert rows[0][-1] is (out.details["acid_sigma"] <= 0.0)
    lenient = AcidBatteryGate("acid-battery", TST_V26_NINE, Threshold(">=", out.value))
    assert lenient.evaluate(make_context(bundles["v26-alpha"])).passed
