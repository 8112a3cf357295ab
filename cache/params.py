"""Checking parameter values against their ClickHouse types before a query is sent."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from typing import Any

from registry.errors import InvalidInput

_INT = re.compile(r"(U?)Int(8|16|32|64|128|256)")
_INT_TEXT = re.compile(r"[+-]?[0-9]+")
_FIXED = re.compile(r"FixedString\((\d+)\)")
_WRAPPER = re.compile(r"(Nullable|LowCardinality)\((.*)\)")
_ARRAY = re.compile(r"Array\((.*)\)")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?")


def _bad(name: str, typ: str, value: Any, why: str) -> InvalidInput:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return InvalidInput(f"parameter {name!r} ({typ}): {shown} {why}")


def _int(name: str, typ: str, value: Any, unsigned: bool, bits: int) -> int:
    if isinstance(value, bool):
        raise _bad(name, typ, value, "is a boolean, not an integer")
    if isinstance(value, str):
        if not _INT_TEXT.fullmatch(value.strip()):
            raise _bad(name, typ, value, "is not an integer")
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        raise _bad(name, typ, value, "is not an integer")
    lo, hi = (0, 2**bits - 1) if unsigned else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    if not lo <= value <= hi:
        raise _bad(name, typ, value, f"is outside [{lo}, {hi}]")
    return value


def _float(name: str, typ: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _bad(name, typ, value, "is not a number")
    try:
        out = float(value)
    except (ValueError, OverflowError):
        raise _bad(name, typ, value, "is not a number") from None
    if typ == "Float32" and math.isfinite(out) and abs(out) > 3.4028234663852886e38:
        raise _bad(name, typ, value, "does not fit a Float32")
    return out


def _datetime(name: str, typ: str, value: Any) -> str:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise _bad(name, typ, value, "is not an ISO date-time") from None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat() + " 00:00:00"
    raise _bad(name, typ, value, "is not a date-time")


def _date(name: str, typ: str, value: Any) -> str:
    if isinstance(value, datetime):
        raise _bad(name, typ, value, "is a date-time, not a date")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            raise _bad(name, typ, value, "is not an ISO date (YYYY-MM-DD)") from None
    raise _bad(name, typ, value, "is not a date")


def coerce(name: str, typ: str, value: Any) -> Any:
    """Check ``value`` against the ClickHouse type ``typ`` and return its canonical JSON-able form.

    :param name: the parameter name (for the message).
    :param typ: the type written in the placeholder, e.g. ``UInt32``, ``Nullable(String)``, ``Array(Int32)``.
    :param value: a Python value, or text as typed on the command line.
    :return: an ``int``, ``float``, ``bool``, ``str`` (dates as ISO text), ``None`` or a list of these.
    :raises InvalidInput: the value does not fit; nothing has been sent anywhere yet.

    Types this module does not know are passed through as text; the server then checks them and a
    rejection is reported as ``InvalidInput`` by the source.
    """
    typ = " ".join(typ.split())
    m = _WRAPPER.fullmatch(typ)
    if m:
        if value is None and m.group(1) == "Nullable":
            return None
        return coerce(name, m.group(2), value)
    if value is None:
        raise _bad(name, typ, value, "is missing (the type is not Nullable)")
    m = _INT.fullmatch(typ)
    if m:
        return _int(name, typ, value, m.group(1) == "U", int(m.group(2)))
    if typ in ("Float32", "Float64"):
        return _float(name, typ, value)
    if typ == "Bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true"):
            return True
        if text in ("0", "false"):
            return False
        raise _bad(name, typ, value, "is not a boolean (true/false/1/0)")
    if typ == "String":
        if not isinstance(value, str):
            raise _bad(name, typ, value, "is not text")
        return value
    m = _FIXED.fullmatch(typ)
    if m:
        if not isinstance(value, str) or len(value.encode()) > int(m.group(1)):
            raise _bad(name, typ, value, f"is not text of at most {m.group(1)} bytes")
        return value
    if typ in ("Date", "Date32"):
        return _date(name, typ, value)
    if typ.startswith("DateTime"):
        return _datetime(name, typ, value)
    if typ == "Identifier":
        if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
            raise _bad(name, typ, value, "is not a plain [database.]name identifier")
        return value
    m = _ARRAY.fullmatch(typ)
    if m:
        if isinstance(value, str):
            value = [v for v in (p.strip() for p in value.split(",")) if v]
        if not isinstance(value, list | tuple):
            raise _bad(name, typ, value, "is not a list")
        return [coerce(name, m.group(1), v) for v in value]
    if isinstance(value, bool | int | float | str):
        return value
    raise _bad(name, typ, value, f"has unsupported Python type {type(value).__name__}")
