"""ClickHouse types arrive in DuckDB with the right types; fill values become NULL and are counted."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pyarrow as pa
import pytest

from cache.spec import ExtractSpec
from cache.types import plan_column, plan_query
from registry.errors import InvalidInput, SourceError


def test_every_supported_type_lands_with_its_duckdb_type(engine, db, cache):
    engine.command(f"""CREATE TABLE {db}.k (
        id UInt32, grid FixedString(4), pad FixedString(6), nfix Nullable(FixedString(3)),
        seen DateTime, seen_tz DateTime('Asia/Tokyo'), ms DateTime64(3), day Date, old Date32,
        mode Enum8('FT8' = 1, 'WSPR' = -2), big Enum16('a' = -300, 'b' = 1000), lc LowCardinality(String),
        lcn LowCardinality(Nullable(String)), ns Nullable(Float32), flag Bool, money Decimal(10, 3)
    ) ENGINE = MergeTree ORDER BY id""")
    engine.command(f"""INSERT INTO {db}.k VALUES
        (1, 'DN46', 'AB', 'XY', '2024-05-11 03:04:05', '2024-05-11 03:04:05', '2024-05-11 03:04:05.678',
         '2024-05-11', '1957-10-01', 'WSPR', 'b', 'lc', NULL, NULL, true, 12.345),
        (2, 'IO91', 'ABCDEF', NULL, '1970-01-01 00:00:00', '2000-01-01 00:00:00', '2000-01-01 00:00:00.001',
         '1970-01-01', '2200-01-01', 'FT8', 'a', 'x', 'y', 1.5, false, -1.5)""")
    spec = ExtractSpec("k", f"SELECT * FROM {db}.k ORDER BY id")
    ref = cache.materialise(spec, source=engine, progress=False)
    con = cache.connect(ref)
    try:
        types = dict((r[0], r[1]) for r in con.execute("DESCRIBE data").fetchall())
        stored = con.sql("SELECT * FROM data").to_arrow_table()
    finally:
        con.close()
    assert cache.read(ref).equals(stored) and cache.read(ref).schema == stored.schema  # the Arrow copy: same types
    assert types == {"id": "UINTEGER", "grid": "VARCHAR", "pad": "VARCHAR", "nfix": "VARCHAR",
                     "seen": "TIMESTAMP", "seen_tz": "TIMESTAMP", "ms": "TIMESTAMP", "day": "DATE", "old": "DATE",
                     "mode": "VARCHAR", "big": "VARCHAR", "lc": "VARCHAR", "lcn": "VARCHAR", "ns": "FLOAT",
                     "flag": "BOOLEAN", "money": "DECIMAL(10,3)"}
    rows = cache.read(ref).to_pylist()
    assert rows[0]["grid"] == "DN46" and rows[0]["pad"] == "AB" and rows[1]["pad"] == "ABCDEF"
    assert rows[0]["nfix"] == "XY" and rows[1]["nfix"] is None
    assert rows[0]["seen"] == datetime(2024, 5, 11, 3, 4, 5)  # the UTC instant, as TIMESTAMP
    assert rows[0]["seen_tz"] == datetime(2024, 5, 10, 18, 4, 5)  # Tokyo 03:04 is 18:04 UTC the day before
    assert rows[1]["seen"] == datetime(1970, 1, 1)
    assert rows[0]["ms"] == datetime(2024, 5, 11, 3, 4, 5, 678000)
    assert rows[0]["old"] == date(1957, 10, 1) and rows[1]["old"] == date(2200, 1, 1)
    assert [r["mode"] for r in rows] == ["WSPR", "FT8"] and [r["big"] for r in rows] == ["b", "a"]
    assert [r["lcn"] for r in rows] == [None, "y"] and [r["ns"] for r in rows] == [None, 1.5]
    assert rows[0]["money"] == Decimal("12.345") and rows[1]["flag"] is False
    assert [c[2] for c in ref.meta["columns"]][:2] == ["UInt32", "FixedString(4)"]


def test_fill_values_become_null_and_are_counted(engine, db, cache):
    engine.command(f"CREATE TABLE {db}.f (kp Float32, sfi Int32, dist UInt32, tag String) "
                   "ENGINE = MergeTree ORDER BY tuple()")
    engine.command(f"INSERT INTO {db}.f VALUES (99.9, -1, 9999, 'x'), (3.3, 150, 9999, 'n/a'), (99.9, -1, 12, 'y'),"
                   " (4.0, 70, 5, 'z')")
    spec = ExtractSpec("f", f"SELECT * FROM {db}.f",
                       fill_values={"kp": (99.9,), "sfi": (-1, 9999), "dist": (9999,), "tag": ("n/a",)})
    ref = cache.materialise(spec, source=engine, progress=False)
    assert ref.meta["filled"] == {"dist": 2, "kp": 2, "sfi": 2, "tag": 1}
    table = cache.read(ref, verify=True)
    assert table["kp"].null_count == 2 and table["sfi"].null_count == 2 and table["tag"].null_count == 1
    assert sorted(v for v in table["sfi"].to_pylist() if v is not None) == [70, 150]


def test_unsupported_types_and_bad_fill_values_are_refused():
    with pytest.raises(InvalidInput, match="toString"):
        plan_column("a", "Array(Int32)")
    with pytest.raises(InvalidInput, match="toString"):
        plan_column("u", "UUID")
    with pytest.raises(InvalidInput, match="do not fit"):
        plan_column("b", "UInt8", fill=("lots",))
    with pytest.raises(InvalidInput, match="not return"):
        plan_query([("a", "UInt8")], {"b": (1,)})
    with pytest.raises(InvalidInput, match="duplicate"):
        plan_query([("a", "UInt8"), ("a", "UInt8")], {})


def test_declared_schema_is_checked_before_rows_move(engine, db, cache):
    engine.command(f"CREATE TABLE {db}.s (a UInt8, b String) ENGINE = MergeTree ORDER BY a")
    spec = ExtractSpec("s", f"SELECT a, b FROM {db}.s", schema=(("a", "UInt8"), ("b", "FixedString(4)")))
    with pytest.raises(SourceError, match="b.*String.*FixedString"):
        cache.materialise(spec, source=engine, progress=False)
    assert cache.list() == []
    ok = ExtractSpec("s", spec.sql, schema=(("a", "UInt8"), ("b", "String")))
    assert cache.materialise(ok, source=engine, progress=False).rows == 0


def test_dictionary_encoded_strings_are_decoded():
    conv = plan_query([("lc", "LowCardinality(String)")], {})
    batch = pa.record_batch([pa.array(["a", "b", "a"]).dictionary_encode()], names=["lc"])
    assert conv.convert(batch).column(0).to_pylist() == ["a", "b", "a"]


def test_enum_labels_with_quotes_backslashes_and_newlines_arrive_as_written(engine, db, cache):
    engine.command(f"CREATE TABLE {db}.e (k UInt8, e Enum8('a\\\\b' = 1, 'it''s' = 2, 'x\\ny' = 3)) "
                   "ENGINE = MergeTree ORDER BY k")
    engine.command(f"INSERT INTO {db}.e VALUES (1, 1), (2, 2), (3, 3)")
    spec = ExtractSpec("e", f"SELECT k, e, toString(e) AS s FROM {db}.e ORDER BY k")
    rows = cache.read(cache.materialise(spec, source=engine, progress=False)).to_pydict()
    assert rows["e"] == rows["s"] == ["a\\b", "it's", "x\ny"]


@pytest.mark.parametrize("column", ["unhex('FFFE')", "toFixedString(unhex('FFFE'), 2)"])
def test_text_that_is_not_utf8_is_one_clear_error_naming_the_column(engine, db, cache, column):
    spec = ExtractSpec("bad", f"SELECT number AS k, {column} AS raw FROM numbers(3)")
    with pytest.raises(SourceError, match=r"column 'raw' .* not UTF-8.*toValidUTF8\(raw\)"):
        cache.materialise(spec, source=engine, progress=False)
    assert cache.list() == []


def test_column_names_that_differ_only_by_case_are_refused(engine, cache):
    spec = ExtractSpec("cased", "SELECT number AS A, number * 2 AS a FROM numbers(3)")
    with pytest.raises(InvalidInput, match="'A' and 'a'.*alias one"):
        cache.materialise(spec, source=engine, progress=False)
    assert cache.list() == []
