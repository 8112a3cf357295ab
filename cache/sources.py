"""Where extract rows come from: the embedded ClickHouse engine, a ClickHouse server over HTTP, or local files.

All three speak ClickHouse SQL through the same ``clickhouse-connect`` client API, so one spec runs
unchanged everywhere (filters, samples and aggregations execute inside ClickHouse, also on a cluster's
``Distributed`` tables). Server configuration comes from ``<home>/sources.toml``::

    [sources.prod]
    kind = "clickhouse"          # a server over HTTP(S)
    host = "ch.example.org"
    port = 8443
    secure = true
    user = "reader"
    password_env = "PROD_CLICKHOUSE_PASSWORD"   # or password = "…" in a file only you can read
    database = "wspr"

    [sources.offline]
    kind = "file"                # Parquet/CSV files exposed as tables in the embedded engine
    tables = { "wspr.signatures_v2_terrestrial" = "dumps/signatures.parquet" }

or from ``REGISTRY_CLICKHOUSE_HOST`` / ``_PORT`` / ``_USER`` / ``_PASSWORD`` / ``_DATABASE`` / ``_SECURE``
(a source named ``clickhouse``). Passwords are never logged, shown, or part of a source's identity.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from cache.spec import BoundQuery
from cache.types import ARROW_SETTINGS
from registry.errors import InvalidInput, SourceError, UnknownName

CHDB_PATH_ENV = "REGISTRY_CHDB_PATH"  # overrides <home>/chdb as the embedded engine's data directory
CHDB_CONFIG_ENV = "REGISTRY_CHDB_CONFIG"  # a ClickHouse config file for the embedded engine (clusters, limits)
SOURCE_ENV = "REGISTRY_SOURCE"  # the default source name (else "embedded")
ENV_PREFIX = "REGISTRY_CLICKHOUSE_"
EMBEDDED = "embedded"
_TABLE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)")
_ENGINE_LOCK = threading.Lock()
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_QUOTED = re.compile(r"`([^`]+)`|\"([^\"]+)\"")
_BLOCK_ENGINE = re.compile(r"(Replacing|Summing|Aggregating|Collapsing|VersionedCollapsing|Graphite|Coalescing)?"
                           r"MergeTree")
_DATA_ENGINE = re.compile(_BLOCK_ENGINE.pattern + r"|Memory|Log|TinyLog|StripeLog")
_SOURCE_ENGINES = {"View", "MaterializedView", "Distributed", "Merge", "Dictionary"}
_OPAQUE_FUNCTION = re.compile(r"\b(merge|cluster|clusterAllReplicas|remote|remoteSecure|dictionary|dictGet\w*)\s*\(",
                              re.IGNORECASE)
_NO_UUID = "00000000-0000-0000-0000-000000000000"
EMBEDDED_STREAM = {"max_block_size": 491_520, "preferred_block_size_bytes": 64 << 20,
                   "output_format_arrow_compression_method": "none"}
"""How the embedded engine hands its blocks over. It runs in this process, so its blocks are this
process's memory (at most 64 MB each) and compressing them only to decompress them at once is waste:
with ClickHouse's defaults (~1 MB LZ4-framed blocks, 611 of them for 10 M signature rows) the stream
took 2.9 s of CPU, with these (50 plain blocks) 1.3–1.6 s. A server keeps its own settings. Block
size does change what block-dependent functions return (``rowNumberInBlock``, ``runningDifference``, …),
which is why an extract's SQL may not use them (``cache.spec``); rows and types are otherwise the same."""
_ENGINE: dict[str, Any] = {}  # realpath -> client; chDB allows one data path per process
_STREAMING: dict[str, Any] = {}  # realpath -> raw chDB handle for streaming queries


