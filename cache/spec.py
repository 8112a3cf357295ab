"""Declared extracts: SQL with bound parameters, expected schema, deterministic sampling and split windows."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from registry.errors import InvalidInput

PLACEHOLDER = re.compile(r"\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*([^{}]+?)\s*\}")
"""A ClickHouse server-side parameter, ``{name:Type}``; the value travels beside the SQL, never inside it."""

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
INTERNAL_PREFIX = "__"  # parameters the cache adds itself (split window, sample); specs may not use it
TRAIN = "train"

_LIMIT = re.compile(r"\bLIMIT\b", re.IGNORECASE)
_STRING_LITERAL = re.compile(r"'(?:[^'\\]|\\.)*'")
_NONDETERMINISTIC = re.compile(
    r"\b(rand\w*|generateRandom\w*|generateUUIDv\d|now\w*|today|yesterday|rowNumberInAllBlocks|blockNumber|"
    r"rowNumberInBlock|blockSize|runningDifference\w*|runningAccumulate|neighbor)\s*\(",
    re.IGNORECASE)  # rand*: rand, rand64, randCanonical, randomString, randomPrintableASCII, …


def nondeterministic_calls(sql: str) -> list[str]:
    """Functions in ``sql`` (outside string literals) whose result changes from run to run."""
    return sorted({m.group(1) for m in _NONDETERMINISTIC.finditer(_STRING_LITERAL.sub("''", sql))})


def quote_ident(name: str) -> str:
    """A column name as a ClickHouse identifier; only plain names are accepted, so quoting cannot be escaped."""
    if not _IDENT.fullmatch(name):
        raise InvalidInput(f"{name!r} is not a plain column name (letters, digits, underscore)")
    return f"`{name}`"


def _instant(value: str | date | datetime, what: str) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    try:
        return _instant(datetime.fromisoformat(str(value)), what)
    except ValueError:
        raise InvalidInput(f"{what}: {value!r} is not an ISO date or date-time") from None


@dataclass(frozen=True)
class Window:
    """A half-open time window ``[start, end)`` of the spec's ``time_column``, in UTC.

    A window named ``train`` is a training window; any other name (``validation``, ``test``…) is an
    evaluation window and may not overlap a training window.
    """

    name: str
    start: str | date | datetime
    end: str | date | datetime

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        lo = _instant(self.start, f"window {self.name!r} start")
        hi = _instant(self.end, f"window {self.name!r} end")
        if not lo < hi:
            raise InvalidInput(f"window {self.name!r} is empty: start {lo} is not before end {hi}")
        return lo, hi

    @property
    def is_training(self) -> bool:
        return self.name == TRAIN or self.name.startswith(TRAIN + "_")


def check_no_leakage(windows: tuple[Window, ...] | list[Window]) -> None:
    """Raise ``InvalidInput`` when an evaluation window overlaps a training window (or names repeat).

    :param windows: the windows to check; half-open, so ``end == start`` of the next one is no overlap.
    """
    names = [w.name for w in windows]
    if len(set(names)) != len(names):
        raise InvalidInput(f"split windows must have distinct names, got {names}")
    for w in windows:
        w.bounds  # noqa: B018 - validates start < end and the date formats
    train = [w for w in windows if w.is_training]
    for ev in (w for w in windows if not w.is_training):
        e_lo, e_hi = ev.bounds
        for tr in train:
            t_lo, t_hi = tr.bounds
            if e_lo < t_hi and t_lo < e_hi:
                raise InvalidInput(
                    f"leakage: evaluation window {ev.name!r} [{e_lo} .. {e_hi}) overlaps training window "
                    f"{tr.name!r} [{t_lo} .. {t_hi}); make the windows disjoint")


@dataclass(frozen=True)
class Sample:
    """Deterministic hash sample: keep rows where ``cityHash64(seed, columns…) % modulus < keep``.

    The same rows are chosen on every run and on every shard of a ``Distributed`` table, unlike
    ``ORDER BY rand()``.
    """

    columns: tuple[str, ...]
    modulus: int
    keep: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.columns:
            raise InvalidInput("a sample needs at least one key column")
        for c in self.columns:
            quote_ident(c)
        if not (0 < self.keep <= self.modulus < 2**64) or not (0 <= self.seed < 2**64):
            raise InvalidInput(f"sample needs 0 < keep <= modulus < 2**64, got keep={self.keep} "
                               f"modulus={self.modulus} seed={self.seed}")


@dataclass(frozen=True)
class BoundQuery:
    """What is actually sent: the final SQL text (values never inside it) and every parameter value."""

    sql: str
    params: dict[str, Any]
    public_params: dict[str, Any]
    split: str | None


@dataclass(frozen=True)
class ExtractSpec:
    """A named query whose result is cached so a gate run can be repeated bit for bit.

    ``sql`` is one ClickHouse ``SELECT`` (no ``FORMAT``/trailing ``SETTINGS``) using server-side
    parameters (``{name:Type}``), never string formatting; ``params`` holds their defaults.
    ``schema`` lists the expected ``(column, ClickHouse type)`` pairs, checked before any row moves.
    ``fill_values`` maps a column to the sentinel values (``99.9``, ``-1``, ``9999``) that mean
    "missing"; they become NULL and are counted. ``sample`` thins rows by a hash of key columns;
    ``windows`` are named time windows of ``time_column`` selected with ``split=…``. ``source`` names
    the default source (see ``cache.sources``); ``None`` is the embedded engine.
    """

    name: str
    sql: str
    description: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    schema: tuple[tuple[str, str], ...] = ()
    fill_values: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    sample: Sample | None = None
    time_column: str | None = None
    windows: tuple[Window, ...] = ()
    source: str | None = None

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name or self.name.startswith("."):
            raise InvalidInput(f"invalid extract name {self.name!r}")
        placeholders = self.placeholders()
        if calls := nondeterministic_calls(self.sql):
            raise InvalidInput(f"extract {self.name!r} calls {', '.join(calls)}: the same parameters must give the "
                               "same rows; sample with a seeded hash (e.g. cityHash64(cols, {seed:UInt64}) % N) "
                               "and bound time ranges instead")
        bad = sorted(n for n in placeholders if n.startswith(INTERNAL_PREFIX))
        if bad:
            raise InvalidInput(f"extract {self.name!r}: parameter names starting with '__' are reserved: {bad}")
        unknown = sorted(set(self.params) - set(placeholders))
        if unknown:
            raise InvalidInput(f"extract {self.name!r}: defaults for parameters not in the SQL: {unknown}")
        if (self.windows or self.sample is not None) and _LIMIT.search(_STRING_LITERAL.sub("''", self.sql)):
            raise InvalidInput(f"extract {self.name!r}: its SQL has a LIMIT, which would cut rows before the "
                               "split windows or the sample are applied (they wrap the SQL); put the sample in "
                               "the SQL itself, or drop the LIMIT")
        if self.windows:
            if not self.time_column:
                raise InvalidInput(f"extract {self.name!r}: windows need a time_column")
            quote_ident(self.time_column)
            check_no_leakage(self.windows)

    def placeholders(self) -> dict[str, str]:
        """Each ``{name:Type}`` parameter of the SQL and its ClickHouse type."""
        found: dict[str, str] = {}
        for name, typ in PLACEHOLDER.findall(self.sql):
            typ = " ".join(typ.split())
            if found.setdefault(name, typ) != typ:
                raise InvalidInput(f"extract {self.name!r}: parameter {name!r} has two types: {found[name]}, {typ}")
        return found

    def window(self, name: str) -> Window:
        for w in self.windows:
            if w.name == name:
                return w
        known = ", ".join(w.name for w in self.windows) or "none"
        raise InvalidInput(f"extract {self.name!r} has no split window {name!r} (known: {known})")

    def bind(self, params: dict[str, Any] | None = None, split: str | None = None) -> BoundQuery:
        """Check and coerce parameter values and build the SQL sent to the source.

        :param params: values overriding ``self.params``; unknown names, missing values and values that
            do not fit their declared type raise ``InvalidInput`` before anything is read or written.
        :param split: the name of one of ``windows``, or ``None`` for all rows.
        :return: a ``BoundQuery`` whose ``sql`` depends only on the spec and ``split``, never on values.
        """
        from cache.params import coerce

        types = self.placeholders()
        given = dict(params or {})
        unknown = sorted(set(given) - set(types))
        if unknown:
            raise InvalidInput(f"extract {self.name!r} has no parameter(s) {unknown} "
                               f"(known: {', '.join(sorted(types)) or 'none'})")
        merged = {**self.params, **given}
        missing = sorted(set(types) - set(merged))
        if missing:
            raise InvalidInput(f"extract {self.name!r} needs parameter(s) {missing}")
        public = {n: coerce(n, types[n], merged[n]) for n in sorted(types)}
        bound = dict(public)
        sql = self.sql.strip().rstrip(";").strip()
        where: list[str] = []
        if split is not None:
            lo, hi = self.window(split).bounds
            col = quote_ident(self.time_column or "")
            where.append(f"{col} >= {{__split_start:DateTime64(6, 'UTC')}} "
                         f"AND {col} < {{__split_end:DateTime64(6, 'UTC')}}")
            bound["__split_start"] = lo.isoformat(sep=" ")
            bound["__split_end"] = hi.isoformat(sep=" ")
        if self.sample is not None:
            cols = ", ".join(quote_ident(c) for c in self.sample.columns)
            where.append(f"cityHash64({{__sample_seed:UInt64}}, {cols}) % {{__sample_modulus:UInt64}} "
                         f"< {{__sample_keep:UInt64}}")
            bound.update(__sample_seed=self.sample.seed, __sample_modulus=self.sample.modulus,
                         __sample_keep=self.sample.keep)
        if where:
            sql = f"SELECT * FROM (\n{sql}\n) WHERE " + " AND ".join(where)
        return BoundQuery(sql=sql, params=bound, public_params=public, split=split)

    def describe(self) -> dict[str, Any]:
        """A JSON-able summary for listings."""
        return {
            "name": self.name, "description": self.description, "params": self.placeholders(),
            "defaults": dict(self.params), "schema": [list(c) for c in self.schema],
            "fill_values": {k: list(v) for k, v in self.fill_values.items()},
            "sample": None if self.sample is None else {
                "columns": list(self.sample.columns), "modulus": self.sample.modulus,
                "keep": self.sample.keep, "seed": self.sample.seed},
            "time_column": self.time_column,
            "windows": [{"name": w.name, "start": str(w.start), "end": str(w.end)} for w in self.windows],
            "source": self.source,
        }
