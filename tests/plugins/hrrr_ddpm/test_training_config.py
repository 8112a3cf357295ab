"""plugins.hrrr_ddpm.training's config: values of the wrong type or out of range are usage errors naming the key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plugins.hrrr_ddpm.training import read_training_config, train_version
from registry.errors import InvalidInput


@pytest.mark.parametrize(("given", "message"), [
    ({"lr": "fast"}, "lr must be a number > 0, got 'fast'"),
    ({"lr": 0}, "lr must be a number > 0, got 0"),
    ({"lr": float("nan")}, "training config train.json: not valid JSON (NaN is not a JSON number)"),
    ({"wd": -0.1}, "wd must be a number ≥ 0, got -0.1"),
    ({"ema": 1.0}, "ema must be a number in [0, 1), got 1.0"),
    ({"test_fraction": 1}, "test_fraction must be a number in (0, 1), got 1"),
    ({"width": 7}, "width must be a positive multiple of 8, got 7"),
    ({"width": True}, "width must be a positive multiple of 8, got True"),
    ({"epochs": 0}, "epochs must be an integer ≥ 1, got 0"),
    ({"batch_size": 2.5}, "batch_size must be an integer ≥ 1, got 2.5"),
    ({"crop": 0}, "crop must be null or an integer ≥ 1, got 0"),
    ({"T": 1}, "T must be an integer ≥ 2, got 1"),
    ({"conditional": "yes"}, "conditional must be true or false, got 'yes'"),
])
def test_bad_values_are_refused_naming_the_key(tmp_path: Path, given: dict, message: str) -> None:
    path = tmp_path / "train.json"
    path.write_text(json.dumps(given))
    with pytest.raises(InvalidInput) as err:
        read_training_config(path)
    assert message in str(err.value)


def test_the_defaults_and_the_boundaries_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "train.json"
    path.write_text(json.dumps({"wd": 0, "ema": 0, "crop": None, "width": 8, "epochs": 1, "T": 2, "lr": 1e-9}))
    assert read_training_config(path)["width"] == 8


@pytest.mark.parametrize("epochs", [0, -1])
def test_an_epochs_override_below_one_is_refused_before_anything_is_read(tmp_path: Path, epochs: int) -> None:
    path = tmp_path / "train.json"
    path.write_text("{}")
    with pytest.raises(InvalidInput, match=f"--epochs must be ≥ 1, got {epochs}"):
        train_version({}, path, out_dir=tmp_path, epochs=epochs, seed=0, device="cpu", progress=False)
