"""Reading and checking an IONIS version's files (weights, config, meta) and bundling the loaded model."""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plugins.ionis.bands import BandPlan
from plugins.ionis.features import FEATURES, SPEC_FEATURES_BY_DNN
from registry.errors import InvalidCheckpoint

if TYPE_CHECKING:
    import torch

    from plugins.ionis.model import IonisGate

TORCH_SUFFIXES = (".pt", ".pth", ".bin")
OVERRIDE_FROM_VERSION = 22
"""The PhysicsOverrideLayer belongs to V22 and later; earlier versions report raw σ only."""


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    """A bare state dict from ``.safetensors``, or from ``.pt``/``.pth``/``.bin`` through
    ``torch.load(weights_only=True)`` (which refuses pickled code). Raises ``InvalidCheckpoint``."""
    import torch

    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            state = load_file(str(path), device="cpu")
        except Exception as exc:
            raise InvalidCheckpoint(f"{path.name}: not a readable safetensors file ({_one_line(exc)})") from None
    elif path.suffix in TORCH_SUFFIXES:
        try:
            with warnings.catch_warnings():  # protocol notes about files we are about to refuse anyway
                warnings.simplefilter("ignore", UserWarning)
                loaded = torch.load(str(path), map_location="cpu", weights_only=True)
        except Exception as exc:
            raise InvalidCheckpoint(f"{path.name}: refused by torch.load(weights_only=True) "
                                    f"({_one_line(exc)})") from None
        if isinstance(loaded, Mapping):  # upstream .pth files wrap the state dict with training metrics
            wrapped = [loaded[k] for k in ("model_state", "state_dict") if isinstance(loaded.get(k), Mapping)]
            loaded = wrapped[0] if wrapped else loaded
        if not isinstance(loaded, Mapping) or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
            raise InvalidCheckpoint(f"{path.name}: holds no state dict of tensors")
        state = {str(k): v for k, v in loaded.items()}
    else:
        raise InvalidCheckpoint(f"{path.name}: weights must be .safetensors or {'/'.join(TORCH_SUFFIXES)}")
    return state


def check_state(state: Mapping[str, torch.Tensor], name: str = "weights") -> int:
    """Strict key, shape, dtype and finiteness check; returns ``dnn_dim`` read from ``trunk.0.weight``."""
    import torch

    from plugins.ionis.model import expected_shapes

    trunk = state.get("trunk.0.weight")
    if trunk is None or trunk.ndim != 2:
        raise InvalidCheckpoint(f"{name}: no 2-D 'trunk.0.weight'; not an IonisGate state dict")
    dnn_dim = int(trunk.shape[1])
    want = expected_shapes(dnn_dim)
    missing, extra = sorted(set(want) - set(state)), sorted(set(state) - set(want))
    if missing or extra:
        raise InvalidCheckpoint(f"{name}: keys differ from IonisGate (missing: {', '.join(missing) or '-'}; "
                                f"unexpected: {', '.join(extra) or '-'})")
    for key, shape in want.items():
        got = tuple(state[key].shape)
        if got != shape:
            raise InvalidCheckpoint(f"{name}: {key} has shape {list(got)}, expected {list(shape)}")
        if not state[key].is_floating_point():
            raise InvalidCheckpoint(f"{name}: {key} is {state[key].dtype}, expected a float tensor")
        if not bool(torch.isfinite(state[key]).all()):
            raise InvalidCheckpoint(f"{name}: {key} contains NaN or infinite values")
    return dnn_dim


