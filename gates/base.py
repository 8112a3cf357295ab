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

    from cache.datasets import Dataset
    from cache.ensembles import Ensemble
    from registry.family import EnsemblePlan
    from registry.records import ModelVersion

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
}


ON = ("value", "lower", "upper")


@dataclass(frozen=True)
class Threshold:
    """A comparison ``value <op> limit``, or a band ``lower ≤ value ≤ upper`` (op ``"between"``, limit a pair);
    NaN, None and infinities never pass (fail closed).

    ``on`` says what is held to it: the measured ``value``, or the ``lower``/``upper`` bound of its confidence
    interval ("skill vs climatology > 0 at 95 %" is ``Threshold(">", 0, on="lower")``); without an interval a
    bound gate fails.
    """

    op: str
    limit: float | int | tuple[float, float]
    on: str = "value"

    def __post_init__(self) -> None:
        if self.op != "between" and self.op not in _OPS:
            raise ValueError(f"unknown comparator {self.op!r}; use one of {', '.join(_OPS)}, between")
        if self.on not in ON:
            raise ValueError(f"a threshold is held on one of {', '.join(ON)}, got {self.on!r}")
        if self.op == "between":
            lo, hi = self.limit if isinstance(self.limit, tuple | list) and len(self.limit) == 2 else (None, None)
            if not (_finite(lo) and _finite(hi) and lo <= hi):  # type: ignore[operator]
                raise ValueError(f"a band needs finite (lower, upper) with lower ≤ upper, got {self.limit!r}")
            object.__setattr__(self, "limit", (lo, hi))
        elif isinstance(self.limit, tuple | list) or not _finite(self.limit):
            raise ValueError(f"{self.op} needs one finite limit, got {self.limit!r}")

    @classmethod
    def band(cls, lower: float, upper: float, on: str = "value") -> Threshold:
        """``lower ≤ value ≤ upper`` (e.g. spread/skill between 0.8 and 1.2)."""
        return cls("between", (lower, upper), on)

    def check(self, value: float | int | None) -> bool:
        if not _finite(value):
            return False
        if isinstance(self.limit, tuple):
            return bool(self.limit[0] <= value <= self.limit[1])  # type: ignore[operator]
        return bool(_OPS[self.op](value, self.limit))

    def __str__(self) -> str:
        if isinstance(self.limit, tuple):
            return f"in [{self.limit[0]:g}, {self.limit[1]:g}]"
        return f"{self.op} {self.limit:g}"


def _finite(v: Any) -> bool:
    try:
        return v is not None and not isinstance(v, str) and math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


@dataclass(frozen=True)
class Slice:
    """One part of a gate's measurement (a lead time, a variable, the storm subset): its value, whether it
    meets the gate's threshold, and its interval if one was computed. The champion comparison lists them."""

    name: str
    value: float | int | None
    passed: bool | None = None
    interval: Mapping[str, float] | None = None

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "passed": self.passed,
                "interval": None if self.interval is None else dict(self.interval)}


@dataclass(frozen=True)
class Outcome:
    """What a gate measured. ``passed`` is decided by the gate (usually ``threshold.check(value)``).

    ``details`` are JSON tables for the scorecard; ``figures`` are plot specs such as
    ``{"kind": "line", "title": ..., "x": [...], "series": {"name": [...]}, "xlabel": ..., "ylabel": ...}``
    or ``{"kind": "bar", ...}``, rendered as inline SVG from the stored evidence.
    ``interval`` is the value's confidence interval (``{"lower", "upper", "level"}``) and ``slices`` the
    value by lead, variable or subset; both are stored in ``details`` under those names, where the scorecard
    and the champion comparison read them.
    """

    value: float | int | None
    passed: bool
    threshold: float | int | tuple[float, float] | None = None
    comparator: str = ""
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    figures: tuple[dict[str, Any], ...] = ()
    interval: Mapping[str, float] | None = None
    slices: tuple[Slice, ...] = ()

    def __post_init__(self) -> None:
        extra: dict[str, Any] = {}
        if self.interval is not None:
            extra["interval"] = _interval(self.interval)
        if self.slices:
            extra["slices"] = [s.as_json() for s in self.slices]
        if extra:
            object.__setattr__(self, "details", {**self.details, **extra})

    @classmethod
    def held_to(cls, value: float | int | None, threshold: Threshold, message: str = "", **kw: Any) -> Outcome:
        """Outcome of comparing ``value`` — or the bound of ``interval`` that ``threshold.on`` names — with
        ``threshold``; ``slices`` given without ``passed`` are held to the same threshold."""
        interval = kw.get("interval")
        if interval is not None:
            interval = _interval(interval)
        held: float | int | None = value
        if threshold.on != "value":
            held = None if interval is None else interval[threshold.on]
        passed = threshold.check(held)
        kw["slices"] = tuple(s if s.passed is not None else Slice(s.name, s.value, threshold.check(
            s.value if threshold.on == "value" or s.interval is None else s.interval.get(threshold.on)), s.interval)
            for s in kw.get("slices", ()))
        if not message:
            verb = "meets" if passed else "misses"
            shown = "n/a" if value is None else f"{float(value):.4g}"
            if interval is not None:
                shown += f" [{interval['lower']:.4g}, {interval['upper']:.4g}] at {interval['level']:.0%}"
            if threshold.on != "value":
                bound = "n/a (no interval)" if held is None else f"{float(held):.4g}"
                shown += f": {threshold.on} bound {bound}"
            message = f"{shown} {verb} {threshold}"
        limit = list(threshold.limit) if isinstance(threshold.limit, tuple) else threshold.limit
        return cls(value=value, passed=passed, threshold=limit, comparator=threshold.op,  # type: ignore[arg-type]
                   message=message, **kw)


def _interval(interval: Any) -> dict[str, float]:
    """``{"lower", "upper", "level"}`` from a mapping or an object with those attributes (``gates.bootstrap``)."""
    get = interval.get if isinstance(interval, Mapping) else lambda k: getattr(interval, k, None)
    raw = {k: get(k) for k in ("lower", "upper", "level")}
    if not all(_finite(v) and not isinstance(v, bool) for v in raw.values()):
        raise ValueError(f"an interval needs finite lower, upper and level, got {raw}")
    out = {k: float(v) for k, v in raw.items()}  # type: ignore[arg-type]  # _finite checked each
    if not (out["lower"] <= out["upper"] and 0 < out["level"] < 1):
        raise ValueError(f"an interval needs lower ≤ upper and a level in (0, 1), got {out}")
    return out


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
    ``dataset(name)`` opens a registered gridded dataset lazily (chunks verified as read; pinned by digest in
    the evidence); ``ensemble(plan, champion=False)`` returns the on-disk ensemble a family's ``EnsemblePlan``
    describes, generated once per (version, condition, sampler, seed, device) and shared by every gate, run,
    re-run and the champion comparison.
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

    def dataset(self, name: str) -> Dataset: ...

    def ensemble(self, plan: EnsemblePlan, *, champion: bool = False) -> Ensemble: ...

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
