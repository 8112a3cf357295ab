"""Sources: the embedded engine singleton, server configuration (no password leaks) and file sources."""

from __future__ import annotations

import os
import socket
import time

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from cache.sources import (
    ClickHouseSource,
    EmbeddedSource,
    FileSource,
    HttpSource,
    embedded_client,
    open_source,
    read_config,
)
from cache.spec import ExtractSpec
from registry.errors import InvalidInput, SourceError, UnknownName


def test_one_embedded_engine_per_process(engine, tmp_path):
    assert embedded_client(engine.path) is engine.client
    assert embedded_client(str(engine.path) + "/") is engine.client  # same directory, other spelling
    with pytest.raises(SourceError, match="one data directory per process"):
        embedded_client(tmp_path / "elsewhere")


def test_default_source_is_the_embedded_engine(home, chdb_path):
    src = open_source(home)
    assert isinstance(src, EmbeddedSource) and src.identity == "chdb:embedded"
    assert src.path == chdb_path  # REGISTRY_CHDB_PATH, set for the test session
    assert src.server_version()[0].isdigit()
    with pytest.raises(UnknownName, match="unknown source 'prod'.*embedded"):
        open_source(home, "prod")


def test_server_config_from_file_and_environment_never_exposes_the_password(home, monkeypatch):
    home.mkdir(parents=True)
    (home / "sources.toml").write_text(
        '[sources.prod]\nkind = "clickhouse"\nhost = "ch.example.org"\nport = 8443\nsecure = true\n'
        'user = "reader"\npassword_env = "PROD_PW"\ndatabase = "wspr"\n')
    monkeypatch.setenv("PROD_PW", "s3cret-pw")
    src = open_source(home, "prod")
    assert isinstance(src, HttpSource)
    assert src.identity == "clickhouses://reader@ch.example.org:8443/wspr"
    assert "s3cret" not in repr(src) and "s3cret" not in src.identity and "s3cret" not in str(vars(src).keys())
    monkeypatch.setenv("REGISTRY_CLICKHOUSE_HOST", "10.0.0.5")
    monkeypatch.setenv("REGISTRY_CLICKHOUSE_PASSWORD", "other-pw")
    monkeypatch.setenv("REGISTRY_CLICKHOUSE_DATABASE", "rbn")
    assert read_config(home)["clickhouse"]["host"] == "10.0.0.5"
    env_src = open_source(home, "clickhouse")
    assert env_src.identity == "clickhouse://default@10.0.0.5:8123/rbn" and "other-pw" not in repr(env_src)


def test_bad_config_is_one_clear_error(home):
    home.mkdir(parents=True)
    (home / "sources.toml").write_text("[sources.x\n")
    with pytest.raises(InvalidInput, match="sources.toml"):
        open_source(home, "x")
    (home / "sources.toml").write_text('[sources.x]\nkind = "ftp"\nhost = "h"\n')
    with pytest.raises(InvalidInput, match="unknown kind"):
        open_source(home, "x")
    (home / "sources.toml").write_text('[sources.x]\nhost = "h"\nport = "eighty"\n')
    with pytest.raises(InvalidInput, match="port 'eighty' is not a number"):
        open_source(home, "x")


def test_unreachable_server_is_a_source_error_without_the_password():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    src = HttpSource("down", host="127.0.0.1", port=port, password="hunter2", connect_timeout=1)
    started = time.monotonic()
    with pytest.raises(SourceError) as err:
        src.server_version()
    assert "hunter2" not in str(err.value) and "127.0.0.1" in str(err.value)
    assert str(err.value).count("\n") == 0 and len(str(err.value).split(": ")) >= 3  # says why, on one line
    assert time.monotonic() - started < 10


def test_parquet_and_csv_files_stand_in_for_tables(home, engine, cache, tmp_path):
    table = pa.table({"band": pa.array([102, 105, 107], pa.int32()), "snr": pa.array([-20.5, -3.0, 1.5])})
    pq.write_table(table, tmp_path / "sig.parquet")
    pacsv.write_csv(table, tmp_path / "sig.csv")
    spec = ExtractSpec("f", "SELECT band, snr FROM filedb.sig WHERE band >= {b:Int32} ORDER BY band")
    for name in ("sig.parquet", "sig.csv"):
        src = FileSource({"filedb.sig": tmp_path / name}, engine.path)
        ref = cache.materialise(spec, {"b": 105}, source=src, progress=False)
        assert cache.read(ref).to_pydict() == {"band": [105, 107], "snr": [-3.0, 1.5]}
        assert ref.meta["source"]["kind"] == "file" and ref.meta["source"]["identity"].startswith("file:")
    views = engine.client.query("SELECT count() FROM system.tables WHERE database = 'filedb'").result_rows
    assert views == [(0,)]  # the views lived for the query only: the embedded source never reads file rows
    first = FileSource({"filedb.sig": tmp_path / "sig.parquet"}, engine.path).identity
    pq.write_table(table.slice(0, 2), tmp_path / "sig.parquet")
    assert FileSource({"filedb.sig": tmp_path / "sig.parquet"}, engine.path).identity != first


