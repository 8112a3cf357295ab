"""Running a suite: anything but a pass on a finite measured value is not a pass (fail closed)."""

from __future__ import annotations

import numpy as np
import pytest

from gates.base import Outcome
from gates.suite import GateSuite
from registry.suite_run import run_suite


class Fixed:
    """A gate that reports a given outcome, or raises a given exception."""

    version, description = "1", "test gate"

    def __init__(self, name: str, outcome: Outcome | None = None, raises: BaseException | None = None) -> None:
        self.name, self.outcome, self.raises = name, outcome, raises

    def evaluate(self, ctx: object) -> Outcome:
        if self.raises is not None:
            raise self.raises
        assert self.outcome is not None
        return self.outcome


@pytest.mark.parametrize(("value", "passed", "status"), [
    (None, True, "error"), (np.float32("nan"), True, "error"), (float("inf"), True, "error"),
    ("ok", True, "error"), (True, True, "error"), (np.float64(0.5), np.bool_(True), "pass"), (3, True, "pass"),
    (float("nan"), False, "fail"), (0.1, np.bool_(False), "fail"), (0.9, 1, "fail"),
])
def test_only_a_finite_value_can_pass(app, ckpts, value, passed, status):
    v = app.store.register("toy", {"weights": ckpts["good"]})[0]
    suite = GateSuite("t", "1", "toy", (Fixed("g", Outcome(value=value, passed=passed)),))
    ev = run_suite(app.store, app.plugins.family("toy"), suite, v)
    assert ev.results[0].status == status
    assert ev.passed is (status == "pass")


@pytest.mark.parametrize("exc", [SystemExit(0), RuntimeError("boom\nsecond line"), KeyError("x")])
def test_a_gate_that_raises_is_an_error_row_with_one_line(app, ckpts, exc):
    v = app.store.register("toy", {"weights": ckpts["good"]})[0]
    suite = GateSuite("t", "1", "toy", (Fixed("g", raises=exc), Fixed("h", Outcome(value=1.0, passed=True))))
    ev = run_suite(app.store, app.plugins.family("toy"), suite, v)
    assert [r.status for r in ev.results] == ["error", "pass"] and not ev.passed
    assert "\n" not in ev.results[0].message and type(exc).__name__ in ev.results[0].message


def test_an_empty_suite_never_passes(app, ckpts):
    v = app.store.register("toy", {"weights": ckpts["good"]})[0]
    empty = run_suite(app.store, app.plugins.family("toy"), GateSuite("t", "1", "toy", ()), v)
    assert empty.results == () and not empty.passed and empty.verdict == "error"
    # the same run with one passing gate passes: it is the emptiness that refuses, not the run
    one = run_suite(app.store, app.plugins.family("toy"),
                    GateSuite("t", "1", "toy", (Fixed("g", Outcome(value=1.0, passed=True)),)), v)
    assert one.passed and one.verdict == "promoted"


def test_evidence_records_the_device_and_library_versions(app, ckpts):
    v = app.store.register("toy", {"weights": ckpts["good"]})[0]
    suite = GateSuite("t", "1", "toy", (Fixed("g", Outcome(value=1.0, passed=True)),))
    env = run_suite(app.store, app.plugins.family("toy"), suite, v, device="cpu").environment
    assert env["device"] == "cpu" and env["torch"] != "absent" and "gpu" not in env


def test_suite_figures_are_drawn_from_the_results_and_stored_with_the_run(app, ckpts):
    v = app.store.register("toy", {"weights": ckpts["good"]})[0]
    gates = (Fixed("a", Outcome(value=0.25, passed=True)), Fixed("b", Outcome(value=0.5, passed=False)))

    def skill_of_every_gate(results):
        return [{"kind": "bar", "title": "values", "labels": [r.name for r in results],
                 "values": [r.value for r in results]}]

    ev = run_suite(app.store, app.plugins.family("toy"), GateSuite("t", "1", "toy", gates,
                                                                   figures=skill_of_every_gate), v)
    assert ev.figures == ({"kind": "bar", "title": "values", "labels": ["a", "b"], "values": [0.25, 0.5]},)
    assert ev.content()["figures"] == list(ev.figures)
    app.store.save_evidence(ev)
    assert app.store.evidence(ev.evidence_id).figures == ev.figures  # hashed and read back
    plain = run_suite(app.store, app.plugins.family("toy"), GateSuite("t", "1", "toy", gates), v)
    assert plain.figures == () and "figures" not in plain.content()  # older evidence keeps its hash

    def broken(results):
        raise ValueError("no lead axis\nmore")

    bad = run_suite(app.store, app.plugins.family("toy"), GateSuite("t", "1", "toy", gates, figures=broken), v)
    assert bad.figures == ({"kind": "unavailable", "title": "suite figures", "reason": "ValueError: no lead axis"},)
    assert [r.status for r in bad.results] == ["pass", "fail"]  # a figure never changes a verdict
