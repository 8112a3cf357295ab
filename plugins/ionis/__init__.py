"""The IONIS family plugin: hookimpls only; everything else is imported when a hook is called."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from registry.hookspecs import hookimpl

if TYPE_CHECKING:
    from cache.spec import ExtractSpec
    from gates.suite import GateSuite
    from registry.family import Family


@hookimpl
def registry_families() -> Iterable[Family]:
    from plugins.ionis.family import IonisFamily

    return [IonisFamily()]


@hookimpl
def registry_gates() -> Iterable[GateSuite]:
    from plugins.ionis.suites import ionis_suites

    return ionis_suites()


@hookimpl
def registry_extracts() -> Iterable[ExtractSpec]:
    from plugins.ionis.extracts import WSPR_SIGNATURES_SPEC

    return [WSPR_SIGNATURES_SPEC]
