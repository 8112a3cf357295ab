"""A named, versioned list of gates for one family."""

from __future__ import annotations

from dataclasses import dataclass

from gates.base import Gate


@dataclass(frozen=True)
class GateSuite:
    """Gates run together to decide a promotion; ``version`` changes whenever a gate or threshold does."""

    name: str
    version: str
    family: str
    gates: tuple[Gate, ...]
    description: str = ""

    def __post_init__(self) -> None:
        names = [g.name for g in self.gates]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"suite {self.name!r} has duplicate gate names: {', '.join(dupes)}")
