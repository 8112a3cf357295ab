"""The content digest: independent of batching and row order, sensitive to any value, NULL or type change."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from cache.digest import TableDigest, table_digest

ROWS = st.lists(st.tuples(st.integers(-(2**63), 2**63 - 1), st.one_of(st.none(), st.text(max_size=12)),
                          st.floats(allow_nan=False, width=32), st.booleans()), min_size=1, max_size=60)
SCHEMA = pa.schema([("i", pa.int64()), ("s", pa.string()), ("f", pa.float32()), ("b", pa.bool_())])
COLUMNS = [("i", "BIGINT"), ("s", "VARCHAR"), ("f", "FLOAT"), ("b", "BOOLEAN")]


def _table(rows: list[tuple]) -> pa.Table:
    return pa.Table.from_pylist([dict(zip(SCHEMA.names, r, strict=True)) for r in rows], schema=SCHEMA)


@settings(max_examples=60)
@given(ROWS, st.integers(1, 17), st.randoms(use_true_random=False))
def test_batching_and_row_order_do_not_matter(rows, chunk, rnd):
    reference = table_digest(_table(rows), COLUMNS)
    shuffled = list(rows)
    rnd.shuffle(shuffled)
    rebatched = pa.Table.from_batches(_table(shuffled).to_batches(max_chunksize=chunk))
    assert table_digest(rebatched, COLUMNS) == reference


@settings(max_examples=60)
@given(ROWS, st.data())
def test_any_changed_value_changes_the_digest(rows, data):
    reference = table_digest(_table(rows), COLUMNS)
    i = data.draw(st.integers(0, len(rows) - 1))
    field = data.draw(st.integers(0, 3))
    old = rows[i][field]
    new = data.draw([st.integers(-(2**63), 2**63 - 1), st.one_of(st.none(), st.text(max_size=12)),
                     st.floats(allow_nan=False, width=32), st.booleans()][field].filter(
        lambda v: v != old or (v is None) != (old is None) or str(v) != str(old)))
    changed = list(rows)
    changed[i] = tuple(new if k == field else v for k, v in enumerate(rows[i]))
    if _table(changed).equals(_table(rows)):  # e.g. 0.0 vs -0.0 compare equal but differ in bits
        return
    assert table_digest(_table(changed), COLUMNS) != reference


def test_duplicates_count_and_types_are_covered():
    t = _table([(1, "a", 1.0, True)])
    assert table_digest(pa.concat_tables([t, t]), COLUMNS) != table_digest(t, COLUMNS)
    assert table_digest(t, COLUMNS) != table_digest(t, [("i", "INTEGER"), *COLUMNS[1:]])
    empty = TableDigest(COLUMNS)
    assert empty.rows == 0 and len(empty.hexdigest()) == 64


def test_null_differs_from_zero_and_empty_string():
    a = pa.table({"x": pa.array([None], pa.int32()), "s": pa.array([""])})
    b = pa.table({"x": pa.array([0], pa.int32()), "s": pa.array([""])})
    c = pa.table({"x": pa.array([0], pa.int32()), "s": pa.array([None], pa.string())})
    assert len({table_digest(a, [("x", "I"), ("s", "S")]), table_digest(b, [("x", "I"), ("s", "S")]),
                table_digest(c, [("x", "I"), ("s", "S")])}) == 3


def test_physical_encoding_does_not_matter():
    cols = [("s", "VARCHAR"), ("t", "TIMESTAMP")]
    ts = pa.array([0, 10**15, None], pa.timestamp("us"))
    plain = pa.table({"s": pa.array(["AB12", "é", None]), "t": ts})
    large = pa.table({"s": pa.array(["AB12", "é", None], pa.large_string()), "t": ts})
    view = pa.table({"s": pa.array(["AB12", "é", None], pa.string_view()), "t": ts})
    dictionary = pa.table({"s": pa.array(["AB12", "é", None]).dictionary_encode(), "t": ts})
    assert len({table_digest(t, cols) for t in (plain, large, view, dictionary)}) == 1


def test_fixed_width_and_variable_width_text_hash_alike():
    cols = [("s", "VARCHAR")]
    fixed = pa.table({"s": pa.array(["AB12", "CD34", "EF56"])})
    mixed = pa.table({"s": pa.array(["AB12", "CD34", "EF56", "x"])})
    assert table_digest(fixed, cols) == table_digest(mixed.slice(0, 3), cols)
    assert table_digest(mixed, cols) == table_digest(pa.Table.from_batches(mixed.to_batches(max_chunksize=1)), cols)


def test_float_values_hash_by_bit_pattern():
    cols = [("f", "FLOAT")]
    a = pa.table({"f": pa.array(np.array([1.0, 2.5], dtype=np.float32))})
    b = pa.table({"f": pa.array(np.array([1.0, np.nextafter(np.float32(2.5), np.float32(3))], dtype=np.float32))})
    assert table_digest(a, cols) != table_digest(b, cols)


def _thue_morse(bits: int) -> tuple[str, str]:
    t = [0]
    while len(t) < 1 << bits:
        t += [1 - b for b in t]
    a = "".join("ab"[b] for b in t)
    return a, "".join("ba"[b] for b in t)


def test_thue_morse_strings_do_not_collide():
    # A polynomial hash modulo 2**64 gives these two 2048-byte strings the same value for every base.
    a, b = _thue_morse(11)
    one = table_digest(pa.table({"s": [a, "x", "y"]}))
    two = table_digest(pa.table({"s": [b, "x", "y"]}))
    assert one != two


@given(st.lists(st.text(max_size=40), min_size=1, max_size=30), st.integers(1, 7))
def test_fixed_width_and_variable_paths_hash_text_alike(values, chunk):
    # same-length values take the lookup path, mixed lengths the prefix-sum path; the digest must not care
    padded = [v.ljust(3)[:3] for v in values]
    table = pa.table({"s": padded})
    assert table_digest(table) == table_digest(pa.Table.from_batches(table.to_batches(max_chunksize=chunk)))
    mixed = pa.table({"s": [*padded, "longer than sixteen bytes"]})
    whole = table_digest(mixed)
    assert whole == table_digest(pa.Table.from_batches(mixed.to_batches(max_chunksize=chunk)))


def _reference_hash(value: bytes) -> int:
    """The text hash as its definition states it, one byte at a time in Python."""
    from cache.digest import _GOLD, _byte_terms, _mix

    total = 0
    for i, byte in enumerate(value):
        total += int(_byte_terms(np.array([i]), np.array([byte]))[0])
    return int(_mix(np.array([(total % 2**64) ^ (len(value) * _GOLD % 2**64)], dtype=np.uint64))[0])


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 16), st.lists(st.binary(min_size=16, max_size=16), min_size=1, max_size=12), st.integers(0, 3),
       st.sampled_from([pa.binary(), pa.large_binary()]))
def test_text_hashes_follow_their_definition_on_every_path(width, raw, offset, kind):
    from cache.digest import _values

    same = [r[:width] for r in raw]  # one width: the table look-ups (two positions at a time for even widths)
    mixed = [*same, b"a value longer than sixteen bytes"]  # the prefix-sum path
    for values in (same, mixed):
        arr = pa.array([b"pad"] * offset + values, type=kind).slice(offset)
        assert [int(v) for v in _values(arr)] == [_reference_hash(v) for v in values]
