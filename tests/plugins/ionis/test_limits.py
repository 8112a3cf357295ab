"""IONIS config and meta numbers are held to the spec's ranges: NaN, 1e308 and a val_pearson of 10 are refused."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from plugins.ionis.limits import check_config, check_meta
from registry.errors import InvalidCheckpoint

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "ionis"

CONFIG = {
    "model": {"architecture": "IonisGate", "dnn_dim": 15, "input_dim": 17, "sfi_idx": 15, "kp_penalty_idx": 16},
    "band_to_hz": {"102": 1836600, "111": 28124600},
    "norm_constants_per_band": {"102": {"wspr": {"mean": -18.04, "std": 6.9}}},
    "validation": {"pearson_min": 0.46, "kp_storm_min": 1.0, "sfi_benefit_min": 0.4, "tst900_min": 8},
    "data": {"wspr_sample": 20_000_000},
}


def _with(path: str, value: object) -> dict:
    cfg = copy.deepcopy(CONFIG)
    *parents, last = path.split(".")
    node = cfg
    for p in parents:
        node = node[p]
    node[last] = value
    return cfg


def test_a_plausible_config_passes():
    check_config(CONFIG)


@pytest.mark.skipif(not SHARED.is_dir(), reason="the upstream IONIS files are not in ../shared/data/ionis")
def test_the_released_configs_and_metas_pass():
    for path in sorted(SHARED.glob("config_*.json")):
        check_config(json.loads(path.read_text()))
    for path in sorted(SHARED.glob("*_meta.json")):
        check_meta(json.loads(path.read_text()))


@pytest.mark.parametrize(("path", "value", "message"), [
    ("data.wspr_sample", 1e308, "config.data.wspr_sample = 1e+308 is not a plausible number"),
    ("validation.pearson_min", float("nan"), "config.validation.pearson_min = nan is not a plausible number"),
    ("validation.pearson_min", 1.5, "config validation.pearson_min = 1.5 is outside -1 … 1"),
    ("validation.pearson_min", -1.01, "outside -1 … 1"),
    ("validation.tst900_min", 8.5, "config validation.tst900_min must be an integer"),
    ("validation.tst900_min", -1, "outside 0 … 1000"),
    ("validation.kp_storm_min", 101.0, "config validation.kp_storm_min = 101.0 is outside -100 … 100"),
    ("band_to_hz.102", 999_999, "config band_to_hz.102 = 999999 is outside 1e+06 … 3e+07"),
    ("band_to_hz.111", 30_000_001, "outside 1e+06 … 3e+07"),
    ("norm_constants_per_band.102.wspr.std", 0.0, "norm_constants_per_band.102.wspr.std = 0.0 is outside 0.1 … 50"),
    ("norm_constants_per_band.102.wspr.mean", -61, "outside -60 … 60"),
    ("norm_constants_per_band.102.wspr", {"mean": 1.0}, "must be {\"mean\": …, \"std\": …}"),
    ("norm_constants_per_band.102", [1, 2], "must be an object of sources"),
    ("model.dnn_dim", 0, "config model.dnn_dim = 0 is outside 1 … 4096"),
    ("model.dnn_dim", True, "config model.dnn_dim must be an integer"),
    ("model.sfi_idx", 4097, "outside 0 … 4096"),
    ("model.architecture", ["IonisGate"], "model.architecture must be a name"),
    ("model", "IonisGate", "'model' must be a JSON object, not str"),
    ("model", ["IonisGate"], "'model' must be a JSON object, not list"),
    ("band_to_hz", [1836600], "'band_to_hz' must be a JSON object, not list"),
    ("validation", 0.46, "'validation' must be a JSON object, not float"),
])
def test_implausible_config_numbers_are_refused(path, value, message):
    with pytest.raises(InvalidCheckpoint, match=message.replace("(", r"\(").replace("+", r"\+").replace("{", r"\{")
                       .replace("}", r"\}")):
        check_config(_with(path, value))


def test_boundaries_themselves_are_allowed():
    for path, value in (("validation.pearson_min", -1.0), ("validation.pearson_min", 1.0),
                        ("band_to_hz.102", 1_000_000), ("band_to_hz.111", 30_000_000),
                        ("norm_constants_per_band.102.wspr.std", 0.1), ("model.sfi_idx", 0),
                        ("validation.tst900_min", 0)):
        check_config(_with(path, value))


@pytest.mark.parametrize(("meta", "message"), [
    ({"val_pearson": 10.0}, "meta val_pearson = 10.0 is outside -1 … 1"),
    ({"val_pearson": "0.9"}, "meta val_pearson must be a number"),
    ({"val_rmse": -0.1}, "meta val_rmse = -0.1 is outside 0 … 100"),
    ({"sfi_benefit": 1e9}, "meta sfi_benefit = 1000000000.0 is outside -100 … 100"),
    ({"sample_size": -5}, "meta sample_size = -5 is outside"),
    ({"sample_size": 1.5}, "meta sample_size must be an integer"),
    ({"nested": {"x": 1e300}}, "meta.nested.x = 1e\\+300 is not a plausible number"),
])
def test_implausible_reported_metrics_are_refused(meta, message):
    with pytest.raises(InvalidCheckpoint, match=message):
        check_meta(meta)


def test_reported_metrics_at_their_limits_pass():
    check_meta({"val_pearson": 1.0, "val_rmse": 0.0, "sfi_benefit": None, "sample_size": 0})
    check_meta({"val_pearson": -1.0, "storm_cost": -100.0})
