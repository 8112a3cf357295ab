"""The hook surface: the only three things a plugin can contribute — families, gate suites and extracts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from cache.spec import ExtractSpec
    from gates.suite import GateSuite
    from registry.family import Family

NAME = "registry"
"""Marker name, hook prefix (``registry_…``) and, as ``registry.plugins``, the entry-point group."""

ENTRY_POINT_GROUP = f"{NAME}.plugins"

hookspec = pluggy.HookspecMarker(NAME)
hookimpl = pluggy.HookimplMarker(NAME)


@hookspec
def registry_families() -> Iterable[Family]:
    """Contribute model families.

    :return: an iterable of objects satisfying ``registry.family.Family``; family names must be unique
        across all plugins (a duplicate is reported and the later plugin's family is ignored).

    Called once per process by ``Plugins.families()`` the first time any command needs a family.
    """


@hookspec
def registry_gates() -> Iterable[GateSuite]:
    """Contribute gate suites (a family's release gates, or extra suites for another plugin's family).

    :return: an iterable of ``gates.suite.GateSuite``; ``(family, name)`` must be unique across plugins.

    Called once per process by ``Plugins.suites()`` before a suite is run, listed or verified.
    """


@hookspec
def registry_extracts() -> Iterable[ExtractSpec]:
    """Contribute extract specs: SQL templates with bound parameters whose results the cache stores.

    :return: an iterable of ``cache.spec.ExtractSpec``; extract names must be unique across plugins.

    Called once per process by ``Plugins.extracts()`` when an extract is materialised, listed or read by a gate.
    """
