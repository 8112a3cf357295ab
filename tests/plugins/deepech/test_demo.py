"""plugins.deepech.demo: the real sample rows with SYNTHETIC labels in the embedded engine, and the demo config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from plugins.deepech.demo import prepare
from registry.errors import InvalidInput


def test_prepare_loads_labelled_sample_day(engine: Any, tmp_path: Path, sample_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from plugins.deepech.extracts import DEMO_DATABASE, DEMO_TABLE, LABELLED_ROWS

    monkeypatch.setenv("REGISTRY_SHARED_DATA", str(sample_path.parents[1]))
    plan = prepare(engine, tmp_path / "demo")
    n, present = engine.client.query(
        f"SELECT count(), sum(wave_present) FROM {DEMO_DATABASE}.{DEMO_TABLE}").result_rows[0]
    engine.command(f"DROP DATABASE IF EXISTS {DEMO_DATABASE}")
    assert (n, plan.extract) == (1440, LABELLED_ROWS) and 0.15 < present / n < 0.4
    assert "SYNTHETIC" in plan.notes[0] and f"{present} labelled wave-present" in plan.notes[0]
    cfg = json.loads(plan.config.read_text())
    assert cfg["threshold"] == 0.5 and cfg["epochs"] == plan.epochs


def test_prepare_without_the_sample_says_where_it_looked(engine: Any, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGISTRY_SHARED_DATA", str(tmp_path))
    with pytest.raises(InvalidInput, match="sample_data.pkl \\(set REGISTRY_SHARED_DATA\\)"):
        prepare(engine, tmp_path / "demo")
