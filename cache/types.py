"""ClickHouse result types → the Arrow types stored in DuckDB, and per-batch conversion with fill values.

ClickHouse's Arrow output sends ``DateTime`` as uint32 seconds, ``FixedString`` as fixed-size binary and
enums as their integer codes. The plan, made once from ``DESCRIBE (query)``, turns them into TIMESTAMP
(UTC, microseconds, no zone), VARCHAR (trailing NUL padding removed) and VARCHAR labels respectively;
``LowCardinality`` and ``Nullable`` only change the physical encoding and nullability.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from registry.errors import InvalidInput, SourceError

_WRAPPER = re.compile(r"(Nullable|LowCardinality)\((.*)\)")
_ENUM = re.compile(r"Enum(8|16)\((.*)\)")
_ENUM_ITEM = re.compile(r"\s*'((?:[^'\\]|\\.)*)'\s*=\s*(-?\d+)\s*,?")
_DT64 = re.compile(r"DateTime64\((\d+)(?:\s*,.*)?\)")
_DECIMAL = re.compile(r"Decimal(?:32|64|128|256)?\((\d+),\s*(\d+)\)")
_SIMPLE: dict[str, pa.DataType] = {
    "Int8": pa.int8(), "Int16": pa.int16(), "Int32": pa.int32(), "Int64": pa.int64(),
    "UInt8": pa.uint8(), "UInt16": pa.uint16(), "UInt32": pa.uint32(), "UInt64": pa.uint64(),
    "Float32": pa.float32(), "Float64": pa.float64(), "Bool": pa.bool_(), "String": pa.string(),
    "Date": pa.date32(), "Date32": pa.date32(),
}
ARROW_SETTINGS: dict[str, Any] = {
    "output_format_arrow_low_cardinality_as_dictionary": 0,
    "output_format_arrow_string_as_string": 1,
    "output_format_arrow_fixed_string_as_fixed_byte_array": 1,
    # a {t:DateTime} parameter (naive UTC text, see cache.params) is read in the session's time zone, which
    # defaults to the server's (for the embedded engine: the machine's TZ); pinned, it selects the same rows anywhere
    "session_timezone": "UTC",
}
"""Sent with every extract query (and its DESCRIBE) so a server's own defaults cannot change what arrives."""


def _unwrap(ch_type: str) -> tuple[str, bool]:
    nullable = False
    while m := _WRAPPER.fullmatch(ch_type):
        nullable = nullable or m.group(1) == "Nullable"
        ch_type = m.group(2).strip()
    return ch_type, nullable


@dataclass(frozen=True)
class ColumnPlan:
    """How one result column is converted: the target Arrow type and, for enums, the code → label map."""

    name: str
    ch_type: str
    arrow_type: pa.DataType
    kind: str  # plain | fixed | datetime | datetime64 | enum
    nullable: bool
    labels: dict[int, str] = field(default_factory=dict)
    fill: tuple[Any, ...] = ()


def _duckdb_name(t: pa.DataType) -> str:
    names = {pa.int8(): "TINYINT", pa.int16(): "SMALLINT", pa.int32(): "INTEGER", pa.int64(): "BIGINT",
             pa.uint8(): "UTINYINT", pa.uint16(): "USMALLINT", pa.uint32(): "UINTEGER", pa.uint64(): "UBIGINT",
             pa.float32(): "FLOAT", pa.float64(): "DOUBLE", pa.bool_(): "BOOLEAN", pa.string(): "VARCHAR",
             pa.date32(): "DATE", pa.timestamp("us"): "TIMESTAMP", pa.timestamp("ns"): "TIMESTAMP_NS"}
    if t in names:
        return names[t]
    if pa.types.is_decimal(t):
        return f"DECIMAL({t.precision},{t.scale})"
    return str(t)


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "b": "\b", "f": "\f", "a": "\a", "v": "\v"}


def _unescape(text: str) -> str:
    """A ClickHouse quoted string's body as the text it stands for (``\\'`` → ``'``, ``\\n`` → newline, …)."""
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), text, flags=re.DOTALL)


