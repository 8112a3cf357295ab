"""The HRRR convective DDPM family plugin: hookimpls only; everything else is imported when a hook is called."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from registry.hookspecs import hookimpl

if TYPE_CHECKING:
    from gates.suite import GateSuite
    from registry.family import Family


@hookimpl
def registry_families() -> Iterable[Family]:
    from plugins.hrrr_ddpm.family import HrrrDDPMFamily

    return [HrrrDDPMFamily()]


@hookimpl
def registry_gates() -> Iterable[GateSuite]:
    from plugins.hrrr_ddpm.suites import hrrr_suites

    return hrrr_suites()
