"""The extract cache: one DuckDB file per extract, written under a temporary name and renamed into place.

Layout of ``<home>/extracts``::

    <key>.json                  index entry: the extract's record (what ``list``/``latest``/``by_key`` read)
    <key>-<digest16>.duckdb     tables ``data`` (the rows) and ``_extract`` (the same record, inside the file);
                                a refresh that finds other rows adds a file and keeps the old one, so a
                                stored gate run can be repeated on exactly its rows (``by_digest``)
    <key>-<digest16>.arrow      the same rows as an uncompressed Arrow IPC file, for reading (see below)
    .write.lock                 the single-writer lock (``cache.lock``)
    .tmp-<pid>-<random>.*       an extract being written; never read, removed by the next writer once <pid> is dead

Why one file per extract: DuckDB lets one read-write process open a file and a second one fails at once,
so a shared catalog file would block readers while anyone writes. Here a writer only ever writes its own
temporary file; finished files are opened read-only, so readers of one extract are never blocked by the
writer of another. The rename is atomic, so an interrupted extract (Ctrl-C, kill, lost connection)
leaves no half table visible and the next run simply starts again. Writers queue on one ``flock`` with
a timeout (``CatalogBusy``), re-checking for a cache hit once they hold it. The index entry is written
after the rename; a data file whose entry is missing is recovered from the record inside it.

Why an Arrow copy: the DuckDB file is the extract of record (compact, queryable with SQL through
``connect``), but turning its rows back into Arrow costs a fresh process ~0.4 s per 10 M signature rows
(decoding, and copying every string), about a tenth of extracting them again. The writer therefore also
writes the batches it inserts into an uncompressed Arrow IPC file; ``read`` memory-maps it, so a cache
hit costs milliseconds and pages come in from the page cache as the caller touches them. It costs disk
(~3x the DuckDB file for the signatures schema). It is disposable: deleting it (or an extract written
without it) only makes ``read`` fall back to the DuckDB file, and a copy that does not match its
record, or fails ``verify``, is reported and skipped in favour of the DuckDB file. A trailing empty
batch carries the extract's record, so the copy is bound to the key, digest and row count it was
written with. Arrow IPC has no block checksums (DuckDB has): a read without ``verify`` trusts the
copy's bytes, as any memory-mapped file; gate runs and training read with ``verify=True``.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import logging
import os
import secrets
import sys
import time
from collections.abc import Iterator
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
ARROW_COPY = "gated-registry extract arrow copy v1"
log = logging.getLogger("gated_registry.cache")


def extract_key(spec: ExtractSpec, query: BoundQuery, source_identity: str,
                source_state: str | None = None) -> str:
    """sha256 over (source identity, final SQL, every bound parameter, expected schema, fill values), and the
    state of the tables read where the source reports one (the embedded engine: see ``EmbeddedSource.state``)."""
    payload = {"format": KEY_FORMAT, "source": source_identity, "sql": query.sql, "params": query.params,
               "schema": [list(c) for c in spec.schema],
               "fill": {k: list(v) for k, v in sorted(spec.fill_values.items())}}
    if source_state is not None:
        payload["source_state"] = source_state
    return digest_json(payload)


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

    def latest_request(self, spec: ExtractSpec, params: dict[str, Any] | None = None,
                       split: str | None = None, *, source: str | None = None) -> ExtractRef | None:
        """The newest extract of this name, parameter values, split (and source, by name) whatever state its
        source was in (what ``extract --verify`` compares with after the tables changed and the key with them)."""
        query = spec.bind(params, split)
        want = (spec.name, canonical_json(query.public_params), query.split)
        refs = [r for r in self.list() if _request(r)[:3] == want and source in (None, _request(r)[3])]
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

    @staticmethod
    def disk_usage(ref: ExtractRef) -> dict[str, int]:
        """Bytes on disk of the extract's DuckDB file and of its Arrow copy (0 where there is none)."""
        out = {}
        for kind, suffix in (("duckdb", ".duckdb"), ("arrow", ".arrow")):
            try:
                out[kind] = Path(ref.path).with_suffix(suffix).stat().st_size
            except OSError:
                out[kind] = 0
        return out

    def by_digest(self, key: str, digest: str) -> ExtractRef | None:
        """The rows of ``key`` that hashed to ``digest``, also after a refresh replaced them as the newest."""
        data = self.root / f"{key}-{digest[:16]}.duckdb"
        if not data.is_file():
            return None
        record = self._record_in(data)
        return _ref(record, self.root) if record.get("digest") == digest else None

    def key_for(self, spec: ExtractSpec, params: dict[str, Any] | None = None, *,
                source: ClickHouseSource | None = None, split: str | None = None) -> str:
        """The cache key ``materialise`` would use for this request (checks the parameters and reads no rows;
        for the embedded engine it asks the engine for the state of the tables, see ``EmbeddedSource.state``)."""
        from cache.sources import open_source

        src = source if source is not None else open_source(self.home, spec.source)
        query = spec.bind(params, split)
        return extract_key(spec, query, src.identity, src.state(query))

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
        state = src.state(query)
        key = extract_key(spec, query, src.identity, state)
        if not refresh and (hit := self.by_key(key)) is not None:
            return hit
        with WriterLock(self.root / ".write.lock", self.lock_timeout, what=f"extract {spec.name} ({key[:12]})"):
            if not refresh and (hit := self.by_key(key)) is not None:
                return hit
            self._sweep()
            return self._write(spec, query, src, key, state, progress)

    def _sweep(self) -> None:
        """Remove what dead processes left (``.tmp-<pid>-…``; a live reader may be writing an entry) and
        Arrow copies whose DuckDB file is gone."""
        for stale in self.root.glob(".tmp-*"):
            pid = stale.name.split("-")[1]
            if pid.isdigit() and _alive(int(pid)):  # this process's own files are removed where they are made
                continue
            stale.unlink(missing_ok=True)
        for copy in self.root.glob("*.arrow"):
            if not copy.with_suffix(".duckdb").exists():
                copy.unlink(missing_ok=True)

    def _write(self, spec: ExtractSpec, query: BoundQuery, src: ClickHouseSource, key: str, state: str | None,
               progress: bool) -> ExtractRef:
        import duckdb
        import pyarrow
        from tqdm import tqdm

        from cache.pipeline import Pipeline
        from cache.types import plan_query

        conv = plan_query(src.describe(query), spec.fill_values, spec.schema)
        server_version = src.server_version()
        tmp = self.root / f".tmp-{os.getpid()}-{secrets.token_hex(6)}.duckdb"
        copy = _ArrowCopy(tmp.with_suffix(".arrow"), key)
        started = time.monotonic()
        bar = tqdm(desc=spec.name, unit=" rows", unit_scale=True, file=sys.stderr, mininterval=0.5,
                   disable=not progress or not sys.stderr.isatty())
        try:
            with _Writeback([tmp, copy.tmp]), \
                    Pipeline(src, query, conv, on_batch=lambda b: bar.update(b.num_rows)) as pipe:
                # One INSERT reads the whole stream: DuckDB pulls each batch (a whole number of its row groups)
                # and works on it with all its threads, without the GIL, while the producer thread fetches,
                # converts and hashes the next ones and a worker appends it to the Arrow copy. DuckDB keeps
                # insertion order, so the rows keep the order in which they were sent. (One INSERT per batch
                # measured 4.4–4.5 s for 10 M signature rows, one for the stream 4.0–4.1 s.) The INSERT runs in
                # this (the main) thread: DuckDB 2.0 leaves a connection unusable when Ctrl-C arrives while
                # another thread runs its query. Python handles the signal only when this thread runs Python,
                # which it may not while DuckDB works, so ``_on_ctrl_c`` stops the stream from a helper thread:
                # the query fails at once and the KeyboardInterrupt follows as soon as it returns.
                con = duckdb.connect(str(tmp))
                failed: list[BaseException] = []

                def feed() -> Iterator[pyarrow.RecordBatch]:
                    try:
                        for batch in pipe:
                            copy.write(batch)
                            yield batch
                    except BaseException as exc:  # DuckDB reports it as its own error; the caller gets this one
                        failed.append(exc)
                        raise

                try:
                    con.register("incoming", conv.schema.empty_table())
                    con.execute("CREATE TABLE data AS SELECT * FROM incoming")
                    copy.open(con.sql("SELECT * FROM data").to_arrow_table().schema)  # the types ``read`` returns
                    con.register("incoming", pyarrow.RecordBatchReader.from_batches(conv.schema, feed()))
                    ctrl_c = None
                    try:
                        with _on_ctrl_c(pipe.stop) as ctrl_c:
                            con.execute("INSERT INTO data SELECT * FROM incoming")
                    except BaseException:
                        if ctrl_c is not None and ctrl_c.is_set():  # whatever DuckDB made of the stop
                            raise KeyboardInterrupt from None
                        if failed:
                            raise failed[0] from None
                        raise
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
                        "source": {"name": src.name, "kind": src.kind, "identity": src.identity, "state": state},
                        "server_version": server_version, "seconds": round(time.monotonic() - started, 3),
                    }
                    con.execute("CREATE TABLE _extract (record VARCHAR)")
                    con.execute("INSERT INTO _extract VALUES (?)", [canonical_json(record)])
                    copy.finish(record)
                    con.execute("CHECKPOINT")
                finally:
                    with contextlib.suppress(Exception):
                        con.unregister("incoming")
                    con.close()
            fsync_path(tmp)
            final = self.root / str(record["file"])
            os.replace(tmp, final)
            copy.place(final.with_suffix(".arrow"))  # after the DuckDB file: a copy never stands alone
            self._write_entry(record)  # the previous rows of this key stay on disk for ``by_digest``
            return _ref(record, self.root)
        finally:
            bar.close()
            copy.discard()
            for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
                leftover.unlink(missing_ok=True)

    def _write_entry(self, record: dict[str, Any]) -> None:
        tmp = self.root / f".tmp-{os.getpid()}-{secrets.token_hex(6)}.json"
        tmp.write_text(json.dumps(record, indent=1, sort_keys=True))
        fsync_path(tmp)
        os.replace(tmp, self.root / f"{record['key']}.json")
        with contextlib.suppress(OSError):
            fsync_path(self.root)

    # -- removing what nothing needs --
    def prune(self, pinned: set[tuple[str, str]], *, dry_run: bool = False) -> builtins.list[tuple[Path, int]]:
        """Remove extract files that are neither the newest rows of their request nor pinned.

        A request is an extract name with its parameter values, split and source; its newest rows are what
        ``materialise`` and a gate's ``ctx.extract`` would read. Older rows of it (from a ``--refresh``, or
        an embedded table that has changed since, which gave the request a new key) are kept only if pinned.

        :param pinned: ``(key, digest)`` pairs something still needs (stored gate runs, training lineage):
            their files stay, so ``registry verify`` can repeat those runs on exactly their rows.
        :param dry_run: only report what would be removed.
        :return: ``(file, bytes)`` for every file removed (or that would be), DuckDB files and Arrow copies.
        :raises CatalogBusy: a writer held the cache past the timeout (pruning takes the writer lock).
        """
        from cache.lock import WriterLock

        if not self.root.is_dir():
            return []
        removed: builtins.list[tuple[Path, int]] = []
        with WriterLock(self.root / ".write.lock", self.lock_timeout, what="prune the extract cache"):
            newest = {_request(ref): ref for ref in self.list()}  # oldest first: the last of a request wins
            keep = {Path(r.path).name for r in newest.values()}
            short = {(k, d[:16]) for k, d in pinned}
            for data in sorted(self.root.glob("*.duckdb")):
                key, _, digest16 = data.stem.partition("-")
                if data.name in keep or (key, digest16) in short:
                    continue
                entry = self.root / f"{key}.json"
                with contextlib.suppress(OSError, ValueError):
                    if json.loads(entry.read_text()).get("file") == data.name:
                        removed.append((entry, entry.stat().st_size))
                for path in (data, data.with_suffix(".arrow")):
                    if path.is_file():
                        removed.append((path, path.stat().st_size))
            if not dry_run:
                for path, _ in removed:  # the index entry first: a crash leaves files, never a dangling entry
                    path.unlink(missing_ok=True)
                self._sweep()
        return removed

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
        """The extract's rows as an Arrow table (memory-mapped from the Arrow copy when there is a good one).

        Always checks that the file's own record matches ``ref`` (key, digest, row count) and that the
        table holds ``ref.rows`` rows; with ``verify=True`` also recomputes the content digest.

        :raises DataMissing: the file is gone.
        :raises IntegrityError: the file does not hold what ``ref`` recorded.
        """
        if not ref.path or not Path(ref.path).is_file():
            raise DataMissing(f"extract {ref.name!r} ({ref.key[:12]}) is not in the cache at {self.root}")
        side = Path(ref.path).with_suffix(".arrow")
        if side.is_file():
            try:
                record, table = _read_copy(side)
                _check(ref, record, table, verify)
                return table
            except Exception as exc:  # the DuckDB file decides; a bad copy is only reported
                log.warning("extract %r (%s): ignoring its Arrow copy %s (%s); reading the DuckDB file",
                            ref.name, ref.key[:12], side.name, exc)
        con = self.connect(ref)
        try:
            rows = con.execute("SELECT record FROM _extract").fetchall()
            record = json.loads(rows[0][0]) if len(rows) == 1 else {}
            table = con.sql("SELECT * FROM data").to_arrow_table()
        except Exception as exc:
            raise IntegrityError(f"extract {ref.name!r} ({ref.key[:12]}) is unreadable: {exc}") from None
        finally:
            con.close()
        _check(ref, record, table, verify)
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
        note = "" if extract_key(spec, query, src.identity, src.state(query)) == ref.key else \
            " (note: the spec, the source or the state of its tables differs from when it was extracted)"
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


