"""A named, versioned list of gates for one family, and the options a suite can be run with."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from gates.base import Gate
from registry.errors import InvalidInput

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
    # options the suite can be run with, ``(name, default)`` (bool, int, float or str), and the factory that
    # builds the suite from them by keyword; see ``configured``
    options: tuple[tuple[str, Any], ...] = ()
    build: Callable[..., GateSuite] | None = None
    # how far a re-run on another device (CPU vs GPU, another GPU) may move a gate's value before ``verify``
    # calls it drift: ``{"rtol": …, "atol": …}``, recorded in the evidence; None: values must repeat exactly
    device_tolerance: Mapping[str, float] | None = None

    def __post_init__(self) -> None:
        names = [g.name for g in self.gates]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"suite {self.name!r} has duplicate gate names: {', '.join(dupes)}")
        if self.options and self.build is None:
            raise ValueError(f"suite {self.name!r} has options but no build function")
        tol = dict(self.device_tolerance or {})
        if set(tol) - {"rtol", "atol"} or not all(isinstance(v, int | float) and math.isfinite(v) and v >= 0
                                                  for v in tol.values()):
            raise ValueError(f"suite {self.name!r}: device_tolerance takes finite rtol/atol ≥ 0, got {tol}")

    def configured(self, given: Mapping[str, str]) -> GateSuite:
        """This suite run with the options in ``given`` (text values, converted to each default's type).

        The result is named ``NAME[opt=value,…]`` with the options that differ from their defaults, sorted, so
        one configuration has one name: the name a policy accepts, a promotion records in its evidence and a
        re-run rebuilds the suite from. Unknown options and values of the wrong type are ``InvalidInput``.
        """
        defaults = dict(self.options)
        unknown = sorted(set(given) - set(defaults))
        if unknown:
            known = ", ".join(f"{k} (default {format_option(v)})" for k, v in self.options) or "none"
            raise InvalidInput(f"suite {self.name!r} has no option {', '.join(map(repr, unknown))} (options: {known})")
        values = {k: parse_option(self.name, k, v, defaults[k]) for k, v in given.items()}
        changed = {k: v for k, v in sorted(values.items()) if v != defaults[k]}  # parse_option gives the type
        if not changed:
            return self
        assert self.build is not None  # options imply a build function (__post_init__)
        suite = self.build(**{**defaults, **changed})
        shown = ",".join(f"{k}={format_option(v)}" for k, v in changed.items())
        return replace(suite, name=f"{self.name}[{shown}]", options=self.options, build=self.build,
                       description=f"{suite.description} (options: {shown})".strip())


_OPTION_TEXT = re.compile(r"[A-Za-z0-9_.:+-]{1,64}\Z")
_SUITE_NAME = re.compile(r"(?P<base>[^\[\]]+)\[(?P<options>[^\[\]]*)\]\Z")


def format_option(value: Any) -> str:
    """How an option value is written in a suite name (``true``, ``50``, ``0.912``, text as is)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def parse_option(suite: str, key: str, text: str, default: Any) -> Any:
    """``text`` as a value of ``default``'s type; ``InvalidInput`` naming the option otherwise."""
    from registry.errors import InvalidInput

    kind = type(default).__name__
    try:
        if isinstance(default, bool):
            if text not in ("true", "false"):
                raise ValueError(text)
            return text == "true"
        if isinstance(default, int):
            return int(text)
        if isinstance(default, float):
            value = float(text)
            if not math.isfinite(value):
                raise ValueError(text)
            return value
    except ValueError:
        raise InvalidInput(f"suite {suite!r}: option {key}={text!r} is not a finite {kind}") from None
    if not _OPTION_TEXT.match(text):
        raise InvalidInput(f"suite {suite!r}: option {key}={text!r} must be 1–64 letters, digits or . _ : + -")
    return text


def split_suite_name(name: str) -> tuple[str, dict[str, str]]:
    """``"NAME[a=1,b=x]"`` → ``("NAME", {"a": "1", "b": "x"})``; a plain name has no options."""
    from registry.errors import InvalidInput

    if "[" not in name and "]" not in name:
        return name, {}
    m = _SUITE_NAME.match(name)
    if m is None:
        raise InvalidInput(f"suite {name!r} is not NAME or NAME[option=value,…]")
    given: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in m["options"].split(","))):
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise InvalidInput(f"suite {name!r}: {part!r} is not option=value")
        if key in given:
            raise InvalidInput(f"suite {name!r}: option {key!r} given twice")
        given[key] = value
    return m["base"], given
