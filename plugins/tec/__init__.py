"""The TEC family plugin (BiLSTM-attention V2.1): hookimpls only; everything else is imported when a hook is called."""

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
    from plugins.tec.family import TecFamily

    return [TecFamily()]


@hookimpl
def registry_gates() -> Iterable[GateSuite]:
    from plugins.tec.suites import tec_suites

    return tec_suites()


@hookimpl
def registry_extracts() -> Iterable[ExtractSpec]:
    from plugins.tec.extracts import TEC_HOURLY_SPEC

    return [TEC_HOURLY_SPEC]
