"""The append-only, hash-chained ledger of alias moves, and its verification."""

from __future__ import annotations

from dataclasses import astuple
from typing import TYPE_CHECKING, Any

from registry.errors import IntegrityError
from registry.hashing import digest_json
from registry.records import Evidence, LedgerEntry

if TYPE_CHECKING:
    import duckdb

GENESIS = "0" * 64
_COLUMNS = ("seq, family, alias, from_version, to_version, action, forced, reason, verdict_digest, "
            "evidence_id, who, moved_at, prev_hash, entry_hash")  # in LedgerEntry field order


def verdict_digest(evidence: Evidence, alias: str, forced: bool) -> str:
    """The digest a promotion's entry carries: evidence id, its verdict, the alias and whether it was forced."""
    return digest_json({"evidence": evidence.evidence_id, "verdict": evidence.verdict, "alias": alias,
                        "forced": forced})


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
    problems += _check_aliases(con, by_seq)
    problems += _check_evidence(con, by_seq)
    return problems


def _check_aliases(con: duckdb.DuckDBPyConnection, by_seq: dict[int, LedgerEntry]) -> list[str]:
    """Every alias row is exactly the last move of its alias, and every alias the ledger set still exists."""
    problems = []
    last: dict[tuple[str, str], LedgerEntry] = {}
    for e in sorted(by_seq.values(), key=lambda e: e.seq):
        last[(e.family, e.alias)] = e
    rows = {(f, a): (v, s) for f, a, v, s in con.execute(
        "SELECT family, alias, version_id, ledger_seq FROM aliases").fetchall()}
    for (family, alias), (version_id, seq) in sorted(rows.items()):
        move = last.get((family, alias))
        if move is None or (move.seq, move.to_version) != (seq, version_id):
            problems.append(f"alias {family}@{alias} is not explained by the ledger (its last move is "
                            f"{'missing' if move is None else f'entry {move.seq}'}, the alias names entry {seq})")
    for (family, alias), e in sorted(last.items()):
        if e.to_version is not None and (family, alias) not in rows:
            problems.append(f"alias {family}@{alias} was removed without a ledger entry (entry {e.seq} set it)")
    return problems


def _check_evidence(con: duckdb.DuckDBPyConnection, by_seq: dict[int, LedgerEntry]) -> list[str]:
    """Each promotion's evidence exists, still hashes to its id, matches the entry's verdict digest, and passed
    unless the move was forced."""
    problems = []
    for e in sorted(by_seq.values(), key=lambda e: e.seq):
        if e.action != "promote":
            continue
        row = con.execute("SELECT body FROM evidence WHERE evidence_id = ?", [e.evidence_id]).fetchall()
        if not row:
            problems.append(f"entry {e.seq}: its evidence {str(e.evidence_id)[:12]} is missing")
            continue
        try:
            ev = Evidence.from_stored(str(e.evidence_id), row[0][0])
        except IntegrityError:
            problems.append(f"entry {e.seq}: its evidence {str(e.evidence_id)[:12]} was edited")
            continue
        if verdict_digest(ev, e.alias, e.forced) != e.verdict_digest:
            problems.append(f"entry {e.seq}: its verdict digest does not match its evidence")
        if not e.forced and not ev.passed:
            problems.append(f"entry {e.seq}: an unforced promotion whose evidence did not pass")
    return problems
