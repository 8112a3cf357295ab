"""Running a suite: anything but a pass on a finite measured value is not a pass (fail closed)."""

from __future__ import annotations

import dataclasses
import io
import platform
import re
import sys
import time
from typing import Any

import numpy as np
import pytest

from gates.base import Outcome
from gates.suite import GateSuite
from registry.hashing import digest_json
from registry.records import GateResult
from registry.suite_run import DEFAULT_SEED, environment, run_suite


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


class Probe:
    """A gate that passes and reports, in its details, what its context told it (seed, device, champion...)."""

    name, version, description = "probe", "2", "reports its context"

    def evaluate(self, ctx: Any) -> Outcome:
        return Outcome(value=1.0, passed=True, details={
            "seed": ctx.seed, "device": ctx.device, "version": ctx.version.version_id, "progress": ctx.progress,
            "champion": None if ctx.champion is None else ctx.champion.version_id})


class ReadsObs:
    """A gate that reads the cached toy observations (the newest copy, or an exact request): passes with their
    row count."""

    name, version, description = "obs", "1", "reads the cached toy-obs extract"

    def __init__(self, params: dict[str, str] | None = None) -> None:
        self.params = params

    def evaluate(self, ctx: Any) -> Outcome:
        return Outcome(value=ctx.extract("toy-obs", params=self.params).num_rows, passed=True)


class Sleeps:
    name, version, description = "slow", "1", "takes 30 ms"

    def evaluate(self, ctx: Any) -> Outcome:
        time.sleep(0.03)
        return Outcome(value=0.0, passed=True)


class Terminal(io.StringIO):
    """Standard error as a terminal would be (the progress bar is drawn only there)."""

    def isatty(self) -> bool:
        return True


class BoolWithoutShape:
    """Says it holds booleans (a numpy dtype of kind 'b') but has no shape: not a numpy boolean scalar."""

    dtype = np.dtype(bool)

    def __bool__(self) -> bool:
        return True


def _suite(*gates: Any, **kw: Any) -> GateSuite:
    return GateSuite("t", "1", "toy", gates, **kw)


def test_a_row_carries_what_the_gate_measured_as_plain_json_and_says_pass_or_fail_by_default(app, ckpts):
    v = app.store.register("toy", {"weights": ckpts["good"]})[0]
    figure = {"kind": "bar", "title": "t", "labels": ["x"], "values": [np.float64(1.5)]}
    gates = (Fixed("a", Outcome(value=np.float32(0.25), passed=True, threshold=np.float64(0.5), comparator="<=",
                                details={"n": np.int64(3)}, figures=(figure,))),
             Fixed("b", Outcome(value=2.0, passed=False)),
             Fixed("c", Outcome(value=1, passed=True, message="kept as given")),
             Fixed("d", Outcome(value=1.0, passed=np.array([True]))),  # a boolean array is not a pass
             Fixed("e", Outcome(value=1.0, passed=np.float64(1.0))),  # nor a number that is true
             Fixed("f", Outcome(value=1.0, passed=BoolWithoutShape())))  # nor a boolean-typed thing of no shape
    rows = run_suite(app.store, app.plugins.family("toy"), _suite(*gates), v).results
    assert [dataclasses.replace(r, seconds=0.0) for r in rows] == [
        GateResult("a", "1", "pass", 0.25, 0.5, "<=", "passed", {"n": 3},
                   ({"kind": "bar", "title": "t", "labels": ["x"], "values": [1.5]},)),
        GateResult("b", "1", "fail", 2.0, None, "", "did not pass"),
        GateResult("c", "1", "pass", 1, None, "", "kept as given"),
        GateResult("d", "1", "fail", 1.0, None, "", "did not pass"),
        GateResult("e", "1", "fail", 1.0, None, "", "did not pass"),
        GateResult("f", "1", "fail", 1.0, None, "", "did not pass")]
    assert type(rows[0].value) is float and type(rows[0].details["n"]) is int


def test_an_error_row_says_what_could_not_be_evaluated_and_measures_nothing(app, ckpts):
    v = app.store.register("toy", {"weights": ckpts["good"]})[0]
    gates = (Fixed("g", raises=RuntimeError("boom\nsecond line")), Fixed("h", Outcome(value=None, passed=True)))
    rows = run_suite(app.store, app.plugins.family("toy"), _suite(*gates), v).results
    assert [dataclasses.replace(r, seconds=0.0) for r in rows] == [
        GateResult("g", "1", "error", None, None, "", "could not evaluate: RuntimeError: boom"),
        GateResult("h", "1", "error", None, None, "",
                   "could not evaluate: GateError: the gate reported a pass without a finite measured value (None)")]


