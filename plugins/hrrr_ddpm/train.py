"""Fitting the denoiser: MSE on ε at uniformly drawn steps, AdamW, gradient clipping, and an EMA of the weights."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import torch
from torch import nn

from plugins.hrrr_ddpm.schedule import Schedule, cosine_schedule


def _tensor(values: Any, name: str) -> torch.Tensor:
    tensor = torch.as_tensor(np.asarray(values, dtype=np.float32))
    if tensor.ndim != 4 or tensor.shape[0] < 1:
        raise ValueError(f"{name} must be (N, C, H, W) with N ≥ 1, not {tuple(tensor.shape)}")
    if not torch.isfinite(tensor).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    return tensor


def _schedule_of(model: nn.Module, schedule: Schedule | None) -> Schedule:
    config = getattr(model, "config", {})
    return schedule or cosine_schedule(int(config.get("T", 1000)), float(config.get("s", 0.008)))


def _cropped(tensors: list[torch.Tensor | None], crop: int | None,
             gen: torch.Generator) -> list[torch.Tensor | None]:
    """The same random ``crop`` × ``crop`` window of each sample in every tensor (a fresh window per sample)."""
    first = tensors[0]
    assert first is not None
    h, w = first.shape[-2:]
    if crop is None or (crop >= h and crop >= w):
        return tensors
    ch, cw = min(crop, h), min(crop, w)
    ys = torch.randint(0, h - ch + 1, (first.shape[0],), generator=gen).tolist()
    xs = torch.randint(0, w - cw + 1, (first.shape[0],), generator=gen).tolist()
    return [None if t is None else torch.stack([t[i, :, y:y + ch, x:x + cw] for i, (y, x) in enumerate(zip(ys, xs,
                                                                                                    strict=True))])
            for t in tensors]


def _noised(x0: torch.Tensor, alphas_bar: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, ...]:
    t = torch.randint(0, len(alphas_bar), (x0.shape[0],), generator=gen)
    eps = torch.randn(x0.shape, generator=gen)
    a = alphas_bar[t].view(-1, 1, 1, 1)
    return a.sqrt() * x0 + (1 - a).sqrt() * eps, t, eps


def denoising_loss(model: nn.Module, targets: Any, *, cond: Any = None, schedule: Schedule | None = None,
                   seed: int = 0, draws: int = 1, device: str | torch.device = "cpu") -> float:
    """The mean MSE on ε over ``draws`` fixed (seeded) draws of step and noise per sample; comparable across models."""
    x0 = _tensor(targets, "targets")
    c = None if cond is None else _tensor(cond, "cond")
    alphas_bar = torch.as_tensor(_schedule_of(model, schedule).alphas_bar, dtype=torch.float32)
    gen = torch.Generator().manual_seed(seed)
    total = 0.0
    model.eval()
    with torch.inference_mode():
        for _ in range(draws):
            x_t, t, eps = _noised(x0, alphas_bar, gen)
            out = model(x_t.to(device), t.to(device), None if c is None else c.to(device))
            total += float(nn.functional.mse_loss(out.float().cpu(), eps))
    return total / draws


def train_ddpm(model: nn.Module, targets: Any, *, cond: Any = None, epochs: int, batch_size: int = 8,
               lr: float = 2e-4, wd: float = 0.01, clip: float = 1.0, ema: float = 0.999, seed: int,
               device: str | torch.device = "cpu", progress: bool = False, schedule: Schedule | None = None,
               crop: int | None = None) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Train ``model`` in place to predict the noise of noised ``targets`` (given ``cond`` when conditional).

    :param model: a :class:`~plugins.hrrr_ddpm.model.TinyDDPM` (or any ``model(x_t, t, cond)``).
    :param targets: z-scored states (N, C, H, W), the x₀ to be generated.
    :param cond: the conditions (N, C_cond, H, W) paired with ``targets`` (the state one step earlier), or None.
    :param epochs: passes over the N samples, shuffled, ``batch_size`` at a time.
    :param lr: AdamW learning rate; ``wd`` its weight decay; ``clip`` the gradient-norm bound.
    :param ema: the EMA decay; step n uses min(ema, (1 + n)/(10 + n)) so that short runs are not their initial weights.
    :param seed: seeds the shuffling, the steps t ~ U{0 … T−1} and the noise (drawn on the CPU, so a run is
        deterministic on the CPU and draws the same numbers on any device).
    :param device: where to train.
    :param progress: show a tqdm bar over optimiser steps.
    :param schedule: the training schedule (default: the cosine schedule of the model's ``config``).
    :param crop: train on a fresh random ``crop`` × ``crop`` window of each sample (the same window of its
        condition) at every step; the model is fully convolutional, so it still samples whole grids. Cheaper steps
        and more varied ones: on a 32 × 32 SYNTHETIC case this is what lets a few hundred steps learn the condition.
    :returns: (the EMA weights as a CPU state dict, metrics: losses per epoch, steps, seconds, the largest
        gradient norm before clipping, and the settings).
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, not {epochs!r}")
    if batch_size < 1 or not all(math.isfinite(v) and v >= 0 for v in (lr, wd, clip)) or lr == 0 or clip == 0:
        raise ValueError(f"batch_size ≥ 1 and finite positive lr/clip, wd ≥ 0 needed: {batch_size}, {lr}, {clip}, {wd}")
    if not 0 <= ema < 1:
        raise ValueError(f"ema must lie in [0, 1), not {ema!r}")
    if crop is not None and (isinstance(crop, bool) or not isinstance(crop, int) or crop < 1):
        raise ValueError(f"crop must be None or a positive integer, not {crop!r}")
    x0 = _tensor(targets, "targets")
    c = None if cond is None else _tensor(cond, "cond")
    if c is not None and c.shape[0] != x0.shape[0]:
        raise ValueError(f"{c.shape[0]} conditions for {x0.shape[0]} targets")
    alphas_bar = torch.as_tensor(_schedule_of(model, schedule).alphas_bar, dtype=torch.float32)
    gen = torch.Generator().manual_seed(seed)
    model.to(device).train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=wd)
    averaged = {k: v.detach().clone().float() for k, v in model.state_dict().items()}
    per_epoch: list[float] = []
    steps, started, grad_norm_max = 0, time.perf_counter(), 0.0
    from tqdm import tqdm

    bar = tqdm(total=epochs * math.ceil(len(x0) / batch_size), desc="train hrrr_ddpm", unit="step",
               disable=not progress)
    for _ in range(epochs):
        order, losses = torch.randperm(len(x0), generator=gen), []
        for start in range(0, len(x0), batch_size):
            idx = order[start:start + batch_size]
            clean, given = _cropped([x0[idx], None if c is None else c[idx]], crop, gen)
            assert clean is not None
            x_t, t, eps = _noised(clean, alphas_bar, gen)
            out = model(x_t.to(device), t.to(device), None if given is None else given.to(device))
            loss = nn.functional.mse_loss(out, eps.to(device))
            optimiser.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            norm = float(nn.utils.clip_grad_norm_(model.parameters(), clip))
            grad_norm_max = max(grad_norm_max, norm)
            optimiser.step()
            decay = min(ema, (1 + steps) / (10 + steps))
            with torch.no_grad():
                for k, v in model.state_dict().items():
                    averaged[k].mul_(decay).add_(v.detach().float(), alpha=1 - decay)
            steps += 1
            losses.append(float(loss.detach()))
            bar.update(1)
        per_epoch.append(float(np.mean(losses)))
    bar.close()
    model.eval()
    metrics = {"loss_first_epoch": per_epoch[0], "loss_last_epoch": per_epoch[-1], "loss_per_epoch": per_epoch,
               "steps": steps, "seconds": time.perf_counter() - started, "epochs": epochs, "batch_size": batch_size,
               "lr": lr, "wd": wd, "clip": clip, "ema": ema, "samples": len(x0), "device": str(device),
               "grad_norm_max": grad_norm_max, "crop": crop}
    return {k: v.cpu() for k, v in averaged.items()}, metrics
