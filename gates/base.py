"""The gate protocol: what a gate is given, what it returns, and how a value is held to a threshold."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from registry.records import ModelVersion

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
}


@dataclass(frozen=True)
class Threshold:
    """A comparison ``value <op> limit``; NaN, None and infinities never pass (fail closed)."""

    op: str
    limit: float | int

    def __post_init__(self) -> None:
        if self.op not in _OPS:
            raise ValueError(f"unknown comparator {self.op!r}; use one of {', '.join(_OPS)}")

    def check(self, value: float | int | None) -> bool:
        if value is None:
            return False
        v = float(value)
        if math.isnan(v) or math.isinf(v):
            return False
        return bool(_OPS[self.op](value, self.limit))

    def __str__(self) -> str:
        return f"{self.op} {self.limit:g}"


@dataclass(frozen=True)
class Outcome:
    """What a gate measured. ``passed`` is decided by the gate (usually ``threshold.check(value)``).

    ``details`` are JSON tables for the scorecard; ``figures`` are plot specs such as
    ``{"kind": "line", "title": ..., "x": [...], "series": {"name": [...]}, "xlabel": ..., "ylabel": ...}``
    or ``{"kind": "bar", ...}``, rendered as inline SVG from the stored evidence.
    """

    value: float | int | None
    passed: bool
    threshold: float | int | None = None
    comparator: str = ""
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    figures: tuple[dict[str, Any], ...] = ()

    @classmethod
    def held_to(cls, value: float | int | None, threshold: Threshold, message: str = "", **kw: Any) -> Outcome:
        """Outcome of comparing ``value`` with ``threshold``."""
        passed = threshold.check(value)
        if not message:
            verb = "meets" if passed else "misses"
            shown = "n/a" if value is None else f"{float(value):.4g}"
            message = f"{shown} {verb} {threshold}"
        return cls(value=value, passed=passed, threshold=threshold.limit, comparator=threshold.op,
                   message=message, **kw)


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], title: str = "") -> dict[str, Any]:
    """Rows of flat records as a details table whose columns keep the given order on the scorecard.

    Put it under ``details["table"]`` (or a list of them under ``details["tables"]``); a plain list of
    dicts is shown too, but stored evidence sorts keys, so its columns come out alphabetically.
    """
    return {"title": title, "columns": list(columns), "rows": [[r.get(c) for c in columns] for r in rows]}


@runtime_checkable
class GateContext(Protocol):
    """What a gate may ask for while it runs. Every access is recorded in the evidence.

    ``model`` is the candidate loaded by its family (hash-verified); ``champion_model`` the current holder
    of the target alias, or None. ``extract(name)`` returns the newest cached copy of an extract as an
    Arrow table; ``extract(name, params=…, split=…)`` exactly that request (e.g. a climatology built from
    the training years and the test window of one spec). Rows are re-hashed against their digest, and a
    missing extract raises ``DataMissing``, so a gate that lacks data fails closed. ``memo(key, compute)``
    shares a product between the gates of one run (predictions on a fixed battery, a generated ensemble).
    ``rng(stream)`` and ``torch_generator(stream)`` are seeded from the run's seed and the stream name.
    """

    version: ModelVersion
    champion: ModelVersion | None
    seed: int
    device: str

    @property
    def model(self) -> Any: ...

    @property
    def champion_model(self) -> Any: ...

    def file(self, role: str) -> Path: ...

    def extract(self, name: str, *, params: Mapping[str, Any] | None = None, split: str | None = None) -> pa.Table:
        ...

    def memo(self, key: str, compute: Callable[[], Any]) -> Any: ...

    def rng(self, stream: str = "") -> np.random.Generator: ...

    def torch_generator(self, stream: str = "") -> Any: ...


@runtime_checkable
class Gate(Protocol):
    """One check of a suite. ``evaluate`` returns an ``Outcome`` (pass or fail) and raises
    ``registry.errors.GateError`` (or any exception) only when it cannot evaluate at all."""

    name: str
    version: str
    description: str

    def evaluate(self, ctx: GateContext) -> Outcome: ...