def test_each_row_and_the_run_are_timed_to_a_tenth_of_a_millisecond(app, ckpts):
    v = app.store.register("toy", {"weights": ckpts["good"]})[0]
    t0 = time.perf_counter()
    ev = run_suite(app.store, app.plugins.family("toy"), _suite(Sleeps(), Fixed("g", raises=KeyError("x"))), v)
    elapsed = time.perf_counter() - t0
    slow, failed = ev.results
    assert 0.03 <= slow.seconds < 30 and slow.seconds == round(slow.seconds, 4)
    assert 0 <= failed.seconds < 30 and failed.seconds == round(failed.seconds, 4)
    assert slow.seconds + failed.seconds <= ev.seconds <= elapsed + 1e-4 and ev.seconds == round(ev.seconds, 4)
    for _ in range(3):  # a value rounded to 5 digits ends in 0 one time in ten: three runs tell them apart
        ev = run_suite(app.store, app.plugins.family("toy"), _suite(Fixed("g", raises=KeyError("x"))), v)
        assert ev.seconds == round(ev.seconds, 4)


def test_evidence_binds_the_run_to_its_version_suite_champion_seed_and_purpose(app, ckpts):
    v, champ = (app.store.register("toy", {"weights": ckpts[k]})[0] for k in ("good", "good2"))
    family = app.plugins.family("toy")
    suite = _suite(Probe(), device_tolerance={"rtol": 1, "atol": 0.5})
    ev = run_suite(app.store, family, suite, v, champion=champ, seed=7, device="meta",
                   purpose={"command": "dry-run", "alias": "production"})
    assert ev.results[0].details == {"seed": 7, "device": "meta", "version": v.version_id, "progress": False,
                                     "champion": champ.version_id}
    assert (ev.family, ev.version_id, ev.suite, ev.suite_version) == ("toy", v.version_id, "t", "1")
    assert ev.checkpoint_hashes == {"weights": v.files[0].sha256} and ev.champion_version_id == champ.version_id
    assert ev.seed == 7 and ev.purpose == {"command": "dry-run", "alias": "production"}
    assert ev.tolerance == {"atol": 0.5, "rtol": 1.0} and list(ev.tolerance) == ["atol", "rtol"]
    assert ev.environment["device"] == "meta" and "cuda" not in ev.environment
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", ev.created_at)  # microseconds, UTC
    assert ev.evidence_id == digest_json(ev.content())
    assert (ev.extract_digests, ev.extract_keys, ev.dataset_digests, ev.ensemble_digests) == ({}, {}, {}, {})
    # the defaults: no champion, the project's seed, the CPU, no purpose, no tolerance
    plain = run_suite(app.store, family, _suite(Probe()), v)
    assert plain.results[0].details == {"seed": DEFAULT_SEED, "device": "cpu", "version": v.version_id,
                                        "progress": False, "champion": None}
    assert DEFAULT_SEED == 20260101 and plain.seed == DEFAULT_SEED and plain.champion_version_id is None
    assert plain.environment["device"] == "cpu" and plain.purpose == {} and plain.tolerance == {}
    assert plain.evidence_id == digest_json(plain.content()) != ev.evidence_id


def test_the_environment_names_python_the_platform_the_family_plugin_and_every_library(app, ckpts):
    import torch

    v = app.store.register("toy", {"weights": ckpts["good"]})[0]
    family = app.plugins.family("toy")
    env = run_suite(app.store, family, _suite(Probe()), v).environment
    assert env["python"] == platform.python_version() and env["platform"] == sys.platform
    assert env["family_plugin"] == family.version and env["torch"] == torch.__version__
    assert {"gated-registry", "torch", "numpy", "duckdb", "pyarrow", "clickhouse-connect", "safetensors"} <= set(env)
    assert environment(family)["device"] == "cpu"  # the default device
    # on a CUDA device the CUDA build and the GPU are recorded; a GPU that cannot be named is said so, not fatal
    cuda = run_suite(app.store, family, _suite(Probe()), v, device="cuda:0").environment
    assert cuda["device"] == "cuda:0" and cuda["cuda"] == str(torch.version.cuda)
    try:
        name = torch.cuda.get_device_name(torch.device("cuda:0"))
    except Exception as exc:  # a CPU-only build or no GPU: the record names what went wrong
        name = f"unknown ({type(exc).__name__})"
    assert cuda["gpu"] == name and re.fullmatch(r"unknown \(\w+\)|[^(]+", name)


