"""Reading and checking an IONIS version's files (weights, config, meta) and bundling the loaded model."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plugins.ionis.architectures import DEFAULT_ARCHITECTURE, Architecture, identify
from plugins.ionis.bands import BandPlan
from plugins.ionis.features import ATLAS_FEATURES, FEATURES, SPEC_FEATURES_BY_DNN
from registry.errors import InvalidCheckpoint

if TYPE_CHECKING:
    import numpy as np
    import torch

    from plugins.ionis.atlas import IriAtlas
    from plugins.ionis.features import PathBatch
    from plugins.ionis.model import IonisGate

OVERRIDE_FROM_VERSION = 22
"""The PhysicsOverrideLayer belongs to V22 and later; earlier versions report raw σ only."""
CONFIGLESS_DNN = (11, 12, 13)
"""Trunk widths registrable without a config (V20, V21-α, V21-β); V22's width is shared by later architectures."""


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    """A bare state dict from ``.safetensors``, or from a torch checkpoint through the core's safe reader
    (``torch.load(weights_only=True)``; a pickle carrying code is refused, naming what it would import)."""
    from registry.checkpoints import read_tensors

    return read_tensors(Path(path))


def check_state(state: Mapping[str, torch.Tensor], arch: Architecture, name: str = "weights") -> int:
    """Strict key, shape, dtype and finiteness check against ``arch``; returns ``dnn_dim`` read from
    ``trunk.0.weight``. The architecture comes from the config: shapes are checked, never used to choose it."""
    import torch

    from plugins.ionis.model import expected_shapes

    trunk = state.get("trunk.0.weight")
    if trunk is None or trunk.ndim != 2:
        raise InvalidCheckpoint(f"{name}: no 2-D 'trunk.0.weight'; not an IonisGate state dict")
    dnn_dim = int(trunk.shape[1])
    want = expected_shapes(dnn_dim, arch)
    missing, extra = sorted(set(want) - set(state)), sorted(set(state) - set(want))
    if missing or extra:
        raise InvalidCheckpoint(f"{name}: keys differ from {arch.name} (missing: {_few(missing)}; "
                                f"unexpected: {_few(extra)})")
    for key, shape in want.items():
        got = tuple(state[key].shape)
        if got != shape:
            raise InvalidCheckpoint(f"{name}: {key} has shape {list(got)}, {arch.name} expects {list(shape)}")
        if not state[key].is_floating_point():
            raise InvalidCheckpoint(f"{name}: {key} is {state[key].dtype}, expected a float tensor")
        if not bool(torch.isfinite(state[key]).all()):
            raise InvalidCheckpoint(f"{name}: {key} contains NaN or infinite values")
    return dnn_dim


def _few(keys: list[str]) -> str:
    return (", ".join(keys[:4]) + (f" and {len(keys) - 4} more" if len(keys) > 4 else "")) or "-"


def read_json(path: Path, role: str) -> dict[str, Any]:
    """A JSON object from ``path``, its numbers held to the spec's ranges; anything else raises
    ``InvalidCheckpoint`` (malformed, NaN, 1e308, a 5,000-digit integer, 200,000 levels deep, `model` as a string)."""
    from plugins.ionis.limits import check_config, check_meta
    from registry.json_input import read_json_object

    data = read_json_object(Path(path), role, error=InvalidCheckpoint)
    (check_meta if role == "meta" else check_config)(data)
    return data


def resolve_features(dnn_dim: int, config: Mapping[str, Any] | None,
                     arch: Architecture = DEFAULT_ARCHITECTURE) -> tuple[tuple[str, ...], str]:
    """The version's feature list and where it came from; checks it against ``dnn_dim`` and ``arch``."""
    if config is None:
        if dnn_dim not in CONFIGLESS_DNN:
            raise InvalidCheckpoint(
                f"no config given and dnn_dim {dnn_dim} is not one of the configless releases V20/V21 "
                f"({', '.join(map(str, CONFIGLESS_DNN))}); "
                + ("weights of V22's shapes may be V22, V25-β or V27, so " if dnn_dim == 15 else "")
                + "register it with its config")
        return SPEC_FEATURES_BY_DNN[dnn_dim], f"assumed from the spec for dnn_dim {dnn_dim}"
    names = config.get("features")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InvalidCheckpoint("config: 'features' must be a list of feature names")
    unknown = [n for n in names if n not in FEATURES and n not in ATLAS_FEATURES]
    if unknown:
        raise InvalidCheckpoint(f"config: unknown feature(s) {', '.join(unknown)}")
    side = list(arch.side_inputs)
    if names[-len(side):] != side:
        raise InvalidCheckpoint(f"config: {arch.name}'s last features must be {', '.join(side)}")
    needed = [f for car in arch.sidecars for f in car.inputs if f not in names]
    if needed:
        raise InvalidCheckpoint(f"config: {arch.name}'s sidecars read {', '.join(needed)}, absent from 'features'")
    model = config.get("model", {})
    declared = model.get("dnn_dim", len(names) - len(side))
    if declared != dnn_dim or len(names) - len(side) != dnn_dim:
        raise InvalidCheckpoint(f"config disagrees with the weights: weights have dnn_dim {dnn_dim}, config "
                                f"declares {declared} with {len(names) - len(side)} trunk features")
    if "input_dim" in model and model["input_dim"] != len(names):
        raise InvalidCheckpoint(f"config: model.input_dim is {model['input_dim']}, 'features' has {len(names)}")
    for key, feature_name in (("sfi_idx", "sfi"), ("kp_penalty_idx", "kp_penalty"), ("band_idx", "band_idx")):
        if key in model and feature_name in names and model[key] != names.index(feature_name):
            raise InvalidCheckpoint(f"config: model.{key} is {model[key]}, expected {names.index(feature_name)}")
    return tuple(names), "config"


