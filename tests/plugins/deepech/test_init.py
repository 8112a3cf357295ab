"""plugins.deepech hooks: one family, its release suite (thresholds configurable), one extract."""

from __future__ import annotations

import plugins.deepech as plugin
from plugins.deepech.suites import RELEASE, release_suite


def test_hooks_contribute_the_family_suite_and_extract() -> None:
    (family,) = plugin.registry_families()
    (suite,) = plugin.registry_gates()
    (extract,) = plugin.registry_extracts()
    assert family.name == suite.family == "deepech" and family.default_suite == suite.name == RELEASE
    assert family.extracts == (extract.name,)
    assert len(suite.gates) == 15 and len({g.name for g in suite.gates}) == 15


def test_published_numbers_are_defaults_not_truths() -> None:
    gates = {g.name: g for g in release_suite().gates}
    assert gates["accuracy"].minimum == 0.912 and gates["amplitude-r2"].minimum == 0.7094
    mine = {g.name: g for g in release_suite(accuracy_min=0.8, r2_min=0.5, name="mine").gates}
    assert mine["accuracy"].minimum == 0.8 and mine["amplitude-r2"].minimum == 0.5
    storm = {g.name: g for g in release_suite(storm_min_events=3).gates}
    assert storm["storm-brier-vs-baselines"].min_events == 3
