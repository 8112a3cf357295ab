"""The cosine noise schedule of the HRRR DDPM (T steps, offset s, β clipped to [1e-4, 0.02], ᾱ a cumulative product)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

BETA_MIN = 1e-4
BETA_MAX = 0.02
ALPHA_BAR_T_LIMIT = 0.01  # a schedule whose last ᾱ is not below this leaves signal in the "pure noise" start


@dataclass(frozen=True, eq=False)
class Schedule:
    """One diffusion schedule: ``betas[t]``, ``alphas[t] = 1 − betas[t]`` and ``alphas_bar[t] = ∏_{k≤t} alphas[k]``.

    Index ``t`` runs over the training steps 0 … T−1 (the step the model is told); all arrays are float64.
    """

    T: int
    s: float
    betas: np.ndarray
    alphas: np.ndarray
    alphas_bar: np.ndarray

    def alpha_bar(self, t: int) -> float:
        """ᾱ at training step ``t``; ``t = −1`` is the clean end of the chain, where ᾱ = 1."""
        if t == -1:
            return 1.0
        if not 0 <= t < self.T:
            raise ValueError(f"step {t} is outside 0 … {self.T - 1} (or −1 for the clean end)")
        return float(self.alphas_bar[t])

    def to_dict(self) -> dict[str, Any]:
        """What identifies the schedule (its kind and parameters) and its last ᾱ, for configs and evidence."""
        return {"kind": "cosine", "T": self.T, "s": self.s, "beta_min": BETA_MIN, "beta_max": BETA_MAX,
                "alpha_bar_T": float(self.alphas_bar[-1])}


def cosine_schedule(T: int = 1000, s: float = 0.008) -> Schedule:
    """The cosine schedule: ᾱ(k) = cos²(((k/T)+s)/(1+s)·π/2)/ᾱ(0), β_k = 1 − ᾱ(k)/ᾱ(k−1) clipped to [1e-4, 0.02].

    :param T: number of diffusion steps (a positive integer).
    :param s: the small offset that keeps β_1 from vanishing (non-negative, finite).
    :returns: the :class:`Schedule`, with ᾱ recomputed as the cumulative product of 1 − β (≈ 0.0032 at T = 1000).
    """
    if isinstance(T, bool) or not isinstance(T, int) or T < 1:
        raise ValueError(f"T must be a positive integer, not {T!r}")
    if not (math.isfinite(s) and s >= 0):
        raise ValueError(f"s must be a finite non-negative number, not {s!r}")
    k = np.arange(T + 1, dtype=np.float64)
    f = np.cos(((k / T) + s) / (1.0 + s) * math.pi / 2.0) ** 2
    ratio = f[1:] / f[:-1]
    betas = np.clip(1.0 - ratio, BETA_MIN, BETA_MAX)
    alphas = 1.0 - betas
    return Schedule(T=T, s=float(s), betas=betas, alphas=alphas, alphas_bar=np.cumprod(alphas))
