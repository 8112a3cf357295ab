"""The streaming pipeline: exact batch sizes, order as sent, digest of every row, the producer's errors."""

from __future__ import annotations

import pyarrow as pa
import pytest

from cache.digest import table_digest
from cache.pipeline import Pipeline
from cache.spec import ExtractSpec
from cache.types import plan_query


def _pipeline(engine, db: str, n: int, batch_rows: int, sql: str = "") -> Pipeline:
    engine.command(f"CREATE TABLE {db}.t (k UInt64, g FixedString(4)) ENGINE = MergeTree ORDER BY k")
    engine.command(f"INSERT INTO {db}.t SELECT number, 'DN46' FROM numbers({n})")
    spec = ExtractSpec("t", sql or f"SELECT k, g FROM {db}.t ORDER BY k")
    query = spec.bind({}, None)
    conv = plan_query(engine.describe(query), spec.fill_values, spec.schema)
    return Pipeline(engine, query, conv, batch_rows=batch_rows)


def test_batches_are_cut_to_exactly_batch_rows_in_the_order_sent(engine, db):
    with _pipeline(engine, db, 25_000, 10_000) as pipe:
        batches = list(pipe)
    assert [b.num_rows for b in batches] == [10_000, 10_000, 5_000]
    keys = pa.Table.from_batches(batches)["k"].to_pylist()
    assert keys == list(range(25_000))
    whole = pa.Table.from_batches(batches)
    assert pipe.digest.rows == 25_000
    assert pipe.digest.hexdigest() == table_digest(whole, pipe.digest.columns)


def test_a_source_error_reaches_the_consumer_unchanged(engine, db):
    with pytest.raises(Exception, match="boom"):  # noqa: B017 - the engine raises its own error class
        with _pipeline(engine, db, 1000, 100,
                       sql=f"SELECT k, g FROM {db}.t WHERE throwIf(k = 700, 'boom') = 0") as pipe:
            list(pipe)


def test_wide_rows_get_fewer_rows_per_batch(engine, db):
    engine.command(f"CREATE TABLE {db}.w (k UInt64, text String) ENGINE = MergeTree ORDER BY k")
    engine.command(f"INSERT INTO {db}.w SELECT number, repeat('x', 4000) FROM numbers(3000)")
    spec = ExtractSpec("w", f"SELECT k, text FROM {db}.w ORDER BY k")
    query = spec.bind({}, None)
    conv = plan_query(engine.describe(query), spec.fill_values, spec.schema)
    with Pipeline(engine, query, conv, batch_rows=100_000, batch_bytes=1 << 20) as pipe:  # 1 MB: ~260 rows
        batches = list(pipe)
    sizes = [b.num_rows for b in batches]
    assert len(set(sizes[:-1])) == 1 and 200 <= sizes[0] <= 262 and sum(sizes) == 3000
    assert max(b.nbytes for b in batches) <= 1.05 * (1 << 20)
    assert pa.Table.from_batches(batches)["k"].to_pylist() == list(range(3000))