def embedded_client(path: str | os.PathLike[str]) -> Any:
    """The process-wide client of the in-process ClickHouse engine stored at ``path``.

    :raises SourceError: another path is already open in this process (chDB serves one per process).
    """
    real = os.path.realpath(path)
    with _ENGINE_LOCK:
        if real in _ENGINE:
            return _ENGINE[real]
        if _ENGINE:
            other = next(iter(_ENGINE))
            raise SourceError(f"the in-process ClickHouse engine is already open at {other}; chDB serves one "
                              f"data directory per process, so {real} cannot be opened too "
                              f"(set {CHDB_PATH_ENV} to use one location)")
        import clickhouse_connect

        options = {}
        if config := os.environ.get(CHDB_CONFIG_ENV):
            if not Path(config).is_file():
                raise InvalidInput(f"{CHDB_CONFIG_ENV}={config}: no such ClickHouse config file")
            options["config-file"] = os.path.realpath(config)
        Path(real).mkdir(parents=True, exist_ok=True)
        try:
            client = clickhouse_connect.get_client(interface="chdb", path=real, chdb_options=options or None)
        except Exception as exc:
            raise SourceError(f"cannot start the in-process ClickHouse engine at {real}: {exc}") from None
        _ENGINE[real] = client
        return client


def _stream_handle(path: str | os.PathLike[str]) -> Any:
    """A second chDB handle on the same engine, used only for streaming (the client's handle stays free)."""
    real = os.path.realpath(path)
    embedded_client(real)
    with _ENGINE_LOCK:
        if real not in _STREAMING:
            import chdb

            _STREAMING[real] = chdb.connect(real)
            for key, value in {**ARROW_SETTINGS, **EMBEDDED_STREAM}.items():  # constants of this package
                literal = f"'{value}'" if isinstance(value, str) else str(int(value))
                _STREAMING[real].query(f"SET {key} = {literal}")
        return _STREAMING[real]


def _drop_stream_handle(path: str | os.PathLike[str]) -> None:
    """Forget the streaming handle after a failed query: chDB then answers the next streamed query on
    that handle with no rows at all (seen when the error comes in the first block), so it gets a new one."""
    with _ENGINE_LOCK:
        handle = _STREAMING.pop(os.path.realpath(path), None)
    if handle is not None:
        with contextlib.suppress(Exception):
            handle.close()


def close_embedded() -> None:
    """Close the process's embedded engine so another path can be opened."""
    with _ENGINE_LOCK:
        for handle in _STREAMING.values():
            handle.close()
        for client in _ENGINE.values():
            client.close()
        _STREAMING.clear()
        _ENGINE.clear()


def _translate(exc: Exception, where: str) -> Exception:
    text = " ".join(str(exc).split())
    if "BAD_QUERY_PARAMETER" in text or "UNKNOWN_QUERY_PARAMETER" in text or "Code: 457" in text:
        return InvalidInput(f"{where} rejected a parameter value: {text[:300]}")
    return SourceError(f"{where}: {text[:400]}")


