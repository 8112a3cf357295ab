"""The ledger's hash chain detects edited, deleted and cut-off entries."""

from __future__ import annotations

import duckdb
import pytest
from clirun import run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.store import Store


@pytest.fixture
def three_moves(app, ckpts):
    """production: toy@1 → toy@2 → toy@3 (forced), each with its stored evidence."""
    from registry.promotion import promote

    for kind in ("good", "good2", "constant"):
        v = app.store.register("toy", {"weights": ckpts[kind]})[0]
        promote(app, v.ref, "production", force=kind == "constant", reason="drill" if kind == "constant" else "")
    return app.store


def _tamper(store: Store, sql: str) -> None:
    con = duckdb.connect(str(store.catalog.path))
    con.execute(sql)
    con.close()


def test_intact_chain_verifies(three_moves):
    assert three_moves.verify_ledger() == []
    entries = three_moves.ledger()
    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[1].prev_hash == entries[0].entry_hash


def test_edited_entry_is_detected(three_moves):
    _tamper(three_moves, "UPDATE ledger SET who = 'mallory' WHERE seq = 2")
    assert any("entry 2 was edited" in p for p in three_moves.verify_ledger())


def test_deleted_middle_entry_is_detected(three_moves):
    _tamper(three_moves, "DELETE FROM ledger WHERE seq = 2")
    problems = three_moves.verify_ledger()
    assert any("entry 2 is missing" in p for p in problems)


def test_deleted_last_entry_is_detected(three_moves):
    _tamper(three_moves, "DELETE FROM ledger WHERE seq = 3")
    problems = three_moves.verify_ledger()
    assert any("recorded head" in p for p in problems)
    assert any("not explained by the ledger" in p and "names entry 3" in p for p in problems)


def test_rehashed_forgery_still_breaks_the_chain(three_moves):
    """Editing an entry and recomputing its own hash does not help: the next entry chains to the old hash."""
    from registry.ledger import entry_hash

    e = three_moves.ledger()[0]
    fields = {**e.chained_fields(), "who": "mallory"}
    _tamper(three_moves, f"UPDATE ledger SET who = 'mallory', entry_hash = '{entry_hash(fields)}' WHERE seq = 1")
    assert any("entry 2 does not chain" in p for p in three_moves.verify_ledger())


def test_alias_moved_or_removed_behind_the_ledger_is_detected(three_moves):
    first = three_moves.ledger()[0]
    _tamper(three_moves, f"UPDATE aliases SET version_id = '{first.to_version}', ledger_seq = 1")
    assert any("not explained by the ledger" in p for p in three_moves.verify_ledger())
    _tamper(three_moves, "DELETE FROM aliases")
    assert any("removed without a ledger entry" in p for p in three_moves.verify_ledger())


def test_edited_or_deleted_evidence_is_detected(three_moves):
    entry = three_moves.ledger()[1]
    _tamper(three_moves, "UPDATE evidence SET body = replace(body, '\"status\":\"pass\"', '\"status\":\"fail\"') "
                         f"WHERE evidence_id = '{entry.evidence_id}'")
    assert any("entry 2: its evidence" in p and "was edited" in p for p in three_moves.verify_ledger())
    _tamper(three_moves, f"DELETE FROM evidence WHERE evidence_id = '{entry.evidence_id}'")
    assert any("entry 2: its evidence" in p and "is missing" in p for p in three_moves.verify_ledger())


def test_unforced_move_on_failing_evidence_is_detected(three_moves):
    _tamper(three_moves, "UPDATE ledger SET forced = false WHERE seq = 3")  # also breaks the chain
    problems = three_moves.verify_ledger()
    assert any("unforced promotion whose evidence did not pass" in p for p in problems)
    assert any("entry 3 was edited" in p for p in problems)


def test_cli_exit_code_on_broken_ledger(home, ckpts):
    run_cli("register", "toy", str(ckpts["good"]))
    run_cli("promote", "toy@1", "--to", "production")
    assert run_cli("verify-ledger").returncode == 0
    _tamper(Store(home), "UPDATE ledger SET reason = 'edited' WHERE seq = 1")
    r = run_cli("verify-ledger", "--json")
    assert r.returncode == 1 and "LEDGER" not in r.stdout and '"ok": false' in r.stdout


_OPS = st.lists(st.one_of(
    st.tuples(st.just("promote"), st.sampled_from(["good", "good2", "constant"]), st.sampled_from(["production",
                                                                                                   "staging"]),
              st.booleans()),
    st.tuples(st.just("rollback"), st.sampled_from(["production", "staging"]), st.booleans())), min_size=1, max_size=5)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=_OPS)
