"""The IonisGate network: one torch module for every version, sized by its trunk width ``dnn_dim``."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

SIDECAR_HIDDEN = 8
PARAMETERS_BEYOND_TRUNK_INPUT = 197_941
"""Parameter count = 512·dnn_dim + this constant (V20 203,573; V21-α 204,085; V21-β 204,597; V22 205,621)."""


def expected_parameters(dnn_dim: int) -> int:
    """Parameter count of an IonisGate with trunk width ``dnn_dim``."""
    return 512 * dnn_dim + PARAMETERS_BEYOND_TRUNK_INPUT


def expected_shapes(dnn_dim: int) -> dict[str, tuple[int, ...]]:
    """State-dict key → tensor shape of an IonisGate with trunk width ``dnn_dim``."""
    shapes: dict[str, tuple[int, ...]] = {
        "trunk.0.weight": (512, dnn_dim), "trunk.0.bias": (512,),
        "trunk.2.weight": (256, 512), "trunk.2.bias": (256,),
        "base_head.0.weight": (128, 256), "base_head.0.bias": (128,),
        "base_head.2.weight": (1, 128), "base_head.2.bias": (1,),
    }
    for head in ("sun_scaler_head", "storm_scaler_head"):
        shapes |= {f"{head}.0.weight": (64, 256), f"{head}.0.bias": (64,),
                   f"{head}.2.weight": (1, 64), f"{head}.2.bias": (1,)}
    for car in ("sun_sidecar", "storm_sidecar"):
        shapes |= {f"{car}.fc1.weight": (SIDECAR_HIDDEN, 1), f"{car}.fc1.bias": (SIDECAR_HIDDEN,),
                   f"{car}.fc2.weight": (1, SIDECAR_HIDDEN), f"{car}.fc2.bias": (1,)}
    return shapes


class MonotoneSidecar(nn.Module):
    """1 → 8 → 1 MLP with absolute weights: ``|W2|·softplus(|W1|·u + b1) + b2`` is non-decreasing in ``u``."""

    def __init__(self, hidden: int = SIDECAR_HIDDEN) -> None:
        super().__init__()
        self.fc1 = nn.Linear(1, hidden)
        self.fc2 = nn.Linear(hidden, 1)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        hidden = F.softplus(F.linear(u, self.fc1.weight.abs(), self.fc1.bias))
        return F.linear(hidden, self.fc2.weight.abs(), self.fc2.bias)


class Decomposition(NamedTuple):
    """The additive parts of one forward pass, each of shape ``(N, 1)``."""

    base: torch.Tensor
    g_sun: torch.Tensor
    sun_sidecar: torch.Tensor
    g_storm: torch.Tensor
    storm_sidecar: torch.Tensor

    @property
    def total(self) -> torch.Tensor:
        return self.base + self.g_sun * self.sun_sidecar + self.g_storm * self.storm_sidecar


def _head(width: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(256, width), nn.Mish(), nn.Linear(width, 1))


def gate_of(logit: torch.Tensor) -> torch.Tensor:
    """Scaler-head logit → gate ``0.5 + 1.5·sigmoid(logit)`` in (0.5, 2.0)."""
    return 0.5 + 1.5 * torch.sigmoid(logit)


class IonisGate(nn.Module):
    """σ = base(trunk(x[:, :dnn])) + g_sun·sun_sidecar(SFI/300) + g_storm·storm_sidecar(1 − Kp/9).

    The input has ``dnn_dim + 2`` columns; the last two are the SFI and Kp-penalty features, which the
    trunk never sees, so σ is non-decreasing in SFI and non-increasing in Kp by construction.
    """

    def __init__(self, dnn_dim: int) -> None:
        super().__init__()
        self.dnn_dim = int(dnn_dim)
        self.trunk = nn.Sequential(nn.Linear(self.dnn_dim, 512), nn.Mish(), nn.Linear(512, 256), nn.Mish())
        self.base_head = nn.Sequential(nn.Linear(256, 128), nn.Mish(), nn.Linear(128, 1))
        self.sun_scaler_head = _head(64)
        self.storm_scaler_head = _head(64)
        self.sun_sidecar = MonotoneSidecar()
        self.storm_sidecar = MonotoneSidecar()

    @property
    def input_dim(self) -> int:
        return self.dnn_dim + 2

    def decompose(self, x: torch.Tensor) -> Decomposition:
        """``(base, g_sun, sun_sidecar, g_storm, storm_sidecar)`` for an ``(N, dnn_dim + 2)`` input."""
        h = self.trunk(x[:, : self.dnn_dim])
        return Decomposition(
            base=self.base_head(h),
            g_sun=gate_of(self.sun_scaler_head(h)),
            sun_sidecar=self.sun_sidecar(x[:, self.dnn_dim : self.dnn_dim + 1]),
            g_storm=gate_of(self.storm_scaler_head(h)),
            storm_sidecar=self.storm_sidecar(x[:, self.dnn_dim + 1 : self.dnn_dim + 2]),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decompose(x).total

    def sfi_benefit(self) -> float:
        """Raw sun sidecar (no gate) at SFI 200 minus at SFI 70, in σ — the training-reported ``sfi_benefit``."""
        u = torch.tensor([[200.0 / 300.0], [70.0 / 300.0]], device=self.sun_sidecar.fc1.weight.device)
        with torch.no_grad():
            out = self.sun_sidecar(u)
        return float(out[0, 0] - out[1, 0])

    def storm_cost(self) -> float:
        """Raw storm sidecar (no gate) at Kp 0 minus at Kp 9, in σ — the training-reported ``storm_cost``."""
        u = torch.tensor([[1.0], [0.0]], device=self.storm_sidecar.fc1.weight.device)
        with torch.no_grad():
            out = self.storm_sidecar(u)
        return float(out[0, 0] - out[1, 0])


def count_parameters(module: nn.Module) -> int:
    """Number of scalar parameters of ``module``."""
    return sum(p.numel() for p in module.parameters())
