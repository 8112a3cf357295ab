"""Training-metric, TST-900 and KI7MT gates against the stub context."""

from __future__ import annotations

import pytest

from gates.base import Gate, Threshold
from plugins.ionis.gates import BatteryGate, KI7MTGate, SidecarEffectGate, ValPearsonGate
from plugins.ionis.scenarios import TST900_V21, TST900_V22
from registry.errors import DataMissing, GateError


def test_gates_satisfy_the_protocol():
    assert isinstance(ValPearsonGate(Threshold(">=", 0.46)), Gate)
    assert isinstance(BatteryGate("tst900", TST900_V22, Threshold(">=", 8)), Gate)


def test_pearson_strict_and_inclusive(context_for):
    ctx = context_for("v20")  # val_pearson 0.48791
    outcome = ValPearsonGate(Threshold(">", 0.48)).evaluate(ctx)
    assert outcome.passed and "reported by training, bound to the meta file" in outcome.message
    assert "not measured by the registry" in outcome.details["provenance"]
    assert not ValPearsonGate(Threshold(">", 0.4879079759120941)).evaluate(ctx).passed
    assert ValPearsonGate(Threshold(">=", 0.4879079759120941)).evaluate(ctx).passed


def test_pearson_without_meta_cannot_evaluate(release, make_context):
    bundle = release("v20")
    no_meta = type(bundle)(**{**bundle.__dict__, "meta": None})
    with pytest.raises(DataMissing, match="meta"):
        ValPearsonGate(Threshold(">=", 0.46)).evaluate(make_context(no_meta))


def test_sfi_gate_states_what_it_measured_and_where_the_clamp_floor_is(context_for):
    outcome = SidecarEffectGate("sfi-benefit", "sfi_benefit", Threshold(">=", 0.4)).evaluate(context_for("v21-beta"))
    assert outcome.passed and outcome.value == pytest.approx(0.4818, abs=1e-4)
    assert outcome.message.startswith("measured from the weights: sun_sidecar(200/300) − sun_sidecar(70/300) = "
                                      "0.4818σ, meets >= 0.4 — exactly the floor of upstream's training clamp")
    assert "cannot fail" not in outcome.message and "weights made otherwise" in outcome.details["note"]
    assert outcome.details["meta_reported"] == pytest.approx(outcome.value, abs=1e-6)


def test_sfi_gate_fails_a_checkpoint_not_made_by_the_clamped_training(release, make_context):
    """All-zero sidecar weights: the 'cannot fail' claim was false, so the message may only say what it measured."""
    import torch

    bundle = release("v21-beta")
    with torch.no_grad():
        saved = {k: v.clone() for k, v in bundle.module.state_dict().items()}
        for name, p in bundle.module.named_parameters():
            if "sun_sidecar" in name:
                p.zero_()
    try:
        outcome = SidecarEffectGate("sfi-benefit", "sfi_benefit", Threshold(">=", 0.4)).evaluate(
            make_context(bundle))
    finally:
        bundle.module.load_state_dict(saved)
    assert not outcome.passed and outcome.value == pytest.approx(0.0, abs=1e-9)
    assert outcome.message == ("measured from the weights: sun_sidecar(200/300) − sun_sidecar(70/300) = 0.0000σ, "
                               "misses >= 0.4")
    assert outcome.details["warning"] == "meta reports 0.4818, the weights give 0.0000"


def test_storm_cost_v21_beta_misses_the_v20_era_threshold(context_for):
    outcome = SidecarEffectGate("storm-cost", "storm_cost", Threshold(">", 3.0)).evaluate(context_for("v21-beta"))
    assert not outcome.passed and outcome.value == pytest.approx(1.287, abs=1e-3)


def test_battery_gate_counts_and_shows_scans(context_for):
    outcome = BatteryGate("tst900-v21", TST900_V21, Threshold(">=", 10)).evaluate(context_for("v21-beta"))
    assert outcome.value == 4 and not outcome.passed and outcome.comparator == ">="
    table = outcome.details["table"]
    assert table["columns"][0] == "id" and table["title"] == "scenarios"
    rows = [dict(zip(table["columns"], r, strict=True)) for r in table["rows"]]
    assert len(rows) == 10 and [r["id"] for r in rows if r["passed"]] == ["TST-905", "TST-908", "TST-909", "TST-910"]
    fig = outcome.figures[0]
    assert fig["kind"] == "line" and fig["x"] == list(range(24)) and fig["xlabel"] == "hour UTC"
    assert fig["ylabel"] == "σ" and all(len(s) == 24 for s in fig["series"].values())
    assert len(outcome.figures) == 10


