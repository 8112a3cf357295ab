"""``registry demo hrrr_ddpm`` end to end in a child process (2 epochs: the demo's path, not its training), and the
demo's SYNTHETIC case and config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clirun import run_cli

from plugins.hrrr_ddpm.demo import DATASET, DEMO_CONFIG, prepare

pytestmark = pytest.mark.slow


def test_prepare_writes_a_labelled_synthetic_case_and_the_config(tmp_path: Path) -> None:
    plan = prepare(tmp_path / "demo")
    folder = plan.datasets[DATASET][0]
    assert sorted(p.stem for p in folder.glob("*.npy")) == sorted(["REFC", "T2M", "D2M", "U10", "V10", "CAPE", "CIN",
                                                                  "lat", "lon"])
    assert json.loads((folder / "synthetic.json").read_text())["synthetic"] is True
    assert "SYNTHETIC" in plan.notes[0] and plan.extract == ""
    assert json.loads(plan.config.read_text()) == DEMO_CONFIG and plan.epochs == DEMO_CONFIG["epochs"]


def test_the_demo_registers_trains_gates_and_refuses_an_undertrained_model(tmp_path: Path) -> None:
    home = tmp_path / "home"
    done = run_cli("demo", "hrrr_ddpm", "--epochs", "2", env={"REGISTRY_HOME": str(home)}, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr  # the demo ran; its verdict is in the output
    out = done.stdout
    assert "dataset hrrr-synthetic: 24×32×32" in out and "trained and registered hrrr_ddpm@1" in out
    assert "PASS  schedule-agreement" in out and "PASS  sampler-check" in out
    assert "refused for production" in out and "production is unchanged" in out
    card = next((home / "scorecards").glob("hrrr_ddpm-1-*.html")).read_text()
    assert "paintball" not in card or "<svg" in card
    assert card.count('class="fig mplfig"') >= 15  # rank histograms, reliability, maps and the paintball drawn
    header = card.split("</header>")[0]  # the synthetic case is labelled from the evidence alone, not only in maps
    assert 'data-synthetic="hrrr-synthetic"' in header and "Dataset digests (SYNTHETIC: hrrr-synthetic)" in card
    assert len(list((home / "ensembles").iterdir())) >= 4  # one generated ensemble per case, kept on disk
    assert "%|" not in done.stderr  # no progress bars into a pipe (a tqdm bar draws "NN%|")