class ClickHouseSource:
    """A source backed by a ``clickhouse-connect`` client (embedded or HTTP)."""

    kind = "clickhouse"

    def __init__(self, name: str, identity: str) -> None:
        self.name = name
        self._identity = identity
        self._client: Any = None

    @property
    def identity(self) -> str:
        """What the source is, for the cache key: never a password, never a machine-specific path."""
        return self._identity

    def state(self, query: BoundQuery) -> str | None:
        """A fingerprint of the data ``query`` reads, part of the cache key where the source can tell.

        A server's tables are taken as they were when extracted (a later extract is a hit, which pins a
        gate run's rows; ``--refresh`` re-reads, ``extract --verify`` reports a change): ``None`` here.
        """
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.identity}>"

    @property
    def client(self) -> Any:
        """The underlying ``clickhouse-connect`` client, connected on first use."""
        if self._client is None:
            self._client = self._connect()
        return self._client

    def _connect(self) -> Any:
        raise NotImplementedError

    def server_version(self) -> str:
        """The version string the server reports."""
        return str(self.client.server_version)

    @contextlib.contextmanager
    def prepared(self) -> Iterator[None]:
        """What a source must set up for the length of one query, and take down after it (file views)."""
        yield

    def describe(self, query: BoundQuery) -> list[tuple[str, str]]:
        """``(column, ClickHouse type)`` of the query's result, without reading its rows."""
        with self.prepared():
            try:
                rows = self.client.query(f"DESCRIBE ({query.sql})", parameters=query.params,
                                         settings=ARROW_SETTINGS).result_rows
            except Exception as exc:
                raise _translate(exc, f"source {self.name!r}") from None
        return [(str(r[0]), str(r[1])) for r in rows]

    @contextlib.contextmanager
    def stream(self, query: BoundQuery) -> Iterator[Iterator[pa.RecordBatch]]:
        """Arrow record batches of the query's result, as the server sends them (memory stays bounded)."""
        try:
            ctx = self.client.query_arrow_stream(query.sql, parameters=query.params, settings=ARROW_SETTINGS)
        except Exception as exc:
            raise _translate(exc, f"source {self.name!r}") from None

        def batches() -> Iterator[pa.RecordBatch]:
            try:
                yield from ctx
            except GeneratorExit:
                raise
            except Exception as exc:
                raise _translate(exc, f"source {self.name!r} (while streaming)") from None

        with ctx:
            yield batches()

    def command(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        """Run one statement (DDL, ``INSERT … SELECT``); used by loaders and tests."""
        try:
            return self.client.command(sql, parameters=params)
        except Exception as exc:
            raise _translate(exc, f"source {self.name!r}") from None


class EmbeddedSource(ClickHouseSource):
    """The in-process ClickHouse engine (chDB) whose data lives at ``path`` (default ``<home>/chdb``)."""

    def __init__(self, path: str | os.PathLike[str], name: str = EMBEDDED) -> None:
        super().__init__(name, "chdb:embedded")
        self.path = Path(path)

    def _connect(self) -> Any:
        return embedded_client(self.path)

    def state(self, query: BoundQuery) -> str | None:
        """The state of the embedded tables the query may read, so that reloading them is a cache miss.

        This engine's tables are loaded from this machine (``registry indices load --file newer``, a
        script's INSERT), so a cached extract of the old rows would be a silent stale hit.

        Which tables: every name in the SQL (bare, ``db.table``, quoted) or in a text parameter
        (``{table:Identifier}``, ``'db.table'``) that exists; over-matching only costs a miss. A view,
        dictionary, ``Distributed``/``Merge`` table or a ``merge()``/``cluster()``-like table function,
        whose own sources cannot be seen from the SQL, makes the state cover every table.

        What state: a MergeTree-family table in a database with UUIDs (``CREATE DATABASE x``; the Atomic
        engine) by its UUID (new for every CREATE), row count, metadata time and the highest block number of
        its active parts, counting mutations (every INSERT, ALTER UPDATE/DELETE and lightweight DELETE takes
        a new one; merges keep it, so background merges do not change a key): no rows are read. Tables that
        give no such handle — chDB's ``default`` database has no UUIDs, so a dropped and re-created table
        looks the same; Memory and Log engines have no block numbers — are fingerprinted by their content
        (count and wrapping sum of ``cityHash64(*)``), a full scan of each: keep large tables in a database
        of their own. An engine that can be neither (Set, Join, …) makes every request a miss. The engine's
        config file (``REGISTRY_CHDB_CONFIG``: clusters) is hashed in too. Files read by table functions
        (``file(…)``) are not covered: use a file source, whose identity hashes its files.
        """
        import secrets

        words = set(_WORD.findall(query.sql)) | {a or b for a, b in _QUOTED.findall(query.sql)}
        for value in query.params.values():
            if isinstance(value, str):
                words |= {value, *_WORD.findall(value), *value.split(".")}
        try:
            current = str(self.client.command("SELECT currentDatabase()"))
            tables = self.client.query(
                "SELECT database, name, engine, toString(uuid), toString(total_rows), "
                "toString(metadata_modification_time) FROM system.tables WHERE NOT is_temporary "
                "AND lower(database) NOT IN ('system', 'information_schema')").result_rows
            blocks = {(r[0], r[1]): str(r[2]) for r in self.client.query(
                "SELECT database, table, max(greatest(max_block_number, data_version)) FROM system.parts "
                "WHERE active GROUP BY database, table").result_rows}
            read = [t for t in tables if t[1] in words and (t[0] in words or t[0] == current)]
            if _OPAQUE_FUNCTION.search(query.sql) or any(not _DATA_ENGINE.fullmatch(str(t[2])) for t in read):
                read = list(tables)
            state: list[list[str]] = []
            for db, name, engine, uuid, rows, mtime in sorted(read):
                item = [db, name, engine]
                if _BLOCK_ENGINE.fullmatch(engine) and uuid != _NO_UUID:
                    item += [uuid, rows, mtime, blocks.get((db, name), "-")]
                elif _DATA_ENGINE.fullmatch(engine):
                    got = self.client.query("SELECT count(), sum(cityHash64(*)) FROM {d:Identifier}.{t:Identifier}",
                                            parameters={"d": db, "t": name}).result_rows
                    item += ["content", *map(str, got[0])]
                elif engine in _SOURCE_ENGINES:
                    item += [uuid, mtime]  # its sources are among the tables covered
                else:
                    item += ["uncacheable", secrets.token_hex(8)]
                state.append(item)
        except Exception as exc:
            raise _translate(exc, f"source {self.name!r} (reading table state)") from None
        if config := os.environ.get(CHDB_CONFIG_ENV):
            from registry.hashing import sha256_file

            with contextlib.suppress(OSError):
                state.append(["config", sha256_file(Path(config))])
        return hashlib.sha256(json.dumps(state).encode()).hexdigest()

    @contextlib.contextmanager
    def stream(self, query: BoundQuery) -> Iterator[Iterator[pa.RecordBatch]]:
        """Arrow batches block by block from chDB's own streaming cursor.

        ``clickhouse-connect`` materialises a whole Arrow result from chDB before the first batch, so
        the embedded engine streams through a second chDB handle: one self-contained Arrow IPC stream
        per ClickHouse block, with the same server-side parameters. Memory stays at a few blocks.
        """
        from clickhouse_connect.driver.binding import format_bind_value

        params = {k: format_bind_value(v) for k, v in query.params.items()}
        with self.prepared():
            handle = _stream_handle(self.path)
            try:
                result = handle.send_query(query.sql, "ArrowStream", params=params)
            except Exception as exc:
                _drop_stream_handle(self.path)
                raise _translate(exc, f"source {self.name!r}") from None

            def batches() -> Iterator[pa.RecordBatch]:
                try:
                    for chunk in result:
                        yield from pa.ipc.open_stream(chunk.bytes())
                except GeneratorExit:
                    raise
                except Exception as exc:
                    failed.append(exc)
                    raise _translate(exc, f"source {self.name!r} (while streaming)") from None

            failed: list[BaseException] = []
            try:
                yield batches()
            finally:
                with contextlib.suppress(Exception):
                    result.close()
                if failed:
                    _drop_stream_handle(self.path)


class HttpSource(ClickHouseSource):
    """A ClickHouse server over HTTP(S); the password is kept only in memory and never shown."""

    def __init__(self, name: str, host: str, port: int | None = None, user: str = "default",
                 password: str = "", database: str = "default", secure: bool = False,
                 connect_timeout: float = 10.0) -> None:
        port = int(port or (8443 if secure else 8123))
        super().__init__(name, f"clickhouse{'s' if secure else ''}://{user}@{host}:{port}/{database}")
        self.host, self.port, self.user, self.database, self.secure = host, port, user, database, secure
        self.connect_timeout = connect_timeout
        self.__password = password

    def _connect(self) -> Any:
        import clickhouse_connect

        try:
            return clickhouse_connect.get_client(
                host=self.host, port=self.port, username=self.user, password=self.__password,
                database=self.database, secure=self.secure, connect_timeout=self.connect_timeout,
                interface="https" if self.secure else "http")
        except Exception as exc:
            why = " ".join(str(exc).split())[:300]
            if self.__password:
                why = why.replace(self.__password, "***")
            raise SourceError(f"cannot connect to {self.identity}: {type(exc).__name__}: {why}") from None


class FileSource(EmbeddedSource):
    """Parquet or CSV files exposed as read-only views in the embedded engine, for use without a server.

    ``tables`` maps ``database.table`` (as the spec's SQL names it) to a ``.parquet``/``.csv`` file.
    The identity covers the files' sha256, so replacing a file is a different source.
    """

    kind = "file"

    def __init__(self, tables: dict[str, str | os.PathLike[str]], engine_path: str | os.PathLike[str],
                 name: str = "file") -> None:
        super().__init__(engine_path, name)
        self.tables = {t: Path(p) for t, p in sorted(tables.items())}
        for t, p in self.tables.items():
            if not _TABLE.fullmatch(t):
                raise InvalidInput(f"file source {name!r}: {t!r} is not a database.table name")
            if p.suffix.lower() not in (".parquet", ".csv"):
                raise InvalidInput(f"file source {name!r}: {p} is neither .parquet nor .csv")
        self._identity = ""

    @property
    def identity(self) -> str:
        if not self._identity:
            h = hashlib.sha256()
            for t, p in self.tables.items():
                if not p.is_file():
                    raise SourceError(f"file source {self.name!r}: {p} does not exist")
                from registry.hashing import sha256_file

                h.update(f"{t}={sha256_file(p)}\n".encode())
            self._identity = f"file:{h.hexdigest()}"
        return self._identity

    def server_version(self) -> str:
        return f"file via chDB {super().server_version()}"

    def state(self, query: BoundQuery) -> str | None:
        """The identity already hashes every file; the engine's own tables are not read."""
        return None

    @contextlib.contextmanager
    def prepared(self) -> Iterator[None]:
        """The files as views for the length of one query; dropped after it, so that the embedded source
        never sees file rows under its own identity."""
        made: list[str] = []
        try:
            for t, p in self.tables.items():
                db, table = _TABLE.fullmatch(t).groups()  # type: ignore[union-attr]
                existing = self.client.query("SELECT engine FROM system.tables WHERE database = {d:String} "
                                             "AND name = {t:String}", parameters={"d": db, "t": table}).result_rows
                if existing and existing[0][0] != "View":
                    raise SourceError(f"file source {self.name!r}: {t} is a real table in the embedded engine; "
                                      "a file cannot stand in for it")
                fmt = "Parquet" if p.suffix.lower() == ".parquet" else "CSVWithNames"
                literal = "'" + str(p.resolve()).replace("\\", "\\\\").replace("'", "\\'") + "'"
                self.command(f"CREATE DATABASE IF NOT EXISTS `{db}`")
                self.command(f"CREATE OR REPLACE VIEW `{db}`.`{table}` AS SELECT * FROM file({literal}, {fmt})")
                made.append(f"`{db}`.`{table}`")
            yield
        finally:
            for view in made:
                with contextlib.suppress(Exception):
                    self.command(f"DROP VIEW IF EXISTS {view}")


def read_config(home: Path) -> dict[str, dict[str, Any]]:
    """Named source settings from ``<home>/sources.toml`` and ``REGISTRY_CLICKHOUSE_*`` variables."""
    found: dict[str, dict[str, Any]] = {}
    path = home / "sources.toml"
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise InvalidInput(f"{path}: {exc}") from None
        for name, cfg in (data.get("sources") or {}).items():
            if not isinstance(cfg, dict):
                raise InvalidInput(f"{path}: [sources.{name}] must be a table")
            found[name] = dict(cfg)
    if os.environ.get(ENV_PREFIX + "HOST"):
        env = {k[len(ENV_PREFIX):].lower(): v for k, v in os.environ.items() if k.startswith(ENV_PREFIX)}
        found["clickhouse"] = {"kind": "clickhouse", **env}
    return found


def open_source(home: Path, name: str | None = None) -> ClickHouseSource:
    """The source called ``name`` (default ``$REGISTRY_SOURCE`` or ``embedded``) for registry ``home``.

    :raises UnknownName: no such source is configured.
    """
    name = name or os.environ.get(SOURCE_ENV) or EMBEDDED
    engine_path = Path(os.environ.get(CHDB_PATH_ENV) or home / "chdb")
    if name == EMBEDDED:
        return EmbeddedSource(engine_path)
    config = read_config(home)
    if name not in config:
        known = ", ".join([EMBEDDED, *sorted(config)])
        raise UnknownName(f"unknown source {name!r} (known: {known}; configure more in {home / 'sources.toml'})")
    cfg = config[name]
    kind = cfg.get("kind", "clickhouse")
    if kind == "file":
        tables = {t: (p if Path(p).is_absolute() else home / p) for t, p in (cfg.get("tables") or {}).items()}
        return FileSource(tables, engine_path, name=name)
    if kind != "clickhouse":
        raise InvalidInput(f"source {name!r}: unknown kind {kind!r} (clickhouse or file)")
    if not cfg.get("host"):
        raise InvalidInput(f"source {name!r}: no host configured")
    password = cfg.get("password") or os.environ.get(str(cfg.get("password_env") or ""), "")
    secure = str(cfg.get("secure", "false")).lower() in ("1", "true", "yes")
    port = cfg.get("port")
    if port not in (None, "") and not str(port).isdigit():
        raise InvalidInput(f"source {name!r}: port {port!r} is not a number")
    return HttpSource(name, host=str(cfg["host"]), port=int(port) if port else None,
                      user=str(cfg.get("user") or "default"), password=str(password),
                      database=str(cfg.get("database") or "default"), secure=secure)
