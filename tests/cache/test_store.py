"""The extract cache: hits, records, digests, atomic writes, interruption, concurrency and integrity."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cache.lock import WriterLock
from cache.sources import EmbeddedSource
from cache.spec import ExtractSpec
from cache.store import ExtractCache
from registry.errors import CatalogBusy, DataMissing, IntegrityError, InvalidInput

ENGINE_SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _signatures(engine: EmbeddedSource, db: str, n: int = 5000) -> ExtractSpec:
    engine.command(f"""CREATE TABLE {db}.sig (tx_grid_4 FixedString(4), rx_grid_4 FixedString(4), band Int32,
        hour UInt8, median_snr Float32, spot_count UInt32) ENGINE = MergeTree ORDER BY (band, hour)""")
    engine.command(f"""INSERT INTO {db}.sig SELECT concat('DN', toString(10 + number % 80)), 'IO91', 102 + number % 10,
        number % 24, (number % 400) / 10 - 20, 1 + number % 50 FROM numbers({n})""")
    return ExtractSpec("sig", f"SELECT * FROM {db}.sig WHERE band >= {{band:Int32}} AND hour < {{hour:UInt8}}",
                       params={"band": 102, "hour": 24})


def test_second_request_is_a_cache_hit_with_a_full_record(engine, db, cache):
    spec = _signatures(engine, db)
    ref = cache.materialise(spec, {"band": 105}, source=engine, progress=False)
    assert ref.rows == 3500 and ref.params == {"band": 105, "hour": 24}
    assert ref.meta["server_version"] == engine.server_version() and ref.meta["source"]["name"] == "embedded"
    assert [c[0] for c in ref.meta["columns"]][:3] == ["tx_grid_4", "rx_grid_4", "band"]
    assert ref.created_at.endswith("+00:00") and Path(ref.path).is_file()
    again = cache.materialise(spec, {"band": "105"}, source=_Interrupting(engine.path, ConnectionResetError()),
                              progress=False)
    assert again == ref  # a hit reads no rows (this source would fail if it did)
    assert cache.by_key(ref.key) == ref and cache.by_key(ref.key[:8]) == ref and cache.latest("sig") == ref
    assert cache.by_key("zzzzzz") is None and cache.latest("other") is None
    table = cache.read(ref, verify=True)
    assert table.num_rows == 3500 and set(table["rx_grid_4"].to_pylist()) == {"IO91"}


def test_same_request_gives_the_same_digest_and_a_changed_row_changes_it(engine, db, cache, home):
    spec = _signatures(engine, db)
    first = cache.materialise(spec, source=engine, progress=False)
    other = ExtractCache(home / "elsewhere").materialise(spec, source=engine, progress=False)
    assert (other.key, other.digest) == (first.key, first.digest)
    engine.command(f"ALTER TABLE {db}.sig UPDATE median_snr = median_snr + 0.5 WHERE spot_count = 7 AND band = 108 "
                   "SETTINGS mutations_sync = 1")
    changed = cache.materialise(spec, source=engine, progress=False)  # the table's state is in the key
    assert changed.key != first.key and changed.digest != first.digest and changed.rows == first.rows
    assert cache.latest(spec.name) == changed and cache.list() == [first, changed]
    assert cache.by_digest(first.key, first.digest) == first and cache.by_digest(first.key, "0" * 64) is None


def test_a_refresh_keeps_the_rows_it_replaces(engine, pinned, db, cache):
    spec = _signatures(engine, db)
    first = cache.materialise(spec, source=pinned, progress=False)
    engine.command(f"ALTER TABLE {db}.sig UPDATE median_snr = median_snr + 0.5 WHERE spot_count = 7 AND band = 108 "
                   "SETTINGS mutations_sync = 1")
    assert cache.materialise(spec, source=pinned, progress=False) == first  # a server's rows are pinned
    changed = cache.materialise(spec, source=pinned, refresh=True, progress=False)
    assert changed.key == first.key and changed.digest != first.digest and changed.rows == first.rows
    assert cache.list() == [changed] and cache.latest(spec.name) == changed  # the newest rows serve new requests
    assert Path(first.path).exists() and cache.by_digest(first.key, first.digest) == first  # old rows kept


def test_the_embedded_key_follows_the_tables_the_query_reads(engine, db, cache):
    spec = _signatures(engine, db, n=200)
    first = cache.materialise(spec, source=engine, progress=False)
    engine.command(f"CREATE TABLE {db}.other (x UInt8) ENGINE = MergeTree ORDER BY x")
    engine.command(f"INSERT INTO {db}.other VALUES (1)")
    engine.command(f"OPTIMIZE TABLE {db}.sig FINAL")  # merges keep the rows, and the key
    assert cache.materialise(spec, source=engine, progress=False) == first
    engine.command(f"INSERT INTO {db}.sig VALUES ('AA00', 'BB11', 110, 1, 0, 1)")
    grown = cache.materialise(spec, source=engine, progress=False)
    assert grown.key != first.key and grown.rows == first.rows + 1
    engine.command(f"DELETE FROM {db}.sig WHERE tx_grid_4 = 'AA00'")  # a lightweight delete is a new state
    shrunk = cache.materialise(spec, source=engine, progress=False)
    assert shrunk.key not in (first.key, grown.key) and shrunk.digest == first.digest
    engine.command(f"DROP TABLE {db}.sig")  # the same rows loaded again into a new table: a new state
    _signatures(engine, db, n=200)
    again = cache.materialise(spec, source=engine, progress=False)
    assert again.key not in (first.key, grown.key, shrunk.key) and again.digest == first.digest


def test_the_embedded_key_follows_tables_named_by_parameters_and_views(engine, db, cache):
    engine.command(f"CREATE TABLE {db}.a (v UInt32) ENGINE = MergeTree ORDER BY v")
    engine.command(f"INSERT INTO {db}.a VALUES (1), (2)")
    by_name = ExtractSpec("by-name", "SELECT v FROM {d:Identifier}.{t:Identifier}", params={"d": db, "t": "a"})
    engine.command(f"CREATE VIEW {db}.va AS SELECT v FROM {db}.a")
    by_view = ExtractSpec("by-view", f"SELECT v FROM {db}.va")
    one, view = (cache.materialise(s, source=engine, progress=False) for s in (by_name, by_view))
    engine.command(f"INSERT INTO {db}.a VALUES (3)")
    two, view2 = (cache.materialise(s, source=engine, progress=False) for s in (by_name, by_view))
    assert (one.rows, two.rows, view.rows, view2.rows) == (2, 3, 2, 3) and two.key != one.key


@ENGINE_SETTINGS
@given(st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=30, unique=True), st.data())
def test_digest_property_against_the_engine(engine, db, tmp_path_factory, values, data):
    home = tmp_path_factory.mktemp("prop")
    engine.command(f"CREATE OR REPLACE TABLE {db}.p (v UInt32, s String) ENGINE = MergeTree ORDER BY v")
    engine.command(f"INSERT INTO {db}.p SELECT arrayJoin({{vs:Array(UInt32)}}) AS v, toString(v)",
                   {"vs": values})
    spec = ExtractSpec("p", f"SELECT v, s FROM {db}.p")
    a = ExtractCache(home / "a").materialise(spec, source=engine, progress=False)
    b = ExtractCache(home / "b").materialise(spec, source=engine, progress=False)
    assert a.digest == b.digest and a.rows == len(values)
    victim = data.draw(st.sampled_from(values))
    engine.command(f"ALTER TABLE {db}.p UPDATE s = concat(s, '!') WHERE v = {{v:UInt32}} SETTINGS mutations_sync = 1",
                   {"v": victim})
    c = ExtractCache(home / "c").materialise(spec, source=engine, progress=False)
    assert c.key != a.key and c.digest != a.digest and c.rows == a.rows


def test_malformed_parameters_write_nothing(engine, db, cache):
    spec = _signatures(engine, db)
    for bad in ({"band": "1e3"}, {"hour": 256}, {"nope": 1}, {"band": "'; DROP TABLE x"}):
        with pytest.raises(InvalidInput):
            cache.materialise(spec, bad, source=engine, progress=False)
    assert not cache.root.exists() or list(cache.root.iterdir()) == []


class _Interrupting(EmbeddedSource):
    """The real engine, but the stream breaks after the first batch (Ctrl-C or a lost connection)."""

    def __init__(self, path: Path, error: BaseException) -> None:
        super().__init__(path)
        self.error = error

    @contextlib.contextmanager
    def stream(self, query):
        with super().stream(query) as batches:
            def broken():
                for i, batch in enumerate(batches):
                    if i == 1:
                        raise self.error
                    yield batch
            yield broken()


@pytest.mark.parametrize("error", [KeyboardInterrupt(), ConnectionResetError("peer went away")])
def test_interrupted_extract_leaves_nothing_and_reruns_cleanly(engine, db, cache, error):
    spec = ExtractSpec("big", "SELECT number AS n, toString(number) AS s FROM numbers({n:UInt64}) "
                       "SETTINGS max_block_size = 50000", params={"n": 300000})
    with pytest.raises(type(error)):
        cache.materialise(spec, source=_Interrupting(engine.path, error), progress=False)
    assert cache.list() == [] and sorted(p.name for p in cache.root.iterdir()) == [".write.lock"]
    ref = cache.materialise(spec, source=engine, progress=False)
    assert ref.rows == 300000 and cache.read(ref)["n"].to_pylist()[:1] is not None


def _slow_writer(tmp_path: Path, rows: int, **popen: object) -> subprocess.Popen:
    """A child process extracting ``rows`` slow rows into ``tmp_path / "home"``, returned once it is writing."""
    home = tmp_path / "home"
    script = f"""
