"""Training V2.1 with a temporal split (the extract's train / validation windows, or windows the config cuts from
one table), early stopping on the validation window, a fixed seed and the split recorded in the lineage."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from plugins.tec.model import TecConfig, TecV21
from registry.errors import InvalidInput

LOSS_WEIGHTS = {"storm_binary": 3.0, "storm_probability": 2.0, "tec_forecast": 1.0, "uncertainty": 0.5}


@dataclass(frozen=True)
class TrainConfig:
    """What the config file says: model widths, the two windows (None: the extract's split windows give them),
    and the recipe (upstream's unless given)."""

    model: TecConfig
    train: tuple[np.datetime64, np.datetime64] | None
    validation: tuple[np.datetime64, np.datetime64] | None
    epochs: int = 100
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 5
    stride: int = 1  # use every stride-th issue hour of the training window (the demo thins them)
    storm_kp: float = 5.0
    loss_weights: tuple[tuple[str, float], ...] = tuple(LOSS_WEIGHTS.items())
    threads: int = 1  # CPU threads for torch: small models train fastest on one (10x faster on a busy 2-core box)

    @classmethod
    def from_json(cls, data: dict[str, Any], *, windows_given: bool = False) -> TrainConfig:
        """The config; with ``windows_given`` the extract's split windows are the windows, and a config that
        names its own is refused (two sources of truth for one split)."""
        if windows_given and "windows" in data:
            raise InvalidInput("tec training config: `registry train` takes the train and validation windows from "
                               "the extract's split windows; remove `windows` from the config")
        try:
            windows = {} if windows_given else data["windows"]
            spans = {k: (np.datetime64(windows[k][0], "s"), np.datetime64(windows[k][1], "s"))
                     for k in ("train", "validation") if not windows_given}
            model = TecConfig.from_json(dict(data.get("model", {})))
            recipe: dict[str, Any] = {k: data[k] for k in ("epochs", "batch_size", "lr", "weight_decay", "patience",
                                           "stride", "storm_kp", "threads") if k in data}
            if "loss_weights" in data:
                unknown = sorted(set(data["loss_weights"]) - set(LOSS_WEIGHTS))
                if unknown:
                    raise ValueError(f"unknown loss weight(s) {unknown}")
                recipe["loss_weights"] = tuple({**LOSS_WEIGHTS, **data["loss_weights"]}.items())
            out = cls(model, spans.get("train"), spans.get("validation"), **recipe)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise InvalidInput(f"tec training config: {exc} (needs windows.train and windows.validation as "
                               "[start, end), optional model widths and recipe)") from None
        for name, (lo, hi) in spans.items():
            if not lo < hi:
                raise InvalidInput(f"tec training config: window {name} is empty")
        if out.train is not None and out.validation is not None and not out.train[1] <= out.validation[0]:
            raise InvalidInput("tec training config: the validation window must start after the training window ends")
        if not (isinstance(out.epochs, int) and 1 <= out.epochs <= 1000 and isinstance(out.stride, int)
                and 1 <= out.stride <= 24 and isinstance(out.batch_size, int) and 1 <= out.batch_size <= 65536):
            raise InvalidInput("tec training config: epochs 1-1000, stride 1-24, batch_size 1-65536")
        return out


def _subset(columns: dict[str, np.ndarray], span: tuple[np.datetime64, np.datetime64]) -> dict[str, np.ndarray]:
    keep = (columns["time"] >= span[0]) & (columns["time"] < span[1])
    return {k: v[keep] for k, v in columns.items()}


def _tensors(columns: dict[str, np.ndarray], config: TrainConfig, stride: int) -> dict[str, Any]:
    import torch

    from plugins.tec.features import compute_features
    from plugins.tec.sequences import build_samples

    s = build_samples(compute_features(columns), columns["tec"], steps=config.model.steps, leads=config.model.leads)
    pick = np.flatnonzero(s.issue_hour % stride == 0) if stride > 1 else np.arange(len(s))
    storm_lead = (columns["kp"][s.target_row[pick]] >= config.storm_kp).astype(np.float32)
    target = s.target[pick]
    return {"x": torch.tensor(s.x[pick]), "tec_forecast": torch.tensor(target / 100, dtype=torch.float32),
            "storm_probability": torch.tensor(storm_lead),
            "storm_binary": torch.tensor(storm_lead.max(1, keepdims=True)),
            "uncertainty": torch.tensor(np.clip(target.std(1, keepdims=True) / 20, 0, 1), dtype=torch.float32),
            "hours": s.issue_hour[pick]}


def _loss(out: dict[str, Any], batch: dict[str, Any], weights: dict[str, float]) -> Any:
    import torch.nn.functional as F

    return (weights["storm_binary"] * F.binary_cross_entropy(out["storm_binary"], batch["storm_binary"])
            + weights["storm_probability"] * F.binary_cross_entropy(out["storm_probability"],
                                                                     batch["storm_probability"])
            + weights["tec_forecast"] * F.huber_loss(out["tec_forecast"], batch["tec_forecast"], delta=1.0)
            + weights["uncertainty"] * F.mse_loss(out["uncertainty"], batch["uncertainty"]))


def _window(name: str, columns: dict[str, np.ndarray], config: TrainConfig, stride: int) -> dict[str, Any]:
    try:
        return _tensors(columns, config, stride)
    except InvalidInput as exc:
        raise InvalidInput(f"tec {name} window ({len(columns.get('time', ())):,} rows): {exc}") from None


def train(columns: dict[str, np.ndarray], config: TrainConfig, *, epochs: int | None, seed: int, device: str,
          progress: bool) -> tuple[TecV21, dict[str, Any]]:
    """Cut the config's two windows from one table, then ``train_windows``."""
    if config.train is None or config.validation is None:
        raise InvalidInput("tec training config: one table needs windows.train and windows.validation to cut")
    windows = {"train": _subset(columns, config.train), "validation": _subset(columns, config.validation)}
    return train_windows(windows, config, epochs=epochs, seed=seed, device=device, progress=progress)


def train_windows(windows: dict[str, dict[str, np.ndarray]], config: TrainConfig, *, epochs: int | None, seed: int,
                  device: str, progress: bool) -> tuple[TecV21, dict[str, Any]]:
    """Train on the ``train`` window's rows, stop early on the ``validation`` window's loss, return the best model
    and facts. Each window is its own series: a sample needs its 25 input hours and 24 target hours inside its
    window, so the first 25 hours of a window only feed inputs and no sample reaches across a boundary."""
    import torch

    threads = torch.get_num_threads()
    if device == "cpu":
        torch.set_num_threads(config.threads)
    try:
        return _train(torch, windows, config, epochs=epochs, seed=seed, device=device, progress=progress)
    finally:
        torch.set_num_threads(threads)


def _train(torch: Any, windows: dict[str, dict[str, np.ndarray]], config: TrainConfig, *, epochs: int | None,
           seed: int, device: str, progress: bool) -> tuple[TecV21, dict[str, Any]]:
    from tqdm import tqdm

    weights = dict(config.loss_weights)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    data = {name: _window(name, windows[name], config, config.stride if name == "train" else 1)
            for name in ("train", "validation")}
    model = TecV21(config.model).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    keys = ("x", "tec_forecast", "storm_probability", "storm_binary", "uncertainty")
    n = len(data["train"]["x"])
    best, best_state, best_epoch, stale, history = float("inf"), None, 0, 0, []
    total = epochs or config.epochs
    bar = tqdm(total=total, desc="train tec", unit="epoch", disable=None if progress else True)
    for epoch in range(1, total + 1):
        model.train()
        for idx in torch.randperm(n, generator=gen).split(config.batch_size):  # batches shuffled, windows are not
            batch = {k: data["train"][k][idx].to(device) for k in keys}
            opt.zero_grad()
            _loss(model(batch["x"]), batch, weights).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            val = {k: data["validation"][k].to(device) for k in keys}
            out = model(val["x"])
            val_loss = float(_loss(out, val, weights))
            val_rmse = float(((out["tec_forecast"] - val["tec_forecast"]) ** 2).mean().sqrt() * 100)
        history.append({"epoch": epoch, "validation_loss": val_loss, "validation_rmse_tecu": val_rmse})
        bar.update(1)
        bar.set_postfix(val_loss=f"{val_loss:.4f}", val_rmse=f"{val_rmse:.2f}")
        if val_loss < best:
            best, best_epoch, stale = val_loss, epoch, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            stale += 1
            if stale >= config.patience:
                break
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    split: dict[str, Any] = {"method": "temporal", "windows_from": "config" if config.train is not None else "extract",
                             **{name: _span(data[name]["hours"], config.model.leads) for name in data}}
    if config.validation is not None:
        split["validation"]["window"] = [str(config.validation[0]), str(config.validation[1])]
    metrics = {"validation_rmse_tecu": history[best_epoch - 1]["validation_rmse_tecu"],
               "validation_loss": best, "best_epoch": float(best_epoch)}
    return model.eval(), {"split": split, "metrics": metrics, "seed": seed, "epochs_run": len(history),
                          "loss_weights": weights, "history": history[-20:]}


def _span(hours: np.ndarray, leads: int) -> dict[str, Any]:
    def stamp(h: Any) -> str:
        return str(np.asarray(h).astype("datetime64[h]").astype("datetime64[s]"))

    return {"first": stamp(hours.min()), "last": stamp(hours.max() + leads), "samples": int(len(hours))}


def train_files(table: Any, config_path: Path, *, out_dir: Path, epochs: int | None, seed: int, device: str,
                progress: bool) -> tuple[dict[str, Path], dict[str, Any]]:
    """``TrainableFamily.train`` for tec: the Arrow table of the extract, the config file → weights and facts."""
    from plugins.tec.checkpoint import save_checkpoint
    from plugins.tec.evaluation import arrow_columns
    from registry.json_input import read_json_object

    config = TrainConfig.from_json(read_json_object(Path(config_path), "tec training config", max_bytes=2**20))
    model, facts = train(arrow_columns(table), config, epochs=epochs, seed=seed, device=device, progress=progress)
    return {"weights": save_checkpoint(model.cpu(), Path(out_dir) / "tec_v21.safetensors")}, facts


def train_window_files(tables: Mapping[str, Any], config_path: Path, *, out_dir: Path, epochs: int | None, seed: int,
                       device: str, progress: bool) -> tuple[dict[str, Path], dict[str, Any]]:
    """``WindowedTrainableFamily.train_windows`` for tec: the extract's train and validation windows (Arrow
    tables), the config file (without ``windows``) → weights and facts."""
    from plugins.tec.checkpoint import save_checkpoint
    from plugins.tec.evaluation import arrow_columns
    from registry.json_input import read_json_object

    config = TrainConfig.from_json(read_json_object(Path(config_path), "tec training config", max_bytes=2**20),
                                   windows_given=True)
    model, facts = train_windows({name: arrow_columns(tables[name]) for name in ("train", "validation")}, config,
                                 epochs=epochs, seed=seed, device=device, progress=progress)
    return {"weights": save_checkpoint(model.cpu(), Path(out_dir) / "tec_v21.safetensors")}, facts
