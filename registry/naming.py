"""Parsing and validating names: ``FAMILY@VERSION`` references and alias names."""

from __future__ import annotations

import re
from dataclasses import dataclass

from registry.errors import InvalidInput

# ``\Z``, not ``$``: ``$`` also matches before a trailing newline, which let "production\n" through
_FAMILY = re.compile(r"[a-z][a-z0-9_]{0,63}\Z")
_ALIAS = re.compile(r"[a-z][a-z0-9_-]{0,63}\Z")
_HEX = re.compile(r"[0-9a-f]{4,64}\Z")
# C0 and C1 controls, DEL, zero-width and bidirectional formatting characters, line and paragraph separators:
# each can forge or hide what a terminal or a page shows (a newline in a name printed a fake `list` row)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


@dataclass(frozen=True)
class VersionRef:
    """A parsed ``FAMILY@SELECTOR``; the selector is a number, an alias or a hash prefix (tried in that order)."""

    family: str
    selector: str

    @property
    def number(self) -> int | None:
        return int(self.selector) if self.selector.isascii() and self.selector.isdigit() else None

    @property
    def could_be_hash(self) -> bool:
        return bool(_HEX.match(self.selector))

    def __str__(self) -> str:
        return f"{self.family}@{self.selector}"


def parse_ref(text: str) -> VersionRef:
    """Parse ``FAMILY@VERSION`` (``ionis@3``, ``ionis@9f2c01``, ``ionis@production``)."""
    family, sep, selector = text.partition("@")
    if not sep or not selector:
        raise InvalidInput(f"{text!r} is not FAMILY@VERSION (e.g. ionis@3, ionis@9f2c01, ionis@production)")
    check_family(family)
    selector = selector.lower() if _HEX.match(selector.lower()) else selector
    if not ((selector.isascii() and selector.isdigit()) or _ALIAS.match(selector) or _HEX.match(selector)):
        raise InvalidInput(f"{selector!r} is neither a version number, an alias nor a hash prefix")
    return VersionRef(family, selector)


def check_text(value: str, what: str) -> str:
    """Return ``value`` unless it holds a control character (newline, terminal escape, bidi override…)."""
    bad = _CONTROL.search(value)
    if bad:
        raise InvalidInput(f"{what} contains the control character {bad.group()!r} at position {bad.start()}: "
                           "names, reasons, users and code versions must be printable text")
    return value


def check_family(name: str) -> str:
    """Return ``name`` if it is a syntactically valid family name."""
    if not _FAMILY.match(name):
        raise InvalidInput(f"{name!r} is not a valid family name (lowercase letters, digits, underscore)")
    return name


def check_alias(name: str) -> str:
    """Return ``name`` if it is a valid alias (lowercase, starts with a letter, not all hex digits)."""
    if not _ALIAS.match(name):
        raise InvalidInput(f"{name!r} is not a valid alias (lowercase letters, digits, '-', '_'; starts with a letter)")
    if _HEX.match(name):
        raise InvalidInput(f"{name!r} cannot be an alias: it reads as a hash prefix")
    return name
