"""Training a version from a registered dataset: the training period's (state, next state) pairs in z-scores, the
denoiser fitted by ``plugins.hrrr_ddpm.train`` (optionally on random crops), and the version's weights and config."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from registry.errors import InvalidInput
from registry.json_input import read_json_object

DEFAULTS: dict[str, Any] = {"width": 16, "conditional": True, "T": 1000, "s": 0.008, "epochs": 50, "batch_size": 8,
                            "lr": 2e-4, "wd": 0.01, "clip": 1.0, "ema": 0.999, "test_fraction": 0.25, "crop": None,
                            "samplers": [{"kind": "ddim", "steps": 50}], "condition": "state"}


def read_training_config(path: Path) -> dict[str, Any]:
    """The training config over ``DEFAULTS``; unknown keys are refused (a typo must not train silently)."""
    given = read_json_object(Path(path), "training config")
    unknown = sorted(set(given) - set(DEFAULTS) - {"dataset", "variables", "test_from", "note", "sampling_schedule"})
    if unknown:
        raise InvalidInput(f"{path}: unknown training config keys {', '.join(unknown)}")
    cfg = {**DEFAULTS, **given}
    for key, (ok, need) in _VALUES.items():
        if not ok(cfg[key]):
            raise InvalidInput(f"{path}: {key} must be {need}, got {cfg[key]!r}")
    return cfg


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _integer(v: Any, low: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= low


_VALUES: dict[str, tuple[Callable[[Any], bool], str]] = {  # checked before training: a bad value is a usage error
    "width": (lambda v: _integer(v, 8) and v % 8 == 0, "a positive multiple of 8"),
    "conditional": (lambda v: isinstance(v, bool), "true or false"),
    "T": (lambda v: _integer(v, 2), "an integer ≥ 2"),
    "s": (lambda v: _number(v) and v > 0, "a number > 0"),
    "epochs": (lambda v: _integer(v, 1), "an integer ≥ 1"),
    "batch_size": (lambda v: _integer(v, 1), "an integer ≥ 1"),
    "lr": (lambda v: _number(v) and v > 0, "a number > 0"),
    "wd": (lambda v: _number(v) and v >= 0, "a number ≥ 0"),
    "clip": (lambda v: _number(v) and v > 0, "a number > 0"),
    "ema": (lambda v: _number(v) and 0 <= v < 1, "a number in [0, 1)"),
    "test_fraction": (lambda v: _number(v) and 0 < v < 1, "a number in (0, 1)"),
    "crop": (lambda v: v is None or _integer(v, 1), "null or an integer ≥ 1"),
}


def training_pairs(ds: Any, variables: tuple[str, ...], test_from: int) -> tuple[np.ndarray, np.ndarray]:
    """(condition, target) z-score pairs (state t, state t + 1) of the training period t + 1 < ``test_from``, as
    float32 (P, C, H, W); ``train_ddpm`` cuts a fresh random window of each per step when the config sets ``crop``."""
    x = np.stack([ds.read(v, slice(0, test_from), scale="z") for v in variables], axis=1)
    return np.ascontiguousarray(x[:-1], dtype=np.float32), np.ascontiguousarray(x[1:], dtype=np.float32)


def train_version(datasets: Mapping[str, Any], config: Path, *, out_dir: Path, epochs: int | None, seed: int,
                  device: str, progress: bool) -> tuple[dict[str, Path], dict[str, Any]]:
    """Fit a denoiser on the training period of the config's dataset (the only one when it names none) and write
    ``weights.safetensors`` (architecture in its metadata) and ``config.json`` (variables, the dataset's z-score
    stats, samplers, dataset and first test time). Returns the files and the lineage facts."""
    from plugins.hrrr_ddpm.forecaster import cpu_threads_for
    from plugins.hrrr_ddpm.model import TinyDDPM, count_parameters, save_model
    from plugins.hrrr_ddpm.train import train_ddpm

    if epochs is not None and epochs < 1:
        raise InvalidInput(f"--epochs must be ≥ 1, got {epochs}")
    cfg = read_training_config(config)
    name = str(cfg.get("dataset") or (next(iter(datasets)) if len(datasets) == 1 else ""))
    if name not in datasets:
        raise InvalidInput(f"the training config names dataset {name!r}; given: {', '.join(datasets) or 'none'}")
    ds = datasets[name]
    variables = tuple(cfg.get("variables") or ds.variables)
    missing = [v for v in variables if v not in ds.variables]
    if missing:
        raise InvalidInput(f"dataset {name!r} lacks variables {', '.join(missing)}")
    n = ds.shape[0]
    test_from = int(cfg.get("test_from") or round(n * (1 - float(cfg["test_fraction"]))))
    if not 3 <= test_from <= n - 2:
        raise InvalidInput(f"test_from {test_from} leaves too few training pairs or test cases in {n} times")
    cond, target = training_pairs(ds, variables, test_from)
    crop = None if cfg["crop"] is None else int(cfg["crop"])
    c = len(variables)
    conditional = bool(cfg["conditional"])
    net = TinyDDPM.from_config({"channels": c, "width": int(cfg["width"]), "cond_channels": c if conditional else 0,
                                "T": int(cfg["T"]), "s": float(cfg["s"])}, seed=seed)
    run_epochs = int(epochs if epochs is not None else cfg["epochs"])
    with cpu_threads_for(int(target.shape[-2] * target.shape[-1]), device):
        state, metrics = train_ddpm(net, target, cond=cond if conditional else None, epochs=run_epochs,
                                    batch_size=int(cfg["batch_size"]), lr=float(cfg["lr"]), wd=float(cfg["wd"]),
                                    clip=float(cfg["clip"]), ema=float(cfg["ema"]), seed=seed, device=device,
                                    progress=progress, crop=crop)
    out_dir.mkdir(parents=True, exist_ok=True)
    weights, version_config = out_dir / "weights.safetensors", out_dir / "config.json"
    save_model(net, weights, state)
    stats = {v: {"mean": float(ds.stats[v]["mean"]), "std": float(ds.stats[v]["std"])} for v in variables}
    written = {"variables": list(variables), "stats": stats, "samplers": cfg["samplers"], "condition": cfg["condition"],
               "dataset": name, "test_from": test_from,
               "training": {k: cfg[k] for k in ("width", "conditional", "T", "s", "batch_size", "lr", "wd", "clip",
                                                "ema", "crop")} | {"epochs": run_epochs, "seed": seed,
                                                                   "pairs": len(target)}}
    if cfg.get("sampling_schedule"):
        written["sampling_schedule"] = cfg["sampling_schedule"]
    version_config.write_text(json.dumps(written, indent=2, sort_keys=True))
    facts = {"parameters": count_parameters(net), "epochs": run_epochs, "seed": seed, "pairs": len(target),
             "test_from": test_from, "dataset": name, "normalisation": stats,
             "metrics": {k: v for k, v in dict(metrics).items() if isinstance(v, int | float | str)}}
    return {"weights": weights, "config": version_config}, facts
