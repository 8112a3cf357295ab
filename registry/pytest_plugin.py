"""pytest plugin: ``pytest --registry-home H --candidate FAMILY@VERSION`` runs a family's gates as tests.

Each gate of the suite becomes one test item. The suite is evaluated once, by the same ``run_suite`` that
``registry promote`` uses, and its evidence is stored in the registry home like any other run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from registry.records import Evidence, GateResult


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gated-registry", "gate suites of registered model versions")
    group.addoption("--candidate", action="append", default=[], metavar="FAMILY@VERSION",
                    help="run the gate suite of this registered version as tests (repeatable)")
    group.addoption("--registry-home", default=None, help="registry home (default: $REGISTRY_HOME or ./.registry)")
    group.addoption("--registry-suite", default=None,
                    help="gate suite (default: the first the alias's policy accepts, as promote runs; like a "
                         "dry run, any suite may be run)")
    group.addoption("--registry-alias", default="production",
                    help="alias whose current holder is the champion the candidate is compared with")
    group.addoption("--registry-seed", type=_seed, default=None, help="seed for randomised gates (an integer ≥ 0)")
    group.addoption("--registry-device", default="cpu", help="cpu or cuda")


def _seed(text: str) -> int:
    from registry.commands.promote import seed_value

    return seed_value(text)


class GateFailed(Exception):
    """A gate did not pass (or could not be evaluated)."""


class CandidateSuite(pytest.Collector):
    """All gates of one candidate's suite; evaluates the suite once, on the first gate item that runs."""

    def __init__(self, *, ref: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.ref = ref
        self._evidence: Evidence | None = None
        self._setup_error: str | None = None
        self.scorecard: str | None = None

    def _context(self) -> tuple[Any, Any, Any, Any, Any]:
        from registry.app import App

        opt = self.config.getoption
        app = App(opt("registry_home"))
        version = app.store.resolve(self.ref)
        family = app.plugins.family(version.family)
        name = opt("registry_suite")
        if name is None:  # the suite promote would run: the first one the alias's policy accepts
            from registry.policy import policy_for

            with app.store.catalog.read() as con:
                name = policy_for(con, version.family, opt("registry_alias"), family.default_suite).suites[0]
        suite = app.plugins.suite(version.family, name)
        return app, version, family, suite, app.store.holder(version.family, opt("registry_alias"))

    def collect(self) -> list[pytest.Item]:
        from registry.errors import RegistryError

        try:
            _, _, _, suite, _ = self._context()
        except RegistryError as exc:
            self._setup_error = str(exc)
            return [GateItem.from_parent(self, name="resolve", gate="")]
        if not suite.gates:  # fail closed, as promote does: an empty suite is no evidence of anything
            self._setup_error = f"suite {suite.name!r} of {self.ref} has no gates, so nothing can pass"
            return [GateItem.from_parent(self, name="empty-suite", gate="")]
        return [GateItem.from_parent(self, name=g.name, gate=g.name) for g in suite.gates]

    def evidence(self) -> Evidence:
        if self._evidence is None:
            from registry.promotion import comparison
            from registry.reports import write_scorecard_for
            from registry.suite_run import DEFAULT_SEED, run_suite

            app, version, family, suite, holder = self._context()
            alias = self.config.getoption("registry_alias")
            champion, purpose = comparison(app.store, version, suite.name, alias, holder, "pytest")
            seed = self.config.getoption("registry_seed")
            ev = run_suite(app.store, family, suite, version, champion=champion,
                           seed=DEFAULT_SEED if seed is None else seed,
                           device=self.config.getoption("registry_device"), extract_specs=app.plugins.extracts(),
                           purpose=purpose)
            app.store.save_evidence(ev)
            self.scorecard = str(write_scorecard_for(app.store, ev))
            self._evidence = ev
        return self._evidence


class GateItem(pytest.Item):
    """One gate of a candidate's suite."""

    def __init__(self, *, gate: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.gate = gate

    def runtest(self) -> None:
        suite = self.parent
        assert isinstance(suite, CandidateSuite)
        if suite._setup_error:
            raise GateFailed(suite._setup_error)
        result: GateResult = next(r for r in suite.evidence().results if r.name == self.gate)
        self.user_properties.append(("value", result.value))
        self.user_properties.append(("evidence_id", suite.evidence().evidence_id))
        if result.status != "pass":
            limit = "" if result.threshold is None else f" (threshold {result.comparator} {result.threshold})"
            raise GateFailed(f"{result.status.upper()}: value {result.value}{limit}: {result.message}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, GateFailed):
            return f"gate {self.gate or self.nodeid}: {excinfo.value}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[str, int | None, str]:
        return self.nodeid.split("::")[0], None, f"gate {self.gate}"


_SUITES: list[CandidateSuite] = []


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    for ref in config.getoption("candidate"):
        suite = CandidateSuite.from_parent(session, name=f"registry::{ref}", nodeid=f"registry::{ref}", ref=ref)
        _SUITES.append(suite)
        items.extend(suite.collect())


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for suite in _SUITES:
        if suite._evidence is not None:
            terminalreporter.write_line(f"{suite.ref}: evidence {suite._evidence.evidence_id[:12]}, "
                                        f"scorecard {suite.scorecard}")
    _SUITES.clear()