def version_number(config: Mapping[str, Any] | None, dnn_dim: int) -> int | None:
    """The release number (20, 21, 22 …) from the config's ``version``, or from the spec's dnn table."""
    text = str((config or {}).get("version", "")).lower().lstrip("v").split("-")[0].split(".")[0]
    if text.isdigit():
        return int(text)
    return {11: 20, 12: 21, 13: 21, 15: 22}.get(dnn_dim) if config is None else None


def release_label(config: Mapping[str, Any] | None) -> str | None:
    """``v25-beta``-style label from the config's ``version`` and ``variant`` (V25-α and -β share ``v25``)."""
    if not config or "version" not in config:
        return None
    version, variant = str(config["version"]), str(config.get("variant") or "")
    return f"{version}-{variant}" if variant and variant not in version else version


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
    atlas: IriAtlas | None = None

    @property
    def dnn_dim(self) -> int:
        return self.module.dnn_dim

    @property
    def arch(self) -> Architecture:
        return self.module.arch

    @property
    def uses_override(self) -> bool:
        return self.release is not None and self.release >= OVERRIDE_FROM_VERSION

    @property
    def atlas_dataset(self) -> str | None:
        """The registered dataset of the IRI atlas this version reads (None: it reads no IRI feature)."""
        return atlas_dataset(self.facts)

    def inputs(self, batch: PathBatch) -> np.ndarray:
        """The ``(N, input_dim)`` float32 model input for ``batch`` (IRI features read from the atlas)."""
        from plugins.ionis.features import build_features

        return build_features(self.features, batch, atlas=self.atlas)


def inspect_files(files: Mapping[str, Path]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read and check every file of a version; returns the state dict and the facts for the lineage."""
    from plugins.ionis.model import expected_parameters

    if "weights" not in files:
        raise InvalidCheckpoint("an IONIS version needs a 'weights' file (.safetensors or .pt)")
    config = read_json(files["config"], "config") if files.get("config") else None
    arch = identify(config)
    state = read_weights(files["weights"])
    dnn_dim = check_state(state, arch, Path(files["weights"]).name)
    meta = read_json(files["meta"], "meta") if files.get("meta") else None
    features, source = resolve_features(dnn_dim, config, arch)
    if meta is not None and "dnn_dim" in meta and meta["dnn_dim"] != dnn_dim:
        raise InvalidCheckpoint(f"meta declares dnn_dim {meta['dnn_dim']}, the weights have {dnn_dim}")
    params = sum(int(t.numel()) for t in state.values())
    if params != expected_parameters(dnn_dim, arch):
        raise InvalidCheckpoint(f"{params} parameters, {arch.name} with dnn_dim {dnn_dim} has "
                                f"{expected_parameters(dnn_dim, arch)}")
    atlas_facts = check_atlas(features, config, files.get("atlas"))
    release = version_number(config, dnn_dim)
    facts: dict[str, Any] = {
        "architecture": arch.name, "architecture_description": arch.describe(), "label": release_label(config),
        "parameters": params, "dnn_dim": dnn_dim, "features": list(features), "feature_source": source,
        "config_version": (config or {}).get("version"), "release": release,
        "meta_version": (meta or {}).get("version"), "weights_format": Path(files["weights"]).suffix.lstrip("."),
        "uses_override": release is not None and release >= OVERRIDE_FROM_VERSION, **atlas_facts,
    }
    return state, facts


def check_atlas(features: tuple[str, ...], config: Mapping[str, Any] | None,
                atlas_path: Path | None) -> dict[str, Any]:
    """Facts about the IRI atlas a version reads: the dataset holding it and its bucket rule. The atlas is a
    registered dataset, not a file of the version: an ``atlas`` file is refused, saying how to import it."""
    from plugins.ionis.atlas import BUILD, AtlasRule

    if atlas_path is not None:
        raise InvalidCheckpoint(f"the IRI atlas is no longer a file of the version but a registered dataset: "
                                f"register {Path(atlas_path).name} with `{BUILD} --import {Path(atlas_path).name}` "
                                f"(or build it with `{BUILD} --config CONFIG --for-gates`) and register the "
                                "version without it")
    iri = [f for f in features if f in ATLAS_FEATURES]
    if not iri:
        return {}
    rule = AtlasRule.from_config(config)
    return {"iri_atlas": {"dataset": rule.dataset_name, "rule": rule.as_dict(), "features": iri}}


def atlas_dataset(facts: Mapping[str, Any]) -> str | None:
    """The atlas dataset a version with these validated facts reads (also for versions registered when the
    atlas was a file: their ``atlas`` fact holds its rule)."""
    from plugins.ionis.atlas import AtlasRule

    block = facts.get("iri_atlas") or facts.get("atlas")
    if not isinstance(block, Mapping):
        return None
    return AtlasRule.from_config({"iri_atlas": block.get("rule", {})}).dataset_name


def load_bundle(files: Mapping[str, Path], device: str = "cpu") -> IonisBundle:
    """Validate and load a version into an ``IonisBundle`` in eval mode on ``device``."""
    from plugins.ionis.model import IonisGate

    files = {k: v for k, v in files.items() if k != "atlas"}  # stored before the atlas was a dataset: not read
    state, facts = inspect_files(files)
    config = read_json(files["config"], "config") if files.get("config") else None
    meta = read_json(files["meta"], "meta") if files.get("meta") else None
    module = IonisGate(facts["dnn_dim"], identify(config), facts["features"])
    module.load_state_dict(state, strict=True)
    module.eval().to(device)
    return IonisBundle(module=module, features=tuple(facts["features"]), bands=BandPlan.from_config(config),
                       config=config, meta=meta, device=device, release=facts["release"], facts=facts)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."