def test_the_ledger_explains_every_alias_and_holds_no_duplicate_move(plugins, ckpts, tmp_path_factory, ops):
    """Whatever promotions (forced or not) and rollbacks happen, each alias is its last move's target, the chain
    verifies, no move goes from a version to itself, and an operation that is refused appends nothing."""
    from registry.app import App
    from registry.errors import UsageError
    from registry.ledger import MOVES
    from registry.promotion import promote, rollback

    app = App(tmp_path_factory.mktemp("home"), plugins=plugins)
    refs = {kind: app.store.register("toy", {"weights": ckpts[kind]})[0].ref for kind in ("good", "good2", "constant")}
    for op in ops:
        before = app.store.ledger()
        try:
            if op[0] == "promote":
                d = promote(app, refs[op[1]], op[2], force=op[3], reason="drill" if op[3] else "")
                moved = d.entry is not None
            else:
                moved = rollback(app, "toy", op[1], allow_unset=op[2])[0] is not None
        except UsageError:  # nothing to roll back, or it would unset without --allow-unset
            moved = False
        after = app.store.ledger()
        assert len(after) == len(before) + moved and after[:len(before)] == before
        assert app.store.verify_ledger() == []
        moves = [e for e in after if e.action in MOVES]
        assert all(e.from_version != e.to_version for e in moves)
        for alias in ("production", "staging"):
            last = [e for e in moves if e.alias == alias]
            assert app.store.holder("toy", alias) == (last[-1].to_version if last else None)
            assert all(x.to_version == y.from_version for x, y in zip(last, last[1:], strict=False))


def _entry(seq: int, h: str):  # noqa: ANN202
    from registry.records import LedgerEntry

    return LedgerEntry(seq, "toy", "production", None, "v", "promote", False, "", "d", None, "who", "at", "p", h)


def test_witnessed_heads_must_still_stand_where_they_were_witnessed():
    from registry.ledger import GENESIS, check_witnesses

    chain = [_entry(1, "a" * 64), _entry(2, "b" * 64)]
    assert check_witnesses(chain, [(1, "a" * 64), (2, "b" * 64), (None, "b" * 64), (0, GENESIS),
                                   (None, GENESIS)]) == []
    assert check_witnesses([], [(0, GENESIS)]) == []
    assert check_witnesses(chain, [(3, "c" * 64)]) == [
        f"witnessed head 3:{'c' * 16}… is no longer in the ledger (entry 3 is gone)"]
    assert check_witnesses(chain, [(None, "c" * 64)]) == [
        f"witnessed head {'c' * 16}… is no longer in the ledger (no entry has that hash)"]
    assert check_witnesses(chain, [(2, "a" * 64)]) == [
        f"witnessed head 2:{'a' * 16}… is no longer in the ledger as witnessed: entry 2 now hashes to "
        f"{'b' * 16}… (history before it was rewritten)"]
    assert check_witnesses(chain, [(1, GENESIS)]) != []  # the genesis hash holds only at position 0


def test_promotions_must_match_their_version_files_and_policy(three_moves):
    first, second = three_moves.ledger()[:2]
    assert three_moves.verify_ledger(defaults={"toy": "release"}) == []
    assert three_moves.verify_ledger(defaults={"toy": "with-data"}) == [
        f"entry {e.seq}: an unforced promotion by suite release, which the policy of toy@production did not accept "
        "(with-data)" for e in (first, second)]
    _tamper(three_moves, f"UPDATE files SET sha256 = '{'0' * 64}' WHERE version_id = '{first.to_version}'")
    assert "entry 1: the files of the version moved to are not the ones its gates ran on" in \
        three_moves.verify_ledger()
    _tamper(three_moves, f"UPDATE ledger SET evidence_id = '{second.evidence_id}' WHERE seq = 1")
    assert "entry 1: its evidence is about another version" in three_moves.verify_ledger()


def test_policies_must_be_explained_by_the_ledger(app, ckpts):
    from registry.policy import set_policy

    entry = set_policy(app, "toy", "production", ["with-data"], reason="needs data")
    assert app.store.verify_ledger() == [] and entry.action == "policy"
    _tamper(app.store, "UPDATE policies SET body = replace(body, 'with-data', 'release')")
    assert app.store.verify_ledger() == [
        f"policy of toy@production is not explained by the ledger (its last policy entry is entry {entry.seq}, the "
        f"policy names entry {entry.seq})"]
    _tamper(app.store, "DELETE FROM policies")
    assert app.store.verify_ledger() == [
        f"policy of toy@production was removed without a ledger entry (entry {entry.seq} set it)"]
    _tamper(app.store, f"UPDATE ledger SET reason = 'not json' WHERE seq = {entry.seq}")
    assert f"entry {entry.seq}: a policy entry whose body is not a policy" in app.store.verify_ledger()


def test_a_head_that_names_the_last_entry_but_not_its_hash_is_detected(three_moves):
    _tamper(three_moves, f"UPDATE meta SET value = '3:{'0' * 64}' WHERE key = 'ledger_head'")
    assert three_moves.verify_ledger() == ["the ledger ends at entry 3 but its recorded head is entry 3: entries were "
                                           "removed from the end or added without chaining"]


