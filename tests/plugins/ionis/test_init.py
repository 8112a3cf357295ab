"""The plugin module: hookimpls only, and importing it (or calling its hooks) never imports torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from registry.plugins import get_plugin_manager

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_hooks_provide_family_suites_and_extract():
    plugins = get_plugin_manager(builtins=("plugins.ionis",), entry_points=False)
    assert list(plugins.families()) == ["ionis"]
    assert ("ionis", "ionis-v22-release") in plugins.suites()
    assert "ionis-wspr-signatures" in plugins.extracts()
    assert plugins.problems == []


def test_import_and_hooks_stay_torch_free():
    code = ("import sys, plugins.ionis as p; fams = p.registry_families(); suites = p.registry_gates(); "
            "p.registry_extracts(); assert 'torch' not in sys.modules, 'torch imported'; print(len(suites))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "7"  # V22, V20 era, V21 battery; V23, V24, V25, V26 own suites