@pytest.mark.parametrize(("check", "threshold", "value", "passed", "shown", "message", "title"), [
    ("raw", 16, 13, False, 18, "13/17 hard paths pass raw (needs == 16)", "paths"),
    ("override", 17, 16, False, 1, "16/17 hard paths pass with the override (needs == 17)",
     "the 1 of 18 paths this check is about (the raw check lists all)"),
    ("regressions", 0, 0, True, 0, "0 path(s) pass raw but fail with the override",
     "none of the 18 paths (the raw check lists all)"),
    ("acid", 1, 1, True, 1, "KI7MT-005 raw fails, with override passes (needs raw fail, override pass)",
     "the 1 of 18 paths this check is about (the raw check lists all)"),
])
def test_ki7mt_gates_on_v21_beta(context_for, check, threshold, value, passed, shown, message, title):
    outcome = KI7MTGate(f"ki7mt-{check}", check, Threshold("==", threshold)).evaluate(context_for("v21-beta"))
    assert (outcome.value, outcome.passed, outcome.message) == (value, passed, message)
    assert outcome.details["override"] == "V22 PhysicsOverrideLayer applied as the suite defines it"
    table = outcome.details["table"]
    assert len(table["rows"]) == shown and table["columns"][:2] == ["id", "name"] and table["title"] == title
    if check == "override":  # the one hard path the override does not rescue
        row = dict(zip(table["columns"], table["rows"][0], strict=True))
        assert row["override_pass"] is False and row["confidence"] == "hard"


def test_a_foreign_model_is_a_gate_error(make_context):
    with pytest.raises(GateError, match="expected an IONIS model bundle"):
        ValPearsonGate(Threshold(">=", 0.46)).evaluate(make_context(object()))


@pytest.fixture(scope="module")
def later(later_release):
    from plugins.ionis.checkpoint import load_bundle

    return lambda tag: load_bundle(later_release(tag))


def test_v25_sfi_benefit_is_the_least_over_bands(later, make_context):
    """The sun sidecar of V25-β reads SFI · log frequency: the benefit differs per band; the gate holds the least."""
    import math

    bundle = later("v25-beta")
    per_band = {b: bundle.module.sfi_benefit(math.log10(hz) / 8) for b, hz in bundle.bands.dial_hz.items()}
    least = min(per_band.values())
    out = SidecarEffectGate("sfi-benefit", "sfi_benefit", Threshold(">=", least)).evaluate(make_context(bundle))
    rows = out.details["table"]["rows"]
    assert [r[0] for r in rows] == sorted(per_band) and out.value == pytest.approx(least, abs=1e-9)
    assert out.passed and f"(band {min(per_band, key=per_band.get)})" in out.message
    assert rows[0][2] < rows[-1][2]  # a larger benefit at 10 m than at 160 m
    above = SidecarEffectGate("sfi-benefit", "sfi_benefit", Threshold(">=", least + 1e-6))
    assert above.evaluate(make_context(bundle)).passed is False
    assert "misses" in above.evaluate(make_context(bundle)).message


def test_sfi_benefit_does_not_apply_without_a_sun_sidecar_but_storm_cost_does(later, make_context):
    ctx = make_context(later("v24"))
    with pytest.raises(GateError, match="sfi-benefit does not apply to IonisGateV24: it has no sun sidecar"):
        SidecarEffectGate("sfi-benefit", "sfi_benefit", Threshold(">=", 0.4)).evaluate(ctx)
    out = SidecarEffectGate("storm-cost", "storm_cost", Threshold(">=", 1.0)).evaluate(ctx)
    assert out.value == pytest.approx(later("v24").module.storm_cost())


def test_gates_that_run_the_model_record_the_atlas_only_when_there_is_one(later, v23_files, v23_atlas, make_context):
    from plugins.ionis.checkpoint import load_bundle
    from plugins.ionis.gates import bundle_of, inputs_note

    assert inputs_note(later("v27")) == {}
    ctx = make_context(load_bundle(v23_files), datasets={v23_atlas.name: v23_atlas})
    v23 = bundle_of(ctx)  # the gate's bundle reads the atlas through ctx.dataset
    assert ctx.read == ["ionis-iri-atlas.round18.70-by-10"] and v23.atlas.digest == v23_atlas.digest
    assert inputs_note(v23) == {"iri_atlas": v23_atlas.name, "iri_atlas_digest": v23_atlas.digest}
    out = BatteryGate("tst900", TST900_V22, Threshold(">=", 8)).evaluate(ctx)
    assert out.details["iri_atlas_digest"] == v23_atlas.digest


