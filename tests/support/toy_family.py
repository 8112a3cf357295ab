"""A throw-away model family for the core's tests: a real tiny torch MLP that learns y = 2·x0 − x1 + 0.5."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from gates.base import Outcome, Threshold
from gates.suite import GateSuite
from registry.errors import DataMissing, InvalidCheckpoint, InvalidInput
from registry.family import ArtifactRole, InputColumn
from registry.hookspecs import hookimpl
from registry.json_input import read_json_object

__version__ = "0.0.1"
N_IN = 4


def truth(x: np.ndarray) -> np.ndarray:
    return 2.0 * x[:, 0] - x[:, 1] + 0.5


def build(hidden: int = 8) -> Any:
    import torch

    return torch.nn.Sequential(torch.nn.Linear(N_IN, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 1))


def train_checkpoint(path: Path, *, steps: int = 300, seed: int = 0, hidden: int = 8, constant: bool = False) -> Path:
    """Train (or, with ``constant``, zero out) a tiny model and save it as safetensors."""
    import torch
    from safetensors.torch import save_file

    torch.manual_seed(seed)
    model = build(hidden)
    if constant:
        with torch.no_grad():
            for p in model.parameters():
                p.zero_()
            model[2].bias.fill_(0.5)
    else:
        rng = np.random.default_rng(seed)
        x = torch.tensor(rng.normal(size=(512, N_IN)), dtype=torch.float32)
        y = torch.tensor(truth(x.numpy()), dtype=torch.float32)[:, None]
        opt = torch.optim.Adam(model.parameters(), lr=0.02)
        for _ in range(steps):
            opt.zero_grad()
            torch.nn.functional.mse_loss(model(x), y).backward()
            opt.step()
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    return path


class ToyFamily:
    name = "toy"
    version = __version__
    summary = "tiny MLP for the registry's own tests"
    roles = (ArtifactRole("weights", True, "safetensors or .pt state_dict"),
             ArtifactRole("config", False, "JSON", max_bytes=64 * 1024))
    input_columns = tuple(InputColumn(f"x{i}", "1", f"feature {i} of the toy regression") for i in range(N_IN))
    default_suite = "release"
    extracts = ("toy-obs",)

    def _state(self, path: Path) -> dict[str, Any]:
        from registry.checkpoints import read_tensors

        return read_tensors(path)

    def _hidden(self, files: Mapping[str, Path]) -> int:
        if "config" not in files:
            return 8
        config = read_json_object(Path(files["config"]), "config", error=InvalidCheckpoint)
        hidden = config.get("hidden")
        if not isinstance(hidden, int) or isinstance(hidden, bool) or not 1 <= hidden <= 1024:
            raise InvalidCheckpoint(f"config {Path(files['config']).name}: 'hidden' must be an integer in 1…1024")
        return hidden

    def validate(self, files: Mapping[str, Path]) -> dict[str, Any]:
        state = self._state(Path(files["weights"]))
        model = build(self._hidden(files))
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise InvalidCheckpoint(f"weights do not fit the toy architecture: {str(exc).splitlines()[0]}") from None
        return {"parameters": sum(p.numel() for p in model.parameters())}

    def load(self, files: Mapping[str, Path], device: str = "cpu") -> Any:
        model = build(self._hidden(files))
        model.load_state_dict(self._state(Path(files["weights"])))
        return model.to(device).eval()

    def predict(self, model: Any, input_path: Path, *, device: str = "cpu") -> list[dict[str, Any]]:
        import torch

        try:
            x = np.loadtxt(input_path, delimiter=",", ndmin=2)
        except ValueError as exc:
            raise InvalidInput(f"{input_path.name}: {exc}") from None
        if x.shape[1] != N_IN or not np.isfinite(x).all():
            raise InvalidInput(f"{input_path.name}: need {N_IN} finite columns per row")
        with torch.no_grad():
            y = model(torch.tensor(x, dtype=torch.float32, device=device)).cpu().numpy()[:, 0]
        return [{"row": i, "y": float(v)} for i, v in enumerate(y)]


def _predict(model: Any, x: np.ndarray) -> np.ndarray:
    import torch

    with torch.no_grad():
        return model(torch.tensor(x, dtype=torch.float32)).numpy()[:, 0]


class SkillGate:
    """RMSE skill against climatology (the mean of the truth)."""

    name, version, description = "skill_vs_climatology", "1", "1 − RMSE/RMSE_clim on 512 seeded samples"

    def __init__(self, minimum: float = 0.5) -> None:
        self.minimum = minimum

    def evaluate(self, ctx: Any) -> Outcome:
        x = ctx.rng("skill").normal(size=(512, N_IN))
        y = truth(x)
        rmse = float(np.sqrt(np.mean((_predict(ctx.model, x) - y) ** 2)))
        clim = float(np.sqrt(np.mean((y - y.mean()) ** 2)))
        return Outcome.held_to(1 - rmse / clim, Threshold(">=", self.minimum),
                               details={"rmse": rmse, "rmse_clim": clim},
                               figures=({"kind": "bar", "title": "RMSE", "labels": ["model", "climatology"],
                                         "values": [rmse, clim]},))


class NotConstantGate:
    """Prediction spread relative to the truth's: a constant model fails however its RMSE looks."""

    name, version, description = "spread_ratio", "1", "std(prediction)/std(truth)"

    def evaluate(self, ctx: Any) -> Outcome:
        x = ctx.rng("spread").normal(size=(256, N_IN))
        return Outcome.held_to(float(np.std(_predict(ctx.model, x)) / np.std(truth(x))), Threshold(">=", 0.5))


