"""Parameter values: checked against their declared type, and bound server-side so they round-trip intact."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cache.params import coerce
from cache.spec import ExtractSpec
from registry.errors import InvalidInput

ENGINE_SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.mark.parametrize("typ, value, expected", [
    ("UInt8", "255", 255), ("Int64", -(2**63), -(2**63)), ("UInt64", str(2**64 - 1), 2**64 - 1),
    ("Float32", "99.9", 99.9), ("Bool", "true", True), ("Nullable(String)", None, None),
    ("Date", "2024-05-11", "2024-05-11"), ("DateTime", "2024-05-11T03:00:00", "2024-05-11 03:00:00"),
    ("DateTime64(3, 'UTC')", datetime(2024, 5, 11, 3, tzinfo=UTC), "2024-05-11 03:00:00"),
    ("Date32", date(1957, 10, 1), "1957-10-01"), ("Array(Int32)", "1, 2,3", [1, 2, 3]),
    ("FixedString(4)", "DN46", "DN46"), ("Identifier", "wspr.signatures", "wspr.signatures"),
    ("LowCardinality(String)", "x", "x"),
])
def test_values_are_coerced_to_their_type(typ, value, expected):
    assert coerce("p", typ, value) == expected


@pytest.mark.parametrize("typ, value", [
    ("UInt8", "256"), ("UInt8", "-1"), ("Int32", "1e3"), ("Int32", True), ("UInt64", 2**64),
    ("Float32", "abc"), ("Float32", 1e39), ("Bool", "maybe"), ("String", 5), ("Int32", None),
    ("Date", "2024-13-01"), ("DateTime", "noon"), ("FixedString(2)", "abc"), ("Identifier", "a;b"),
    ("Array(UInt8)", "1,x"),
])
def test_malformed_values_are_one_clear_error(typ, value):
    with pytest.raises(InvalidInput, match=r"parameter 'p' \("):
        coerce("p", typ, value)


@ENGINE_SETTINGS
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=60))
def test_any_text_round_trips_through_the_engine(engine, text):
    spec = ExtractSpec("echo", "SELECT {s:String} AS s, 1 AS one")
    bound = spec.bind({"s": text})
    rows = engine.client.query(bound.sql, parameters=bound.params).result_rows
    assert rows == [(text, 1)]
    assert _streamed(engine, bound) == [(text, 1)]  # the cache's own binding and stream


def _streamed(engine, bound) -> list[tuple]:
    """Rows as the extract cache receives them: bound by ``EmbeddedSource.stream``, not by the client."""
    with engine.stream(bound) as batches:
        rows = [r for b in batches for r in zip(*(c.to_pylist() for c in b.columns), strict=True)]
    return rows


@ENGINE_SETTINGS
@given(st.integers(-(2**63), 2**64 - 1))
def test_huge_integers_round_trip_or_are_refused(engine, n):
    spec = ExtractSpec("num", "SELECT {n:Int64} AS n")
    if n >= 2**63:
        with pytest.raises(InvalidInput, match="outside"):
            spec.bind({"n": n})
        return
    bound = spec.bind({"n": str(n)})
    assert engine.client.query(bound.sql, parameters=bound.params).result_rows == [(n,)]
    assert _streamed(engine, bound) == [(n,)]


@ENGINE_SETTINGS
@given(st.integers(0, 2**64 - 1), st.floats(allow_nan=False, allow_infinity=False))
def test_unsigned_and_float_parameters_round_trip_through_the_stream(engine, u, x):
    bound = ExtractSpec("uf", "SELECT {u:UInt64} AS u, {x:Float64} AS x").bind({"u": u, "x": x})
    assert _streamed(engine, bound) == [(u, x)]


def test_injection_attempts_are_just_values(engine, db):
    engine.command(f"CREATE TABLE {db}.u (name String) ENGINE = MergeTree ORDER BY name")
    engine.command(f"INSERT INTO {db}.u VALUES ('alice'), ('bob')")
    spec = ExtractSpec("u", f"SELECT name FROM {db}.u WHERE name = {{who:String}}")
    for attack in ["' OR 1=1 --", "alice' OR '1'='1", "x'; DROP TABLE u; --", "} OR 1 {", "{who:String}"]:
        bound = spec.bind({"who": attack})
        assert engine.client.query(bound.sql, parameters=bound.params).result_rows == []
        assert _streamed(engine, bound) == []
    assert engine.client.query(f"SELECT count() FROM {db}.u").result_rows == [(2,)]
