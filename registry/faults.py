"""Named crash points so tests can SIGKILL a real process at an exact step of a write."""

from __future__ import annotations

import os
import signal

CRASH_ENV = "REGISTRY_CRASH_AT"


def crash_point(name: str) -> None:
    """Kill this process with SIGKILL when ``$REGISTRY_CRASH_AT`` equals ``name`` (tests only)."""
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