def plan_column(name: str, ch_type: str, fill: tuple[Any, ...] = ()) -> ColumnPlan:
    """The conversion for one column of ClickHouse type ``ch_type``; unsupported types raise ``InvalidInput``."""
    base, nullable = _unwrap(" ".join(ch_type.split()))
    if base in _SIMPLE:
        plan = ColumnPlan(name, ch_type, _SIMPLE[base], "plain", nullable)
    elif base.startswith("FixedString("):
        plan = ColumnPlan(name, ch_type, pa.string(), "fixed", nullable)
    elif base == "DateTime" or base.startswith("DateTime("):
        plan = ColumnPlan(name, ch_type, pa.timestamp("us"), "datetime", nullable)
    elif m := _DT64.fullmatch(base):
        unit = "us" if int(m.group(1)) <= 6 else "ns"
        plan = ColumnPlan(name, ch_type, pa.timestamp(unit), "datetime64", nullable)
    elif m := _ENUM.fullmatch(base):
        labels = {int(code): _unescape(text) for text, code in _ENUM_ITEM.findall(m.group(2))}
        plan = ColumnPlan(name, ch_type, pa.string(), "enum", nullable, labels)
    elif m := _DECIMAL.fullmatch(base):
        precision, scale = int(m.group(1)), int(m.group(2))
        if precision > 38:
            raise InvalidInput(f"column {name!r}: {ch_type} is wider than DuckDB's DECIMAL(38); cast it in the SQL")
        plan = ColumnPlan(name, ch_type, pa.decimal128(precision, scale), "plain", nullable)
    else:
        raise InvalidInput(f"column {name!r} has type {ch_type}, which the cache does not store; "
                           f"cast it in the SQL (e.g. toString({name}))")
    if fill:
        if pa.types.is_boolean(plan.arrow_type):
            raise InvalidInput(f"column {name!r}: fill values make no sense for a {ch_type} column")
        try:
            scalars = tuple(pa.scalar(v).cast(plan.arrow_type).as_py() for v in fill)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            raise InvalidInput(f"column {name!r}: fill values {list(fill)} do not fit {ch_type}") from None
        plan = ColumnPlan(plan.name, plan.ch_type, plan.arrow_type, plan.kind, plan.nullable, plan.labels, scalars)
    return plan


