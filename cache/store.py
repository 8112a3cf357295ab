"""The extract cache: one DuckDB file per extract, written under a temporary name and renamed into place.

Layout of ``<home>/extracts``::

    <key>.json                  index entry: the extract's record (what ``list``/``latest``/``by_key`` read)
    <key>-<digest16>.duckdb     tables ``data`` (the rows) and ``_extract`` (the same record, inside the file);
                                a refresh that finds other rows adds a file and keeps the old one, so a
                                stored gate run can be repeated on exactly its rows (``by_digest``)
    .write.lock                 the single-writer lock (``cache.lock``)
    .tmp-<pid>-<random>.duckdb  an extract being written; never read, removed by the next writer once <pid> is dead

Why one file per extract: DuckDB lets one read-write process open a file and a second one fails at once,
so a shared catalog file would block readers while anyone writes. Here a writer only ever writes its own
temporary file; finished files are opened read-only, so readers of one extract are never blocked by the
writer of another. The rename is atomic, so an interrupted extract (Ctrl-C, kill, lost connection)
leaves no half table visible and the next run simply starts again. Writers queue on one ``flock`` with
a timeout (``CatalogBusy``), re-checking for a cache hit once they hold it. The index entry is written
after the rename; a data file whose entry is missing is recovered from the record inside it.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cache.spec import BoundQuery, ExtractSpec
from registry.errors import DataMissing, IntegrityError
from registry.hashing import canonical_json, digest_json
from registry.objects import fsync_path
from registry.records import ExtractRef

if TYPE_CHECKING:
    import pyarrow as pa

    from cache.sources import ClickHouseSource

KEY_FORMAT = 1


def extract_key(spec: ExtractSpec, query: BoundQuery, source_identity: str) -> str:
    """sha256 over (source identity, final SQL, every bound parameter, expected schema, fill values)."""
    return digest_json({"format": KEY_FORMAT, "source": source_identity, "sql": query.sql, "params": query.params,
                        "schema": [list(c) for c in spec.schema],
                        "fill": {k: list(v) for k, v in sorted(spec.fill_values.items())}})


def _ref(record: dict[str, Any], root: Path) -> ExtractRef:
    meta = {k: v for k, v in record.items()
            if k not in ("name", "key", "digest", "rows", "created_at", "file", "params")}
    return ExtractRef(name=record["name"], key=record["key"], digest=record["digest"], rows=int(record["rows"]),
                      created_at=record["created_at"], path=str(root / record["file"]),
                      params=dict(record.get("params") or {}), meta=meta)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


class ExtractCache:
    """Materialised extracts under ``home / "extracts"``."""

    def __init__(self, home: Path, *, lock_timeout: float | None = None) -> None:
        """Open (lazily) the cache of registry ``home``.

        :param home: the registry home; files live under ``home / "extracts"``.
        :param lock_timeout: seconds a writer waits for another writer (default ``$REGISTRY_CACHE_TIMEOUT``).
        """
        self.home = Path(home)
        self.root = self.home / "extracts"
        self.lock_timeout = lock_timeout

    # -- reading the index --
    def _load(self, entry: Path) -> ExtractRef | None:
        try:
            record = json.loads(entry.read_text())
        except (OSError, ValueError):
            return None
        ref = _ref(record, self.root)
        return ref if Path(ref.path).exists() else None

    def _recover(self, key: str) -> ExtractRef | None:
        """Rebuild a lost or unreadable index entry from the newest finished file of ``key``."""
        records = []
        for data in self.root.glob(f"{key}-*.duckdb"):
            try:
                records.append(self._record_in(data))
            except Exception:
                continue
        if not records:
            return None
        record = max(records, key=lambda r: str(r.get("created_at", "")))
        self._write_entry(record)
        return _ref(record, self.root)

    def list(self) -> list[ExtractRef]:
        """Every finished extract, oldest first."""
        if not self.root.is_dir():
            return []
        refs = [r for e in self.root.glob("*.json") if not e.name.startswith(".") and (r := self._load(e))]
        return sorted(refs, key=lambda r: (r.created_at, r.name))

    def latest(self, name: str) -> ExtractRef | None:
        """The newest finished extract called ``name``, or ``None``."""
        refs = [r for r in self.list() if r.name == name]
        return refs[-1] if refs else None

    def by_key(self, key: str) -> ExtractRef | None:
        """The extract with this key (or a unique prefix of at least 6 characters), or ``None``."""
        if len(key) < 6 or not all(c in "0123456789abcdef" for c in key) or not self.root.is_dir():
            return None
        entry = self.root / f"{key}.json"
        if entry.is_file():
            return self._load(entry) or self._recover(key)
        matches = {p.name.split(".")[0].split("-")[0] for p in self.root.glob(f"{key}*")
                   if p.suffix in (".json", ".duckdb")}
        if len(matches) != 1:
            return None
        full = matches.pop()
        return (self._load(self.root / f"{full}.json") if (self.root / f"{full}.json").is_file() else None) \
            or self._recover(full)

    def by_digest(self, key: str, digest: str) -> ExtractRef | None:
        """The rows of ``key`` that hashed to ``digest``, also after a refresh replaced them as the newest."""
        data = self.root / f"{key}-{digest[:16]}.duckdb"
        if not data.is_file():
            return None
        record = self._record_in(data)
        return _ref(record, self.root) if record.get("digest") == digest else None

    def key_for(self, spec: ExtractSpec, params: dict[str, Any] | None = None, *,
                source: ClickHouseSource | None = None, split: str | None = None) -> str:
        """The cache key ``materialise`` would use for this request (checks the parameters, reads nothing)."""
        from cache.sources import open_source

        src = source if source is not None else open_source(self.home, spec.source)
        return extract_key(spec, spec.bind(params, split), src.identity)

    # -- writing --
    def materialise(self, spec: ExtractSpec, params: dict[str, Any] | None = None, *,
                    source: ClickHouseSource | None = None, refresh: bool = False, progress: bool = True,
                    split: str | None = None) -> ExtractRef:
        """Run the extract and store its rows, or return the cached result of the same request.

        :param spec: the declared extract.
        :param params: parameter values (defaults from the spec); bad values raise ``InvalidInput``
            before anything is read or written.
        :param source: where to read (default: the spec's source, else the embedded engine of ``home``).
        :param refresh: extract again even when the same key is cached.
        :param progress: show a progress bar (rows, rows/s) on stderr when it is a terminal.
        :param split: the name of one of the spec's time windows, or ``None`` for all rows.
        :return: the stored extract's reference (row count, digest, record in ``meta``).
        :raises CatalogBusy: another writer held the cache past the timeout.
        """
        from cache.lock import WriterLock
        from cache.sources import open_source

        query = spec.bind(params, split)
        src = source if source is not None else open_source(self.home, spec.source)
        key = extract_key(spec, query, src.identity)
        if not refresh and (hit := self.by_key(key)) is not None:
            return hit
        with WriterLock(self.root / ".write.lock", self.lock_timeout, what=f"extract {spec.name} ({key[:12]})"):
            if not refresh and (hit := self.by_key(key)) is not None:
                return hit
            self._sweep()
            return self._write(spec, query, src, key, progress)

    def _sweep(self) -> None:
        """Remove what dead processes left (``.tmp-<pid>-…``); a live reader may be writing an entry."""
        for stale in self.root.glob(".tmp-*"):
            pid = stale.name.split("-")[1]
            if pid.isdigit() and _alive(int(pid)):  # this process's own files are removed where they are made
                continue
            stale.unlink(missing_ok=True)

    def _write(self, spec: ExtractSpec, query: BoundQuery, src: ClickHouseSource, key: str,
               progress: bool) -> ExtractRef:
        import duckdb
        from tqdm import tqdm

        from cache.pipeline import Pipeline
        from cache.types import plan_query

        conv = plan_query(src.describe(query), spec.fill_values, spec.schema)
        server_version = src.server_version()
        tmp = self.root / f".tmp-{os.getpid()}-{secrets.token_hex(6)}.duckdb"
        started = time.monotonic()
        bar = tqdm(desc=spec.name, unit=" rows", unit_scale=True, file=sys.stderr, mininterval=0.5,
                   disable=not progress or not sys.stderr.isatty())
        try:
            with Pipeline(src, query, conv, on_batch=lambda b: bar.update(b.num_rows)) as pipe:
                # DuckDB inserts each batch (a whole number of its row groups) with all its threads and without
                # the GIL, while the producer thread fetches, converts and hashes the next ones; batches go in
                # one after another, so the rows keep the order in which they were sent.
                con = duckdb.connect(str(tmp))
                try:
                    con.register("incoming", conv.schema.empty_table())
                    con.execute("CREATE TABLE data AS SELECT * FROM incoming")
                    for batch in pipe:
                        con.register("incoming", batch)
                        con.execute("INSERT INTO data SELECT * FROM incoming")
                    stored = con.execute("SELECT count(*) FROM data").fetchall()[0][0]
                    digest = pipe.digest
                    if stored != digest.rows:
                        raise IntegrityError(f"DuckDB stored {stored} rows but {digest.rows} arrived")
                    record = {
                        "name": spec.name, "key": key, "digest": digest.hexdigest(), "rows": digest.rows,
                        "created_at": datetime.now(UTC).isoformat(timespec="microseconds"),
                        "file": f"{key}-{digest.hexdigest()[:16]}.duckdb", "params": query.public_params,
                        "split": query.split, "sql": query.sql, "bound_params": query.params,
                        "columns": [list(c) for c in conv.columns()], "filled": dict(sorted(conv.filled.items())),
                        "source": {"name": src.name, "kind": src.kind, "identity": src.identity},
                        "server_version": server_version, "seconds": round(time.monotonic() - started, 3),
                    }
                    con.execute("CREATE TABLE _extract (record VARCHAR)")
                    con.execute("INSERT INTO _extract VALUES (?)", [canonical_json(record)])
                    con.execute("CHECKPOINT")
                finally:
                    with contextlib.suppress(Exception):
                        con.unregister("incoming")
                    con.close()
            fsync_path(tmp)
            final = self.root / str(record["file"])
            os.replace(tmp, final)
            self._write_entry(record)  # the previous rows of this key stay on disk for ``by_digest``
            return _ref(record, self.root)
        finally:
            bar.close()
            for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
                leftover.unlink(missing_ok=True)

    def _write_entry(self, record: dict[str, Any]) -> None:
        tmp = self.root / f".tmp-{os.getpid()}-{secrets.token_hex(6)}.json"
        tmp.write_text(json.dumps(record, indent=1, sort_keys=True))
        fsync_path(tmp)
        os.replace(tmp, self.root / f"{record['key']}.json")
        with contextlib.suppress(OSError):
            fsync_path(self.root)

    # -- reading rows --
    @staticmethod
    def _record_in(path: Path) -> dict[str, Any]:
        import duckdb

        con = duckdb.connect(str(path), read_only=True)
        try:
            rows = con.execute("SELECT record FROM _extract").fetchall()
        finally:
            con.close()
        if len(rows) != 1:
            raise IntegrityError(f"{path.name} has no extract record")
        return dict(json.loads(rows[0][0]))

    def connect(self, ref: ExtractRef) -> Any:
        """A read-only DuckDB connection to the extract's file (table ``data``); the caller closes it."""
        import duckdb

        if not ref.path or not Path(ref.path).is_file():
            raise DataMissing(f"extract {ref.name!r} ({ref.key[:12]}) is not in the cache at {self.root}")
        return duckdb.connect(ref.path, read_only=True)

    def read(self, ref: ExtractRef, *, verify: bool = False) -> pa.Table:
        """The extract's rows as an Arrow table.

        Always checks that the file's own record matches ``ref`` (key, digest, row count) and that the
        table holds ``ref.rows`` rows; with ``verify=True`` also recomputes the content digest.

        :raises DataMissing: the file is gone.
        :raises IntegrityError: the file does not hold what ``ref`` recorded.
        """
        from cache.digest import table_digest

        con = self.connect(ref)
        try:
            rows = con.execute("SELECT record FROM _extract").fetchall()
            record = json.loads(rows[0][0]) if len(rows) == 1 else {}
            table = con.sql("SELECT * FROM data").to_arrow_table()
        except Exception as exc:
            if isinstance(exc, IntegrityError):
                raise
            raise IntegrityError(f"extract {ref.name!r} ({ref.key[:12]}) is unreadable: {exc}") from None
        finally:
            con.close()
        for field in ("key", "digest", "rows"):
            if record.get(field) != getattr(ref, field):
                raise IntegrityError(f"extract {ref.name!r}: file records {field} {record.get(field)!r}, "
                                     f"expected {getattr(ref, field)!r}")
        if table.num_rows != ref.rows:
            raise IntegrityError(f"extract {ref.name!r}: file holds {table.num_rows} rows, recorded {ref.rows}")
        if verify:
            got = table_digest(table, [(n, t) for n, t, _ in record["columns"]])
            if got != ref.digest:
                raise IntegrityError(f"extract {ref.name!r}: content digest {got[:16]} != recorded {ref.digest[:16]}")
        return table

    def verify(self, spec: ExtractSpec, ref: ExtractRef, *,
               source: ClickHouseSource | None = None) -> tuple[bool, str]:
        """Re-read the source with the recorded query and parameters; report whether the data changed.

        :return: ``(unchanged, one-line explanation)``; nothing in the cache is modified.
        """
        from cache.pipeline import Pipeline
        from cache.sources import open_source
        from cache.types import plan_query

        src = source if source is not None else open_source(self.home, spec.source)
        query = BoundQuery(sql=ref.meta.get("sql") or spec.bind(ref.params, ref.meta.get("split")).sql,
                           params=dict(ref.meta.get("bound_params") or ref.params),
                           public_params=dict(ref.params), split=ref.meta.get("split"))
        note = "" if extract_key(spec, query, src.identity) == ref.key else \
            " (note: the spec or source identity differs from when it was extracted)"
        conv = plan_query(src.describe(query), spec.fill_values, spec.schema)
        with Pipeline(src, query, conv) as pipe:
            for _ in pipe:
                pass
        digest = pipe.digest
        now = digest.hexdigest()
        if now == ref.digest:
            return True, f"unchanged: {digest.rows:,} rows, digest {now[:16]} matches{note}"
        return False, (f"changed: the source now gives {digest.rows:,} rows (recorded {ref.rows:,}), digest "
                       f"{now[:16]} (recorded {ref.digest[:16]}){note}")