class ChampionGate:
    """The challenger's RMSE may not exceed the current holder's by more than 10 %."""

    name, version, description = "not_worse_than_champion", "1", "RMSE ≤ 1.1 × champion RMSE"

    def evaluate(self, ctx: Any) -> Outcome:
        x = ctx.rng("champion").normal(size=(256, N_IN))
        mine = float(np.sqrt(np.mean((_predict(ctx.model, x) - truth(x)) ** 2)))
        if ctx.champion_model is None:
            return Outcome(value=mine, passed=True, message="no current holder: nothing to compare with")
        theirs = float(np.sqrt(np.mean((_predict(ctx.champion_model, x) - truth(x)) ** 2)))
        return Outcome.held_to(mine, Threshold("<=", 1.1 * theirs), details={"champion_rmse": theirs})


class ExtractGate:
    """Needs the cached extract ``toy-obs``: without it the gate cannot run (fail closed)."""

    name, version, description = "obs_rmse", "1", "RMSE on the cached observations"

    def evaluate(self, ctx: Any) -> Outcome:
        table = ctx.extract("toy-obs")
        x = np.column_stack([table.column(f"x{i}").to_numpy() for i in range(N_IN)])
        rmse = float(np.sqrt(np.mean((_predict(ctx.model, x) - table.column("y").to_numpy()) ** 2)))
        return Outcome.held_to(rmse, Threshold("<", 0.5))


class BarrierGate:
    """Waits until $TOY_BARRIER_DIR holds $TOY_BARRIER_N arrivals, so promotions overlap in tests."""

    name, version, description = "barrier", "1", "synchronises concurrent promotions in tests"

    def evaluate(self, ctx: Any) -> Outcome:
        folder = os.environ.get("TOY_BARRIER_DIR")
        if folder:
            Path(folder, str(os.getpid())).touch()
            deadline = time.monotonic() + 30
            while len(os.listdir(folder)) < int(os.environ.get("TOY_BARRIER_N", "2")):
                if time.monotonic() > deadline:
                    raise DataMissing("barrier timed out")
                time.sleep(0.02)
        return Outcome(value=1, passed=True, message="arrived")


@hookimpl
def registry_families() -> list[Any]:
    return [ToyFamily()]


@hookimpl
def registry_extracts() -> list[Any]:
    from cache.spec import ExtractSpec

    return [ExtractSpec("toy-obs", "SELECT x0, x1, x2, x3, y FROM {db:Identifier}.toy_obs ORDER BY id",
                        "observations of the toy process", params={"db": "toyobs"},
                        schema=(("x0", "Float64"), ("x1", "Float64"), ("x2", "Float64"), ("x3", "Float64"),
                                ("y", "Float64")))]


@hookimpl
def registry_gates() -> list[GateSuite]:
    core = (SkillGate(), NotConstantGate(), ChampionGate())
    return [GateSuite("release", "1", "toy", core, "the toy family's release gates"),
            GateSuite("with-data", "1", "toy", (*core, ExtractGate())),
            GateSuite("concurrent", "1", "toy", (BarrierGate(), *core)),
            GateSuite("empty", "1", "toy", ()),
            tunable_suite()]


def tunable_suite(skill_min: float = 0.5, samples: int = 512, label: str = "plain", strict: bool = False) -> GateSuite:
    """A suite with options (``tunable[skill_min=0.99]``): the skill gate's bar; the others only name the run."""
    return GateSuite("tunable", "1", "toy", (SkillGate(skill_min),), f"skill ≥ {skill_min:g} ({label})",
                     options=(("skill_min", 0.5), ("samples", 512), ("label", "plain"), ("strict", False)),
                     build=tunable_suite)
