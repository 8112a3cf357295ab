"""Training an IonisGate from a cached signature extract with the upstream recipe, deterministic per seed."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from plugins.ionis.architectures import DEFAULT_ARCHITECTURE, Architecture, identify
from plugins.ionis.bands import BandPlan
from plugins.ionis.checkpoint import resolve_features
from plugins.ionis.features import PathBatch, build_features
from plugins.ionis.geo import grid_centroid
from plugins.ionis.model import IonisGate
from registry.errors import InvalidInput

MID_MONTH_DOY = np.array([16, 45, 75, 105, 136, 166, 197, 228, 258, 289, 319, 350])
"""Signature rows carry a month but no date; solar features use the middle of the month."""


@dataclass(frozen=True)
class TrainingRows:
    """Inputs, per-band z-score targets and spot-count weights of the usable rows of an extract."""

    x: np.ndarray
    z: np.ndarray
    weight: np.ndarray
    dropped: int
    paths: np.ndarray  # the undirected path of each row ("DN46-FN20"): the unit the held-out split keeps whole


def _column(table: Any, name: str) -> np.ndarray:
    col = table[name] if isinstance(table, Mapping) else table.column(name)
    return np.asarray(col.to_numpy() if hasattr(col, "to_numpy") else col)


def rows_from_table(table: Any, config: Mapping[str, Any]) -> TrainingRows:
    """Signature columns → model inputs; rows outside the physical ranges (or with SFI ≤ 0) are dropped."""
    bands = BandPlan.from_config(config)
    features, _ = resolve_features(int(config["model"]["dnn_dim"]), config, trainable_architecture(config))
    band = _column(table, "band").astype(np.int64)
    sfi, kp = _column(table, "avg_sfi").astype(np.float64), _column(table, "avg_kp").astype(np.float64)
    month = _column(table, "month").astype(np.int64)
    keep = (sfi >= 50) & (sfi <= 400) & (kp >= 0) & (kp <= 9) & np.isin(band, list(bands.dial_hz))
    keep &= (month >= 1) & (month <= 12) & np.isfinite(_column(table, "median_snr").astype(np.float64))
    idx = np.flatnonzero(keep)
    tx = [_decode(g) for g in _column(table, "tx_grid_4")[idx]]
    rx = [_decode(g) for g in _column(table, "rx_grid_4")[idx]]
    tx_lat, tx_lon = grid_centroid(tx, column="tx_grid_4")
    rx_lat, rx_lon = grid_centroid(rx, column="rx_grid_4")
    batch = PathBatch(tx_lat, tx_lon, rx_lat, rx_lon, bands.freq_mhz(band[idx]),
                      _column(table, "hour")[idx], month[idx], MID_MONTH_DOY[month[idx] - 1], sfi[idx], kp[idx])
    mean, std = np.empty(len(idx)), np.empty(len(idx))
    source = _sources(table, len(keep))[idx]
    for src in np.unique(source):  # per source and band, as upstream normalised (contest rows: WSPR)
        rows_of, norm = source == src, bands.norm(str(src))
        missing = sorted(set(np.unique(band[idx][rows_of]).tolist()) - set(norm))
        if missing:
            raise InvalidInput(f"the config has no {src} constants for band(s) {missing}")
        lut = np.zeros((max(norm) + 1, 2))
        for band_id, constants in norm.items():
            lut[band_id] = constants
        mean[rows_of], std[rows_of] = lut[band[idx][rows_of], 0], lut[band[idx][rows_of], 1]
    z = (_column(table, "median_snr")[idx].astype(np.float64) - mean) / std
    spots = _column(table, "spot_count")[idx].astype(np.float64)
    weight = spots / spots.mean() if len(spots) and spots.mean() > 0 else np.ones(len(idx))
    tx_arr, rx_arr = np.array(tx, dtype=str), np.array(rx, dtype=str)
    low, high = np.where(tx_arr <= rx_arr, tx_arr, rx_arr), np.where(tx_arr <= rx_arr, rx_arr, tx_arr)
    paths = np.char.add(np.char.add(low, "-"), high)
    return TrainingRows(build_features(features, batch), z.astype(np.float32), weight.astype(np.float32),
                        int(len(keep) - len(idx)), paths)


def path_split(paths: np.ndarray, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (held out, training): whole paths are held out by a seeded hash of the path, so no
    held-out path (in either direction) is ever seen in training. A random row split would put the same
    path, band and hour on both sides and flatter the held-out scores."""
    unique, inverse = np.unique(paths, return_inverse=True)
    h = np.array([int.from_bytes(hashlib.sha256(f"{seed}:{p}".encode()).digest()[:8], "little") for p in unique],
                 dtype=np.uint64)
    held = (h % np.uint64(1_000_000)).astype(np.int64) < int(round(val_fraction * 1_000_000))
    if len(unique) >= 2 and not held.any():  # both sides need at least one path
        held[np.argmin(h)] = True
    if len(unique) >= 2 and held.all():
        held[np.argmax(h)] = False
    rows_held = held[inverse]
    return np.flatnonzero(rows_held), np.flatnonzero(~rows_held)


