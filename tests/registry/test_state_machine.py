"""A hypothesis state machine over register / promote / rollback / force on the real store and gates."""

from __future__ import annotations

import tempfile
from pathlib import Path

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from registry.app import App
from registry.errors import AliasMoved, UnknownName, UsageError
from registry.promotion import promote, rollback

ALIASES = ("production", "staging")


class RegistryMachine(RuleBasedStateMachine):
    """Random sequences of operations; the invariants must hold after every step."""

    ckpts: dict[str, Path] = {}
    plugins: object = None

    @initialize()
    def start(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.app = App(Path(self.tmp.name) / "home", plugins=self.plugins)  # type: ignore[arg-type]
        self.registered: list[str] = []
        # the model: who should hold each alias, and the promotions (from, to) that moved it, in order
        self.holder: dict[str, str | None] = dict.fromkeys(ALIASES)
        self.moves: dict[str, list[tuple[str | None, str]]] = {a: [] for a in ALIASES}

    def teardown(self) -> None:
        self.tmp.cleanup()

    @rule(kind=st.sampled_from(["good", "good2", "constant"]))
    def register(self, kind: str) -> None:
        v, _ = self.app.store.register("toy", {"weights": self.ckpts[kind]})
        if v.ref not in self.registered:
            self.registered.append(v.ref)

    @rule(data=st.data(), alias=st.sampled_from(ALIASES), force=st.booleans())
    def promote(self, data: st.DataObject, alias: str, force: bool) -> None:
        if not self.registered:
            return
        ref = data.draw(st.sampled_from(self.registered))
        dry_run = data.draw(st.booleans())
        d = promote(self.app, ref, alias, force=force, reason="state machine" if force else "", dry_run=dry_run)
        vid = d.version.version_id
        if dry_run:
            assert d.entry is None
        elif d.evidence.passed or force:  # a pass (or a forced override) moves the alias, nothing else does
            assert d.verdict == "promoted"
            if self.holder[alias] != vid:
                self.moves[alias].append((self.holder[alias], vid))
                self.holder[alias] = vid
        else:
            assert d.verdict == "refused" and d.entry is None

    @rule(data=st.data(), alias=st.sampled_from(ALIASES))
    def stale_promote(self, data: st.DataObject, alias: str) -> None:
        if not self.registered:
            return
        ref = data.draw(st.sampled_from(self.registered))
        wrong = next((r for r in self.registered if self.app.store.resolve(r).version_id != self.holder[alias]),
                     None)
        if wrong is None:
            return
        try:
            promote(self.app, ref, alias, expect_current=wrong.split("@")[1])
        except AliasMoved:
            pass
        else:
            raise AssertionError("a decision made against a stale holder must not go through")

    @rule(alias=st.sampled_from(ALIASES), allow_unset=st.booleans())
    def roll_back(self, alias: str, allow_unset: bool) -> None:
        before = self.app.store.holder("toy", alias)
        installing = next((f for f, t in reversed(self.moves[alias]) if t == before), None) if before else None
        try:
            rollback(self.app, "toy", alias, allow_unset=allow_unset)
        except (UsageError, UnknownName):
            assert self.app.store.holder("toy", alias) == before
            assert before is None or (installing is None and not allow_unset)
            return
        assert before is not None
        self.holder[alias] = installing

    @invariant()
    def at_most_one_holder_and_holders_are_justified(self) -> None:
        if not hasattr(self, "app"):
            return
        store = self.app.store
        aliases = store.aliases("toy")
        assert len(aliases) == len(set(aliases))
        entries = store.ledger("toy")
        for (_, alias), vid in aliases.items():
            last = [e for e in entries if e.alias == alias][-1]
            assert last.to_version == vid
            if not last.forced:
                assert last.evidence_id is not None
                ev = store.evidence(last.evidence_id)
                assert ev.passed and ev.version_id == vid

    @invariant()
    def aliases_are_where_the_model_says(self) -> None:
        if hasattr(self, "app"):
            assert {a: self.app.store.holder("toy", a) for a in ALIASES} == self.holder

    @invariant()
    def ledger_chain_verifies(self) -> None:
        if hasattr(self, "app"):
            assert self.app.store.verify_ledger() == []


def test_registry_state_machine(plugins, ckpts):
    RegistryMachine.ckpts = ckpts
    RegistryMachine.plugins = plugins
    run = settings(max_examples=10, stateful_step_count=10, deadline=None,
                   suppress_health_check=list(HealthCheck))(RegistryMachine).TestCase
    run().runTest()
