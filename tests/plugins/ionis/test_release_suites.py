"""Each later release has a named suite of its own battery; the gates in it are those of its architecture."""

from __future__ import annotations

import pytest

from plugins.ionis.checkpoint import load_bundle
from plugins.ionis.release_suites import V23_SUITE, V24_SUITE, V25_SUITE, V26_SUITE, own_suite
from plugins.ionis.suites import V22_RELEASE, ionis_suites
from registry.errors import GateError

pytest_plugins = ["pytester"]

SUITES = {s.name: s for s in ionis_suites()}


def test_own_suite_per_architecture():
    assert own_suite("IonisGateV24", False) == V24_SUITE
    assert own_suite("IonisGateV25", False) == own_suite("IonisGateV25Beta", False) == V25_SUITE
    assert own_suite("IonisGateV26", False) == V26_SUITE
    assert own_suite("IonisGate", True) == V23_SUITE
    assert own_suite("IonisGate", False) is None  # V20–V22, V27: V22's suite


def test_v24_suite_has_no_sun_gates_but_checks_sfi_is_ignored():
    names = [g.name for g in SUITES[V24_SUITE].gates]
    assert "sfi-benefit" not in names and "physics-sfi-monotone" not in names
    assert {"physics-sfi-ignored", "physics-kp-monotone", "storm-cost", "tst900-v24"} <= set(names)


def test_v25_and_v26_suites_carry_their_own_checks():
    assert "sfi-band-spread" in [g.name for g in SUITES[V25_SUITE].gates]
    assert "acid-battery" in [g.name for g in SUITES[V26_SUITE].gates]
    assert "val-pearson" not in [g.name for g in SUITES[V26_SUITE].gates]  # V25/V26 shipped no meta


@pytest.mark.parametrize(("tag", "suite"), [("v24", V24_SUITE), ("v25-alpha", V25_SUITE), ("v25-beta", V25_SUITE),
                                            ("v26-alpha", V26_SUITE)])
def test_own_suite_evaluates_every_gate_on_its_release(tag, suite, later_release, make_context):
    """No gate of a release's own suite is 'not applicable' to it: each measures something (synthetic weights)."""
    bundle = load_bundle(later_release(tag))
    ctx = make_context(bundle)
    for gate in SUITES[suite].gates:
        if gate.name == "val-pearson":
            continue  # needs a meta file; the synthetic release has none
        outcome = gate.evaluate(ctx)
        assert outcome.value is not None and outcome.message


def test_v22_suite_says_which_gates_do_not_apply_to_v24(later_release, make_context):
    ctx = make_context(load_bundle(later_release("v24")))
    by_name = {g.name: g for g in SUITES[V22_RELEASE].gates}
    for name in ("sfi-benefit", "physics-sfi-monotone"):
        with pytest.raises(GateError, match=f"{name} does not apply to IonisGateV24"):
            by_name[name].evaluate(ctx)
    out = by_name["physics-gate-range"].evaluate(ctx)
    assert "no sun gate" in out.message and [r[0] for r in out.details["table"]["rows"]] == ["storm"]


@pytest.mark.parametrize("tag", ["v24", "v25-alpha", "v25-beta", "v26-alpha", "v27"])
def test_decomposition_reference_covers_every_architecture(tag, later_release, make_context):
    from plugins.ionis.physics import DecompositionGate

    bundle = load_bundle(later_release(tag))
    assert DecompositionGate(paths=64).evaluate(make_context(bundle)).passed
    drifted = load_bundle(later_release(tag))
    car = drifted.module.storm_sidecar
    original = car.forward
    car.forward = lambda u: original(u) + 1e-3  # the module no longer computes what its weights say
    assert DecompositionGate(paths=64).evaluate(make_context(drifted)).passed is False


def test_v23_suite_runs_on_paths_its_atlas_covers(v23_files, v23_atlas, make_context):
    bundle = load_bundle(v23_files)
    ctx = make_context(bundle, datasets={v23_atlas.name: v23_atlas})
    for gate in SUITES[V23_SUITE].gates:
        if gate.name == "val-pearson":
            continue
        outcome = gate.evaluate(ctx)
        if gate.name.startswith(("physics-", "tst900")):  # the gates that ran the model record the atlas
            assert outcome.details["iri_atlas_digest"] == v23_atlas.digest, gate.name


def test_family_names_each_versions_own_suite(v23_files, later_release):
    from plugins.ionis.family import IonisFamily

    family = IonisFamily()
    assert family.validate(v23_files)["own_suite"] == V23_SUITE
    assert family.validate(later_release("v25-beta"))["own_suite"] == V25_SUITE
    assert family.validate(later_release("v27"))["own_suite"] is None
    assert family.default_suite == V22_RELEASE


def test_own_suite_runs_as_pytest_candidate_tests(pytester, home, later_release, monkeypatch):
    """`pytest --candidate ionis@1 --registry-suite ionis-v24-release`: one test per gate of V24's own battery."""
    import os

    from clirun import REPO, SUPPORT, run_cli

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(SUPPORT), str(REPO)]))
    files = later_release("v24")
    assert run_cli("register", "ionis", str(files["weights"]), "--config", str(files["config"])).returncode == 0
    result = pytester.runpytest_subprocess("--registry-home", str(home), "--candidate", "ionis@1",
                                           "--registry-suite", V24_SUITE, "-v", "-p", "no:cacheprovider")
    names = [g.name for g in SUITES[V24_SUITE].gates]
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) + outcomes.get("failed", 0) == len(names) == 7
    result.stdout.fnmatch_lines(["*registry::ionis@1::val-pearson FAILED*",  # no meta: cannot evaluate
                                 "*registry::ionis@1::physics-sfi-ignored PASSED*",
                                 "*registry::ionis@1::tst900-v24 FAILED*"])
