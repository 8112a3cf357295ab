"""The later releases' own gates: config thresholds, V24's ignored SFI, V25's band spread, V26-α's acid battery."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from gates.base import Threshold
from plugins.ionis.checkpoint import load_bundle
from plugins.ionis.gates import SidecarEffectGate
from plugins.ionis.physics import random_paths
from plugins.ionis.release_gates import AcidBatteryGate, SfiBandSpreadGate, SfiIgnoredGate, ValidationGate
from plugins.ionis.scenarios import TST_V26_NINE, run_battery
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
    with pytest.raises(GateError, match="^physics-sfi-ignored does not apply to IonisGate: it has a sun sidecar, so "
                                        "SFI is meant to move σ$"):
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


# ---------------------------------------------------------------- boundaries: what each gate measured and against what


def _with_validation(bundle, validation):
    return dataclasses.replace(bundle, config={**bundle.config, "validation": validation})


@pytest.mark.parametrize(("config", "why"), [(None, "is absent"), ({"validation": None}, "is absent"),
                                             ({"validation": {"kp_storm_min": float("inf")}}, "is not a number"),
                                             ({"validation": {"kp_storm_min": float("-inf")}}, "is not a number"),
                                             ({"validation": {"kp_storm_min": "1.0"}}, "is not a number")])
def test_threshold_error_says_whether_it_is_absent_or_not_a_number(bundles, make_context, config, why):
    bundle = dataclasses.replace(bundles["v24"], config=config)
    with pytest.raises(DataMissing) as err:
        _storm_gate().evaluate(make_context(bundle))
    assert str(err.value) == ("storm-cost takes its threshold from the config's validation.kp_storm_min, "
                              f"which {why}")


def test_an_integer_threshold_is_held_with_the_gates_comparator(bundles, make_context):
    bundle = bundles["v24"]
    cost = bundle.module.storm_cost()
    whole = int(cost)  # an int in the config (JSON "1") is a number like any other
    out = _storm_gate().evaluate(make_context(_with_validation(bundle, {"kp_storm_min": whole})))
    assert out.passed and out.threshold == whole and out.comparator == ">="
    assert out.details["measured_from_weights"] == round(cost, 6)  # the inner gate's details are kept
    strict = ValidationGate("storm-cost", "kp_storm_min", "<", lambda t: SidecarEffectGate("storm-cost", "storm_cost",
                                                                                         t))
    assert strict.evaluate(make_context(_with_validation(bundle, {"kp_storm_min": whole}))).passed is False


def _leak_sfi(bundle, scale: float) -> None:
    """Move σ of ``bundle`` (a fresh load) by ``scale``·(SFI input)·(distance feature): a V24 port that wired SFI
    into the output, more on long paths."""
    sfi, distance = bundle.module.column("sfi"), bundle.module.column("distance")
    forward = bundle.module.forward
    bundle.module.forward = lambda x: forward(x) + scale * x[:, sfi: sfi + 1] * x[:, distance: distance + 1]


def test_sfi_ignored_measures_the_largest_change_and_holds_it_inclusively(later_release, make_context):
    bundle = load_bundle(later_release("v24"))
    out = SfiIgnoredGate().evaluate(make_context(bundle))
    assert out.details["paths"] == 256 and out.message == "largest σ change with SFI over 256 paths: 0.00e+00σ"
    assert out.details["levels"] == "50 → 70 → 100 → 130 → 160 → 200 → 250 → 300 → 400"
    assert out.threshold == 1e-6 and out.comparator == "<="
    _leak_sfi(bundle, 0.03)
    out = SfiIgnoredGate(paths=8).evaluate(make_context(bundle))
    paths = random_paths(make_context(bundle).rng("physics-sfi-ignored"), 8, bundle=bundle)  # the gate's own draw
    longest = bundle.inputs(paths)[:, bundle.module.column("distance")].max()
    assert out.value == pytest.approx(0.03 * (400 - 50) / 300 * longest, rel=1e-4) and not out.passed
    assert SfiIgnoredGate(paths=8, tolerance=out.value).evaluate(make_context(bundle)).passed
    below = float(np.nextafter(out.value, 0))
    assert not SfiIgnoredGate(paths=8, tolerance=below).evaluate(make_context(bundle)).passed


def test_band_spread_reports_both_bands_and_refuses_a_model_without_a_sun_sidecar(bundles, make_context):
    bundle = bundles["v25-beta"]  # the product form also reads the frequency
    out = SfiBandSpreadGate(Threshold(">", 0.1)).evaluate(make_context(bundle))
    rows = out.details["table"]["rows"]
    assert [r[0] for r in rows] == sorted(bundle.bands.dial_hz) and out.details["table"]["columns"] == ["band",
                                                                                                        "sfi_benefit"]
    assert out.details["table"]["title"] == "raw sun sidecar SFI 70 → 200"
    by_band = dict(rows)
    for band, value in rows:
        exact = bundle.module.sfi_benefit(math.log10(bundle.bands.dial_hz[band]) / 8)
        assert value == round(exact, 6)
    assert out.value == pytest.approx(by_band[111] - by_band[102], abs=1e-12)
    assert out.message == (f"ΔSFI 10 m {by_band[111]:+.4f}σ − 160 m {by_band[102]:+.4f}σ = {out.value:+.4f}σ "
                           "(needs > 0.1)")
    assert out.passed is (out.value > 0.1)
    with pytest.raises(GateError, match="^sfi-band-spread does not apply to IonisGateV24: its sun sidecar does not "
                                        "read the frequency$"):
        SfiBandSpreadGate(Threshold(">", 0.1)).evaluate(make_context(bundles["v24"]))


ACID_QUERY = {"tx_lat": 33.5, "tx_lon": -105.5, "rx_lat": 48.5, "rx_lon": 13.5, "freq_mhz": 28.1246,
              "hour_utc": 2.0, "month": 2, "day_of_year": 45, "sfi": 150.0, "kp": 2.0}
"""ionis.md: the acid test is 10 m, 02 UTC, doy 45 (February), SFI 150, Kp 2, DN13 → JN48 at upstream's points."""


