"""The DeepECH family plugin: hookimpls only; everything else is imported when a hook is called."""

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
    from plugins.deepech.family import DeepECHFamily

    return [DeepECHFamily()]


@hookimpl
def registry_gates() -> Iterable[GateSuite]:
    from plugins.deepech.suites import deepech_suites

    return deepech_suites()


@hookimpl
def registry_extracts() -> Iterable[ExtractSpec]:
    from plugins.deepech.extracts import LABELLED_ROWS_SPEC

    return [LABELLED_ROWS_SPEC]
