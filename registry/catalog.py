"""The DuckDB catalog file: schema and short-lived connections taken under the catalog lock."""

from __future__ import annotations

import contextlib
import hashlib
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from registry.errors import CatalogBusy
from registry.locking import catalog_lock

if TYPE_CHECKING:
    import duckdb


# Mutable tables (aliases, meta) carry no index: DuckDB's index checks on UPDATE are eager, and
# uniqueness is guaranteed by the exclusive lock every writer holds.
SCHEMA = [
    """CREATE TABLE IF NOT EXISTS versions (
        family VARCHAR NOT NULL, number INTEGER NOT NULL, version_id VARCHAR PRIMARY KEY,
        name VARCHAR NOT NULL, lineage VARCHAR NOT NULL, created_at VARCHAR NOT NULL, created_by VARCHAR NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS files (
        version_id VARCHAR NOT NULL, role VARCHAR NOT NULL, sha256 VARCHAR NOT NULL,
        size BIGINT NOT NULL, filename VARCHAR NOT NULL, PRIMARY KEY (version_id, role))""",
    """CREATE TABLE IF NOT EXISTS aliases (
        family VARCHAR NOT NULL, alias VARCHAR NOT NULL, version_id VARCHAR, ledger_seq BIGINT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS evidence (
        evidence_id VARCHAR PRIMARY KEY, family VARCHAR NOT NULL, version_id VARCHAR NOT NULL,
        suite VARCHAR NOT NULL, suite_version VARCHAR NOT NULL, passed BOOLEAN NOT NULL,
        created_at VARCHAR NOT NULL, body VARCHAR NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS ledger (
        seq BIGINT PRIMARY KEY, family VARCHAR NOT NULL, alias VARCHAR NOT NULL, from_version VARCHAR,
        to_version VARCHAR, action VARCHAR NOT NULL, forced BOOLEAN NOT NULL, reason VARCHAR NOT NULL,
        verdict_digest VARCHAR NOT NULL, evidence_id VARCHAR, who VARCHAR NOT NULL, moved_at VARCHAR NOT NULL,
        prev_hash VARCHAR NOT NULL, entry_hash VARCHAR NOT NULL)""",
    "CREATE TABLE IF NOT EXISTS meta (key VARCHAR NOT NULL, value VARCHAR NOT NULL)",
    # promotion policy: which suites an alias accepts (a JSON list), set by the ledger entry ``ledger_seq``
    """CREATE TABLE IF NOT EXISTS policies (
        family VARCHAR NOT NULL, alias VARCHAR NOT NULL, body VARCHAR NOT NULL, ledger_seq BIGINT NOT NULL)""",
    # the ledger head right after the decision a stored evidence was part of (a witness shown on its scorecard)
    """CREATE TABLE IF NOT EXISTS decision_heads (
        evidence_id VARCHAR NOT NULL, ledger_seq BIGINT NOT NULL, entry_hash VARCHAR NOT NULL)""",
    # web API tokens (registry.web.tokens): only the sha256 of each secret, its scopes as JSON lists
    """CREATE TABLE IF NOT EXISTS tokens (
        name VARCHAR NOT NULL, token_sha256 VARCHAR NOT NULL, families VARCHAR NOT NULL, aliases VARCHAR NOT NULL,
        created_at VARCHAR NOT NULL, created_by VARCHAR NOT NULL, revoked_at VARCHAR)""",
]

# Any change to the statements above changes the version, so an older catalog gains the new tables the next
# time it is opened for writing (every statement is CREATE … IF NOT EXISTS). Readers of a table that an older
# catalog lacks treat it as empty (see ``rows_if_table``).
SCHEMA_VERSION = hashlib.sha256("\n".join(SCHEMA).encode()).hexdigest()[:16]


class Catalog:
    """Opens ``catalog.duckdb`` for one operation at a time; readers share, writers queue.

    Blocks nest: a ``read()`` inside another ``read()`` or a ``write()`` of the same thread, and a ``write()``
    inside a ``write()``, reuse the open connection (one snapshot or one transaction, one lock). A ``write()``
    must never be started inside a ``read()``.
    """

    def __init__(self, home: Path) -> None:
        self.home = home
        self.path = home / "catalog.duckdb"
        self.lock_path = home / "catalog.lock"
        self._local = threading.local()

    def _open(self) -> duckdb.DuckDBPyConnection | None:
        return getattr(self._local, "con", None)

    def exists(self) -> bool:
        return self.path.exists()

    @contextlib.contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection | None]:
        """A read-only connection, or None when no catalog exists yet."""

        if self._depth():  # nested: the same connection (or the same absence of a catalog)
            with self._entered():
                yield self._open()
            return
        if not self.path.exists():  # nothing to read, and reading creates nothing (no lock file either)
            with self._entered():
                yield None
            return
        with catalog_lock(self.lock_path, exclusive=False), self._entered():
            con = self._connect(read_only=True)
            self._local.con = con
            try:
                yield con
            finally:
                self._local.con = None
                con.close()

    def _depth(self) -> int:
        return int(getattr(self._local, "depth", 0))

    @contextlib.contextmanager
    def _entered(self) -> Iterator[None]:
        self._local.depth = self._depth() + 1
        try:
            yield
        finally:
            self._local.depth -= 1

    @contextlib.contextmanager
    def write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection inside ``BEGIN … COMMIT``; an exception rolls everything back."""

        if self._depth():
            if not getattr(self._local, "writing", False):
                raise RuntimeError("a catalog write was started inside a read block of the same thread")
            with self._entered():  # part of the enclosing transaction, which commits or rolls back as one
                yield self._open()  # type: ignore[misc]
            return
        with catalog_lock(self.lock_path, exclusive=True), self._entered():
            self.home.mkdir(parents=True, exist_ok=True)
            con = self._connect(read_only=False)
            self._local.con, self._local.writing = con, True
            try:
                self._ensure_schema(con)
                con.execute("BEGIN TRANSACTION")
                try:
                    yield con
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                con.execute("COMMIT")
            finally:
                self._local.con, self._local.writing = None, False
                con.close()

    def _connect(self, *, read_only: bool) -> duckdb.DuckDBPyConnection:
        """Open the file; another program holding it (a notebook's ``duckdb.connect``) is ``CatalogBusy``."""
        import duckdb

        try:
            return duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.IOException as exc:
            text = str(exc)
            if "lock" not in text.lower():
                raise
            held = re.search(r"held in (.+?) \(PID (\d+)\)", text)
            who = f" by {held.group(1)} (pid {held.group(2)})" if held else ""
            raise CatalogBusy(f"the catalog {self.path} is open in another program{who}, outside the registry's "
                              f"lock; close that connection and try again (nothing was changed)") from None

    @staticmethod
    def _ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
        import duckdb

        try:  # the common case, and cheaper than asking duckdb_tables()
            if con.execute("SELECT 1 FROM meta WHERE key = 'schema_version' AND value = ?",
                           [SCHEMA_VERSION]).fetchall():
                return
        except duckdb.CatalogException:
            pass
        for stmt in SCHEMA:
            con.execute(stmt)
        con.execute("DELETE FROM meta WHERE key = 'schema_version'")
        con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [SCHEMA_VERSION])


def rows_if_table(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> list[tuple]:
    """``sql``'s rows, or none when its table is missing (an older catalog opened read-only lacks newer tables;
    a writer's connection always has them, so no transaction is aborted by the failed statement)."""
    import duckdb

    try:
        return con.execute(sql, params or []).fetchall()
    except duckdb.CatalogException:
        return []
