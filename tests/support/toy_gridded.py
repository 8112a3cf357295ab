"""A throw-away gridded family for the core's tests: a real torch 3×3 convolution that learns one step of a
synthetic advected field, and generates ensembles around its forecast with member-seeded noise."""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gates.base import Outcome, Threshold
from gates.suite import GateSuite
from registry.errors import InvalidCheckpoint, InvalidInput
from registry.family import ArtifactRole, DemoPlan, EnsemblePlan
from registry.hashing import digest_json
from registry.hookspecs import hookimpl

__version__ = "0.0.1"
VARIABLES = ("a", "b")
DATASET = "toygrid-case"
SIGMA = 0.1  # z-score units of member noise


def make_case(n: int = 6, h: int = 12, w: int = 20, *, seed: int = 0) -> dict[str, np.ndarray]:
    """SYNTHETIC: two smooth random fields advected one cell east per step, plus a little noise."""
    rng = np.random.default_rng(seed)
    out = {}
    for k, name in enumerate(VARIABLES):
        base = rng.normal(size=(h, w)).cumsum(axis=1) / 4 + 10.0 * k
        frames = [np.roll(base, t, axis=1) + rng.normal(scale=0.02, size=(h, w)) for t in range(n)]
        out[name] = np.stack(frames).astype(np.float32)
    return out


