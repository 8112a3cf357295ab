"""HRRR DDPM ensemble generation: member-steps per second, members batched vs member by member (upstream's loop).

    python bench/bench_hrrr_sampling.py [--grid 256 256] [--members 8] [--steps 5] [--width 16] [--batch 8]
                                        [--device cpu|cuda|all] [--threads N]

The denoiser is the conditional ultra-minimal DDPM (width 16, 14 input channels) with seeded random weights (speed
does not depend on their values), sampled with DDIM through ``plugins.hrrr_ddpm.samplers.sample`` — the same code on
CPU and CUDA. "Member by member" calls the sampler once per member (batch of one, as upstream's script generated one
sample at a time); "batched" generates ``--batch`` members per denoiser call. The ratio printed is batched/one-by-one.
With ``--device all`` (the default) CUDA is measured too when a GPU is present; on CUDA ``--full-grid`` adds the
1059 × 1799 HRRR grid.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from plugins.hrrr_ddpm.model import TinyDDPM  # noqa: E402
from plugins.hrrr_ddpm.samplers import SamplerSpec, sample  # noqa: E402
from plugins.hrrr_ddpm.schedule import cosine_schedule  # noqa: E402

FULL_GRID = (1059, 1799)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def member_steps_per_second(device: str, grid: tuple[int, int], members: int, steps: int, width: int,
                            batch: int) -> float:
    """Member-steps per second generating ``members`` members with ``batch`` members per denoiser call."""
    model = TinyDDPM.from_config(TinyDDPM(width=width, cond_channels=7).config, seed=0).eval().to(device)
    cond = torch.randn(7, *grid, generator=torch.Generator().manual_seed(1))
    spec = SamplerSpec("ddim", steps)
    schedule = cosine_schedule()
    kwargs = {"shape": (7, *grid), "schedule": schedule, "spec": spec, "seed": 1, "cond": cond, "device": device}
    sample(model, member_ids=[0], batch_size=1, **kwargs)  # warm-up (kernels, allocator)
    _sync(device)
    started = time.perf_counter()
    if batch == 1:
        for m in range(members):
            sample(model, member_ids=[m], batch_size=1, **kwargs)
    else:
        sample(model, member_ids=range(members), batch_size=batch, **kwargs)
    _sync(device)
    return members * steps / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=int, nargs=2, default=(256, 256))
    parser.add_argument("--members", type=int, default=8)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--device", default="all", choices=["cpu", "cuda", "all"])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--full-grid", action="store_true", help="on CUDA, also the 1059 × 1799 grid")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = ["cpu"] if args.device == "cpu" else ["cuda"] if args.device == "cuda" else ["cpu"]
    if args.device == "all" and torch.cuda.is_available():
        devices.append("cuda")
    grid = tuple(args.grid)
    print(f"HRRR DDPM sampling (DDIM {args.steps} steps, width {args.width}, conditional, {args.members} members, "
          f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads)")
    for device in devices:
        grids = [grid] + ([FULL_GRID] if args.full_grid and device == "cuda" and grid != FULL_GRID else [])
        for g in grids:
            one = member_steps_per_second(device, g, args.members, args.steps, args.width, 1)
            batched = member_steps_per_second(device, g, args.members, args.steps, args.width, args.batch)
            print(f"{device:5s} {g[0]}×{g[1]}: member by member {one:8.2f} member-steps/s, batched ({args.batch}) "
                  f"{batched:8.2f} member-steps/s, ratio batched/one-by-one {batched / one:.2f}×")


if __name__ == "__main__":
    main()
