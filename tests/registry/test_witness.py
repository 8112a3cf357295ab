"""Ledger heads kept elsewhere catch what the chain alone cannot: a rewritten history and a removed tail."""

from __future__ import annotations

import json

import duckdb
import pytest

from registry.cli import main
from registry.errors import InvalidInput
from registry.ledger import GENESIS, entry_hash
from registry.promotion import promote
from registry.witness import format_head, heads_in_file, parse_head


@pytest.fixture
def moves(app, ckpts):
    """production: toy@1 → toy@2, then staging: toy@1; heads after each decision."""
    heads = []
    for kind, alias in (("good", "production"), ("good2", "production"), ("good", "staging")):
        v = app.store.register("toy", {"weights": ckpts[kind]})[0]
        d = promote(app, v.ref, alias)
        assert d.verdict == "promoted"
        heads.append(d.ledger_head)
    return app.store, heads


def _sql(store, *statements: str, params: list | None = None) -> None:
    con = duckdb.connect(str(store.catalog.path))
    for s in statements:
        con.execute(s, params or [])
    con.close()


def _rechain_everything(store, who: str = "mallory") -> None:
    """The attack the chain alone misses: edit entry 1 and recompute every hash after it, head included."""
    entries = store.ledger()
    prev = GENESIS
    con = duckdb.connect(str(store.catalog.path))
    for e in entries:
        fields = {**e.chained_fields(), "prev_hash": prev, **({"who": who} if e.seq == 1 else {})}
        h = entry_hash(fields)
        con.execute("UPDATE ledger SET who = ?, prev_hash = ?, entry_hash = ? WHERE seq = ?",
                    [fields["who"], prev, h, e.seq])
        prev = h
    con.execute("UPDATE meta SET value = ? WHERE key = 'ledger_head'", [f"{entries[-1].seq}:{prev}"])
    con.close()


def test_decisions_report_the_head_after_them(moves):
    store, heads = moves
    entries = store.ledger()
    assert heads == [format_head(e.seq, e.entry_hash) for e in entries]
    assert format_head(*store.ledger_head()) == heads[-1]


def test_a_refusal_reports_the_unchanged_head(app, moves, ckpts):
    store, heads = moves
    bad = store.register("toy", {"weights": ckpts["constant"]})[0]
    d = promote(app, bad.ref, "production")
    assert d.verdict == "refused" and d.ledger_head == heads[-1]


def test_a_rechained_edit_passes_the_chain_but_not_a_witness(moves):
    store, heads = moves
    _rechain_everything(store)
    assert store.verify_ledger() == []  # the chain alone is consistent again
    problems = store.verify_ledger(witnesses=[parse_head(heads[0])])
    assert len(problems) == 1 and "no longer in the ledger as witnessed: entry 1 now hashes to" in problems[0]
    later = store.verify_ledger(witnesses=[parse_head(heads[2])])
    assert len(later) == 1 and "entry 3" in later[0]  # every later head moved with the rewrite


def test_deleting_the_last_entry_and_resetting_head_and_alias_is_caught_by_a_witness(moves):
    store, heads = moves
    first = store.ledger()[0]
    _sql(store, "DELETE FROM ledger WHERE seq = 3", "DELETE FROM aliases WHERE alias = 'staging'",
         f"UPDATE meta SET value = '2:{store.ledger()[1].entry_hash}' WHERE key = 'ledger_head'")
    assert store.verify_ledger() == []
    assert store.verify_ledger(witnesses=[parse_head(heads[1]), (first.seq, first.entry_hash)]) == []
    problems = store.verify_ledger(witnesses=[parse_head(heads[2])])
    assert problems == [f"witnessed head 3:{heads[2][2:18]}… is no longer in the ledger (entry 3 is gone)"]


def test_a_bare_hash_witness_may_stand_anywhere(moves):
    store, heads = moves
    assert store.verify_ledger(witnesses=[(None, heads[1].split(":")[1])]) == []
    assert "no entry has that hash" in store.verify_ledger(witnesses=[(None, "ab" * 32)])[0]


def test_the_genesis_head_always_holds_and_an_empty_registry_checks_witnesses(home):
    from registry.store import Store

    store = Store(home)
    assert store.verify_ledger(witnesses=[(0, GENESIS)]) == []
    assert store.verify_ledger(witnesses=[(1, "cd" * 32)]) == [
        f"witnessed head 1:{'cd' * 8}… is no longer in the ledger (entry 1 is gone)"]


@pytest.mark.parametrize("text", ["", "3", "3:abc", "x:" + "a" * 64, "3:" + "g" * 64, "-1:" + "a" * 64,
                                  "3:" + "a" * 64 + "\n4"])
def test_malformed_heads_are_usage_errors(text):
    with pytest.raises(InvalidInput, match="is not a ledger head"):
        parse_head(text)


def test_heads_parse_with_case_and_spaces():
    assert parse_head(" 12:" + "AB" * 32 + " ") == (12, "ab" * 32)
    assert parse_head("ab" * 32) == (None, "ab" * 32)


def test_scorecards_record_the_head_and_verify_as_witness_files(moves, tmp_path, capsys):
    store, heads = moves
    from registry.reports import scorecard_page

    ev = store.evidence(store.ledger()[0].evidence_id)
    _, html = scorecard_page(store, ev)
    assert f'<meta name="registry-ledger-head" content="{heads[0]}">' in html
    assert f"--witness {heads[0]}" in html
    assert scorecard_page(store, ev)[1] == html  # re-rendering later gives the same bytes and the same head
    page = tmp_path / "card.html"
    page.write_text(html)
    assert heads_in_file(page) == [parse_head(heads[0])]
    listing = tmp_path / "heads.txt"
    listing.write_text(f"# exported\n{heads[0]}\n{heads[1]}\n")
    assert heads_in_file(listing) == [parse_head(heads[0]), parse_head(heads[1])]
    _rechain_everything(store)
    assert main(["verify-ledger", "--witness-file", str(page), "--json"]) == 1
    body = json.loads(capsys.readouterr().out)
    assert not body["ok"] and body["witnesses"] == 1 and "entry 1 now hashes" in body["problems"][0]


def test_cli_ledger_head_and_witness_flags(moves, capsys, tmp_path):
    store, heads = moves
    assert main(["ledger", "head"]) == 0
    assert capsys.readouterr().out.strip() == heads[-1]
    assert main(["verify-ledger", "--witness", heads[0], "--witness", heads[2]]) == 0
    assert "2 witnesses still in the chain" in capsys.readouterr().out
    assert main(["verify-ledger", "--witness", "nonsense"]) == 2
    empty = tmp_path / "empty.txt"
    empty.write_text("nothing here\n")
    assert main(["verify-ledger", "--witness-file", str(empty)]) == 2
    assert "holds no ledger head" in capsys.readouterr().err


def test_cli_promote_and_rollback_print_the_head(home, ckpts, capsys):
    assert main(["register", "toy", str(ckpts["good"])]) == 0
    assert main(["register", "toy", str(ckpts["good2"])]) == 0
    capsys.readouterr()
    assert main(["promote", "toy@1", "--to", "production", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["ledger_head"].startswith("1:") and len(body["ledger_head"]) == 66
    assert main(["promote", "toy@2", "--to", "production"]) == 0
    assert "ledger head: 2:" in capsys.readouterr().out
    assert main(["rollback", "toy", "production", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["ledger_head"].startswith("3:")