def _request(ref: ExtractRef) -> tuple[str, str, str | None, str | None]:
    """What a cached extract answers: its name, parameter values, split and source name (not the source's
    state, which gives the same request a new key when embedded tables change)."""
    return (ref.name, canonical_json(ref.params), ref.meta.get("split"), (ref.meta.get("source") or {}).get("name"))


def _check(ref: ExtractRef, record: dict[str, Any], table: pa.Table, verify: bool) -> None:
    """Raise ``IntegrityError`` unless ``record`` and ``table`` are what ``ref`` describes."""
    from cache.digest import table_digest

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


def _read_copy(path: Path) -> tuple[dict[str, Any], pa.Table]:
    """The record and rows of an Arrow copy, memory-mapped (no row is read until it is used)."""
    import pyarrow as pa
    import pyarrow.ipc as ipc

    reader = ipc.open_file(pa.memory_map(str(path)))
    if (reader.metadata or {}).get(b"format") != ARROW_COPY.encode() or reader.num_record_batches < 1:
        raise IntegrityError("not an extract's Arrow copy")
    last = reader.get_batch_with_custom_metadata(reader.num_record_batches - 1)
    if last.batch.num_rows or last.custom_metadata is None or b"record" not in last.custom_metadata:
        raise IntegrityError("its record is missing")
    record = dict(json.loads(last.custom_metadata[b"record"]))
    batches = [reader.get_batch(i) for i in range(reader.num_record_batches - 1)]
    return record, pa.Table.from_batches(batches, schema=reader.schema)