def _sources(table: Any, n: int) -> np.ndarray:
    """The ``norm_source`` column (``wspr``, ``rbn``, ``contest``) or ``wspr`` for every row without one."""
    names = list(table) if isinstance(table, Mapping) else table.column_names
    if "norm_source" not in names:
        return np.full(n, "wspr")
    values = _column(table, "norm_source")
    if len(values) and isinstance(values[0], bytes):
        return np.char.decode(values.astype("S"), "ascii")
    return np.asarray(values).astype(str)


def _decode(grid: Any) -> str:
    return grid.decode("ascii") if isinstance(grid, bytes) else str(grid)


def trainable_architecture(config: Mapping[str, Any]) -> Architecture:
    """The config's architecture if this recipe trains it (V22's ``IonisGate``); otherwise ``InvalidInput``."""
    arch = identify(config)
    if arch is not DEFAULT_ARCHITECTURE:
        raise InvalidInput(f"training {arch.name} is not supported; the recipe here trains {DEFAULT_ARCHITECTURE.name}")
    return arch


def defibrillate(module: IonisGate) -> None:
    """Upstream init: sidecar weights U(0.8, 1.2), fc1 bias 0 (frozen), fc2 bias −10; gate heads start at 1.0."""
    with torch.no_grad():
        for car in (module.sun_sidecar, module.storm_sidecar):
            car.fc1.weight.uniform_(0.8, 1.2)
            car.fc2.weight.uniform_(0.8, 1.2)
            car.fc1.bias.zero_()
            car.fc2.bias.fill_(-10.0)
            car.fc1.bias.requires_grad_(False)
        for head in (module.sun_scaler_head, module.storm_scaler_head):
            final = head[2]
            assert isinstance(final, nn.Linear)
            final.weight.zero_()
            final.bias.fill_(-math.log(2.0))


def clamp_sidecars(module: IonisGate) -> None:
    """Clamp both sidecars' fc1/fc2 weights to [0.5, 2.0] (after every optimizer step)."""
    with torch.no_grad():
        for car in (module.sun_sidecar, module.storm_sidecar):
            car.fc1.weight.clamp_(0.5, 2.0)
            car.fc2.weight.clamp_(0.5, 2.0)


def optimizer_for(module: IonisGate, training: Mapping[str, Any]) -> torch.optim.AdamW:
    """AdamW with the three upstream parameter groups (trunk+base, scaler heads, sidecars)."""
    def trainable(*parts: nn.Module) -> list[nn.Parameter]:
        return [p for part in parts for p in part.parameters() if p.requires_grad]
    return torch.optim.AdamW([
        {"params": trainable(module.trunk, module.base_head), "lr": float(training.get("trunk_lr", 1e-5))},
        {"params": trainable(module.sun_scaler_head, module.storm_scaler_head),
         "lr": float(training.get("scaler_lr", 5e-5))},
        {"params": trainable(module.sun_sidecar, module.storm_sidecar), "lr": float(training.get("sidecar_lr", 1e-3))},
    ], weight_decay=float(training.get("weight_decay", 1e-5)))


