"""plugins.hrrr_ddpm.family: safe validation (shapes, counts, config), loading, ensemble plans; the plugin hooks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from plugins.hrrr_ddpm.family import HrrrDDPMFamily
from plugins.hrrr_ddpm.scoring import VARIABLES
from registry.errors import InvalidCheckpoint, InvalidInput

CONFIG: dict[str, Any] = {"variables": list(VARIABLES), "stats": {v: {"mean": 10.0, "std": 2.0} for v in VARIABLES},
                          "samplers": [{"kind": "ddim", "steps": 4}], "dataset": "case", "test_from": 3}


@pytest.fixture(scope="module")
def version(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from plugins.hrrr_ddpm.model import TinyDDPM, save_model

    d = tmp_path_factory.mktemp("hrrr-family")
    save_model(TinyDDPM.from_config({"cond_channels": 7}, seed=0), d / "weights.safetensors")
    (d / "config.json").write_text(json.dumps(CONFIG))
    return {"weights": d / "weights.safetensors", "config": d / "config.json"}


def _with_config(version: dict[str, Path], tmp_path: Path, **change: Any) -> dict[str, Path]:
    path = tmp_path / "changed.json"
    path.write_text(json.dumps({**CONFIG, **change}))
    return {**version, "config": path}


def test_validate_reports_the_architecture_and_samplers(version: dict[str, Path]) -> None:
    facts = HrrrDDPMFamily().validate(version)
    assert facts["parameters"] == 81_111 + 7 * 16 * 9  # the condition adds 7 input channels to the first conv
    assert facts["cond_channels"] == 7 and facts["schedule"] == {"T": 1000, "s": 0.008}
    assert facts["samplers"] == ["ddim-4 η=0"] and 0.003 < facts["alpha_bar_T"] < 0.0033


@pytest.mark.parametrize(("change", "message"), [
    ({"variables": []}, "non-empty list"),
    ({"stats": {v: {"mean": 0.0, "std": 0.0} for v in VARIABLES}}, "std > 0"),
    ({"samplers": []}, "at least one sampler"),
    ({"samplers": [{"kind": "euler", "steps": 4}]}, "a sampler is not valid"),
    ({"condition": "future"}, "condition must be one of"),
    ({"variables": list(VARIABLES[:6])}, "7 channels, the config 6"),
])
def test_bad_configs_are_one_clear_error(version: dict[str, Path], tmp_path: Path, change: dict[str, Any],
                                         message: str) -> None:
    with pytest.raises(InvalidCheckpoint, match=message):
        HrrrDDPMFamily().validate(_with_config(version, tmp_path, **change))


def test_weights_that_do_not_fit_or_carry_code_are_refused(version: dict[str, Path], tmp_path: Path) -> None:
    import torch
    from safetensors.torch import load_file, save_file

    from plugins.hrrr_ddpm.model import CONFIG_KEY

    tensors = load_file(str(version["weights"]))
    tensors["out.weight"] = tensors["out.weight"][:, :8].contiguous()
    meta = json.dumps({"architecture": "ultra-minimal-ddpm", "channels": 7, "width": 16, "cond_channels": 7,
                       "T": 1000, "s": 0.008})
    save_file(tensors, str(tmp_path / "narrow.safetensors"), metadata={CONFIG_KEY: meta})
    with pytest.raises(InvalidCheckpoint, match="does not fit the ultra-minimal DDPM"):
        HrrrDDPMFamily().validate({**version, "weights": tmp_path / "narrow.safetensors"})
    tensors = load_file(str(version["weights"]))
    tensors["out.bias"][0] = float("nan")
    save_file(tensors, str(tmp_path / "nan.safetensors"), metadata={CONFIG_KEY: meta})
    with pytest.raises(InvalidCheckpoint, match="non-finite values in out.bias"):
        HrrrDDPMFamily().validate({**version, "weights": tmp_path / "nan.safetensors"})

    class Payload:
        def __reduce__(self) -> tuple[Any, ...]:
            return (print, ("pwned",))

    torch.save({"x": Payload()}, tmp_path / "code.pt")
    with pytest.raises(InvalidCheckpoint, match="carries code"):
        HrrrDDPMFamily().validate({**version, "weights": tmp_path / "code.pt"})
    with pytest.raises(InvalidCheckpoint, match="needs config="):
        HrrrDDPMFamily().validate({"weights": version["weights"]})


def test_weights_only_torch_files_take_the_architecture_from_the_config(version: dict[str, Path],
                                                                       tmp_path: Path) -> None:
    import torch
    from safetensors.torch import load_file

    torch.save(load_file(str(version["weights"])), tmp_path / "weights.pt")
    arch = {"channels": 7, "width": 16, "cond_channels": 7, "T": 1000, "s": 0.008}
    files = _with_config({**version, "weights": tmp_path / "weights.pt"}, tmp_path, model=arch)
    assert HrrrDDPMFamily().validate(files)["cond_channels"] == 7
    with pytest.raises(InvalidCheckpoint, match="no architecture"):
        HrrrDDPMFamily().validate({**version, "weights": tmp_path / "weights.pt"})


class Case:
    """A minimal in-memory dataset with the ``Dataset`` reading interface (physical values)."""

    def __init__(self, n: int = 5, h: int = 8, w: int = 12) -> None:
        rng = np.random.default_rng(0)
        self.variables = VARIABLES
        self.shape = (n, h, w)
        self.digest = "0" * 64
        self.values = {v: (10 + 2 * rng.normal(size=(n, h, w))).astype(np.float32) for v in VARIABLES}

    def read(self, variable: str, time: Any = None, y: Any = None, x: Any = None, *, scale: str = "stored") -> Any:
        return self.values[variable][time]


def test_ensemble_plans_are_seeded_per_member_and_physical(version: dict[str, Path]) -> None:
    family = HrrrDDPMFamily()
    model = family.load(version)
    plan = family.ensemble_plan(model, Case(), members=3, seed=7, steps=None, device="cpu", options={"time": "2"})
    assert plan.grid == (8, 12) and plan.sampler["steps"] == 4 and plan.sampler["condition"] == "state"
    whole = plan.generate([0, 1, 2])
    again = plan.generate([2])
    assert whole.shape == (3, 7, 8, 12) and whole.dtype == np.float32
    # a member depends on (seed, member) alone, up to the float rounding of a batched convolution
    np.testing.assert_allclose(whole[2], again[0], rtol=1e-3, atol=1e-3)
    assert not np.allclose(whole[1], whole[2], atol=0.1)
    other = family.ensemble_plan(model, Case(), members=3, seed=7, steps=2, device="cpu", options={"time": "3"})
    assert other.condition != plan.condition and other.sampler["steps"] == 2
    for options, steps, message in (({"time": "5"}, None, "time must be an index in 0…4"),
                                    ({"lead": "1"}, None, "unknown option"), ({}, 0, "steps must lie in 1…1000")):
        with pytest.raises(InvalidInput, match=message):
            family.ensemble_plan(model, Case(), members=2, seed=1, steps=steps, device="cpu", options=options)
    with pytest.raises(InvalidInput, match="give --out"):
        family.predict(model, Path("x.csv"))


def test_the_plugin_contributes_the_family_and_its_versioned_suite() -> None:
    from registry.plugins import get_plugin_manager

    pm = get_plugin_manager(entry_points=False)
    assert "hrrr_ddpm" in pm.families()
    suites = [s for s in pm.suites().values() if s.family == "hrrr_ddpm"]
    assert [s.name for s in suites] == ["hrrr-release"] and suites[0].version == "1"
    names = [g.name for g in suites[0].gates]
    assert names[:3] == ["schedule-agreement", "sampler-check", "conditioning-check"]
    assert {"crps-skill-vs-persistence", "crps-skill-vs-climatology", "rank-flatness", "spread-skill",
            "brier-skill-refc-35", "brier-skill-cape-1000", "fss", "power-spectrum", "tail-quantile"} <= set(names)
    wide = suites[0].configured({"members": "50"})
    assert wide.name == "hrrr-release[members=50]" and wide.device_tolerance == {"rtol": 1e-2, "atol": 1e-4}
    assert wide.gates[3].limits.setup.members == 50 and suites[0].gates[3].limits.setup.members == 8
    for bad, message in (({"members": "1"}, "members must be ≥ 2, got 1"), ({"cases": "0"}, "cases must be ≥ 1"),
                         ({"members": "many"}, "not a finite int"), ({"lead": "1"}, "has no option 'lead'")):
        with pytest.raises(InvalidInput, match=message):
            suites[0].configured(bad)
