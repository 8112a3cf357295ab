"""The embedded DeepECH demo: upstream's real sample rows as inputs, SYNTHETIC labels, a short training config."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from plugins.deepech.extracts import DEMO_DATABASE, DEMO_TABLE, LABELLED_ROWS, load_demo_table
from plugins.deepech.synthetic import LABEL_NOTE, OccurrenceModel
from registry.errors import InvalidInput
from registry.family import DemoPlan

SHARED_DATA_ENV = "REGISTRY_SHARED_DATA"
DEMO_CONFIG: dict[str, Any] = {"threshold": 0.5, "epochs": 8, "batch_size": 64, "lr": 5e-4, "patience": 3,
               "validation_fraction": 0.3, "note": "demo: a few CPU epochs on one day of SYNTHETIC labels"}


def sample_path() -> Path:
    """``$REGISTRY_SHARED_DATA/deepech/sample_data.pkl`` (default ``<repo>/../shared/data``): third-party rows."""
    base = os.environ.get(SHARED_DATA_ENV) or Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
    return Path(base) / "deepech" / "sample_data.pkl"


def prepare(source: Any, workdir: Path) -> DemoPlan:
    """Label the real sample rows with the synthetic occurrence model, load them into the embedded engine and
    write the demo's training config."""
    from plugins.deepech.inputs import read_rows

    path = sample_path()
    if not path.is_file():
        raise InvalidInput(f"the DeepECH demo needs upstream's sample rows at {path} (set {SHARED_DATA_ENV})")
    rows = read_rows(path)
    present, amp = OccurrenceModel().draw(rows)
    n = load_demo_table(source, rows, present, amp)
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "deepech_demo_config.json"
    config.write_text(json.dumps(DEMO_CONFIG, indent=2, sort_keys=True))
    return DemoPlan(LABELLED_ROWS, {}, config, epochs=int(DEMO_CONFIG["epochs"]), notes=(
        f"{n:,} real DeepECH sample rows in {DEMO_DATABASE}.{DEMO_TABLE}, {int(present.sum())} labelled wave-present: "
        + LABEL_NOTE,))
