"""JSON that users hand in (configs, metadata, parameters): strict, bounded, and one clear error for anything odd."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from registry.errors import InvalidInput, UsageError

MAX_DEPTH = 64  # no config or metadata file of any family nests deeper than a few levels
MAX_DIGITS = 40  # an integer longer than this is no physical constant (Python refuses > 4300 only)


def _depth(text: str) -> int:
    """The deepest bracket nesting of ``text``, strings skipped (a linear scan, no recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise ValueError(f"an integer of {len(text.lstrip('-'))} digits")
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:20]} overflows a float")
    return value


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"key {key[:40]!r} appears twice")
        out[key] = value
    return out


def parse_json(text: str, what: str, *, error: Callable[[str], UsageError] = InvalidInput) -> Any:
    """Parse ``text``; NaN/Infinity, overflowing or absurdly long numbers, duplicate keys and nesting deeper
    than ``MAX_DEPTH`` are refused with one line naming ``what`` (raised as ``error``)."""
    deepest = _depth(text)
    if deepest > MAX_DEPTH:
        raise error(f"{what}: JSON nested {deepest} levels deep (at most {MAX_DEPTH})")
    try:
        return json.loads(text, parse_constant=_no_constant, parse_int=_int, parse_float=_float,
                          object_pairs_hook=_unique)
    except (ValueError, RecursionError) as exc:
        raise error(f"{what}: not valid JSON ({str(exc).splitlines()[0][:160]})") from None


def read_json(path: Path, what: str, *, max_bytes: int = 16 * 2**20,
              error: Callable[[str], UsageError] = InvalidInput) -> Any:
    """``parse_json`` of a UTF-8 file of at most ``max_bytes``."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise error(f"{what} {path.name}: {size:,} bytes, more than the {max_bytes:,} accepted")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"{what} {path.name}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise error(f"{what} {path.name}: not UTF-8 text") from None
    return parse_json(text, f"{what} {path.name}", error=error)


def read_json_object(path: Path, what: str, *, max_bytes: int = 16 * 2**20,
                     error: Callable[[str], UsageError] = InvalidInput) -> dict[str, Any]:
    """``read_json`` that must give an object (a config or a metadata file)."""
    data = read_json(path, what, max_bytes=max_bytes, error=error)
    if not isinstance(data, dict):
        raise error(f"{what} {Path(path).name}: expected a JSON object, not {type(data).__name__}")
    return data
