"""Running the real ``registry`` command in child processes, with the toy family importable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SUPPORT = Path(__file__).resolve().parent
REPO = SUPPORT.parents[1]


def child_env(**extra: str) -> dict[str, str]:
    """This process's environment for a child ``registry``: toy family on the path, its own embedded engine."""
    inherited = {k: v for k, v in os.environ.items() if k != "REGISTRY_CHDB_PATH"}  # this process holds that engine
    return {**inherited, "PYTHONPATH": os.pathsep.join([str(SUPPORT), str(REPO)]), "REGISTRY_PLUGINS": "toy_family",
            **extra}


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``python -m registry.cli ARGS`` in a child process and capture its output."""
    return subprocess.run([sys.executable, "-m", "registry.cli", *args], capture_output=True, text=True,
                          env=child_env(**(env or {})), timeout=timeout, cwd=REPO)
