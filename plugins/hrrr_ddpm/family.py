"""The ``hrrr_ddpm`` family object: validation, loading, ensembles on disk, training from datasets and the demo."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from plugins.hrrr_ddpm.forecaster import CONDITIONS, Forecaster
from registry.errors import InvalidCheckpoint, InvalidInput
from registry.family import ArtifactRole, DemoPlan, EnsemblePlan
from registry.json_input import read_json_object

CONFIG_MAX_BYTES = 256 * 1024
RELEASE = "hrrr-release"


def read_config(path: Path) -> dict[str, Any]:
    """The version's JSON config, checked: variables with z-score stats (std > 0), samplers, condition wiring."""
    from plugins.hrrr_ddpm.samplers import SamplerSpec

    cfg = read_json_object(Path(path), "config", error=InvalidCheckpoint)
    variables = cfg.get("variables")
    if not (isinstance(variables, list) and variables and all(isinstance(v, str) for v in variables)):
        raise InvalidCheckpoint("config: 'variables' must be a non-empty list of names")
    stats = cfg.get("stats") or {}
    for v in variables:
        s = stats.get(v) if isinstance(stats, dict) else None
        if not (isinstance(s, dict) and all(isinstance(s.get(k), int | float) for k in ("mean", "std"))
                and np.isfinite([s["mean"], s["std"]]).all() and s["std"] > 0):
            raise InvalidCheckpoint(f"config: stats for {v!r} need a finite mean and std > 0, got {s!r}")
    if cfg.get("condition", "state") not in CONDITIONS:
        raise InvalidCheckpoint(f"config: condition must be one of {', '.join(CONDITIONS)}, got {cfg['condition']!r}")
    samplers = cfg.get("samplers")
    if not (isinstance(samplers, list) and samplers):
        raise InvalidCheckpoint("config: 'samplers' must list at least one sampler (the first is the default)")
    try:
        cfg["_specs"] = tuple(SamplerSpec.from_dict(s) for s in samplers)
    except (TypeError, ValueError, KeyError) as exc:
        raise InvalidCheckpoint(f"config: a sampler is not valid ({exc})") from None
    return cfg


