"""The append-only, hash-chained ledger of alias moves, and its verification."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
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


MOVES = ("promote", "rollback")  # the actions that move an alias; ``policy`` entries change what may move it


def head(con: duckdb.DuckDBPyConnection) -> tuple[int, str]:
    """``(seq, entry_hash)`` of the newest entry as recorded beside the chain (``(0, GENESIS)`` when empty)."""
    row = con.execute("SELECT value FROM meta WHERE key = 'ledger_head'").fetchone()
    if row is None:
        return 0, GENESIS
    seq, _, h = row[0].partition(":")
    return int(seq), h


def append(con: duckdb.DuckDBPyConnection, **fields: Any) -> LedgerEntry:
    """Append one entry chained to the current head; call inside the writer's transaction."""
    seq, prev = head(con)
    body = {"seq": seq + 1, **fields, "prev_hash": prev}
    entry = LedgerEntry(**body, entry_hash=entry_hash(body))
    values = list(astuple(entry))
    con.execute(f"INSERT INTO ledger ({_COLUMNS}) VALUES ({', '.join('?' * len(values))})", values)
    con.execute("DELETE FROM meta WHERE key = 'ledger_head'")
    con.execute("INSERT INTO meta VALUES ('ledger_head', ?)", [f"{entry.seq}:{entry.entry_hash}"])
    return entry


def verify(con: duckdb.DuckDBPyConnection, *, defaults: Mapping[str, str] | None = None,
           witnesses: Iterable[tuple[int | None, str]] = ()) -> list[str]:
    """Every inconsistency found: edited entries, gaps (deleted entries), a cut-off tail, alias and policy rows
    that the ledger does not explain, promotions the policy in force did not allow (``defaults``: each family's
    default suite, for aliases without a stored policy), and witnessed heads no longer in the chain as
    witnessed. An empty list means the chain holds."""
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
    head_seq, head_hash = head(con)
    if head_seq != expected_seq - 1 or head_hash != prev:
        problems.append(f"the ledger ends at entry {expected_seq - 1} but its recorded head is entry {head_seq}: "
                        "entries were removed from the end or added without chaining")
    problems += _check_aliases(con, by_seq)
    problems += _check_policies(con, by_seq)
    problems += _check_evidence(con, by_seq, defaults or {})
    problems += check_witnesses(list(by_seq.values()), witnesses)
    return problems


def _check_aliases(con: duckdb.DuckDBPyConnection, by_seq: dict[int, LedgerEntry]) -> list[str]:
    """Every alias row is exactly the last move of its alias, and every alias the ledger set still exists."""
    problems = []
    last: dict[tuple[str, str], LedgerEntry] = {}
    for e in sorted(by_seq.values(), key=lambda e: e.seq):
        if e.action in MOVES:
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


def _check_policies(con: duckdb.DuckDBPyConnection, by_seq: dict[int, LedgerEntry]) -> list[str]:
    """Every stored policy is exactly the body of the last policy entry of its alias, and no policy the ledger
    set was removed."""
    from registry.catalog import rows_if_table
    from registry.policy import entry_digest

    problems = []
    last = {(e.family, e.alias): e for e in sorted(by_seq.values(), key=lambda e: e.seq) if e.action == "policy"}
    rows = {(f, a): (b, s) for f, a, b, s in rows_if_table(con, "SELECT family, alias, body, ledger_seq FROM policies")}
    for (family, alias), (body, seq) in sorted(rows.items()):
        e = last.get((family, alias))
        if e is None or e.seq != seq or e.reason != body or entry_digest(family, alias, json.loads(body)) != \
                e.verdict_digest:
            problems.append(f"policy of {family}@{alias} is not explained by the ledger (its last policy entry is "
                            f"{'missing' if e is None else f'entry {e.seq}'}, the policy names entry {seq})")
    for key, e in sorted(last.items()):
        if key not in rows:
            problems.append(f"policy of {key[0]}@{key[1]} was removed without a ledger entry (entry {e.seq} set it)")
    return problems


def _check_evidence(con: duckdb.DuckDBPyConnection, by_seq: dict[int, LedgerEntry],
                    defaults: Mapping[str, str]) -> list[str]:
    """Each promotion's evidence exists, still hashes to its id, matches the entry's verdict digest, is about
    the version moved to and its files, and passed a suite the policy in force accepted unless forced."""
    from registry.policy import suites_in

    problems = []
    accepted: dict[tuple[str, str], tuple[str, ...]] = {}
    for e in sorted(by_seq.values(), key=lambda e: e.seq):
        if e.action == "policy":
            try:
                accepted[(e.family, e.alias)] = suites_in(e.reason)
            except (ValueError, KeyError, TypeError):
                problems.append(f"entry {e.seq}: a policy entry whose body is not a policy")
            continue
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
        if ev.version_id != e.to_version:
            problems.append(f"entry {e.seq}: its evidence is about another version")
        files = dict(con.execute("SELECT role, sha256 FROM files WHERE version_id = ?", [ev.version_id]).fetchall())
        if files != ev.checkpoint_hashes:
            problems.append(f"entry {e.seq}: the files of the version moved to are not the ones its gates ran on")
        allowed = accepted.get((e.family, e.alias)) or ((defaults[e.family],) if e.family in defaults else None)
        if not e.forced and allowed is not None and ev.suite not in allowed:
            problems.append(f"entry {e.seq}: an unforced promotion by suite {ev.suite}, which the policy of "
                            f"{e.family}@{e.alias} did not accept ({' or '.join(allowed)})")
    return problems


def check_witnesses(chain: Sequence[LedgerEntry], witnesses: Iterable[tuple[int | None, str]]) -> list[str]:
    """A problem for each witnessed head ``(seq, entry_hash)`` that is no longer in ``chain`` exactly as
    witnessed (``seq`` None: the hash may stand at any position). The genesis head ``(0, GENESIS)`` always holds."""
    by_seq = {e.seq: e for e in chain}
    by_hash = {e.entry_hash: e for e in chain}
    problems = []
    for seq, h in witnesses:
        if h == GENESIS and seq in (None, 0):
            continue
        found = by_hash.get(h) if seq is None else by_seq.get(seq)
        label = f"{seq}:{h[:16]}…" if seq is not None else f"{h[:16]}…"
        if found is None:
            problems.append(f"witnessed head {label} is no longer in the ledger "
                            f"({'no entry has that hash' if seq is None else f'entry {seq} is gone'})")
        elif found.entry_hash != h:
            problems.append(f"witnessed head {label} is no longer in the ledger as witnessed: entry {seq} now "
                            f"hashes to {found.entry_hash[:16]}… (history before it was rewritten)")
    return problems
