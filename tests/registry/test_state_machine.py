"""A hypothesis state machine over register / promote / rollback / force / policy changes on the real store and
gates, with readers hammering the catalog from other threads all along."""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from registry.app import App
from registry.errors import AliasMoved, UnknownName, UsageError
from registry.policy import set_policy
from registry.promotion import promote, rollback
from registry.store import Store
from registry.witness import format_head, parse_head

ALIASES = ("production", "staging")
SUITES = ("release", "with-data", "concurrent")  # with-data errors here (no cached extract): it never passes


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
        self.accepts: dict[str, tuple[str, ...]] = dict.fromkeys(ALIASES, ("release",))
        self.witnesses: list[str] = []
        self.stop = threading.Event()
        self.readers = [threading.Thread(target=self._read_loop, daemon=True) for _ in range(2)]
        for t in self.readers:
            t.start()

    def _read_loop(self) -> None:
        store = Store(self.app.home)
        while not self.stop.is_set():
            store.versions()
            store.ledger()

    def teardown(self) -> None:
        self.stop.set()
        for t in self.readers:
            t.join()
        self.tmp.cleanup()

    def _witness(self) -> None:
        self.witnesses.append(format_head(*self.app.store.ledger_head()))

    @rule(alias=st.sampled_from(ALIASES), suites=st.lists(st.sampled_from(SUITES), min_size=1, max_size=2))
    def change_policy(self, alias: str, suites: list[str]) -> None:
        entry = set_policy(self.app, "toy", alias, suites, reason="state machine")
        self.accepts[alias] = tuple(dict.fromkeys(suites))
        assert entry.action == "policy" and entry.to_version is None
        self._witness()

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
        suite = data.draw(st.none() | st.sampled_from(SUITES))
        before = len(self.app.store.ledger())
        if suite is not None and suite not in self.accepts[alias] and not dry_run:
            try:
                promote(self.app, ref, alias, force=force, reason="state machine" if force else "", suite=suite)
            except UsageError:
                assert len(self.app.store.ledger()) == before  # refused before anything ran or moved
                return
            raise AssertionError(f"suite {suite} moved {alias}, whose policy accepts {self.accepts[alias]}")
        d = promote(self.app, ref, alias, force=force, reason="state machine" if force else "", dry_run=dry_run,
                    suite=suite)
        self._witness()
        vid = d.version.version_id
        assert dry_run or d.evidence.suite == (suite or self.accepts[alias][0])
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
        self._witness()

    @invariant()
    def at_most_one_holder_and_holders_are_justified(self) -> None:
        """The ledger explains every alias; an unforced holder passed a suite its policy accepted then."""
        if not hasattr(self, "app"):
            return
        store = self.app.store
        aliases = store.aliases("toy")
        assert len(aliases) == len(set(aliases))
        entries = store.ledger("toy")
        for (_, alias), vid in aliases.items():
            moves = [e for e in entries if e.alias == alias and e.action in ("promote", "rollback")]
            last = moves[-1]
            assert last.to_version == vid
            if not last.forced:
                assert last.evidence_id is not None
                ev = store.evidence(last.evidence_id)
                assert ev.passed and ev.version_id == vid
                installing = next(e for e in reversed(entries) if e.action == "promote" and e.to_version == vid
                                  and e.alias == alias)
                policies = [e for e in entries if e.alias == alias and e.action == "policy"
                            and e.seq < installing.seq]
                accepted = parse_policy(policies[-1].reason) if policies else ("release",)
                assert store.evidence(installing.evidence_id).suite in accepted
        pairs = [(e.alias, e.from_version, e.to_version) for e in entries if e.action == "promote"]
        assert all(f != t for _, f, t in pairs)  # never a duplicate move (re-promoting the holder appends nothing)

    @invariant()
    def aliases_are_where_the_model_says(self) -> None:
        if hasattr(self, "app"):
            assert {a: self.app.store.holder("toy", a) for a in ALIASES} == self.holder

    @invariant()
    def ledger_chain_and_every_witness_verify(self) -> None:
        if hasattr(self, "app"):
            witnesses = [parse_head(w) for w in self.witnesses]
            assert self.app.store.verify_ledger(defaults={"toy": "release"}, witnesses=witnesses) == []


def parse_policy(body: str) -> tuple[str, ...]:
    import json

    return tuple(json.loads(body)["suites"])


def test_registry_state_machine(plugins, ckpts, monkeypatch):
    monkeypatch.setenv("REGISTRY_LOCK_TIMEOUT", "20")  # readers looping in other threads must not starve writers
    RegistryMachine.ckpts = ckpts
    RegistryMachine.plugins = plugins
    run = settings(max_examples=10, stateful_step_count=10, deadline=None,
                   suppress_health_check=list(HealthCheck))(RegistryMachine).TestCase
    run().runTest()
