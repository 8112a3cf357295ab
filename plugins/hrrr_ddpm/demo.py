"""The embedded HRRR DDPM demo: a SYNTHETIC case in upstream's layout and a short CPU training config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from registry.family import DemoPlan

DATASET = "hrrr-synthetic"
CASE = {"n_times": 24, "height": 32, "width": 32, "seed": 0}
CELLS_PER_KCELL = 5.0  # about five convective cells on the 32 × 32 grid (the default 1 gives about one)
DEMO_CONFIG: dict[str, Any] = {
    "dataset": DATASET, "width": 16, "conditional": True, "epochs": 400, "batch_size": 17, "lr": 5e-3,
    "ema": 0.99, "crop": 8, "test_fraction": 0.25, "samplers": [{"kind": "ddim", "steps": 50}],
    "note": "demo: a small conditional model trained on fresh random 8 × 8 windows of a SYNTHETIC 32 × 32 case for "
            "400 steps (the no-skip network sits on a loss plateau of 1.0 for ~200 whole-grid steps); fully "
            "convolutional, so it samples the whole grid",
}


def prepare(workdir: Path) -> DemoPlan:
    """Write the SYNTHETIC case (``plugins.hrrr_ddpm.synthetic``) as per-variable ``.npy`` stacks with their stats
    and the demo's training config; the core registers the dataset, trains, registers and gates the version."""
    from plugins.hrrr_ddpm.synthetic import LABEL, SyntheticModel, make_case, write_upstream_layout

    workdir.mkdir(parents=True, exist_ok=True)
    case = make_case(CASE["n_times"], CASE["height"], CASE["width"], seed=CASE["seed"],
                     model=SyntheticModel(cells_per_kcell=CELLS_PER_KCELL))
    folder = workdir / "hrrr-synthetic-case"
    write_upstream_layout(case, folder)
    config = workdir / "hrrr_ddpm_demo_config.json"
    config.write_text(json.dumps(DEMO_CONFIG, indent=2, sort_keys=True))
    n, h, w = case.shape
    return DemoPlan(extract="", params={}, config=config, epochs=int(DEMO_CONFIG["epochs"]),
                    datasets={DATASET: (folder,)},
                    notes=(f"{n} states of 7 variables on a {h} × {w} grid: {LABEL}",
                           f"trained on the first {round(n * 0.75)} states; the gates score the rest"))
