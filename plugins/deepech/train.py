"""Training both DeepECH stages from a cached extract: temporal split, early stopping, seed, lineage."""

from __future__ import annotations

import copy
import json
import math
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from plugins.deepech.extracts import TRAIN_END, split_mask, table_arrays
from plugins.deepech.model import build_classifier, build_regressor
from plugins.deepech.schema import check_rows
from registry.errors import InvalidInput

DEFAULTS: dict[str, Any] = {"threshold": 0.5, "epochs": 8, "batch_size": 128, "lr": 1e-3, "patience": 3,
                            "validation_fraction": 0.2, "test_from": TRAIN_END.isoformat()}
# (lowest, highest, whether the ends themselves are allowed); counts are integers
_LIMITS: dict[str, tuple[float, float, bool]] = {
    "threshold": (0.0, 1.0, False), "epochs": (1, 10_000, True), "batch_size": (1, 1_000_000, True),
    "lr": (0.0, 1.0, False), "patience": (1, 10_000, True), "validation_fraction": (0.0, 0.9, False)}
_COUNTS = ("epochs", "batch_size", "patience")


def read_config(path: Path) -> dict[str, Any]:
    """The training config (``DEFAULTS`` for absent keys); unknown keys and out-of-range values are refused."""
    from registry.json_input import read_json_object

    cfg = read_json_object(path, "config", max_bytes=64 * 1024)
    unknown = sorted(set(cfg) - set(DEFAULTS) - {"note"})
    if unknown:
        raise InvalidInput(f"config {path.name}: unknown key(s) {', '.join(unknown)} (known: {', '.join(DEFAULTS)})")
    out = DEFAULTS | cfg
    try:
        when = datetime.fromisoformat(out["test_from"]) if isinstance(out["test_from"], str) else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is not None:
        raise InvalidInput(f"config {path.name}: 'test_from' must be an ISO date-time in UTC without an offset "
                           f"(e.g. {TRAIN_END.isoformat()}), got {out['test_from']!r}")
    for key, (lo, hi, closed) in _LIMITS.items():
        v = out[key]
        kind = int if key in _COUNTS else int | float
        inside = isinstance(v, kind) and not isinstance(v, bool) and (lo <= v <= hi if closed else lo < v < hi)
        if not inside:
            ends = f"[{lo:g}, {hi:g}]" if closed else f"({lo:g}, {hi:g})"
            raise InvalidInput(f"config {path.name}: {key!r} must be {'an integer' if key in _COUNTS else 'a number'}"
                               f" in {ends}, got {v!r}")
    return out


def _fit(model: Any, x: np.ndarray, y: np.ndarray, xv: np.ndarray, yv: np.ndarray, loss_name: str,
         cfg: dict[str, Any], epochs: int, seed: int, device: str, progress: bool) -> dict[str, Any]:
    import torch

    loss_fn = torch.nn.BCEWithLogitsLoss() if loss_name == "bce" else torch.nn.MSELoss()
    gen = torch.Generator().manual_seed(seed)
    model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=float(cfg["lr"]))
    xt = torch.as_tensor(x, dtype=torch.float32)
    yt = torch.as_tensor(y, dtype=torch.float32)
    xvt = torch.as_tensor(xv, dtype=torch.float32, device=device)
    yvt = torch.as_tensor(yv, dtype=torch.float32, device=device)
    best, best_state, stale, history = math.inf, copy.deepcopy(model.state_dict()), 0, []
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(xt), generator=gen)
        for start in range(0, len(order), int(cfg["batch_size"])):
            i = order[start:start + int(cfg["batch_size"])]
            opt.zero_grad()
            loss_fn(model(xt[i].to(device)), yt[i].to(device)).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            val = float(loss_fn(model(xvt), yvt)) if len(xvt) else math.nan
        history.append(val)
        if progress:
            print(f"  {loss_name} epoch {epoch + 1}/{epochs}: validation loss {val:.4f}", flush=True)
        if val < best:
            best, best_state, stale = val, copy.deepcopy(model.state_dict()), 0
        else:
            stale += 1
            if stale >= int(cfg["patience"]):
                break
    model.load_state_dict(best_state)
    return {"best_validation_loss": best, "epochs_run": len(history), "validation_losses": history}


def train_pair(table: Any, config: Path, *, out_dir: Path, epochs: int | None, seed: int, device: str,
               progress: bool) -> tuple[dict[str, Path], dict[str, Any]]:
    """Classifier (BCE on every row) and regressor (MSE on wave-present rows) on the extract's training window
    (before the config's ``test_from``, default ``TRAIN_END``), early-stopped on its last ``validation_fraction``
    in time; the test window after it is never read. Writes ``classifier.pth``, ``regressor.pth`` (plain
    state_dicts, as upstream) and ``deepech.json``."""
    import torch

    cfg = read_config(Path(config))
    n_epochs = int(epochs if epochs is not None else cfg["epochs"])
    times, rows, present, amp = table_arrays(table)
    check_rows(rows, "extract")
    order = np.argsort(times, kind="stable")
    times, rows, present, amp = times[order], rows[order], present[order], amp[order]
    test_from = datetime.fromisoformat(cfg["test_from"])
    window = split_mask(times, test_from)
    n_train = int(window.sum())
    n_fit = int(round(n_train * (1 - float(cfg["validation_fraction"]))))
    if n_fit < 2 or n_train - n_fit < 1 or present[:n_fit].sum() < 2:
        raise InvalidInput(f"extract: {n_train} rows in the training window (before {test_from:%Y-%m-%d %H:%M}) with "
                           f"{int(present[:n_train].sum())} wave-present: too few to train and validate")
    fit, val = slice(0, n_fit), slice(n_fit, n_train)
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    classifier, regressor = build_classifier(), build_regressor()
    cls_facts = _fit(classifier, rows[fit], present[fit].astype(np.float32), rows[val], present[val].astype(np.float32),
                     "bce", cfg, n_epochs, seed, device, progress)
    wf, wv = present[fit], present[val]
    reg_facts = _fit(regressor, rows[fit][wf], amp[fit][wf], rows[val][wv], amp[val][wv], "mse", cfg, n_epochs,
                     seed + 1, device, progress)
    classifier.eval()
    with torch.no_grad():
        logits = classifier(torch.as_tensor(rows[val], dtype=torch.float32, device=device)).cpu().numpy()
    metrics = {"validation_accuracy": float(np.mean((logits > 0) == present[val])),
               "validation_bce": cls_facts["best_validation_loss"],
               "validation_rmse_db": math.sqrt(reg_facts["best_validation_loss"])
               if math.isfinite(reg_facts["best_validation_loss"]) else math.nan}
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {"classifier": out_dir / "classifier.pth", "regressor": out_dir / "regressor.pth",
             "config": out_dir / "deepech.json"}
    torch.save({k: v.detach().cpu() for k, v in classifier.state_dict().items()}, files["classifier"])
    torch.save({k: v.detach().cpu() for k, v in regressor.state_dict().items()}, files["regressor"])
    files["config"].write_text(json.dumps({k: cfg[k] for k in DEFAULTS}, indent=2, sort_keys=True))
    return files, {"metrics": {k: v for k, v in metrics.items() if math.isfinite(v)}, "seed": seed,
                   "split": {"fit_rows": n_fit, "validation_rows": n_train - n_fit, "test_window_from":
                             test_from.isoformat(), "rule": "temporal: fit, then validation, then test"},
                   "classifier": cls_facts, "regressor": reg_facts, "seconds": round(time.perf_counter() - t0, 1),
                   "config": {k: cfg[k] for k in DEFAULTS}}
