"""A named, versioned list of gates for one family."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gates.base import Gate

if TYPE_CHECKING:
    from registry.records import GateResult


@dataclass(frozen=True)
class GateSuite:
    """Gates run together to decide a promotion; ``version`` changes whenever a gate or threshold does."""

    name: str
    version: str
    family: str
    gates: tuple[Gate, ...]
    description: str = ""
    # figures of the run as a whole (skill of every gate by lead, …), drawn from the gates' stored results
    figures: Callable[[Sequence[GateResult]], Sequence[dict[str, Any]]] | None = None

    def __post_init__(self) -> None:
        names = [g.name for g in self.gates]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"suite {self.name!r} has duplicate gate names: {', '.join(dupes)}")