from cache.sources import EmbeddedSource
from cache.spec import ExtractSpec
from cache.store import ExtractCache
src = EmbeddedSource({str(tmp_path / 'engine')!r})
spec = ExtractSpec("slow", "SELECT number AS n, sleepEachRow(0.0002) AS z FROM numbers({rows}) "
                           "SETTINGS max_block_size = 500")
ExtractCache({str(home)!r}).materialise(spec, source=src, progress=False)
print("finished", flush=True)
"""
    writer = subprocess.Popen([sys.executable, "-c", script], text=True, **popen)  # type: ignore[call-overload]
    deadline = time.monotonic() + 60
    while not list((home / "extracts").glob(".tmp-*.duckdb")):
        if writer.poll() is not None or time.monotonic() > deadline:
            writer.kill()
            raise AssertionError("the writer never started writing")
        time.sleep(0.05)
    return writer


def test_killed_writer_leaves_no_visible_extract(tmp_path):
    home = tmp_path / "home"
    writer = _slow_writer(tmp_path, 100_000, stdout=subprocess.PIPE)
    try:
        time.sleep(0.3)
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    finally:
        writer.kill()
        writer.wait()
    cache = ExtractCache(home)
    assert cache.list() == [] and list((home / "extracts").glob("*.json")) == []
    assert list((home / "extracts").glob(".tmp-*"))  # the corpse is there, but invisible
    with WriterLock(cache.root / ".write.lock", 1):  # and its lock died with it
        cache._sweep()
    assert not list((home / "extracts").glob(".tmp-*"))


def test_ctrl_c_stops_a_slow_extract_at_once_and_leaves_nothing(tmp_path):
    # a slow source fills a batch in minutes: the producer must stop between blocks, not after the batch
    writer = _slow_writer(tmp_path, 2_000_000, stderr=subprocess.PIPE,
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        time.sleep(0.5)
        sent = time.monotonic()
        writer.send_signal(signal.SIGINT)
        _, err = writer.communicate(timeout=30)
        stopped = time.monotonic() - sent
    finally:
        writer.kill()
        writer.wait()
    assert writer.returncode != 0 and "KeyboardInterrupt" in err and stopped < 10, (stopped, err[-500:])
    assert sorted(p.name for p in (tmp_path / "home" / "extracts").iterdir()) == [".write.lock"]


def test_busy_writer_times_out_but_readers_are_not_blocked(engine, db, home):
    cache = ExtractCache(home, lock_timeout=0.3)
    spec = _signatures(engine, db)
    done = cache.materialise(spec, source=engine, progress=False)
    with WriterLock(cache.root / ".write.lock", 1, what="extract other"):
        assert cache.read(done).num_rows == done.rows  # reading a finished extract needs no lock
        assert cache.materialise(spec, source=engine, progress=False) == done  # nor does a cache hit
        with pytest.raises(CatalogBusy, match="extract other"):
            cache.materialise(spec, {"band": 110}, source=engine, progress=False)


def test_read_detects_tampering_and_missing_files(engine, db, cache):
    spec = _signatures(engine, db, n=100)
    ref = cache.materialise(spec, source=engine, progress=False)
    entry = cache.root / f"{ref.key}.json"
    record = json.loads(entry.read_text())
    entry.write_text(json.dumps({**record, "rows": ref.rows + 1}))
    with pytest.raises(IntegrityError, match="rows"):
        cache.read(cache.by_key(ref.key))
    entry.write_text(json.dumps({**record, "digest": "0" * 64}))
    with pytest.raises(IntegrityError, match="digest"):
        cache.read(cache.by_key(ref.key))
    entry.write_text(json.dumps(record))
    os.unlink(ref.path)
    assert cache.by_key(ref.key) is None
    with pytest.raises(DataMissing):
        cache.read(ref)


def test_lost_index_entry_is_recovered_from_the_file(engine, db, cache):
    ref = cache.materialise(_signatures(engine, db, n=100), source=engine, progress=False)
    (cache.root / f"{ref.key}.json").unlink()
    assert cache.list() == []
    assert cache.by_key(ref.key) == ref and cache.list() == [ref]


def test_recovery_takes_the_newest_rows_of_a_refreshed_key(engine, pinned, db, cache):
    spec = _signatures(engine, db, n=100)
    old = cache.materialise(spec, source=pinned, progress=False)
    engine.command(f"INSERT INTO {db}.sig VALUES ('AA00', 'BB11', 110, 1, 0, 1)")
    new = cache.materialise(spec, source=pinned, refresh=True, progress=False)
    assert new.key == old.key and new.digest != old.digest
    (cache.root / f"{new.key}.json").unlink()
    assert cache.by_key(new.key) == new  # not whichever file name sorts first


def test_sweep_spares_files_of_live_processes(engine, db, cache):
    cache.materialise(_signatures(engine, db, n=10), source=engine, progress=False)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live = cache.root / f".tmp-{os.getpid()}-abc.json"
    gone = cache.root / f".tmp-{dead.pid}-abc.json"
    for f in (live, gone):
        f.write_text("{}")
    cache._sweep()
    assert live.exists() and not gone.exists()
    live.unlink()


def test_verify_reports_whether_the_source_changed(engine, db, cache):
    spec = _signatures(engine, db, n=1000)
    ref = cache.materialise(spec, {"band": 104}, source=engine, progress=False)
    same, message = cache.verify(spec, ref, source=engine)
    assert same and message.startswith("unchanged: 800 rows")
    engine.command(f"INSERT INTO {db}.sig VALUES ('AA00', 'BB11', 110, 1, 0, 1)")
    same, message = cache.verify(spec, ref, source=engine)
    assert not same and "801 rows (recorded 800)" in message
    assert cache.read(ref).num_rows == 800  # verification never touches the cache


def test_list_is_ordered_and_keys_separate_requests(engine, db, cache):
    spec = _signatures(engine, db, n=100)
    a = cache.materialise(spec, {"band": 103}, source=engine, progress=False)
    b = cache.materialise(spec, {"band": 104}, source=engine, progress=False)
    assert a.key != b.key and cache.list() == [a, b] and cache.latest("sig") == b
    assert cache.key_for(spec, {"band": 103}, source=engine) == a.key


def _rewrite_copy(path: Path, change) -> None:  # noqa: ANN001 - a test helper: rewrite an Arrow copy's rows
    import pyarrow as pa
    import pyarrow.ipc as ipc

    reader = ipc.open_file(pa.OSFile(str(path)))
    meta = reader.metadata
    trailer = reader.get_batch_with_custom_metadata(reader.num_record_batches - 1)
    table = change(reader.read_all())
    with pa.OSFile(str(path) + ".new", "wb") as sink, ipc.new_file(sink, reader.schema, metadata=meta) as w:
        for batch in table.to_batches():
            w.write_batch(batch)
        w.write_batch(trailer.batch, custom_metadata=trailer.custom_metadata)
    os.replace(str(path) + ".new", path)


def test_reads_come_from_the_arrow_copy_and_equal_the_duckdb_rows(engine, db, cache, caplog):
    import pyarrow as pa
    import pyarrow.compute as pc

    spec = _signatures(engine, db, n=3000)
    ref = cache.materialise(spec, source=engine, progress=False)
    side = Path(ref.path).with_suffix(".arrow")
    assert side.is_file()
    con = cache.connect(ref)
    try:
        stored = con.sql("SELECT * FROM data").to_arrow_table()
    finally:
        con.close()
    table = cache.read(ref, verify=True)
    assert table.equals(stored) and table.schema == stored.schema and not caplog.records
    # the copy is what ``read`` returns: rows changed in it (record kept) come back unless verified
    _rewrite_copy(side, lambda t: t.set_column(2, "band", pc.add(t["band"], pa.scalar(1, t["band"].type))))
    assert cache.read(ref)["band"].to_pylist() != stored["band"].to_pylist()
    assert cache.read(ref, verify=True).equals(stored)  # verified: the DuckDB file decides
    assert "ignoring its Arrow copy" in caplog.text and "content digest" in caplog.text
    caplog.clear()
    side.write_bytes(side.read_bytes()[: side.stat().st_size // 2])  # a torn copy is reported and skipped
    assert cache.read(ref).equals(stored) and "ignoring its Arrow copy" in caplog.text
    side.unlink()  # the copy is disposable
    assert cache.read(ref, verify=True).equals(stored)


def test_the_arrow_copy_is_bound_to_its_record(engine, db, cache, caplog):
    spec = _signatures(engine, db, n=300)
    a = cache.materialise(spec, {"band": 104}, source=engine, progress=False)
    b = cache.materialise(spec, {"band": 108}, source=engine, progress=False)
    os.replace(Path(b.path).with_suffix(".arrow"), Path(a.path).with_suffix(".arrow"))  # b's rows under a's name
    assert a.rows != b.rows and cache.read(a).num_rows == a.rows and "file records key" in caplog.text


def test_the_embedded_key_follows_tables_without_uuids_or_block_numbers(engine, db, cache):
    table = f"default.keyed_{db}"  # chDB's default database has no UUIDs: a re-created table looks the same
    mem = ExtractSpec("mem", f"SELECT * FROM {db}.m")
    tiny = ExtractSpec("tiny", f"SELECT * FROM {db}.tl")
    plain = ExtractSpec("plain", f"SELECT * FROM {table}")
    engine.command(f"CREATE TABLE {db}.m (a UInt32, b String) ENGINE = Memory")
    engine.command(f"CREATE TABLE {db}.tl (a UInt32) ENGINE = TinyLog")
    engine.command(f"CREATE TABLE {table} (a UInt32) ENGINE = MergeTree ORDER BY a")
    try:
        engine.command(f"INSERT INTO {db}.m VALUES (1, 'x'), (2, 'y')")
        engine.command(f"INSERT INTO {db}.tl VALUES (1)")
        engine.command(f"INSERT INTO {table} VALUES (1), (2)")
        before = {s.name: cache.materialise(s, source=engine, progress=False) for s in (mem, tiny, plain)}
        assert all(cache.materialise(s, source=engine, progress=False) == before[s.name]
                   for s in (mem, tiny, plain))  # unchanged tables: hits
        engine.command(f"TRUNCATE TABLE {db}.m")
        engine.command(f"INSERT INTO {db}.m VALUES (1, 'x'), (2, 'z')")  # same count, other rows
        engine.command(f"INSERT INTO {db}.tl VALUES (2)")  # TinyLog reports no row count at all
        engine.command(f"DROP TABLE {table} SYNC")
        engine.command(f"CREATE TABLE {table} (a UInt32) ENGINE = MergeTree ORDER BY a")
        engine.command(f"INSERT INTO {table} VALUES (1), (3)")  # same count, same block number, new rows
        for spec in (mem, tiny, plain):
            after = cache.materialise(spec, source=engine, progress=False)
            assert after.key != before[spec.name].key and after.digest != before[spec.name].digest, spec.name
    finally:
        engine.command(f"DROP TABLE IF EXISTS {table}")


def test_table_functions_and_engines_the_key_cannot_see_through(engine, db, cache):
    engine.command(f"CREATE TABLE {db}.x1 (v UInt32) ENGINE = MergeTree ORDER BY v")
    engine.command(f"INSERT INTO {db}.x1 VALUES (1)")
    merged = ExtractSpec("merged", f"SELECT v FROM merge('{db}', '^x')")  # names its tables by a regex
    first = cache.materialise(merged, source=engine, progress=False)
    assert cache.materialise(merged, source=engine, progress=False) == first
    engine.command(f"INSERT INTO {db}.x1 VALUES (2)")
    assert cache.materialise(merged, source=engine, progress=False).rows == 2
    engine.command(f"CREATE TABLE {db}.s (v UInt32) ENGINE = Set")
    with_set = ExtractSpec("with-set", f"SELECT v FROM {db}.x1 WHERE v IN {db}.s")
    a = cache.materialise(with_set, source=engine, progress=False)
    assert cache.materialise(with_set, source=engine, progress=False).key != a.key  # a Set: never a hit


def test_the_arrow_copy_is_best_effort_and_never_left_alone(engine, db, cache, caplog, monkeypatch):
    import cache.store as store

    def refuse(self, batch):  # noqa: ANN001, ANN202 - a fault injected into the copy only (e.g. a full disk)
        raise OSError(28, "No space left on device")

    spec = ExtractSpec("n", "SELECT number AS n, toString(number) AS s FROM numbers(100)")
    with monkeypatch.context() as m:
        m.setattr(store._ArrowCopy, "_append", refuse)
        ref = cache.materialise(spec, source=engine, progress=False)
    assert ref.rows == 100 and not Path(ref.path).with_suffix(".arrow").exists()
    assert "not writing its Arrow copy" in caplog.text and cache.read(ref, verify=True).num_rows == 100
    assert not list(cache.root.glob(".tmp-*"))
    sig = _signatures(engine, db, n=50)
    good = cache.materialise(sig, source=engine, progress=False)
    orphan = cache.root / "0123456789abcdef-0123456789abcdef.arrow"  # an interrupted rename's leftover
    orphan.write_bytes(b"x")
    cache.materialise(sig, {"band": 104}, source=engine, progress=False)  # the next writer sweeps it
    assert not orphan.exists() and Path(good.path).with_suffix(".arrow").exists()


def test_prune_keeps_the_newest_rows_of_each_request_and_what_is_pinned(engine, pinned, db, cache):
    spec = _signatures(engine, db, n=100)
    old = cache.materialise(spec, source=pinned, progress=False)
    engine.command(f"INSERT INTO {db}.sig VALUES ('AA00', 'BB11', 110, 1, 0, 1)")
    mid = cache.materialise(spec, source=pinned, refresh=True, progress=False)
    engine.command(f"INSERT INTO {db}.sig VALUES ('AA01', 'BB11', 110, 1, 0, 1)")
    new = cache.materialise(spec, source=pinned, refresh=True, progress=False)
    other = cache.materialise(spec, {"band": 110}, source=pinned, progress=False)
    assert len({old.path, mid.path, new.path}) == 3
    would = cache.prune({(old.key, old.digest)}, dry_run=True)
    assert {p.name for p, _ in would} == {Path(mid.path).name, Path(mid.path).with_suffix(".arrow").name}
    assert Path(mid.path).exists() and all(n > 0 for _, n in would)  # a dry run removes nothing
    removed = cache.prune({(old.key, old.digest)})
    assert removed == would and not Path(mid.path).exists() and not Path(mid.path).with_suffix(".arrow").exists()
    assert cache.by_digest(old.key, old.digest) == old  # pinned: a stored run can still be repeated on it
    assert cache.by_key(new.key) == new and cache.read(other).num_rows == other.rows
    assert cache.prune(set()) and cache.by_digest(old.key, old.digest) is None and cache.by_key(new.key) == new


def test_prune_drops_the_rows_of_embedded_tables_that_changed(engine, db, cache):
    spec = _signatures(engine, db, n=100)
    before = cache.materialise(spec, source=engine, progress=False)
    engine.command(f"INSERT INTO {db}.sig VALUES ('AA00', 'BB11', 110, 1, 0, 1)")
    after = cache.materialise(spec, source=engine, progress=False)  # the state changed: a new key
    assert after.key != before.key and cache.by_key(before.key) == before
    removed = {p.name for p, _ in cache.prune(set())}
    assert removed == {f"{before.key}.json", Path(before.path).name, Path(before.path).with_suffix(".arrow").name}
    assert cache.list() == [after] and cache.by_key(before.key) is None


def test_rows_keep_the_order_sent_across_batches(engine, cache):
    spec = ExtractSpec("ordered", "SELECT number AS n, toString(number % 7) AS s FROM numbers(1100000) "
                       "ORDER BY n DESC")  # more than two batches, in an order DuckDB would not choose itself
    ref = cache.materialise(spec, source=engine, progress=False)
    con = cache.connect(ref)
    try:
        stored = con.sql("SELECT n FROM data").to_arrow_table()["n"].to_numpy()  # physical order, no ORDER BY
    finally:
        con.close()
    expected = np.arange(1_099_999, -1, -1)
    assert (stored == expected).all() and (cache.read(ref)["n"].to_numpy() == expected).all()
