"""The pytest plugin: one test per gate, same gate code and stored evidence as ``promote``."""

from __future__ import annotations

import json
import os

import pytest

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def _toy_importable(monkeypatch):
    from clirun import REPO, SUPPORT

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(SUPPORT), str(REPO)]))


def test_one_test_per_gate_and_evidence_is_stored(pytester, home, ckpts):
    from clirun import run_cli

    run_cli("register", "toy", str(ckpts["good"]))
    run_cli("register", "toy", str(ckpts["constant"]))
    ok = pytester.runpytest_subprocess("--registry-home", str(home), "--candidate", "toy@1", "-p", "no:cacheprovider")
    ok.assert_outcomes(passed=3)
    bad = pytester.runpytest_subprocess("--registry-home", str(home), "--candidate", "toy@2", "-v")
    bad.assert_outcomes(passed=1, failed=2)
    bad.stdout.fnmatch_lines(["*registry::toy@2::spread_ratio FAILED*",
                              "*gate skill_vs_climatology: FAIL: value*threshold >= 0.5*"])
    shown = json.loads(run_cli("show", "toy@2", "--json").stdout)
    assert [e["purpose"]["command"] for e in shown["evidence"]] == ["pytest"]
    # promote on the same version measures the same values as the pytest run
    promoted = json.loads(run_cli("promote", "toy@2", "--to", "production", "--json").stdout)
    from registry.store import Store

    stored = Store(home).evidence(shown["evidence"][0]["evidence_id"])
    assert [g["value"] for g in promoted["gates"]] == [r.value for r in stored.results]


def test_unknown_candidate_is_one_failing_test(pytester, home):
    result = pytester.runpytest_subprocess("--registry-home", str(home), "--candidate", "toy@9")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*no version toy@9*"])


def test_an_empty_suite_is_one_failing_test(pytester, home, ckpts):
    from clirun import run_cli

    run_cli("register", "toy", str(ckpts["good"]))
    result = pytester.runpytest_subprocess("--registry-home", str(home), "--candidate", "toy@1",
                                           "--registry-suite", "empty")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*has no gates, so nothing can pass*"])


def test_the_pytest_run_is_compared_with_the_alias_holder_like_promote(pytester, home, ckpts):
    from clirun import run_cli

    run_cli("register", "toy", str(ckpts["good"]))
    run_cli("register", "toy", str(ckpts["good2"]))
    assert run_cli("promote", "toy@1", "--to", "production").returncode == 0
    result = pytester.runpytest_subprocess("--registry-home", str(home), "--candidate", "toy@2")
    result.assert_outcomes(passed=3)
    # read through the CLI: pytester restores sys.modules after each test, and DuckDB cannot be imported twice
    holder = json.loads(run_cli("show", "toy@1", "--json").stdout)
    run = json.loads(run_cli("show", "toy@2", "--json").stdout)["evidence"][-1]
    assert run["purpose"]["command"] == "pytest" and run["champion_version_id"] == holder["version_id"]
    assert run["purpose"]["champion_evidence"] == holder["evidence"][-1]["evidence_id"]
    assert run["purpose"]["ledger_seq"] == "1"
    bad = pytester.runpytest_subprocess("--registry-home", str(home), "--candidate", "toy@2", "--registry-seed", "-1")
    assert bad.ret == 4  # pytest's usage error: a seed is a non-negative integer, as for promote


def test_the_pytest_run_uses_the_suite_the_aliases_policy_requires(pytester, home, ckpts):
    from clirun import run_cli

    run_cli("register", "toy", str(ckpts["good"]))
    assert run_cli("policy", "set", "toy", "staging", "--suite", "concurrent").returncode == 0
    staged = pytester.runpytest_subprocess("--registry-home", str(home), "--candidate", "toy@1",
                                           "--registry-alias", "staging", "-v")
    staged.assert_outcomes(passed=4)  # concurrent = barrier + the three release gates
    staged.stdout.fnmatch_lines(["*registry::toy@1::barrier PASSED*"])
    released = pytester.runpytest_subprocess("--registry-home", str(home), "--candidate", "toy@1", "-v")
    released.assert_outcomes(passed=3)  # production: the family's default suite