def _shift(bundle, offset: float) -> None:
    """Move σ of ``bundle`` (a fresh load) so that the acid query gives exactly ``offset``."""
    import torch

    from plugins.ionis.features import PathBatch

    x = torch.from_numpy(bundle.inputs(PathBatch(**{k: np.array([v], dtype=np.float64)
                                                    for k, v in ACID_QUERY.items()})))
    forward = bundle.module.forward
    with torch.inference_mode():
        acid = forward(x)
    bundle.module.forward = lambda t: forward(t) - acid + offset


def test_acid_test_is_the_spec_query_and_zero_passes(later_release, make_context):
    from plugins.ionis.features import PathBatch
    from plugins.ionis.predict import predict_sigma

    bundle = load_bundle(later_release("v26-alpha"))
    gate = AcidBatteryGate("acid-battery", TST_V26_NINE, Threshold(">=", 10))
    out = gate.evaluate(make_context(bundle))
    expected = predict_sigma(bundle, PathBatch(**{k: np.array([v], dtype=np.float64) for k, v in ACID_QUERY.items()}))
    assert out.details["acid_sigma"] == pytest.approx(float(expected[0]), abs=1e-6)
    rows = out.details["table"]["rows"]
    assert out.details["table"]["title"] == "acid test + TST scenarios"
    assert rows[0][3] == round(out.details["acid_sigma"], 3)
    assert rows[1:] == [[r.id, r.title, r.rule, round(r.value, 3), r.unit, r.passed]
                        for r in run_battery(bundle, TST_V26_NINE)]
    _shift(bundle, 0.0)
    out = gate.evaluate(make_context(bundle))
    acid_row = out.details["table"]["rows"][0]
    assert out.details["acid_sigma"] == 0.0 and acid_row[-1] is True  # σ ≤ 0: exactly zero passes
    assert acid_row[:5] == ["ACID", "10m night closure DN13 → JN48, Feb, 02 UTC", "σ ≤ 0", 0.0, "σ"]
    ids = [r[0] for r in out.details["table"]["rows"] if r[-1]]
    assert out.message == (f"{len(ids)}/10 pass ({', '.join(ids)}; acid test +0.000σ); needs >= 10")
    assert len(out.figures) == 9 and out.figures[0]["title"].startswith("TST-901 ")


def test_acid_battery_with_nothing_passing_says_none(later_release, make_context):
    import torch

    bundle = load_bundle(later_release("v26-alpha"))
    bundle.module.forward = lambda t: torch.full((len(t), 1), 0.123456)  # flat in time and band: no contrast
    out = AcidBatteryGate("acid-battery", TST_V26_NINE[:1], Threshold(">=", 1)).evaluate(make_context(bundle))
    assert out.value == 0 and not out.passed
    assert out.message == "0/2 pass (none; acid test +0.123σ); needs >= 1"
    assert out.details["table"]["rows"][0][3] == 0.123  # the acid row's σ to 3 decimals
