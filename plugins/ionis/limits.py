"""The ranges the spec allows for the numbers in an IONIS version's config and meta files."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from registry.errors import InvalidCheckpoint

ANY_NUMBER = 1e12  # no count, frequency or constant in these files comes near this
HF_HZ = (1.0e6, 30.0e6)  # every IONIS band's dial frequency lies in the HF range
SNR_MEAN_DB = (-60.0, 60.0)  # per-band normalisation means of WSPR/RBN/contest SNR
SNR_STD_DB = (0.1, 50.0)
MODEL_INTS = ("dnn_dim", "input_dim", "hidden_dim", "sidecar_hidden", "sfi_idx", "kp_penalty_idx")
# meta: what training reports, held to what the quantities can be (sidecar effects in σ)
META_RANGES: dict[str, tuple[float, float]] = {
    "val_pearson": (-1.0, 1.0), "val_rmse": (0.0, 100.0), "sfi_benefit": (-100.0, 100.0),
    "storm_cost": (-100.0, 100.0), "snr_std": (0.0, 1000.0), "snr_mean": (-1000.0, 1000.0),
}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _walk(value: Any, path: str) -> None:
    if _number(value):
        if not math.isfinite(value) or abs(value) > ANY_NUMBER:
            raise InvalidCheckpoint(f"{path} = {value!r} is not a plausible number (finite, |x| ≤ {ANY_NUMBER:g})")
    elif isinstance(value, Mapping):
        for k, v in value.items():
            _walk(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _walk(v, f"{path}[{i}]")


def _in(value: Any, lo: float, hi: float, path: str, *, integer: bool = False) -> None:
    if not _number(value) or (integer and not isinstance(value, int)):
        raise InvalidCheckpoint(f"{path} must be {'an integer' if integer else 'a number'}, not {value!r}")
    if not lo <= value <= hi:
        raise InvalidCheckpoint(f"{path} = {value!r} is outside {lo:g} … {hi:g}")


def _object(config: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = config.get(key, {})
    if not isinstance(value, Mapping):
        raise InvalidCheckpoint(f"{where}: '{key}' must be a JSON object, not {type(value).__name__}")
    return value


def check_config(config: Mapping[str, Any]) -> None:
    """``InvalidCheckpoint`` naming the first number or section of ``config`` outside the spec's ranges."""
    _walk(config, "config")
    model = _object(config, "model", "config")
    for key in MODEL_INTS:
        if key in model:
            _in(model[key], 0 if key.endswith("_idx") else 1, 4096, f"config model.{key}", integer=True)
    if "architecture" in model and not isinstance(model["architecture"], str):
        raise InvalidCheckpoint("config model.architecture must be a name (a string)")
    for band, hz in _object(config, "band_to_hz", "config").items():
        _in(hz, *HF_HZ, f"config band_to_hz.{band}")
    for band, sources in _object(config, "norm_constants_per_band", "config").items():
        if not isinstance(sources, Mapping):
            raise InvalidCheckpoint(f"config norm_constants_per_band.{band} must be an object of sources")
        for source, consts in sources.items():
            where = f"config norm_constants_per_band.{band}.{source}"
            if not isinstance(consts, Mapping) or not {"mean", "std"} <= set(consts):
                raise InvalidCheckpoint(f"{where} must be {{\"mean\": …, \"std\": …}}")
            _in(consts["mean"], *SNR_MEAN_DB, f"{where}.mean")
            _in(consts["std"], *SNR_STD_DB, f"{where}.std")
    for key, value in _object(config, "validation", "config").items():
        if "pearson" in key:
            _in(value, -1.0, 1.0, f"config validation.{key}")
        elif key.startswith("tst") or key.endswith("_count"):
            _in(value, 0, 1000, f"config validation.{key}", integer=True)
        elif _number(value):
            _in(value, -100.0, 100.0, f"config validation.{key}")


def check_meta(meta: Mapping[str, Any]) -> None:
    """``InvalidCheckpoint`` naming the first training-reported figure outside what it can be
    (a ``val_pearson`` of 10 is no correlation)."""
    _walk(meta, "meta")
    for key, (lo, hi) in META_RANGES.items():
        if key in meta and meta[key] is not None:
            _in(meta[key], lo, hi, f"meta {key}")
    if "sample_size" in meta:
        _in(meta["sample_size"], 0, ANY_NUMBER, "meta sample_size", integer=True)
    if "dnn_dim" in meta:
        _in(meta["dnn_dim"], 1, 4096, "meta dnn_dim", integer=True)
