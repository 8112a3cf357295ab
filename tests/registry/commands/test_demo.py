"""``registry demo`` end to end on the embedded default, in a child process like a new user would run it."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_cli


def test_demo_trains_registers_and_gates_then_repeats_identically(tmp_path):
    home = tmp_path / "home"
    first = run_cli("--home", str(home), "demo", "--epochs", "2", "--json", timeout=300)
    assert first.returncode == 0, first.stderr[-2000:]
    body = json.loads(first.stdout)
    demo = body["demo"]
    assert demo["version"] == "ionis@1" and demo["verdict"] in ("promoted", "refused", "error")
    assert Path(demo["scorecard"]).is_file()
    html = Path(demo["scorecard"]).read_text()
    assert "tst900" in html and "<svg" in html
    # the run is reproducible: same extract (cache hit), same trained bytes, same version
    again = json.loads(run_cli("--home", str(home), "demo", "--epochs", "2", "--json", timeout=300).stdout)
    assert again["demo"]["version"] == "ionis@1"
    shown = json.loads(run_cli("--home", str(home), "show", "ionis@1", "--json").stdout)
    extract = shown["lineage"]["extracts"][0]
    assert extract["name"] == "ionis-wspr-signatures" and extract["params"]["table"] == "synthetic_signatures"
    assert shown["lineage"]["training"]["seed"] == 0
    assert shown["lineage"]["training"]["metrics"]["val_pearson"] > 0.3
    assert len(shown["evidence"]) == 2