@dataclass
class TrainResult:
    """A trained module, its held-out metrics and the lineage to record with it."""

    module: IonisGate
    metrics: dict[str, float]
    lineage: dict[str, Any] = field(default_factory=dict)

    def save(self, directory: Path, config: Mapping[str, Any], stem: str = "ionis") -> dict[str, Path]:
        """Write ``<stem>.safetensors``, ``<stem>_meta.json`` and ``<stem>_config.json``; returns role → path."""
        from safetensors.torch import save_file

        directory.mkdir(parents=True, exist_ok=True)
        files = {"weights": directory / f"{stem}.safetensors", "meta": directory / f"{stem}_meta.json",
                 "config": directory / f"{stem}_config.json"}
        save_file({k: v.detach().cpu().contiguous() for k, v in self.module.state_dict().items()},
                  str(files["weights"]))
        files["meta"].write_text(json.dumps({**self.metrics, **self.lineage}, indent=2, sort_keys=True))
        files["config"].write_text(json.dumps(config, indent=2))
        return files


def train(table: Any, config: Mapping[str, Any], *, epochs: int | None = None, seed: int = 0,
          device: str = "cpu", progress: bool = False) -> TrainResult:
    """Train on an extract (Arrow table or column mapping) with a seeded split; metrics on the held-out rows."""
    training = config.get("training", {})
    rows = rows_from_table(table, config)
    n = len(rows.z)
    if n < 10:
        raise ValueError(f"only {n} usable rows in the extract; need at least 10")
    val, fit = path_split(rows.paths, float(training.get("val_split", 0.2)), seed)
    if not len(val) or not len(fit):
        raise ValueError("the extract holds a single path; a held-out set needs rows of at least two paths")
    n_val = len(val)
    torch.manual_seed(seed)
    module = IonisGate(int(config["model"]["dnn_dim"]), trainable_architecture(config))
    defibrillate(module)
    module.to(device).train()
    epochs = int(epochs if epochs is not None else training.get("epochs", 100))
    batch_size = min(int(training.get("batch_size", 65536)), len(fit))
    steps = max(1, epochs * math.ceil(len(fit) / batch_size))
    opt = optimizer_for(module, training)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=1e-6)
    huber = nn.HuberLoss(delta=float(training.get("huber_delta", 1.0)), reduction="none")
    lam = float(training.get("lambda_var", 0.001))
    x, z, w = (torch.from_numpy(a).to(device) for a in (rows.x, rows.z, rows.weight))
    shuffle = torch.Generator().manual_seed(seed)
    bar = _progress(steps, progress)
    for _ in range(epochs):
        perm = torch.from_numpy(fit)[torch.randperm(len(fit), generator=shuffle)].to(device)
        for start in range(0, len(fit), batch_size):
            pick = perm[start : start + batch_size]
            parts = module.decompose(x[pick])
            assert parts.g_sun is not None  # trainable_architecture: V22's, with both sidecars
            loss = (huber(parts.total[:, 0], z[pick]) * w[pick]).mean() - lam * (
                parts.g_sun.var(unbiased=False) + parts.g_storm.var(unbiased=False))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            clamp_sidecars(module)
            schedule.step()
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{loss.item():.4f}")
    if bar is not None:
        bar.close()
    module.eval()
    metrics = held_out_metrics(module, x[torch.from_numpy(val).to(device)], z[torch.from_numpy(val).to(device)])
    lineage = {"seed": seed, "epochs": epochs, "rows_used": n, "rows_dropped": rows.dropped,
               "rows_train": len(fit), "rows_val": n_val,
               "split": f"whole undirected paths by sha256(seed {seed}:path), "
                        f"{len(np.unique(rows.paths[val]))} of {len(np.unique(rows.paths))} paths held out",
               "config_version": config.get("version"),
               "features": list(resolve_features(module.dnn_dim, config, module.arch)[0])}
    return TrainResult(module.cpu(), metrics, lineage)


def held_out_metrics(module: IonisGate, x: torch.Tensor, z: torch.Tensor) -> dict[str, float]:
    """True RMSE (σ) and Pearson r on held-out rows, plus the raw sidecar effects."""
    with torch.no_grad():
        pred = module(x)[:, 0].double().cpu().numpy()
    truth = z.double().cpu().numpy()
    rmse = float(np.sqrt(np.mean((pred - truth) ** 2)))
    pearson = float(np.corrcoef(pred, truth)[0, 1]) if pred.std() > 0 and truth.std() > 0 else float("nan")
    return {"val_rmse_true": rmse, "val_pearson": pearson, "sfi_benefit": module.sfi_benefit(),
            "storm_cost": module.storm_cost()}


def _progress(total: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc="train ionis", unit="step", disable=None)  # None: off when not a terminal