def test_a_gate_on_v23_without_its_atlas_says_which_dataset_and_the_command_that_builds_it(v23_files,
                                                                                        make_context):
    from plugins.ionis.checkpoint import load_bundle

    with pytest.raises(DataMissing) as err:
        BatteryGate("tst900", TST900_V22, Threshold(">=", 8)).evaluate(make_context(load_bundle(v23_files)))
    assert str(err.value) == (
        "the IRI atlas this version reads cannot be read: dataset 'ionis-iri-atlas.round18.70-by-10' is not "
        "registered; build it into this registry's home with `python -m plugins.ionis.atlas_build "
        "--rule round,18,70,10 --for-gates` (needs pyiri)")


def test_a_ki7mt_file_with_another_number_of_hard_paths_is_a_gate_error(context_for):
    with pytest.raises(GateError, match="^the KI7MT file has 17 hard paths; this gate expects 18$"):
        KI7MTGate("ki7mt-raw", "raw", Threshold("==", 16), hard_paths=18).evaluate(context_for("v21-beta"))
    with pytest.raises(GateError, match="^unknown KI7MT check 'sideways'$"):
        KI7MTGate("ki7mt-x", "sideways", Threshold("==", 1)).evaluate(context_for("v21-beta"))


def test_pearson_message_binds_the_meta_files_hash_and_says_met_or_missed(release, release_files, make_context):
    """The message and details say where the figure came from: the registered meta file, by its sha256."""
    from registry.records import FileRef, ModelVersion

    meta = FileRef("meta", "ab" * 32, 200, "ionis_v20_meta.json")
    version = ModelVersion("ionis", 1, "cd" * 32, "", (meta,), {}, "2026-01-01T00:00:00Z", "test")
    ctx = make_context(release("v20"), release_files("v20"), version=version)
    met = ValPearsonGate(Threshold(">=", 0.48)).evaluate(ctx)
    bound = "reported by training, bound to the meta file sha256 abababababab…; not measured by the registry"
    assert met.message == f"val_pearson 0.4879 {bound}: meets >= 0.48"
    assert met.details == {"source": "meta", "val_pearson": pytest.approx(0.48791, abs=1e-5), "provenance": bound,
                           "note": "meta 'val_rmse' is √Huber, not an RMSE, and is not gated"}
    missed = ValPearsonGate(Threshold(">=", 0.49)).evaluate(ctx)
    assert not missed.passed and missed.message == f"val_pearson 0.4879 {bound}: misses >= 0.49"
    unbound = ValPearsonGate(Threshold(">=", 0.48)).evaluate(make_context(release("v20")))  # no version: no hash
    assert unbound.message.startswith("val_pearson 0.4879 reported by training, bound to the meta file; not measured")


def test_pearson_without_a_numeric_figure_says_which_is_missing(release, make_context):
    bundle = release("v20")
    no_meta = type(bundle)(**{**bundle.__dict__, "meta": None})
    with pytest.raises(DataMissing) as err:
        ValPearsonGate(Threshold(">=", 0.46)).evaluate(make_context(no_meta))
    assert str(err.value) == "val-pearson needs the version's meta file (val_pearson); none was registered"
    text = type(bundle)(**{**bundle.__dict__, "meta": {**bundle.meta, "val_pearson": "0.49"}})
    with pytest.raises(DataMissing) as err:
        ValPearsonGate(Threshold(">=", 0.46)).evaluate(make_context(text))
    assert str(err.value) == "the meta file has no numeric 'val_pearson'"


def test_sfi_and_storm_effects_record_their_definition_and_the_meta_figure(context_for):
    sfi = SidecarEffectGate("sfi-benefit", "sfi_benefit", Threshold(">=", 0.4)).evaluate(context_for("v21-beta"))
    assert sfi.details["definition"] == "sun_sidecar(200/300) − sun_sidecar(70/300)" and "warning" not in sfi.details
    assert sfi.details["measured_from_weights"] == round(sfi.value, 6) != sfi.value  # six decimals shown, all held
    storm = SidecarEffectGate("storm-cost", "storm_cost", Threshold(">=", 1.0)).evaluate(context_for("v21-beta"))
    assert storm.details["definition"] == "storm_sidecar(1.0) − storm_sidecar(0.0)"
    assert storm.details["measured_from_weights"] == round(storm.value, 6) != storm.value
    assert storm.message == "1.287 meets >= 1" and storm.details["meta_reported"] == pytest.approx(1.2870145)


