"""The ultra-minimal DDPM denoiser (six ConvBlocks, no skips, no resampling) and its config round trip."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import torch
from torch import nn

ARCHITECTURE = "ultra-minimal-ddpm"
CHANNELS = 7
GROUPS = 8
PARAMETERS = {16: 81_111, 24: 180_799}  # unconditional, 7 channels
CONFIG_KEY = "hrrr_ddpm_config"  # the safetensors metadata key that holds the config as JSON


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of integer steps: ``dim/2`` frequencies exp(−k·ln(10⁴)/(dim/2 − 1)), [sin ‖ cos]."""
    half = dim // 2
    k = torch.arange(half, dtype=torch.float32, device=t.device)
    freqs = torch.exp(-k * math.log(10_000.0) / (half - 1))
    angles = t.to(torch.float32)[:, None] * freqs[None, :]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


class ConvBlock(nn.Module):
    """Conv3×3 → GroupNorm(8) → SiLU → + Linear(t_emb) over H×W → Conv3×3 → GroupNorm(8) → SiLU."""

    def __init__(self, c_in: int, c_out: int, emb: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.norm1 = nn.GroupNorm(GROUPS, c_out)
        self.time = nn.Linear(emb, c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.norm2 = nn.GroupNorm(GROUPS, c_out)
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.act(self.norm1(self.conv1(x)))
        h = h + self.time(emb)[:, :, None, None]
        return self.act(self.norm2(self.conv2(h)))


class TinyDDPM(nn.Module):
    """Predicts the noise ε of ``x_t`` at step ``t``; with ``cond_channels > 0`` the condition is concatenated first.

    Widths per block: c→w, w→2w, 2w→2w, 2w→2w, 2w→w, w→w, then Conv1×1 w→c; the time embedding is sinusoidal of
    width ``w`` followed by Linear w→4w, SiLU, Linear 4w→4w (at w = 16: 16 → 64 → 64, as specified).
    """

    def __init__(self, channels: int = CHANNELS, width: int = 16, cond_channels: int = 0,
                 T: int = 1000, s: float = 0.008) -> None:
        super().__init__()
        if channels < 1 or cond_channels < 0:
            raise ValueError(f"channels must be ≥ 1 and cond_channels ≥ 0, not {channels}, {cond_channels}")
        if width < GROUPS or width % GROUPS or width % 2:
            raise ValueError(f"width must be a positive multiple of {GROUPS} (GroupNorm groups), not {width}")
        self.config: dict[str, Any] = {"architecture": ARCHITECTURE, "channels": channels, "width": width,
                                       "cond_channels": cond_channels, "T": T, "s": s}
        self.channels, self.width, self.cond_channels = channels, width, cond_channels
        emb = 4 * width
        self.time_mlp = nn.Sequential(nn.Linear(width, emb), nn.SiLU(), nn.Linear(emb, emb))
        sizes = [channels + cond_channels, width, 2 * width, 2 * width, 2 * width, width, width]
        self.blocks = nn.ModuleList(ConvBlock(a, b, emb) for a, b in zip(sizes[:-1], sizes[1:], strict=True))
        self.out = nn.Conv2d(width, channels, 1)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """ε̂ for ``x_t`` (B, C, H, W) at integer steps ``t`` (B,), given ``cond`` (B, C_cond, H, W) when conditional."""
        if self.cond_channels:
            if cond is None or cond.shape[1] != self.cond_channels:
                got = None if cond is None else tuple(cond.shape)
                raise ValueError(f"this model takes a condition of {self.cond_channels} channels, got {got}")
            x_t = torch.cat([x_t, cond.to(x_t.dtype)], dim=1)
        elif cond is not None:
            raise ValueError("this model is unconditional; it takes no condition")
        emb = self.time_mlp(timestep_embedding(t, self.width))
        h = x_t
        for block in self.blocks:
            h = block(h, emb)
        out: torch.Tensor = self.out(h)
        return out

    @classmethod
    def from_config(cls, config: dict[str, Any], *, seed: int | None = None) -> TinyDDPM:
        """A model built from ``config`` (as ``model.config`` gives it); ``seed`` seeds its initial weights."""
        if config.get("architecture", ARCHITECTURE) != ARCHITECTURE:
            raise ValueError(f"not an {ARCHITECTURE} config: {config.get('architecture')!r}")
        kwargs = {k: config[k] for k in ("channels", "width", "cond_channels", "T", "s") if k in config}
        if seed is None:
            return cls(**kwargs)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return cls(**kwargs)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def save_model(model: TinyDDPM, path: str | Path, state: dict[str, torch.Tensor] | None = None) -> None:
    """Write ``state`` (default: the model's own weights) to a safetensors file with the config in its metadata."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().cpu().contiguous() for k, v in (state or model.state_dict()).items()}
    save_file(tensors, str(path), metadata={CONFIG_KEY: json.dumps(model.config, sort_keys=True)})


def load_model(path: str | Path, *, device: str | torch.device = "cpu") -> TinyDDPM:
    """The model saved by :func:`save_model`, rebuilt from the config in the file's metadata."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata() or {}
    if CONFIG_KEY not in metadata:
        raise ValueError(f"{path} holds no {CONFIG_KEY} metadata; not a saved {ARCHITECTURE} model")
    model = TinyDDPM.from_config(json.loads(metadata[CONFIG_KEY]))
    model.load_state_dict(load_file(str(path)))
    return model.to(device)