def read_network(weights: Path, config: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The network from a safetensors file (architecture from its metadata, else the config's ``model``) or a
    weights-only torch file; strict keys and shapes, finite values."""
    from plugins.hrrr_ddpm.model import CONFIG_KEY, TinyDDPM
    from registry.checkpoints import read_tensors

    tensors = read_tensors(Path(weights))
    arch = dict(config.get("model") or {})
    if Path(weights).suffix == ".safetensors":
        from safetensors import safe_open

        with safe_open(str(weights), framework="pt") as handle:
            meta = handle.metadata() or {}
        if CONFIG_KEY in meta:
            arch = json.loads(meta[CONFIG_KEY])
    if not arch:
        raise InvalidCheckpoint(f"{Path(weights).name}: no architecture (safetensors metadata or config 'model')")
    try:
        net = TinyDDPM.from_config(arch)
        net.load_state_dict(tensors, strict=True)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise InvalidCheckpoint(f"{Path(weights).name}: does not fit the ultra-minimal DDPM "
                                f"({str(exc).splitlines()[0]})") from None
    bad = [k for k, t in tensors.items() if t.is_floating_point() and not bool(t.isfinite().all())]
    if bad:
        raise InvalidCheckpoint(f"{Path(weights).name}: non-finite values in {', '.join(sorted(bad)[:3])}")
    return net, dict(net.config)


def build_forecaster(files: Mapping[str, Path], device: str = "cpu") -> Forecaster:
    """The version as a ``Forecaster`` (network in eval mode on ``device``)."""
    cfg = read_config(Path(files["config"]))
    net, arch = read_network(Path(files["weights"]), cfg)
    if net.channels != len(cfg["variables"]):
        raise InvalidCheckpoint(f"the network has {net.channels} channels, the config {len(cfg['variables'])} "
                                "variables")
    if net.cond_channels not in (0, net.channels):
        raise InvalidCheckpoint(f"condition channels must be 0 or {net.channels} (the state), got {net.cond_channels}")
    training = {"T": int(arch["T"]), "s": float(arch["s"])}
    sampling = dict(cfg.get("sampling_schedule") or training)
    public = {k: v for k, v in cfg.items() if not k.startswith("_")}
    return Forecaster(net.to(device).eval(), tuple(cfg["variables"]), cfg["stats"], cfg["_specs"], training,
                      {"T": int(sampling["T"]), "s": float(sampling["s"])}, cfg.get("condition", "state"), device,
                      public)


class HrrrDDPMFamily:
    """HRRR convective DDPM: an ultra-minimal denoiser of 7 surface fields (REFC, T2M, D2M, U10, V10, CAPE, CIN),
    conditioned on the current state (``registry register hrrr_ddpm WEIGHTS.safetensors config=CONFIG.json``).

    ``weights`` is a safetensors state_dict with the architecture in its metadata (or a weights-only torch file with
    ``model`` in the config); ``config`` names the variables and their z-score statistics, the samplers the version
    uses (the first is the default), the condition wiring and the dataset and first test time it is gated on.
    """

    name: str = "hrrr_ddpm"
    version: str = "1"
    summary: str = "HRRR convective DDPM: ensembles of 7 surface fields conditioned on the current state"
    roles: tuple[ArtifactRole, ...] = (
        ArtifactRole("weights", True, "denoiser state_dict (.safetensors with its architecture, or .pt weights_only)",
                     max_bytes=256 * 2**20),
        ArtifactRole("config", True, "JSON: variables, z-score stats, samplers, condition, dataset, test_from",
                     max_bytes=CONFIG_MAX_BYTES),
    )
    default_suite: str = RELEASE
    extracts: tuple[str, ...] = ()

    def validate(self, files: Mapping[str, Path]) -> dict[str, Any]:
        """Load both files safely; facts: parameters, width, condition channels, schedule, samplers."""
        from plugins.hrrr_ddpm.checks import spec_label
        from plugins.hrrr_ddpm.model import count_parameters

        if "config" not in files:
            raise InvalidCheckpoint("an hrrr_ddpm version needs config=CONFIG.json beside its weights")
        model = build_forecaster(files)
        return {"parameters": count_parameters(model.net), "width": model.net.width,
                "cond_channels": model.net.cond_channels, "condition": model.condition,
                "schedule": model.training_schedule, "alpha_bar_T": float(model.schedule.alphas_bar[-1]),
                "samplers": [spec_label(s) for s in model.samplers], "variables": list(model.variables)}

    def load(self, files: Mapping[str, Path], device: str = "cpu") -> Forecaster:
        """The ``Forecaster`` on ``device``."""
        return build_forecaster(files, device)

    def predict(self, model: Any, input_path: Path, *, device: str = "cpu") -> list[dict[str, Any]]:
        raise InvalidInput("hrrr_ddpm predicts ensembles of arrays: give --out ENS.zarr (and --members, --steps)")

    def ensemble_plan(self, model: Forecaster, case: Any, *, members: int, seed: int, steps: int | None,
                      device: str, options: Mapping[str, str]) -> EnsemblePlan:
        """Members conditioned on the case's state at ``--option time=T`` (default: its last time), in physical
        units; ``steps`` replaces the default sampler's step count."""
        from dataclasses import replace

        from registry.hashing import digest_json

        missing = [v for v in model.variables if v not in case.variables]
        if missing:
            raise InvalidInput(f"the case lacks variables {', '.join(missing)}")
        n = case.shape[0]
        unknown = sorted(set(options) - {"time"})
        if unknown:
            raise InvalidInput(f"unknown option(s) {', '.join(unknown)}; hrrr_ddpm takes time=T")
        raw = options.get("time", str(n - 1))
        if not raw.isdigit() or int(raw) >= n:
            raise InvalidInput(f"time must be an index in 0…{n - 1}, got {raw!r}")
        t = int(raw)
        spec = model.samplers[0]
        if steps is not None:
            if steps < 1 or steps > model.sampling_schedule["T"]:
                raise InvalidInput(f"steps must lie in 1…{model.sampling_schedule['T']}, got {steps}")
            spec = replace(spec, steps=int(steps))

        def generate(ids: Sequence[int]) -> np.ndarray:
            cond = model.to_z({v: case.read(v, t, scale="physical") for v in model.variables})
            z = model.sample_z(cond, member_ids=ids, seed=seed, device=device, spec=spec)
            return model.to_physical(z.cpu().numpy())

        sampler = {**spec.to_dict(), "condition": model.condition, "schedule": model.sampling_schedule}
        return EnsemblePlan(variables=tuple(model.variables), grid=tuple(case.shape[1:]), members=members,  # type: ignore[arg-type]
                            seed=seed, sampler=sampler, generate=generate, batch=8,
                            condition=digest_json({"dataset": case.digest, "time": t}))

    def train_datasets(self, datasets: Mapping[str, Any], config: Path, *, out_dir: Path, epochs: int | None,
                       seed: int, device: str, progress: bool) -> tuple[dict[str, Path], dict[str, Any]]:
        """Train on the dataset's training period (see ``plugins.hrrr_ddpm.training``)."""
        from plugins.hrrr_ddpm.training import train_version

        return train_version(datasets, Path(config), out_dir=out_dir, epochs=epochs, seed=seed, device=device,
                             progress=progress)

    def prepare_dataset_demo(self, workdir: Path) -> DemoPlan:
        """A SYNTHETIC case in the upstream layout and a short CPU training config."""
        from plugins.hrrr_ddpm.demo import prepare

        return prepare(workdir)
