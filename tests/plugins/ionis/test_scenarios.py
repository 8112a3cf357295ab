"""TST-900 batteries: the upstream-reported scores, and one batched pass equal to a scenario-at-a-time loop."""

from __future__ import annotations

import pytest

from plugins.ionis.scenarios import TST900_V21, TST900_V22, run_battery

# V21-era battery (10 scenarios, all June), as upstream reported
V21_ERA_PASSES = {"v20": ["TST-905", "TST-910"], "v21-beta": ["TST-905", "TST-908", "TST-909", "TST-910"]}


def test_battery_shapes():
    assert len(TST900_V22) == 11 and len(TST900_V21) == 10
    assert [s.id for s in TST900_V22][:2] == ["TST-901", "TST-901b"]
    assert {scan.season for s in TST900_V21 for scan in s.scans} == {"june"}


@pytest.mark.parametrize("name", sorted(V21_ERA_PASSES))
def test_v21_era_battery_reproduces_upstream(name, release):
    results = run_battery(release(name), TST900_V21)
    assert [r.id for r in results if r.passed] == V21_ERA_PASSES[name]


@pytest.mark.parametrize("name", ["v20", "v21-alpha", "v21-beta"])
def test_v22_battery_refuses_the_older_versions(name, release):
    passed = sum(r.passed for r in run_battery(release(name), TST900_V22))
    assert passed < 8  # tst900_min of config_v22


def test_batched_equals_one_scenario_at_a_time(random_bundle):
    together = run_battery(random_bundle, TST900_V22)
    alone = [run_battery(random_bundle, [s])[0] for s in TST900_V22]
    for a, b in zip(together, alone, strict=True):
        assert (a.id, a.passed) == (b.id, b.passed)
        assert a.value == pytest.approx(b.value, abs=1e-4)


def test_results_carry_24_hour_scans(random_bundle):
    result = run_battery(random_bundle, TST900_V22)[5]  # TST-905 reads five bands
    assert len(result.scans) == 5 and all(len(v) == 24 for v in result.scans.values())
