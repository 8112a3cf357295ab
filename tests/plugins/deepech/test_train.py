"""plugins.deepech.train: both stages from the training window only, seeded, early-stopped, registered with lineage."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from plugins.deepech.extracts import LABELLED_ROWS, labelled_table
from plugins.deepech.synthetic import OccurrenceModel
from registry.errors import InvalidInput

START = datetime(2015, 1, 1, 16, 10)  # 50 training minutes before 17:00, the rest is the test window


def _config(tmp_path: Path, **kw: Any) -> Path:
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps({"epochs": 1, "batch_size": 32, "patience": 1, **kw}))
    return path


def test_test_window_is_never_read_and_seed_decides(tmp_path: Path, sample_rows: np.ndarray) -> None:
    from plugins.deepech.train import train_pair

    rows = sample_rows[:80]
    present, amp = OccurrenceModel().draw(rows, seed=1)
    present[:50:5], amp[:50:5] = 1, 25.0  # enough wave-present rows in the short training window
    flipped_p, flipped_a = present.copy(), amp.copy()
    flipped_p[50:] = 1 - flipped_p[50:]
    flipped_a[50:] = np.where(flipped_p[50:] == 1, 40.0, np.nan)
    cfg = _config(tmp_path)
    a_files, facts = train_pair(labelled_table(rows, present, amp, start=START), cfg, out_dir=tmp_path / "a",
                                epochs=None, seed=3, device="cpu", progress=False)
    b_files, _ = train_pair(labelled_table(rows, flipped_p, flipped_a, start=START), cfg, out_dir=tmp_path / "b",
                            epochs=None, seed=3, device="cpu", progress=False)
    for role in ("classifier", "regressor"):
        a, b = torch.load(a_files[role], weights_only=True), torch.load(b_files[role], weights_only=True)
        assert all(torch.equal(a[k], b[k]) for k in a), role
    assert facts["split"]["fit_rows"] + facts["split"]["validation_rows"] == 50
    assert facts["split"]["test_window_from"] == "2015-01-01T17:00:00"
    _, earlier = train_pair(labelled_table(rows, present, amp, start=START), _config(tmp_path, test_from=
                            "2015-01-01T16:50:00"), out_dir=tmp_path / "e", epochs=None, seed=3, device="cpu",
                            progress=False)  # the split is the config's: 40 training minutes
    assert earlier["split"]["fit_rows"] + earlier["split"]["validation_rows"] == 40
    assert earlier["split"]["test_window_from"] == "2015-01-01T16:50:00"
    assert facts["seed"] == 3 and facts["classifier"]["epochs_run"] == 1
    c_files, _ = train_pair(labelled_table(rows, present, amp, start=START), cfg, out_dir=tmp_path / "c",
                            epochs=None, seed=4, device="cpu", progress=False)
    a, c = torch.load(a_files["classifier"], weights_only=True), torch.load(c_files["classifier"], weights_only=True)
    assert not torch.equal(a["fc8.weight"], c["fc8.weight"])
    assert json.loads(a_files["config"].read_text())["threshold"] == 0.5


def test_bad_configs_and_too_few_rows(tmp_path: Path, sample_rows: np.ndarray) -> None:
    from plugins.deepech.train import read_config, train_pair

    assert read_config(_config(tmp_path))["lr"] == 1e-3
    for bad, msg in (({"epochs": 0}, "'epochs'"), ({"threshold": 1.0}, "'threshold'"), ({"lr": True}, "'lr'"),
                     ({"learning_rate": 1}, "unknown key"), ({"test_from": "17:00"}, "'test_from'"),
                     ({"test_from": 17}, "'test_from'"), ({"test_from": "2015-01-01T17:00:00Z"}, "without an offset")):
        with pytest.raises(InvalidInput, match=msg):
            read_config(_config(tmp_path, **bad))
    rows = sample_rows[:20]
    with pytest.raises(InvalidInput, match="too few to train"):
        train_pair(labelled_table(rows, np.zeros(20, np.uint8), np.full(20, np.nan), start=START),
                   _config(tmp_path), out_dir=tmp_path / "x", epochs=None, seed=0, device="cpu", progress=False)


def test_registry_train_registers_the_pair_with_lineage(app: Any, engine: Any, tmp_path: Path,
                                                        sample_rows: np.ndarray) -> None:
    from plugins.deepech.extracts import DEMO_DATABASE, load_demo_table
    from registry.training import train_and_register

    rows = sample_rows[:60]
    present, amp = OccurrenceModel().draw(rows, seed=2)
    present[::4], amp[::4] = 1, 22.0
    load_demo_table(engine, rows, present, amp)
    version, created = train_and_register(app, "deepech", _config(tmp_path), LABELLED_ROWS, seed=1, progress=False)
    engine.command(f"DROP DATABASE IF EXISTS {DEMO_DATABASE}")
    assert created and sorted(f.role for f in version.files) == ["classifier", "config", "regressor"]
    lineage = version.lineage
    assert lineage["validated"]["classifier_parameters"] == 2_850_417 and lineage["validated"]["threshold"] == 0.5
    assert lineage["extracts"][0]["name"] == LABELLED_ROWS and lineage["extracts"][0]["rows"] == 60
    assert lineage["training"]["seed"] == 1 and "validation_accuracy" in lineage["training"]["metrics"]
