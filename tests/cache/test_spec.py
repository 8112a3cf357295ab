"""Extract specs: placeholders, parameter binding, split windows (leakage) and deterministic samples."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cache.spec import ExtractSpec, Sample, Window, check_no_leakage
from cache.store import ExtractCache
from registry.errors import InvalidInput

SQL = "SELECT number AS n FROM numbers(100) WHERE number >= {lo:UInt32} AND toString(number) != {s:String}"


def test_placeholders_and_types():
    spec = ExtractSpec("x", SQL, params={"lo": 3})
    assert spec.placeholders() == {"lo": "UInt32", "s": "String"}


@pytest.mark.parametrize("kwargs, message", [
    ({"sql": "SELECT {__x:UInt8}"}, "reserved"),
    ({"sql": SQL, "params": {"nope": 1}}, "not in the SQL"),
    ({"sql": "SELECT {a:UInt8} + {a:Int8}"}, "two types"),
    ({"sql": SQL, "windows": (Window("train", "2020-01-01", "2021-01-01"),)}, "time_column"),
])
def test_malformed_specs_are_refused(kwargs, message):
    with pytest.raises(InvalidInput, match=message):
        ExtractSpec("x", **kwargs)


def test_bind_reports_unknown_and_missing_parameters():
    spec = ExtractSpec("x", SQL, params={"lo": 3})
    with pytest.raises(InvalidInput, match="no parameter"):
        spec.bind({"hi": 1})
    with pytest.raises(InvalidInput, match="needs parameter"):
        spec.bind({})
    bound = spec.bind({"s": "7"})
    assert bound.params == {"lo": 3, "s": "7"} and bound.public_params == {"lo": 3, "s": "7"}


@given(st.integers(0, 2**32 - 1), st.text())
def test_sql_text_never_depends_on_values(lo, s):
    spec = ExtractSpec("x", SQL, sample=Sample(("n",), 7, 2), time_column="n",
                       windows=(Window("train", "2020-01-01", "2021-01-01"),))
    reference = spec.bind({"lo": 0, "s": ""}, split="train").sql
    bound = spec.bind({"lo": lo, "s": s}, split="train")
    assert bound.sql == reference
    assert s not in bound.sql or s in reference


def test_overlapping_evaluation_window_is_leakage():
    train = Window("train", "2020-01-01", "2022-01-01")
    with pytest.raises(InvalidInput, match="leakage.*'test'.*'train'"):
        check_no_leakage([train, Window("test", "2021-12-31", "2023-01-01")])
    with pytest.raises(InvalidInput, match="leakage"):
        ExtractSpec("x", SQL, time_column="t", windows=(train, Window("validation", "2019-01-01", "2020-06-01")))
    check_no_leakage([train, Window("validation", "2022-01-01", "2022-06-01"), Window("test", "2019-01-01",
                                                                                      "2020-01-01")])


def test_windows_are_checked():
    with pytest.raises(InvalidInput, match="empty"):
        check_no_leakage([Window("train", "2021-01-01", "2020-01-01")])
    with pytest.raises(InvalidInput, match="ISO"):
        check_no_leakage([Window("train", "yesterday", "2020-01-01")])
    with pytest.raises(InvalidInput, match="distinct"):
        check_no_leakage([Window("test", "2020-01-01", "2020-02-01"), Window("test", "2021-01-01", "2021-02-01")])
    with pytest.raises(InvalidInput, match="no split window 'val'"):
        ExtractSpec("x", SQL, time_column="t", windows=(Window("train", "2020-01-01", "2021-01-01"),)).bind(
            {"lo": 1, "s": ""}, split="val")


def test_sample_arguments_are_checked():
    with pytest.raises(InvalidInput):
        Sample(("a",), modulus=10, keep=11)
    with pytest.raises(InvalidInput):
        Sample(("a; DROP TABLE x",), modulus=10)
    with pytest.raises(InvalidInput):
        Sample((), modulus=10)


def test_split_windows_select_rows_of_their_window(engine, db, cache):
    engine.command(f"CREATE TABLE {db}.obs (t DateTime, v UInt32) ENGINE = MergeTree ORDER BY t")
    engine.command(f"INSERT INTO {db}.obs SELECT toDateTime('2019-12-31 00:00:00', 'UTC') + number * 86400, number "
                   "FROM numbers(800)")
    spec = ExtractSpec("obs", f"SELECT t, v FROM {db}.obs", time_column="t", windows=(
        Window("train", "2020-01-01", "2021-01-01"), Window("test", "2021-01-01", "2021-02-01")))
    train = cache.read(cache.materialise(spec, source=engine, split="train", progress=False))
    test = cache.read(cache.materialise(spec, source=engine, split="test", progress=False))
    assert train.num_rows == 366 and test.num_rows == 31
    assert str(min(train["t"].to_pylist())) == "2020-01-01 00:00:00"
    assert str(max(train["t"].to_pylist())) == "2020-12-31 00:00:00"
    assert set(train["v"].to_pylist()).isdisjoint(test["v"].to_pylist())


def test_hash_sample_is_deterministic_and_matches_cityhash(engine, db, home):
    engine.command(f"CREATE TABLE {db}.s (a UInt32, b String) ENGINE = MergeTree ORDER BY a")
    engine.command(f"INSERT INTO {db}.s SELECT number, toString(number % 13) FROM numbers(20000)")
    spec = ExtractSpec("s", f"SELECT a, b FROM {db}.s", sample=Sample(("a", "b"), modulus=10, keep=3, seed=42))
    first = ExtractCache(home / "one").materialise(spec, source=engine, progress=False)
    again = ExtractCache(home / "two").materialise(spec, source=engine, progress=False)
    assert first.digest == again.digest
    expected = engine.client.query(f"SELECT count() FROM {db}.s WHERE cityHash64(42, a, b) % 10 < 3").result_rows
    assert first.rows == expected[0][0]
    assert 0.27 < first.rows / 20000 < 0.33
    other = ExtractSpec("s", spec.sql, sample=Sample(("a", "b"), modulus=10, keep=3, seed=7))
    assert ExtractCache(home / "three").materialise(other, source=engine, progress=False).digest != first.digest


@settings(max_examples=20, deadline=None)
@given(st.datetimes(), st.datetimes())
def test_leakage_check_agrees_with_interval_overlap(a, b):
    lo, hi = sorted([a, b])
    if lo == hi:
        return
    train = Window("train", "2000-01-01", "2001-01-01")
    ev = Window("test", lo, hi)
    overlap = lo < train.bounds[1] and train.bounds[0] < hi
    if overlap:
        with pytest.raises(InvalidInput, match="leakage"):
            check_no_leakage([train, ev])
    else:
        check_no_leakage([train, ev])


@pytest.mark.parametrize("sql", ["SELECT * FROM t ORDER BY rand()", "SELECT * FROM t WHERE randCanonical() < 0.1",
                                 "SELECT * FROM t WHERE d > now() - INTERVAL 1 DAY", "SELECT today() AS d",
                                 "SELECT runningDifference(v) FROM t",  # these depend on the block size
                                 "SELECT v, rowNumberInBlock() AS i FROM t"])
def test_nondeterministic_sql_is_refused(sql):
    with pytest.raises(InvalidInput, match="same parameters must give the same rows"):
        ExtractSpec("x", sql)


def test_function_names_inside_string_literals_are_not_calls():
    spec = ExtractSpec("x", "SELECT 'ORDER BY rand()' AS note, random_id FROM t WHERE s != 'now(\\')'")
    assert spec.name == "x"


def test_a_limit_under_windows_or_a_sample_is_refused():
    windows = (Window("train", "2015-01-01", "2023-01-01"), Window("test", "2023-01-01", "2025-01-01"))
    with pytest.raises(InvalidInput, match="LIMIT, which would cut rows before"):
        ExtractSpec("x", "SELECT * FROM t ORDER BY ts LIMIT 100", time_column="ts", windows=windows)
    with pytest.raises(InvalidInput, match="LIMIT"):
        ExtractSpec("x", "SELECT * FROM t LIMIT {n:UInt64}", sample=Sample(("a",), keep=1, modulus=10))
    assert ExtractSpec("x", "SELECT 'no LIMIT here' AS s FROM t", time_column="s", windows=windows).name == "x"