def read_json(path: Path, role: str) -> dict[str, Any]:
    """A JSON object from ``path``; anything else raises ``InvalidCheckpoint``."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidCheckpoint(f"{role} {Path(path).name}: not readable JSON ({_one_line(exc)})") from None
    if not isinstance(data, dict):
        raise InvalidCheckpoint(f"{role} {Path(path).name}: expected a JSON object")
    return data


def resolve_features(dnn_dim: int, config: Mapping[str, Any] | None) -> tuple[tuple[str, ...], str]:
    """The version's feature list and where it came from; checks it against ``dnn_dim``."""
    if config is None:
        if dnn_dim not in SPEC_FEATURES_BY_DNN:
            raise InvalidCheckpoint(f"no config given and dnn_dim {dnn_dim} matches no released IONIS version "
                                    f"({', '.join(map(str, SPEC_FEATURES_BY_DNN))}); register it with its config")
        return SPEC_FEATURES_BY_DNN[dnn_dim], f"assumed from the spec for dnn_dim {dnn_dim}"
    names = config.get("features")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InvalidCheckpoint("config: 'features' must be a list of feature names")
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise InvalidCheckpoint(f"config: unknown feature(s) {', '.join(unknown)}")
    if names[-2:] != ["sfi", "kp_penalty"]:
        raise InvalidCheckpoint("config: the last two features must be 'sfi' and 'kp_penalty'")
    model = config.get("model", {})
    declared = model.get("dnn_dim", len(names) - 2)
    if declared != dnn_dim or len(names) - 2 != dnn_dim:
        raise InvalidCheckpoint(f"config disagrees with the weights: weights have dnn_dim {dnn_dim}, config "
                                f"declares {declared} with {len(names) - 2} trunk features")
    for key, want in (("sfi_idx", dnn_dim), ("kp_penalty_idx", dnn_dim + 1)):
        if key in model and model[key] != want:
            raise InvalidCheckpoint(f"config: model.{key} is {model[key]}, expected {want}")
    return tuple(names), "config"


def version_number(config: Mapping[str, Any] | None, dnn_dim: int) -> int | None:
    """The release number (20, 21, 22 …) from the config's ``version``, or from the spec's dnn table."""
    text = str((config or {}).get("version", "")).lower().lstrip("v").split("-")[0].split(".")[0]
    if text.isdigit():
        return int(text)
    return {11: 20, 12: 21, 13: 21, 15: 22}.get(dnn_dim) if config is None else None


@dataclass
class IonisBundle:
    """A loaded IONIS version: the module plus everything gates and predict need to use it."""

    module: IonisGate
    features: tuple[str, ...]
    bands: BandPlan
    config: dict[str, Any] | None
    meta: dict[str, Any] | None
    device: str = "cpu"
    release: int | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def dnn_dim(self) -> int:
        return self.module.dnn_dim

    @property
    def uses_override(self) -> bool:
        return self.release is not None and self.release >= OVERRIDE_FROM_VERSION


def inspect_files(files: Mapping[str, Path]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read and check every file of a version; returns the state dict and the facts for the lineage."""
    from plugins.ionis.model import expected_parameters

    if "weights" not in files:
        raise InvalidCheckpoint("an IONIS version needs a 'weights' file (.safetensors or .pt)")
    state = read_weights(files["weights"])
    dnn_dim = check_state(state, Path(files["weights"]).name)
    config = read_json(files["config"], "config") if files.get("config") else None
    meta = read_json(files["meta"], "meta") if files.get("meta") else None
    features, source = resolve_features(dnn_dim, config)
    if meta is not None and "dnn_dim" in meta and meta["dnn_dim"] != dnn_dim:
        raise InvalidCheckpoint(f"meta declares dnn_dim {meta['dnn_dim']}, the weights have {dnn_dim}")
    params = sum(int(t.numel()) for t in state.values())
    if params != expected_parameters(dnn_dim):
        raise InvalidCheckpoint(f"{params} parameters, expected {expected_parameters(dnn_dim)} for dnn_dim {dnn_dim}")
    release = version_number(config, dnn_dim)
    facts: dict[str, Any] = {
        "parameters": params, "dnn_dim": dnn_dim, "features": list(features), "feature_source": source,
        "config_version": (config or {}).get("version"), "release": release,
        "meta_version": (meta or {}).get("version"), "weights_format": Path(files["weights"]).suffix.lstrip("."),
        "uses_override": release is not None and release >= OVERRIDE_FROM_VERSION,
    }
    return state, facts


def load_bundle(files: Mapping[str, Path], device: str = "cpu") -> IonisBundle:
    """Validate and load a version into an ``IonisBundle`` in eval mode on ``device``."""
    from plugins.ionis.model import IonisGate

    state, facts = inspect_files(files)
    config = read_json(files["config"], "config") if files.get("config") else None
    meta = read_json(files["meta"], "meta") if files.get("meta") else None
    module = IonisGate(facts["dnn_dim"])
    module.load_state_dict(state, strict=True)
    module.eval().to(device)
    return IonisBundle(module=module, features=tuple(facts["features"]), bands=BandPlan.from_config(config),
                       config=config, meta=meta, device=device, release=facts["release"], facts=facts)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."

