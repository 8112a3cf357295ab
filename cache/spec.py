"""Declared extracts: SQL with bound parameters, expected schema, deterministic sampling and splits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ExtractSpec:
    """A named query whose result is cached so a gate run can be repeated bit for bit.

    ``sql`` uses ClickHouse server-side parameters (``{name:Type}``), never string formatting;
    ``params`` holds their defaults. ``schema`` lists the expected ``(column, type)`` pairs.
    """

    name: str
    sql: str
    description: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    schema: tuple[tuple[str, str], ...] = ()