def test_per_band_sfi_benefit_table_and_message(later, make_context):
    import math

    bundle = later("v25-beta")
    sun = bundle.arch.sidecar("sun")
    per_band = {b: bundle.module.sfi_benefit(math.log10(hz) / 8) for b, hz in bundle.bands.dial_hz.items()}
    least_band = min(per_band, key=per_band.get)
    least = per_band[least_band]
    out = SidecarEffectGate("sfi-benefit", "sfi_benefit", Threshold(">=", 0.0)).evaluate(make_context(bundle))
    assert out.message == f"least per-band SFI benefit {least:.4f}σ (band {least_band}) meets >= 0"
    table = out.details["table"]
    assert table["columns"] == ["band", "freq_log", "sfi_benefit"]
    assert table["title"] == f"{sun.describe()}: benefit per band (the gate holds the least)"
    hz = bundle.bands.dial_hz
    assert [r[1] for r in table["rows"]] == [round(math.log10(hz[b]) / 8, 6) for b in sorted(hz)]
    assert any(r[1] != round(math.log10(hz[r[0]]) / 8, 7) for r in table["rows"])  # six decimals, not seven
    missed = SidecarEffectGate("sfi-benefit", "sfi_benefit", Threshold(">", least)).evaluate(make_context(bundle))
    assert missed.message == f"least per-band SFI benefit {least:.4f}σ (band {least_band}) misses > {least:g}"


@pytest.fixture(scope="module")
def v21_paths(release):
    from plugins.ionis.ki7mt import evaluate_paths, load_paths

    return evaluate_paths(release("v21-beta"), load_paths())


def _paths_context(make_context, bundle, paths):  # noqa: ANN001, ANN202
    """A context whose shared KI7MT evaluation is ``paths``: path outcomes no release on hand produces."""
    base = type(make_context(bundle))

    class PathsContext(base):  # type: ignore[valid-type, misc]
        def memo(self, key, compute):  # noqa: ANN001, ANN202
            return paths if key == "ki7mt-paths" else compute()

    return PathsContext(bundle)


@pytest.mark.parametrize(("raw", "override", "value", "message"), [
    (True, True, 0, "KI7MT-005 raw passes, with override passes (needs raw fail, override pass)"),
    (False, False, 0, "KI7MT-005 raw fails, with override fails (needs raw fail, override pass)"),
    (True, False, 0, "KI7MT-005 raw passes, with override fails (needs raw fail, override pass)"),
    (False, True, 1, "KI7MT-005 raw fails, with override passes (needs raw fail, override pass)"),
])
def test_the_acid_test_passes_only_failing_raw_and_passing_with_the_override(release, make_context, v21_paths, raw,
                                                                            override, value, message):
    import dataclasses

    paths = [dataclasses.replace(v, raw_pass=raw, override_pass=override) if v.id == "KI7MT-005" else v
             for v in v21_paths]
    out = KI7MTGate("ki7mt-acid", "acid", Threshold("==", 1)).evaluate(
        _paths_context(make_context, release("v21-beta"), paths))
    assert (out.value, out.passed, out.message) == (value, value == 1, message)


def test_regressions_name_every_path_the_override_breaks(release, make_context, v21_paths):
    import dataclasses

    broken = {v.id for v in v21_paths if v.raw_pass}
    assert len(broken) >= 2
    paths = [dataclasses.replace(v, override_pass=False) if v.id in broken else v for v in v21_paths]
    out = KI7MTGate("ki7mt-regressions", "regressions", Threshold("==", 0)).evaluate(
        _paths_context(make_context, release("v21-beta"), paths))
    assert out.value == len(broken) and not out.passed
    assert out.message == f"{len(broken)} path(s) pass raw but fail with the override: {', '.join(sorted(broken))}"


def test_a_foreign_model_is_named_in_the_error(make_context):
    with pytest.raises(GateError, match="^expected an IONIS model bundle, got dict$"):
        ValPearsonGate(Threshold(">=", 0.46)).evaluate(make_context({}))
