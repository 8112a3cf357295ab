"""The append-only, hash-chained ledger of alias moves, and its verification."""

from __future__ import annotations

from dataclasses import astuple
from typing import TYPE_CHECKING, Any

from registry.hashing import digest_json
from registry.records import LedgerEntry

if TYPE_CHECKING:
    import duckdb

GENESIS = "0" * 64
_COLUMNS = ("seq, family, alias, from_version, to_version, action, forced, reason, verdict_digest, "
            "evidence_id, who, moved_at, prev_hash, entry_hash")  # in LedgerEntry field order


def entry_hash(fields: dict[str, Any]) -> str:
    """Hash of an entry's fields (everything but ``entry_hash`` itself, ``prev_hash`` included)."""
    return digest_json(fields)


def _row_to_entry(row: tuple[Any, ...]) -> LedgerEntry:
    return LedgerEntry(*row)


def entries(con: duckdb.DuckDBPyConnection, family: str | None = None, alias: str | None = None) -> list[LedgerEntry]:
    """Ledger entries in order, optionally for one family and alias."""
    sql = f"SELECT {_COLUMNS} FROM ledger WHERE (? IS NULL OR family = ?) AND (? IS NULL OR alias = ?) ORDER BY seq"
    return [_row_to_entry(r) for r in con.execute(sql, [family, family, alias, alias]).fetchall()]


def _head(con: duckdb.DuckDBPyConnection) -> tuple[int, str]:
    row = con.execute("SELECT value FROM meta WHERE key = 'ledger_head'").fetchone()
    if row is None:
        return 0, GENESIS
    seq, _, h = row[0].partition(":")
    return int(seq), h


def append(con: duckdb.DuckDBPyConnection, **fields: Any) -> LedgerEntry:
    """Append one entry chained to the current head; call inside the writer's transaction."""
    seq, prev = _head(con)
    body = {"seq": seq + 1, **fields, "prev_hash": prev}
    entry = LedgerEntry(**body, entry_hash=entry_hash(body))
    values = list(astuple(entry))
    con.execute(f"INSERT INTO ledger ({_COLUMNS}) VALUES ({', '.join('?' * len(values))})", values)
    con.execute("DELETE FROM meta WHERE key = 'ledger_head'")
    con.execute("INSERT INTO meta VALUES ('ledger_head', ?)", [f"{entry.seq}:{entry.entry_hash}"])
    return entry


def verify(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every inconsistency found: edited entries, gaps (deleted entries), a cut-off tail, alias rows
    pointing at entries that do not exist or disagree. An empty list means the chain holds."""
    problems: list[str] = []
    prev = GENESIS
    expected_seq = 1
    by_seq: dict[int, LedgerEntry] = {}
    for e in entries(con):
        by_seq[e.seq] = e
        if e.seq != expected_seq:
            problems.append(f"entry {expected_seq} is missing (next entry is {e.seq})")
        if e.prev_hash != prev:
            problems.append(f"entry {e.seq} does not chain to the entry before it")
        if entry_hash(e.chained_fields()) != e.entry_hash:
            problems.append(f"entry {e.seq} was edited (its hash no longer matches its contents)")
        prev = e.entry_hash
        expected_seq = e.seq + 1
    head_seq, head_hash = _head(con)
    if head_seq != expected_seq - 1 or head_hash != prev:
        problems.append(f"the ledger ends at entry {expected_seq - 1} but its recorded head is entry {head_seq}: "
                        "entries were removed from the end or added without chaining")
    for family, alias, version_id, seq in con.execute(
            "SELECT family, alias, version_id, ledger_seq FROM aliases ORDER BY family, alias").fetchall():
        moved = by_seq.get(seq)
        if moved is None or (moved.family, moved.alias, moved.to_version) != (family, alias, version_id):
            problems.append(f"alias {family}@{alias} is not explained by ledger entry {seq}")
    return problems
