"""The IonisGate network built from an architecture description, sized by its trunk width ``dnn_dim``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from plugins.ionis.architectures import DEFAULT_ARCHITECTURE, Architecture

SIDECAR_HIDDEN = 8
PARAMETERS_BEYOND_TRUNK_INPUT = 197_941
"""V22-shaped count = 512·dnn_dim + this constant (V20 203,573; V21-α 204,085; V21-β 204,597; V22 205,621)."""
FREQ_LOG_COLUMN = 1
"""Where ``freq_log`` sits in every released feature list (used when a module is built without names)."""


def expected_shapes(dnn_dim: int, arch: Architecture = DEFAULT_ARCHITECTURE) -> dict[str, tuple[int, ...]]:
    """State-dict key → tensor shape of ``arch`` with trunk width ``dnn_dim``."""
    shapes: dict[str, tuple[int, ...]] = {
        "trunk.0.weight": (512, dnn_dim), "trunk.0.bias": (512,),
        "trunk.2.weight": (256, 512), "trunk.2.bias": (256,),
    }
    heads = ["base_head"] if arch.band_heads is None else [f"band_heads.{i}" for i in range(arch.heads)]
    for head in heads:
        shapes |= {f"{head}.0.weight": (128, 256), f"{head}.0.bias": (128,),
                   f"{head}.2.weight": (1, 128), f"{head}.2.bias": (1,)}
    for car in arch.sidecars:
        head = f"{car.name}_scaler_head"
        shapes |= {f"{head}.0.weight": (64, 256), f"{head}.0.bias": (64,),
                   f"{head}.2.weight": (1, 64), f"{head}.2.bias": (1,)}
    for car in arch.sidecars:
        side = f"{car.name}_sidecar"
        shapes |= {f"{side}.fc1.weight": (SIDECAR_HIDDEN, car.width), f"{side}.fc1.bias": (SIDECAR_HIDDEN,),
                   f"{side}.fc2.weight": (1, SIDECAR_HIDDEN), f"{side}.fc2.bias": (1,)}
    return shapes


def expected_parameters(dnn_dim: int, arch: Architecture = DEFAULT_ARCHITECTURE) -> int:
    """Parameter count of ``arch`` with trunk width ``dnn_dim``."""
    total = 0
    for shape in expected_shapes(dnn_dim, arch).values():
        n = 1
        for d in shape:
            n *= d
        total += n
    return total


class MonotoneSidecar(nn.Module):
    """k → 8 → 1 MLP with absolute weights: ``|W2|·softplus(|W1|·u + b1) + b2`` is non-decreasing in each input."""

    def __init__(self, hidden: int = SIDECAR_HIDDEN, inputs: int = 1) -> None:
        super().__init__()
        self.fc1 = nn.Linear(inputs, hidden)
        self.fc2 = nn.Linear(hidden, 1)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        hidden = F.softplus(F.linear(u, self.fc1.weight.abs(), self.fc1.bias))
        return F.linear(hidden, self.fc2.weight.abs(), self.fc2.bias)


class BandHeads(nn.ModuleList):
    """One 256 → 128 → 1 head per band group (tensors ``band_heads.i.*``); ``route`` gives each row the head
    its ``band_idx`` column names."""

    def __init__(self, heads: int) -> None:
        super().__init__(_head(128) for _ in range(heads))

    def route(self, h: torch.Tensor, head_index: torch.Tensor) -> torch.Tensor:
        every = torch.cat([head(h) for head in self], dim=1)
        return every.gather(1, head_index.long().unsqueeze(1))  # an index outside the heads raises


class Decomposition(NamedTuple):
    """The additive parts of one forward pass, each ``(N, 1)``; a sidecar the architecture lacks is ``None``."""

    base: torch.Tensor
    g_sun: torch.Tensor | None
    sun_sidecar: torch.Tensor | None
    g_storm: torch.Tensor
    storm_sidecar: torch.Tensor

    @property
    def total(self) -> torch.Tensor:
        out = self.base + self.g_storm * self.storm_sidecar
        if self.g_sun is not None and self.sun_sidecar is not None:
            out = out + self.g_sun * self.sun_sidecar
        return out


def _head(width: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(256, width), nn.Mish(), nn.Linear(width, 1))


def gate_of(logit: torch.Tensor) -> torch.Tensor:
    """Scaler-head logit → gate ``0.5 + 1.5·sigmoid(logit)`` in (0.5, 2.0)."""
    return 0.5 + 1.5 * torch.sigmoid(logit)


def default_columns(dnn_dim: int, arch: Architecture) -> dict[str, int]:
    """Feature name → input column for a module built without a feature list: side inputs follow the trunk."""
    return {"freq_log": FREQ_LOG_COLUMN} | {name: dnn_dim + i for i, name in enumerate(arch.side_inputs)}


class IonisGate(nn.Module):
    """σ = head(trunk(x[:, :dnn])) + Σ g_car·car(inputs of car), one term per sidecar of the architecture.

    The input has ``dnn_dim + len(arch.side_inputs)`` columns; the trunk sees the first ``dnn_dim``. A sidecar
    reads its features by name (``columns``), so σ is monotone in each sidecar input by construction.
    """

    # which of these exist depends on the architecture (e.g. V24 has no sun_*; V26-α has band_heads, no base_head)
    trunk: nn.Sequential
    base_head: nn.Sequential
    band_heads: BandHeads
    sun_scaler_head: nn.Sequential
    storm_scaler_head: nn.Sequential
    sun_sidecar: MonotoneSidecar
    storm_sidecar: MonotoneSidecar

    def __init__(self, dnn_dim: int, arch: Architecture = DEFAULT_ARCHITECTURE,
                 features: Sequence[str] | None = None) -> None:
        super().__init__()
        self.dnn_dim = int(dnn_dim)
        self.arch = arch
        self.columns = ({n: i for i, n in enumerate(features)} if features is not None
                        else default_columns(self.dnn_dim, arch))
        self.trunk = nn.Sequential(nn.Linear(self.dnn_dim, 512), nn.Mish(), nn.Linear(512, 256), nn.Mish())
        if arch.band_heads is None:
            self.base_head = _head(128)
        else:
            self.band_heads = BandHeads(arch.heads)
        for car in arch.sidecars:
            setattr(self, f"{car.name}_scaler_head", _head(64))
        for car in arch.sidecars:
            setattr(self, f"{car.name}_sidecar", MonotoneSidecar(inputs=car.width))

    @property
    def input_dim(self) -> int:
        return self.dnn_dim + len(self.arch.side_inputs)

    def column(self, feature: str) -> int:
        """Input column of ``feature``; ``KeyError`` if this module does not read it."""
        return self.columns[feature]

    def sidecar_input(self, name: str, x: torch.Tensor) -> torch.Tensor:
        """The ``(N, width)`` input of sidecar ``name`` taken from the full input ``x``."""
        car = self.arch.sidecar(name)
        assert car is not None, name
        cols = [x[:, self.columns[f]: self.columns[f] + 1] for f in car.inputs]
        if car.combine == "product":
            out = cols[0]
            for c in cols[1:]:
                out = out * c
            return out
        return torch.cat(cols, dim=1)

    def decompose(self, x: torch.Tensor) -> Decomposition:
        """``(base, g_sun, sun_sidecar, g_storm, storm_sidecar)`` for an ``(N, input_dim)`` input."""
        h = self.trunk(x[:, : self.dnn_dim])
        base = (self.base_head(h) if self.arch.band_heads is None
                else self.band_heads.route(h, x[:, self.columns["band_idx"]]))
        sun = self.arch.has_sun
        return Decomposition(
            base=base,
            g_sun=gate_of(self.sun_scaler_head(h)) if sun else None,
            sun_sidecar=self.sun_sidecar(self.sidecar_input("sun", x)) if sun else None,
            g_storm=gate_of(self.storm_scaler_head(h)),
            storm_sidecar=self.storm_sidecar(self.sidecar_input("storm", x)),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decompose(x).total

    def sfi_benefit(self, freq_log: float | None = None) -> float:
        """Raw sun sidecar (no gate) at SFI 200 minus at SFI 70, in σ — the training-reported ``sfi_benefit``.
        A sidecar that also reads ``freq_log`` is evaluated at ``freq_log``; without a sun sidecar: ``ValueError``."""
        car = self.arch.sidecar("sun")
        if car is None:
            raise ValueError(f"{self.arch.name} has no sun sidecar")
        sfi = torch.tensor([[200.0 / 300.0], [70.0 / 300.0]], device=self.sun_sidecar.fc1.weight.device)
        if len(car.inputs) > 1:
            if freq_log is None:
                raise ValueError(f"{self.arch.name}'s sun sidecar also reads freq_log; give its value")
            f = torch.full_like(sfi, float(freq_log))
            u = torch.cat([sfi, f], dim=1) if car.combine == "columns" else sfi * f
        else:
            u = sfi
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
