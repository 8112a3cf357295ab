"""The sampler check's toy: x₀ ~ N(0, σ₀²) denoised by the exact ε-optimal denoiser; a correct sampler returns ≈ σ₀.

For x_t = √ᾱ x₀ + √(1−ᾱ) ε, E[ε | x_t] = √(1−ᾱ) x_t / (ᾱσ₀² + 1 − ᾱ). The toy runs the real :func:`sample` code with
that denoiser on independent pixels, so whatever the sampler gets wrong (a wrong ᾱ in the posterior, a coarse step
sequence) shows as a wrong standard deviation. With σ₀ = 1 every variant returns ≈ 1; only a small σ₀ tells them apart.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from plugins.hrrr_ddpm.samplers import SamplerSpec, sample
from plugins.hrrr_ddpm.schedule import Schedule

TOY_SIGMA = 0.1
TOLERANCE = 0.10  # relative: the returned std must lie within 10 % of σ₀


def optimal_denoiser(schedule: Schedule, sigma0: float) -> torch.nn.Module:
    """The exact E[ε | x_t] for x₀ ~ N(0, σ₀²), as a module ``(x_t, t, cond) -> ε̂`` (the condition is ignored)."""

    class Optimal(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            a = torch.as_tensor(np.asarray(schedule.alphas_bar), dtype=torch.float64)
            self.gain: torch.Tensor
            self.register_buffer("gain", torch.sqrt(1 - a) / (a * sigma0**2 + 1 - a))

        def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
            gain = self.gain.to(x.device)[t].to(x.dtype)
            return x * gain.view(-1, *([1] * (x.ndim - 1)))

    return Optimal()


def toy_sampler_std(schedule: Schedule, spec: SamplerSpec, *, sigma0: float = TOY_SIGMA, n: int = 65_536,
                    seed: int = 0, device: str | torch.device = "cpu") -> float:
    """The standard deviation the sampler ``spec`` returns on the toy (``n`` independent values, 4 members).

    :param schedule: the schedule the version trains and samples with.
    :param spec: the sampler to check.
    :param sigma0: the toy's data standard deviation (0.1 as specified; positive and finite).
    :param n: values drawn (rounded up to 4 square members); the estimate's relative sd is about 1/√(2n).
    :param seed: the sampler seed.
    :param device: where to run.
    """
    if not (math.isfinite(sigma0) and sigma0 > 0):
        raise ValueError(f"sigma0 must be finite and positive, not {sigma0!r}")
    side = max(1, math.ceil(math.sqrt(n / 4)))
    out = sample(optimal_denoiser(schedule, sigma0).to(device), shape=(1, side, side), schedule=schedule,
                 spec=spec, seed=seed, member_ids=range(4), device=device, batch_size=4)
    return float(out.double().std())


def sampler_within_tolerance(std: float, *, sigma0: float = TOY_SIGMA, tolerance: float = TOLERANCE) -> bool:
    """Whether a returned std is within ``tolerance`` (relative) of σ₀; NaN is never within."""
    return bool(abs(std - sigma0) <= tolerance * sigma0)
