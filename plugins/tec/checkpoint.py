"""TEC checkpoints: own weights (safetensors, or torch files read with ``weights_only``) and imported Keras weights."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from plugins.tec.model import TecConfig, TecV21, parameter_count
from registry.errors import InvalidCheckpoint

KERAS_SUFFIXES = (".h5", ".keras", ".npz")
CONFIG_KEY = "tec_config"  # safetensors metadata entry holding the TecConfig as JSON


def config_from_state(state: Mapping[str, torch.Tensor], *, attention_heads: int = 8, steps: int = 24) -> TecConfig:
    """The widths a port state dict was built with (heads and steps are not in the shapes)."""
    def dim(key: str, axis: int) -> int:
        if key not in state:
            raise InvalidCheckpoint(f"not a V2.1 state dict: {key!r} is missing")
        return int(state[key].shape[axis])

    return TecConfig(
        steps=steps, features=dim("conv1.conv.weight", 1), conv1=dim("conv1.conv.weight", 0),
        conv2=dim("conv2.conv.weight", 0), lstm1=dim("lstm1.weight_hh_l0", 1), attention_heads=attention_heads,
        lstm2=dim("lstm2.weight_hh_l0", 1), dense1=dim("dense1.dense.weight", 0), dense2=dim("dense2.dense.weight", 0),
        binary_hidden=dim("storm_binary.hidden.weight", 0),
        probability_hidden=dim("storm_probability.hidden.weight", 0),
        tec_hidden=dim("tec_forecast.hidden.weight", 0), uncertainty_hidden=dim("uncertainty.hidden.weight", 0),
        leads=dim("tec_forecast.output.weight", 0), single_bias="lstm1.bias_hh_l0" not in state)


def save_checkpoint(model: TecV21, path: Path) -> Path:
    """Weights as safetensors with the config in the file's metadata."""
    from safetensors.torch import save_file

    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(path), metadata={CONFIG_KEY: json.dumps(model.config.as_json(), sort_keys=True)})
    return Path(path)


def _stored_config(path: Path) -> dict[str, Any] | None:
    if path.suffix != ".safetensors":
        return None
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            raw = (f.metadata() or {}).get(CONFIG_KEY)
    except Exception:
        return None  # read_tensors reports the unreadable file
    if raw is None:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        raise InvalidCheckpoint(f"{path.name}: its {CONFIG_KEY} metadata is not JSON") from None
    if not isinstance(data, dict):
        raise InvalidCheckpoint(f"{path.name}: its {CONFIG_KEY} metadata is not a JSON object")
    return data


def load_state(path: Path) -> tuple[TecConfig, dict[str, torch.Tensor], str]:
    """``(config, state dict, source)`` from own weights or Keras weights; ``source`` says which."""
    path = Path(path)
    if path.suffix in KERAS_SUFFIXES:
        from plugins.tec.keras_import import import_keras

        config, state = import_keras(path)
        return config, state, "keras"
    from registry.checkpoints import read_tensors

    state = read_tensors(path)
    stored = _stored_config(path)
    try:
        config = TecConfig.from_json(stored) if stored is not None else config_from_state(state)
    except (TypeError, ValueError) as exc:
        raise InvalidCheckpoint(f"{path.name}: {exc}") from None
    return config, state, "torch"


def build_model(path: Path, device: str = "cpu") -> tuple[TecV21, dict[str, Any]]:
    """The model in eval mode on ``device`` and the facts for the lineage; every tensor must fit and be finite."""
    config, state, source = load_state(path)
    model = TecV21(config)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        first = (f"lacks {missing[0]!r}" if missing else f"holds unexpected {unexpected[0]!r}")
        raise InvalidCheckpoint(f"{Path(path).name}: not a V2.1 state dict of this configuration: it {first} "
                                f"({len(missing)} missing, {len(unexpected)} unexpected)")
    for key, tensor in state.items():
        if tuple(tensor.shape) != tuple(expected[key].shape):
            raise InvalidCheckpoint(f"{Path(path).name}: {key} has shape {tuple(tensor.shape)}, the configuration "
                                    f"needs {tuple(expected[key].shape)}")
        if not torch.isfinite(tensor).all():
            raise InvalidCheckpoint(f"{Path(path).name}: {key} holds non-finite values")
    model.load_state_dict({k: v.to(torch.float32) for k, v in state.items()})
    model.eval().to(device)
    facts = {"architecture": "BiLSTM-attention V2.1", "parameters": parameter_count(model),
             "parameter_convention": "keras (one bias per LSTM gate)" if config.single_bias
             else "torch nn.LSTM (input and recurrent biases)", "weights_source": source, "config": config.as_json()}
    return model, facts