def test_a_progress_bar_is_drawn_only_when_asked_and_on_a_terminal_then_cleared(app, ckpts, monkeypatch):
    v = app.store.register("toy", {"weights": ckpts["good"]})[0]
    family = app.plugins.family("toy")
    suite = _suite(Probe(), Fixed("second", Outcome(value=1.0, passed=True)))

    def drawn(err: io.StringIO, **kw: Any) -> tuple[str, bool]:
        monkeypatch.setattr(sys, "stderr", err)
        ev = run_suite(app.store, family, suite, v, **kw)
        monkeypatch.undo()
        return err.getvalue(), ev.results[0].details["progress"]

    shown, told = drawn(Terminal(), progress=True)
    assert f"gates {v.ref}" in shown and "gate/s" in shown and ", probe]" in shown and ", second]" in shown
    assert "| 0/2 [" in shown  # counted against the number of gates
    assert told is True and shown.endswith("\r") and "100%" not in shown  # cleared, not left on the terminal
    assert drawn(Terminal(), progress=False) == ("", False)
    assert drawn(Terminal()) == ("", False)  # not asked
    assert drawn(io.StringIO(), progress=True) == ("", False)  # not a terminal


def test_extract_pins_digests_and_declarations_reach_the_gates_and_the_evidence(app, ckpts, toy_obs):
    from cache.store import ExtractCache

    ref = ExtractCache(app.home).materialise(app.plugins.extract("toy-obs"), progress=False)
    v = app.store.register("toy", {"weights": ckpts["good"]})[0]
    family, specs = app.plugins.family("toy"), app.plugins.extracts()

    def run(params: dict[str, str] | None = None, **kw: Any) -> Any:
        return run_suite(app.store, family, _suite(ReadsObs(params)), v, extract_specs=specs, **kw)

    ev = run(extract_pins={"toy-obs": ref.key}, expected_digests={"toy-obs": ref.digest})
    assert ev.results[0].status == "pass" and ev.results[0].value == 300
    assert ev.extract_keys == {"toy-obs": ref.key} and ev.extract_digests == {"toy-obs": ref.digest}
    exact = run({"db": "toyobs"}, expected_digests={"toy-obs[db=toyobs]": ref.digest})
    assert exact.results[0].value == 300 and exact.extract_digests == {"toy-obs[db=toyobs]": ref.digest}
    # an exact request is resolved by the declared extracts the run was given
    undeclared = run_suite(app.store, family, _suite(ReadsObs({"db": "toyobs"})), v).results[0]
    assert undeclared.status == "error" and "not declared by any plugin" in undeclared.message
    assert "with key abcdef012345 is not in the cache" in run(extract_pins={"toy-obs": "abcdef0123456789"}
                                                              ).results[0].message
    assert "was refreshed since the stored run" in run(expected_digests={"toy-obs": "0" * 64}).results[0].message


class ReadsGrid:
    """A gate that opens the toy gridded dataset: passes with its number of time steps."""

    name, version, description = "grid", "1", "opens the toy gridded dataset"

    def evaluate(self, ctx: Any) -> Outcome:
        from toy_gridded import DATASET

        return Outcome(value=ctx.dataset(DATASET).shape[0], passed=True)


def test_the_dataset_a_stored_run_read_is_read_again_and_pinned_with_its_synthetic_label(app, ckpts, tmp_path):
    import json

    from toy_gridded import DATASET, make_case, write_npy

    from cache.datasets import DatasetStore
    from cache.gridded_input import open_input

    store = DatasetStore(app.home)
    first = store.register(DATASET, open_input([write_npy(make_case(seed=1), tmp_path / "a")]), tile=8)[0]
    labelled = write_npy(make_case(seed=2), tmp_path / "b")
    (labelled / "synthetic.json").write_text(json.dumps({"description": "toy fields"}))
    newest = store.register(DATASET, open_input([labelled]), tile=8)[0]
    v = app.store.register("toy", {"weights": ckpts["good"]})[0]
    family = app.plugins.family("toy")
    ev = run_suite(app.store, family, _suite(ReadsGrid()), v)
    assert ev.results[0].status == "pass" and ev.dataset_digests == {DATASET: newest.digest}
    assert ev.synthetic_datasets == (DATASET,)
    again = run_suite(app.store, family, _suite(ReadsGrid()), v, expected_datasets={DATASET: first.digest})
    assert again.results[0].status == "pass" and again.dataset_digests == {DATASET: first.digest}
    assert again.synthetic_datasets == ()
