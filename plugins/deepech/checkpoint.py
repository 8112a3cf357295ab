"""A DeepECH version's files: both state_dicts read safely and matched strictly, and the optional config."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from plugins.deepech.family import CONFIG_MAX_BYTES
from plugins.deepech.inference import DEFAULT_THRESHOLD, TwoStageModel
from plugins.deepech.model import (
    CLASSIFIER_PARAMETERS,
    REGRESSOR_PARAMETERS,
    DeepECHNet,
    build_classifier,
    build_regressor,
    parameter_count,
)
from registry.errors import InvalidCheckpoint

_STAGES = {"classifier": (build_classifier, CLASSIFIER_PARAMETERS),
           "regressor": (build_regressor, REGRESSOR_PARAMETERS)}


def load_stage(role: str, path: Path) -> DeepECHNet:
    """The ``classifier`` or ``regressor`` network with the file's tensors, keys and shapes matched strictly."""
    import torch

    from registry.checkpoints import read_tensors

    build, expected = _STAGES[role]
    state = read_tensors(Path(path))
    model = build()
    want = model.state_dict()
    missing = [k for k in want if k not in state]
    unexpected = [k for k in state if k not in want]
    if missing or unexpected:
        other = "regressor" if role == "classifier" else "classifier"
        hint = f" (is it the {other}?)" if {k.split(".")[0] for k in unexpected + missing} & {"lstm3", "lstm4"} else ""
        raise InvalidCheckpoint(
            f"{role} {Path(path).name}: state_dict keys do not match the DeepECH {role}{hint}: "
            f"{len(missing)} missing{' (first ' + missing[0] + ')' if missing else ''}, {len(unexpected)} "
            f"unexpected{' (first ' + unexpected[0] + ')' if unexpected else ''}")
    for key, tensor in want.items():
        got = state[key]
        if tuple(got.shape) != tuple(tensor.shape):
            raise InvalidCheckpoint(f"{role} {Path(path).name}: {key} has shape {tuple(got.shape)}, the "
                                    f"{role} needs {tuple(tensor.shape)}")
        if not got.is_floating_point() or not bool(torch.isfinite(got).all()):
            raise InvalidCheckpoint(f"{role} {Path(path).name}: {key} holds non-finite or non-float values")
    model.load_state_dict({k: v.to(torch.float32) for k, v in state.items()}, strict=True)
    if parameter_count(model) != expected:  # cannot differ once shapes match; kept as the spec's own check
        raise InvalidCheckpoint(f"{role}: {parameter_count(model):,} parameters, the spec says {expected:,}")
    return model.eval()


def read_threshold(files: Mapping[str, Path]) -> float:
    """The presence threshold recorded in the version's config (``{"threshold": 0.5}``), 0.5 without one."""
    if "config" not in files:
        return DEFAULT_THRESHOLD
    from registry.json_input import read_json_object

    config = read_json_object(Path(files["config"]), "config", max_bytes=CONFIG_MAX_BYTES, error=InvalidCheckpoint)
    value = config.get("threshold", DEFAULT_THRESHOLD)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or not 0.0 < value < 1.0:
        raise InvalidCheckpoint(f"config {Path(files['config']).name}: 'threshold' must be a probability in (0, 1), "
                                f"got {value!r}")
    return float(value)


def load_pair(files: Mapping[str, Path], device: str = "cpu") -> TwoStageModel:
    """Both stages and the threshold, ready for inference on ``device``."""
    return TwoStageModel(load_stage("classifier", files["classifier"]), load_stage("regressor", files["regressor"]),
                         threshold=read_threshold(files), device=device)


def inspect(files: Mapping[str, Path]) -> dict[str, Any]:
    """Facts stored in the lineage: parameters and entries of each stage and the threshold."""
    pair = load_pair(files)
    return {"classifier_parameters": parameter_count(pair.classifier),
            "classifier_entries": len(pair.classifier.state_dict()),
            "regressor_parameters": parameter_count(pair.regressor),
            "regressor_entries": len(pair.regressor.state_dict()),
            "parameters": parameter_count(pair.classifier) + parameter_count(pair.regressor),
            "threshold": pair.threshold}