def write_npy(case: Mapping[str, np.ndarray], folder: Path, *, coords: bool = True) -> Path:
    """The upstream-style layout: one .npy per variable (+ lat/lon), labelled synthetic by its folder name."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, values in case.items():
        np.save(folder / f"{name}.npy", values)
    if coords:
        _, h, w = next(iter(case.values())).shape
        lat, lon = np.meshgrid(np.linspace(30, 40, h), np.linspace(-100, -90, w), indexing="ij")
        np.save(folder / "lat.npy", lat)
        np.save(folder / "lon.npy", lon)
    return folder


def build() -> Any:
    import torch

    return torch.nn.Conv2d(len(VARIABLES), len(VARIABLES), 3, padding=1, padding_mode="circular")


def _member_noise(seed: int, member: int, shape: tuple[int, ...]) -> Any:
    import torch

    sub = int.from_bytes(hashlib.sha256(f"{seed}:{member}".encode()).digest()[:8], "little") >> 1
    return torch.randn(shape, generator=torch.Generator().manual_seed(sub))


class ToyGridFamily:
    name = "toygrid"
    version = __version__
    summary = "tiny convolution on a synthetic grid, for the registry's own tests"
    roles = (ArtifactRole("weights", True, "safetensors state_dict"),)
    default_suite = "grid"
    extracts = ()

    def validate(self, files: Mapping[str, Path]) -> dict[str, Any]:
        from registry.checkpoints import read_tensors

        model = build()
        try:
            model.load_state_dict(read_tensors(Path(files["weights"])), strict=True)
        except RuntimeError as exc:
            raise InvalidCheckpoint(f"weights do not fit the toygrid convolution: {str(exc).splitlines()[0]}") from None
        return {"parameters": sum(p.numel() for p in model.parameters())}

    def load(self, files: Mapping[str, Path], device: str = "cpu") -> Any:
        from registry.checkpoints import read_tensors

        model = build()
        model.load_state_dict(read_tensors(Path(files["weights"])))
        return model.to(device).eval()

    def predict(self, model: Any, input_path: Path, *, device: str = "cpu") -> list[dict[str, Any]]:
        raise InvalidInput("toygrid predicts ensembles of arrays")  # the core refuses before it gets here

    def train_datasets(self, datasets: Mapping[str, Any], config: Path, *, out_dir: Path, epochs: int | None,
                       seed: int, device: str, progress: bool) -> tuple[dict[str, Path], dict[str, Any]]:
        import torch
        from safetensors.torch import save_file
        from tqdm import tqdm

        steps = int(json.loads(Path(config).read_text()).get("steps", 200)) if epochs is None else epochs
        ds = datasets[DATASET]
        x = torch.tensor(np.stack([ds.read(v, scale="z") for v in VARIABLES], axis=1))
        torch.manual_seed(seed)
        model = build().to(device)
        opt = torch.optim.Adam(model.parameters(), lr=0.05)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # tensors this small train ~40x slower on threads shared with other processes
        try:
            for _ in tqdm(range(steps), desc="toygrid train", unit="step", disable=not progress, file=sys.stderr):
                opt.zero_grad()
                loss = torch.nn.functional.mse_loss(model(x[:-1]), x[1:])
                loss.backward()
                opt.step()
        finally:
            torch.set_num_threads(threads)
        path = out_dir / "weights.safetensors"
        save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(path))
        return {"weights": path}, {"steps": steps, "metrics": {"mse": float(loss.detach())}}

    def ensemble_plan(self, model: Any, case: Any, *, members: int, seed: int, steps: int | None, device: str,
                      options: Mapping[str, str]) -> EnsemblePlan:
        import torch

        n = case.shape[0]
        raw = options.get("time", str(n - 2))
        if not raw.lstrip("-").isdigit() or not 0 <= int(raw) < n:
            raise InvalidInput(f"time must be an index in 0…{n - 1}, got {raw!r}")
        t = int(raw)
        if tuple(case.variables) != VARIABLES:
            raise InvalidInput(f"toygrid needs variables {VARIABLES}, the case has {case.variables}")

        def generate(ids: Sequence[int]) -> Any:
            x = torch.tensor(np.stack([case.read(v, t, scale="z") for v in VARIABLES]))[None].to(device)
            with torch.no_grad():
                mean = model(x)[0].cpu()
            out = torch.stack([mean + SIGMA * _member_noise(seed, i, tuple(mean.shape)) for i in ids])
            stats = [case.stats[v] for v in VARIABLES]
            return out * torch.tensor([s["std"] for s in stats])[:, None, None] + torch.tensor(
                [s["mean"] for s in stats])[:, None, None]

        return EnsemblePlan(variables=VARIABLES, grid=case.shape[1:], members=members, seed=seed,
                            sampler={"kind": "gaussian", "sigma": SIGMA}, generate=generate, batch=3,
                            condition=digest_json({"dataset": case.digest, "time": t}))

    def prepare_dataset_demo(self, workdir: Path) -> DemoPlan:
        folder = write_npy(make_case(), workdir / "synthetic-case")
        config = workdir / "toygrid.json"
        config.write_text(json.dumps({"steps": 150}))
        return DemoPlan(extract="", params={}, config=config, epochs=150, datasets={DATASET: (folder,)},
                        notes=("wrote a SYNTHETIC advected two-variable case (6 × 12 × 20)",))


def _plan(ctx: Any, *, champion: bool = False) -> EnsemblePlan:
    model = ctx.champion_model if champion else ctx.model
    return ToyGridFamily().ensemble_plan(model, ctx.dataset(DATASET), members=5, seed=ctx.seed, steps=None,
                                         device=ctx.device, options={})


def _rmse(ctx: Any, ens: Any) -> float:
    ds = ctx.dataset(DATASET)
    t = ds.shape[0] - 1
    total, count = 0.0, 0
    for ys, xs in ens.tiles():  # tile by tile, never the whole grid
        for k, v in enumerate(VARIABLES):
            mean = ens.read(None, k, ys, xs).mean(axis=0)
            total += float(((mean - ds.read(v, t, ys, xs)) ** 2).sum())
            count += mean.size
    return (total / count) ** 0.5


class EnsembleRmseGate:
    name, version, description = "ensemble_rmse", "1", "RMSE of the ensemble mean vs the next step (physical)"

    def evaluate(self, ctx: Any) -> Outcome:
        return Outcome.held_to(_rmse(ctx, ctx.ensemble(_plan(ctx))), Threshold("<", 1.0))


class SpreadGate:
    name, version, description = "ensemble_spread", "1", "mean member std (shares the ensemble above)"

    def evaluate(self, ctx: Any) -> Outcome:
        ens = ctx.ensemble(_plan(ctx))
        spread = float(np.mean([ens.read(None, k).std(axis=0).mean() for k in range(len(VARIABLES))]))
        return Outcome.held_to(spread, Threshold(">", 0.0))


class ChampionGridGate:
    name, version, description = "not_worse_than_champion", "1", "RMSE ≤ 1.1 × the champion's, same condition"

    def evaluate(self, ctx: Any) -> Outcome:
        mine = _rmse(ctx, ctx.ensemble(_plan(ctx)))
        if ctx.champion is None:
            return Outcome(value=mine, passed=True, message="no current holder")
        theirs = _rmse(ctx, ctx.ensemble(_plan(ctx, champion=True), champion=True))
        return Outcome.held_to(mine, Threshold("<=", 1.1 * theirs))


@hookimpl
def registry_families() -> list[Any]:
    return [ToyGridFamily()]


@hookimpl
def registry_gates() -> list[GateSuite]:
    return [GateSuite("grid", "1", "toygrid", (EnsembleRmseGate(), SpreadGate(), ChampionGridGate()),
                      "the toy gridded family's gates", device_tolerance={"rtol": 1e-3, "atol": 1e-6})]
