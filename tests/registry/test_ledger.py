"""The ledger's hash chain detects edited, deleted and cut-off entries."""

from __future__ import annotations

import duckdb
import pytest
from clirun import run_cli

from registry.store import Store


@pytest.fixture
def three_moves(tmp_path, ckpts):
    s = Store(tmp_path / "h")
    vids = [s.register("toy", {"weights": ckpts[k]})[0].version_id for k in ("good", "good2", "constant")]
    prev = None
    for vid in vids:
        s.move_alias("toy", "production", expected=prev, to=vid, action="promote", verdict_digest=vid[:8])
        prev = vid
    return s


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
    assert any("not explained by ledger entry 3" in p for p in problems)


def test_rehashed_forgery_still_breaks_the_chain(three_moves):
    """Editing an entry and recomputing its own hash does not help: the next entry chains to the old hash."""
    from registry.ledger import entry_hash

    e = three_moves.ledger()[0]
    fields = {**e.chained_fields(), "who": "mallory"}
    _tamper(three_moves, f"UPDATE ledger SET who = 'mallory', entry_hash = '{entry_hash(fields)}' WHERE seq = 1")
    assert any("entry 2 does not chain" in p for p in three_moves.verify_ledger())


def test_cli_exit_code_on_broken_ledger(home, ckpts):
    run_cli("register", "toy", str(ckpts["good"]))
    run_cli("promote", "toy@1", "--to", "production")
    assert run_cli("verify-ledger").returncode == 0
    _tamper(Store(home), "UPDATE ledger SET reason = 'edited' WHERE seq = 1")
    r = run_cli("verify-ledger", "--json")
    assert r.returncode == 1 and "LEDGER" not in r.stdout and '"ok": false' in r.stdout
