"""A loaded HRRR DDPM version: the denoiser, its schedules, the samplers it is configured with, and its statistics."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

CONDITIONS = ("state", "none")  # "none": upstream's wiring, the condition channels get zeros (climate samples)
SMALL_GRID = 96 * 96  # pixels per member up to which the CPU runs one torch thread


@contextmanager
def cpu_threads_for(pixels: int, device: str) -> Iterator[None]:
    """One torch thread on the CPU for grids up to ``SMALL_GRID`` pixels: their convolutions gain nothing from more,
    two OpenMP threads on a busy machine spin against each other (a 32 × 32 training step: 0.15 s on one thread,
    1–3 s on two), and a fixed count gives the same rounding on any machine."""
    import torch

    if not str(device).startswith("cpu") or pixels > SMALL_GRID:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@dataclass
class Forecaster:
    """``net`` (a ``TinyDDPM`` in eval mode) with the version's config: ``variables`` and their z-score ``stats``,
    the ``samplers`` it uses (the first is the default), the training and sampling schedules, and ``condition``
    (``state``: the current state is the condition; ``none``: zeros, as upstream's unconditional form)."""

    net: Any
    variables: tuple[str, ...]
    stats: dict[str, dict[str, float]]
    samplers: tuple[Any, ...]
    training_schedule: dict[str, Any]
    sampling_schedule: dict[str, Any]
    condition: str = "state"
    device: str = "cpu"
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def conditional(self) -> bool:
        """Whether the network has condition channels at all."""
        return bool(self.net.cond_channels)

    @property
    def schedule(self) -> Any:
        from plugins.hrrr_ddpm.schedule import cosine_schedule

        return cosine_schedule(int(self.sampling_schedule["T"]), float(self.sampling_schedule["s"]))

    def denoiser(self, x_t: Any, t: Any, cond: Any = None) -> Any:
        """ε̂ of the network; the condition is replaced by zeros in the ``none`` wiring and dropped when the
        network has no condition channels."""
        import torch

        if not self.conditional:
            return self.net(x_t, t)
        if cond is None or self.condition == "none":
            cond = torch.zeros((x_t.shape[0], self.net.cond_channels, *x_t.shape[2:]), dtype=x_t.dtype,
                               device=x_t.device)
        elif cond.shape[0] != x_t.shape[0]:
            cond = cond.expand(x_t.shape[0], *cond.shape[1:])
        return self.net(x_t, t, cond)

    def sample_z(self, cond: Any, *, member_ids: Sequence[int], seed: int, device: str | None = None,
                 spec: Any = None, progress: bool = False) -> Any:
        """Members (len(ids), C, H, W) in z-scores conditioned on ``cond`` (C, H, W z-scores); member i's noise
        depends only on (seed, i)."""
        import torch

        from plugins.hrrr_ddpm.samplers import sample

        device = device or self.device
        c = torch.as_tensor(np.asarray(cond, dtype=np.float32), device=device)
        if c.ndim != 3:
            raise ValueError(f"a condition is (channels, rows, columns), got shape {tuple(c.shape)}")
        with torch.no_grad(), cpu_threads_for(int(c.shape[1] * c.shape[2]), device):
            return sample(self.denoiser, shape=(len(self.variables), *c.shape[1:]), schedule=self.schedule,
                          spec=spec or self.samplers[0], seed=seed, member_ids=list(member_ids), cond=c,
                          device=device, progress=progress)

    def to_physical(self, z: Any) -> np.ndarray:
        """z-scores (…, C, H, W) as float32 physical values."""
        arr = np.asarray(z, dtype=np.float32)
        mean = np.array([self.stats[v]["mean"] for v in self.variables], dtype=np.float32)[:, None, None]
        std = np.array([self.stats[v]["std"] for v in self.variables], dtype=np.float32)[:, None, None]
        return np.asarray(arr * std + mean, dtype=np.float32)

    def to_z(self, physical: Mapping[str, np.ndarray] | np.ndarray) -> np.ndarray:
        """Physical (C, H, W) values (or a mapping by variable) as float32 z-scores."""
        arr = np.stack([physical[v] for v in self.variables]) if isinstance(physical, Mapping) else physical
        mean = np.array([self.stats[v]["mean"] for v in self.variables], dtype=np.float32)[:, None, None]
        std = np.array([self.stats[v]["std"] for v in self.variables], dtype=np.float32)[:, None, None]
        return np.asarray((np.asarray(arr, dtype=np.float32) - mean) / std, dtype=np.float32)