@contextlib.contextmanager
def _on_ctrl_c(action: Any) -> Iterator[Any]:
    """While the block runs, call ``action`` from a helper thread as soon as Ctrl-C arrives; yields an event
    that tells afterwards whether it did.

    The main thread may be inside a long C call (a DuckDB query) where Python's own SIGINT handler cannot run
    until it returns; Python's signal wake-up descriptor is written the moment the signal arrives, whatever the
    main thread is doing, so a thread watching it can act at once. Outside the main thread, or where the
    descriptor cannot be set, the block just runs. The previous descriptor (asyncio's, say) is restored.
    """
    import select
    import signal
    import socket
    import threading

    seen = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield seen
        return
    reader, writer = socket.socketpair()
    writer.setblocking(False)
    try:
        previous = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    except (ValueError, OSError):
        reader.close()
        writer.close()
        yield seen
        return
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            if select.select([reader], [], [], 0.1)[0] and signal.SIGINT in reader.recv(64):
                seen.set()
                action()

    watcher = threading.Thread(target=watch, name="extract-ctrl-c", daemon=True)
    watcher.start()
    try:
        yield seen
    finally:
        done.set()
        watcher.join()
        signal.set_wakeup_fd(previous)
        reader.close()
        writer.close()


class _ArrowCopy:
    """The Arrow IPC copy an extract's writer produces beside its DuckDB file (see the module docstring).

    Best effort: if the copy cannot be written (a type Arrow's IPC cannot cast to, a full disk), it is
    dropped with a warning and the extract is stored without it.
    """

    def __init__(self, tmp: Path, key: str) -> None:
        self.tmp, self.key = tmp, key
        self.sink: Any = None
        self.writer: Any = None
        self.schema: Any = None
        self._pool: Any = None
        self._pending: Any = None
        self.done = self.failed = False

    def _drop(self, exc: Exception) -> None:
        log.warning("extract %s: not writing its Arrow copy (%s: %s)", self.key[:12], type(exc).__name__, exc)
        self.failed = True
        self.discard()

    def open(self, schema: pa.Schema) -> None:
        import pyarrow as pa
        import pyarrow.ipc as ipc

        try:
            self.schema = schema
            self.sink = pa.OSFile(str(self.tmp), "wb")
            self.writer = ipc.new_file(self.sink, schema, metadata={"format": ARROW_COPY, "key": self.key})
        except Exception as exc:  # best effort: never the reason an extract fails
            self._drop(exc)

    def write(self, batch: pa.RecordBatch) -> None:
        """Append ``batch`` in a worker thread while the caller inserts it into DuckDB (which runs without
        the GIL); the previous batch is waited for first, so at most one is in flight."""
        from concurrent.futures import ThreadPoolExecutor

        if not self._settle() or self.writer is None:
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="extract-arrow-copy")
        self._pending = self._pool.submit(self._append, batch)

    def _append(self, batch: pa.RecordBatch) -> None:
        self.writer.write_batch(batch if batch.schema.equals(self.schema) else batch.cast(self.schema))

    def _settle(self) -> bool:
        """Wait for the batch in flight; drop the copy if writing it failed. True while the copy is alive."""

        pending, self._pending = self._pending, None
        if pending is not None:
            try:
                pending.result()
            except Exception as exc:  # a full disk, a cast Arrow refuses
                self._drop(exc)
        return not self.failed

    def finish(self, record: dict[str, Any]) -> None:
        """Write the batch that carries the record and close the file."""
        import pyarrow as pa

        if not self._settle() or self.writer is None:
            return
        try:
            self.writer.write_batch(pa.RecordBatch.from_pylist([], schema=self.schema),
                                    custom_metadata={"record": canonical_json(record)})
            self.writer.close()
            self.sink.close()
            self.writer = self.sink = None
            self.done = True
        except Exception as exc:
            self._drop(exc)

    def place(self, final: Path) -> None:
        """Make the finished copy durable and rename it to ``final`` (once the DuckDB file is in place; a
        reader in between reads the DuckDB file)."""
        if self.failed or not self.done:
            return
        try:
            fsync_path(self.tmp)
            os.replace(self.tmp, final)
        except OSError as exc:
            log.warning("extract %s: cannot place its Arrow copy (%s)", self.key[:12], exc)

    def discard(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            with contextlib.suppress(Exception):  # a Ctrl-C pressed while waiting still goes through
                pending.result()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        for thing in (self.writer, self.sink):
            with contextlib.suppress(Exception):
                if thing is not None:
                    thing.close()
        self.writer = self.sink = None
        self.tmp.unlink(missing_ok=True)


class _Writeback:
    """While an extract is written, a thread asks the kernel every ``period`` seconds to write the files'
    dirty pages to disk, so that the fsyncs before the renames find little left to do (600 MB written over
    4 s: a final fsync took 0.63 s alone, ~0 after this; in an extract the two final fsyncs still take
    ~0.3 s, mostly the device's flush, with ~30 MB left dirty)."""

    def __init__(self, paths: list[Path], period: float = 0.25) -> None:
        import threading

        self.paths, self.period = paths, period
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="extract-writeback", daemon=True)

    def _run(self) -> None:
        sync = getattr(os, "fdatasync", os.fsync)  # macOS has no fdatasync
        while not self._stop.wait(self.period):
            for path in self.paths:
                try:
                    fd = os.open(path, os.O_RDONLY)
                except OSError:
                    continue
                try:
                    sync(fd)
                except OSError:
                    pass
                finally:
                    os.close(fd)

    def __enter__(self) -> _Writeback:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