@dataclass
class Converter:
    """Converts each arriving batch to the planned schema and counts fill values turned into NULL."""

    plans: list[ColumnPlan]
    filled: dict[str, int] = field(default_factory=dict)

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([pa.field(p.name, p.arrow_type) for p in self.plans])

    def columns(self) -> list[tuple[str, str, str]]:
        """``(name, DuckDB type, ClickHouse type)`` for each column, as recorded with the extract."""
        return [(p.name, _duckdb_name(p.arrow_type), p.ch_type) for p in self.plans]

    def convert(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """One arriving batch in the stored types; raises ``SourceError`` if the columns do not match the plan."""
        if batch.num_columns != len(self.plans):
            raise SourceError(f"source sent {batch.num_columns} columns, expected {len(self.plans)}")
        arrays = [self._column(p, batch.column(i)) for i, p in enumerate(self.plans)]
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)

    def _column(self, plan: ColumnPlan, arr: pa.Array) -> pa.Array:
        if pa.types.is_dictionary(arr.type):
            arr = arr.dictionary_decode()
        try:
            if plan.kind == "fixed":
                arr = _fixed_to_string(arr)
            elif plan.kind == "datetime" and pa.types.is_integer(arr.type):
                arr = pc.multiply(arr.cast(pa.int64()), 1_000_000).cast(pa.timestamp("us"))
            elif plan.kind in ("datetime", "datetime64") and pa.types.is_timestamp(arr.type):
                arr = arr.cast(pa.timestamp(arr.type.unit)).cast(plan.arrow_type)
            elif plan.kind == "enum" and pa.types.is_integer(arr.type):
                arr = _enum_labels(arr, plan.labels)
            elif arr.type != plan.arrow_type:
                arr = arr.cast(plan.arrow_type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            if "utf8" in str(exc).lower() or "utf-8" in str(exc).lower():
                raise SourceError(_not_utf8(plan, exc)) from None
            raise SourceError(f"column {plan.name!r} ({plan.ch_type}) could not be converted: {exc}") from None
        if pa.types.is_string(plan.arrow_type) and plan.kind == "plain":
            try:  # ClickHouse String is bytes; DuckDB VARCHAR must be UTF-8 (about 5 ms per million values)
                arr.validate(full=True)
            except pa.ArrowInvalid as exc:
                raise SourceError(_not_utf8(plan, exc)) from None
        if plan.fill:
            mask = pc.is_in(arr, value_set=pa.array(plan.fill, type=plan.arrow_type))
            hits = pc.sum(mask).as_py() or 0
            if hits:
                self.filled[plan.name] = self.filled.get(plan.name, 0) + hits
                arr = pc.if_else(mask, pa.scalar(None, type=plan.arrow_type), arr)
        return arr


def _not_utf8(plan: ColumnPlan, exc: Exception) -> str:
    return (f"column {plan.name!r} ({plan.ch_type}) holds bytes that are not UTF-8 ({exc}); select "
            f"toValidUTF8({plan.name}) or hex({plan.name}) in the SQL instead")


def _fixed_to_string(arr: pa.Array) -> pa.Array:
    if pa.types.is_fixed_size_binary(arr.type) and arr.type.byte_width > 0:
        width, n = arr.type.byte_width, len(arr)
        data = np.frombuffer(arr.buffers()[1], dtype=np.uint8, count=(arr.offset + n) * width)[arr.offset * width:]
        if not (data == 0).any() and not (data >= 0x80).any():  # plain ASCII, no padding: reuse the bytes
            offsets = pa.py_buffer((np.arange(n + 1, dtype=np.int32) * width).tobytes())
            validity = arr.buffers()[0] if arr.null_count else None
            if validity is not None and arr.offset:
                validity = arr.is_valid().buffers()[1]
            return pa.Array.from_buffers(pa.string(), n, [validity, offsets, pa.py_buffer(data)],
                                         null_count=arr.null_count)
    if pa.types.is_fixed_size_binary(arr.type):
        arr = arr.cast(pa.binary())
    out = arr.cast(pa.string())
    return pc.utf8_rtrim(out, characters="\x00")


def _enum_labels(arr: pa.Array, labels: dict[int, str]) -> pa.Array:
    codes = np.array(sorted(labels), dtype=np.int64)
    texts = pa.array([labels[c] for c in codes.tolist()], type=pa.string())
    values = arr.fill_null(int(codes[0]) if len(codes) else 0).to_numpy(zero_copy_only=False).astype(np.int64)
    pos = np.searchsorted(codes, values)
    pos = np.clip(pos, 0, max(len(codes) - 1, 0))
    if len(codes) == 0 or not np.array_equal(codes[pos], values):
        raise SourceError(f"enum code outside its declared labels {labels}")
    out = texts.take(pa.array(pos))
    return pc.if_else(arr.is_valid(), out, pa.scalar(None, type=pa.string())) if arr.null_count else out


def plan_query(described: list[tuple[str, str]], fill_values: dict[str, tuple[Any, ...]],
               expected: tuple[tuple[str, str], ...] = ()) -> Converter:
    """A converter for a query whose ``DESCRIBE`` gave ``described``; checks the spec's expected schema.

    :param described: ``(column, ClickHouse type)`` pairs of the result, in order.
    :param fill_values: per-column sentinel values to turn into NULL.
    :param expected: the spec's declared schema; a mismatch raises ``SourceError`` naming the difference.
    """
    if expected:
        norm = [(n, " ".join(t.split())) for n, t in described]
        want = [(n, " ".join(t.split())) for n, t in expected]
        if norm != want:
            diff = [f"{a} != {b}" for a, b in zip(norm, want, strict=False) if a != b][:3]
            if len(norm) != len(want):
                diff.append(f"{len(norm)} columns != {len(want)} expected")
            raise SourceError(f"source schema differs from the spec: {'; '.join(diff)}")
    names = [n for n, _ in described]
    if len(set(names)) != len(names):
        raise InvalidInput(f"the query returns duplicate column names: {names}")
    folded: dict[str, str] = {}
    for n in names:
        if (other := folded.setdefault(n.lower(), n)) != n:
            raise InvalidInput(f"the query returns columns {other!r} and {n!r}, which DuckDB (case-insensitive) "
                               "would store under one name; alias one of them")
    unknown = sorted(set(fill_values) - set(names))
    if unknown:
        raise InvalidInput(f"fill values declared for columns the query does not return: {unknown}")
    return Converter([plan_column(n, t, tuple(fill_values.get(n, ()))) for n, t in described])