def test_verdict_digests_recorded_earlier_still_verify():
    """Each promotion entry carries this digest; `verify-ledger` recomputes it from the stored evidence."""
    from types import SimpleNamespace

    from registry.ledger import verdict_digest

    ev = SimpleNamespace(evidence_id="e" * 64, verdict="promoted")
    digest = verdict_digest(ev, "production", False)  # type: ignore[arg-type]
    assert digest == "d1ebb7564b8c08332f981611899f1713c8173be3ecab9c8dae343a6ff07c5b2d"
    others = {verdict_digest(SimpleNamespace(evidence_id="f" * 64, verdict="promoted"), "production", False),
              verdict_digest(SimpleNamespace(evidence_id="e" * 64, verdict="refused"), "production", False),
              verdict_digest(ev, "staging", False), verdict_digest(ev, "production", True)}  # type: ignore[arg-type]
    assert len(others) == 4 and digest not in others


def test_rows_the_ledger_never_wrote_are_detected(three_moves, app):
    from registry.policy import set_policy

    entry = set_policy(app, "toy", "production", ["release"], reason="pinned")
    version = three_moves.ledger()[0].to_version
    _tamper(three_moves, f"INSERT INTO aliases VALUES ('toy', 'canary', '{version}', 99)")
    _tamper(three_moves, "INSERT INTO policies SELECT family, 'canary', body, 98 FROM policies")
    assert three_moves.verify_ledger() == [
        "alias toy@canary is not explained by the ledger (its last move is missing, the alias names entry 99)",
        "policy of toy@canary is not explained by the ledger (its last policy entry is missing, the policy names "
        "entry 98)"]
    _tamper(three_moves, "DELETE FROM aliases WHERE alias = 'canary'; DELETE FROM policies WHERE alias = 'canary'")
    # the policy row moved to another entry, or re-serialised with the same meaning: neither is what the ledger wrote
    _tamper(three_moves, f"UPDATE policies SET ledger_seq = {entry.seq - 1}")
    assert three_moves.verify_ledger() == [f"policy of toy@production is not explained by the ledger (its last policy "
                                           f"entry is entry {entry.seq}, the policy names entry {entry.seq - 1})"]
    _tamper(three_moves, f"UPDATE policies SET ledger_seq = {entry.seq}, body = replace(body, ',', ', ')")
    assert len(three_moves.verify_ledger()) == 1


def test_every_promotion_is_checked_not_only_up_to_the_first_problem(three_moves):
    first, second, third = three_moves.ledger()
    _tamper(three_moves, f"DELETE FROM evidence WHERE evidence_id = '{first.evidence_id}'")
    _tamper(three_moves, "UPDATE evidence SET body = replace(body, '\"status\":\"pass\"', '\"status\":\"fail\"') "
                         f"WHERE evidence_id = '{second.evidence_id}'")
    _tamper(three_moves, f"UPDATE files SET sha256 = '{'0' * 64}' WHERE version_id = '{third.to_version}'")
    assert [p for p in three_moves.verify_ledger() if p.startswith("entry ")] == [
        f"entry 1: its evidence {first.evidence_id[:12]} is missing",
        f"entry 2: its evidence {second.evidence_id[:12]} was edited",
        "entry 3: the files of the version moved to are not the ones its gates ran on"]


def test_the_stored_policy_not_the_default_decides_which_suites_may_promote(app, ckpts):
    from registry.ledger import GENESIS, check_witnesses
    from registry.policy import set_policy
    from registry.promotion import promote

    policy = set_policy(app, "toy", "production", ["release"], reason="explicit")
    v = app.store.register("toy", {"weights": ckpts["good"]})[0]
    promote(app, v.ref, "production")
    assert app.store.verify_ledger(defaults={"toy": "with-data"}) == []
    _tamper(app.store, f"UPDATE ledger SET reason = replace(reason, '[\"release\"]', '[\"with-data\",\"empty\"]') "
                       f"WHERE seq = {policy.seq}")
    assert (f"entry {policy.seq + 1}: an unforced promotion by suite release, which the policy of toy@production did "
            "not accept (with-data or empty)") in app.store.verify_ledger()
    assert check_witnesses([], [(0, GENESIS), (2, "c" * 64)]) != []  # a genesis witness does not end the check


def test_promotions_after_a_rollback_are_checked_and_alias_problems_name_the_last_move(three_moves, app, ckpts):
    from registry.promotion import promote, rollback

    rollback(app, "toy", "production")  # entry 4
    v = app.store.register("toy", {"weights": ckpts["good"]})[0]
    last = promote(app, v.ref, "staging").entry  # entry 5, after the rollback
    _tamper(three_moves, f"DELETE FROM evidence WHERE evidence_id = '{last.evidence_id}'")
    _tamper(three_moves, "UPDATE aliases SET ledger_seq = 2 WHERE alias = 'production'")
    assert three_moves.verify_ledger() == [
        "alias toy@production is not explained by the ledger (its last move is entry 4, the alias names entry 2)",
        f"entry 5: its evidence {last.evidence_id[:12]} is missing"]