def test_file_source_from_config_and_refusals(home, engine, db, tmp_path):
    home.mkdir(parents=True)
    pq.write_table(pa.table({"a": [1]}), home / "a.parquet")
    (home / "sources.toml").write_text(f'[sources.offline]\nkind = "file"\ntables = {{ "{db}.a" = "a.parquet" }}\n')
    src = open_source(home, "offline")
    assert isinstance(src, FileSource) and src.tables == {f"{db}.a": home / "a.parquet"}
    engine.command(f"CREATE TABLE {db}.a (a UInt8) ENGINE = Memory")
    with pytest.raises(SourceError, match="real table"):
        with src.prepared():
            pass
    with pytest.raises(InvalidInput, match="neither"):
        FileSource({"x.y": tmp_path / "a.txt"}, engine.path)
    with pytest.raises(InvalidInput, match="database.table"):
        FileSource({"bad name": tmp_path / "a.csv"}, engine.path)
    with pytest.raises(SourceError, match="does not exist"):
        _ = FileSource({"x.y": tmp_path / "missing.csv"}, engine.path).identity


def test_engine_errors_are_translated(engine):
    with pytest.raises(SourceError, match="UNKNOWN_TABLE|does not exist"):
        engine.command("SELECT * FROM no_such_db.no_such_table")


def test_a_query_failing_in_its_first_block_does_not_empty_the_next_stream(engine, db):
    from cache.spec import ExtractSpec

    engine.command(f"CREATE TABLE {db}.t (k UInt64) ENGINE = MergeTree ORDER BY k")
    engine.command(f"INSERT INTO {db}.t SELECT number FROM numbers(1000)")

    def rows(sql: str) -> int:
        with engine.stream(ExtractSpec("q", sql).bind({}, None)) as batches:
            return sum(b.num_rows for b in batches)

    with pytest.raises(SourceError, match="boom"):
        rows(f"SELECT k FROM {db}.t WHERE throwIf(k = 700, 'boom') = 0")
    assert rows(f"SELECT k FROM {db}.t WHERE k >= 995") == 5


def test_datetime_parameters_select_the_same_rows_in_any_machine_time_zone(tmp_path):
    import subprocess
    import sys

    script = """
import sys
from cache.sources import EmbeddedSource
from cache.spec import ExtractSpec
src = EmbeddedSource(sys.argv[1])
src.command("CREATE DATABASE IF NOT EXISTS tz")
src.command("CREATE TABLE IF NOT EXISTS tz.t (t DateTime('UTC')) ENGINE = MergeTree ORDER BY t")
src.command("TRUNCATE TABLE tz.t")
src.command("INSERT INTO tz.t SELECT toDateTime('2024-01-01 00:00:00', 'UTC') + number * 3600 FROM numbers(48)")
q = ExtractSpec("tz", "SELECT t FROM tz.t WHERE t >= {start:DateTime}").bind({"start": "2024-01-01 12:00:00"}, None)
names = [n for n, _ in src.describe(q)]
with src.stream(q) as batches:
    print(names, sum(b.num_rows for b in batches))
"""
    counts = set()
    for i, zone in enumerate(("UTC", "Asia/Tokyo", "America/New_York")):
        done = subprocess.run([sys.executable, "-c", script, str(tmp_path / f"engine{i}")], capture_output=True,
                              text=True, timeout=120, env={**os.environ, "TZ": zone})
        assert done.returncode == 0, done.stderr[-1000:]
        counts.add(done.stdout.strip())
    assert counts == {"['t'] 36"}  # 12:00 UTC onwards, however the machine's clock is set


class _ThroughTheClient(EmbeddedSource):
    """The embedded engine read the way a server is read: ``clickhouse-connect``'s ``query_arrow_stream``."""

    stream = ClickHouseSource.stream
    describe = ClickHouseSource.describe


def test_the_server_streaming_path_gives_the_same_rows_and_digest(engine, db, tmp_path):
    from cache.store import ExtractCache

    engine.command(f"""CREATE TABLE {db}.s (g FixedString(4), n Nullable(Int32), e Enum8('a' = 1, 'b' = 2),
        l LowCardinality(String), t DateTime('UTC')) ENGINE = MergeTree ORDER BY g""")
    engine.command(f"INSERT INTO {db}.s SELECT concat('DN', toString(10 + number % 90)), if(number % 7 = 0, NULL, "
                   f"number), 1 + number % 2, toString(number % 3), toDateTime(1700000000 + number) FROM numbers(5000)")
    spec = ExtractSpec("s", f"SELECT * FROM {db}.s WHERE t >= {{start:DateTime}} ORDER BY g, t",
                       params={"start": "2023-11-14 22:13:20"})
    ours = ExtractCache(tmp_path / "a").materialise(spec, source=engine, progress=False)
    theirs = ExtractCache(tmp_path / "b").materialise(spec, source=_ThroughTheClient(engine.path), progress=False)
    assert ours.rows == theirs.rows == 5000 and ours.digest == theirs.digest
    assert ours.meta["columns"] == theirs.meta["columns"]
