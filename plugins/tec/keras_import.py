"""Upstream Keras weights (``.h5``, ``.keras`` or named NumPy arrays) → a ``TecV21`` state dict.

The mapping, layer by layer (Keras layer names as Keras assigns them while V2.1 is built; the heads' output
layers carry the head's name):

    torch module            Keras layer                   conversion
    conv1 / conv1_res       conv1d / conv1d_1             kernel (k, in, out) → weight (out, in, k); bias as is
    conv2 / conv2_res       conv1d_2 / conv1d_3
    *.norm, lstm*_norm,     layer_normalization … _9      gamma → weight, beta → bias (eps 1e-3 in both)
      attention_norm          (in build order: conv1, conv1_res, conv2, conv2_res, lstm1, attention, lstm2,
                               dense1, dense1_res, dense2)
    lstm1 / lstm2           bidirectional / _1:           kernel (in, 4H) → weight_ih (4H, in); recurrent_kernel
                              forward_lstm, backward_lstm (H, 4H) → weight_hh (4H, H); bias (4H) → bias_ih.
                                                          Gate order i, f, c, o in Keras = i, f, g, o in torch:
                                                          no reordering. backward_* → *_reverse. Keras has one
                                                          bias per gate: the port's ``single_bias`` (or b_hh = 0).
    attention.wq/wk/wv/out  multi_head_self_attention/    Dense: kernel (in, out) → weight (out, in)
                              wq, wk, wv, dense
    dense1 / dense1_res /   dense / dense_1 / dense_2
      dense2
    <head>.hidden           dense_3 … dense_6             storm_binary, storm_probability, tec_forecast,
    <head>.output           storm_binary, …, uncertainty    uncertainty, in that order

Names are read as ``layer[/sublayer]/weight``: the legacy ``.h5`` prefix ``model_weights/``, the repeated layer
group, ``lstm_cell*`` groups and ``:0`` suffixes are dropped; Keras 3 files (``layers/…/vars/N``, ``cell``,
``forward_layer``) are read by variable index (kernel, bias; gamma, beta; kernel, recurrent_kernel, bias).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from plugins.tec.model import TecConfig
from registry.errors import InvalidCheckpoint

_LN_ORDER = ("conv1.norm", "conv1_res.norm", "conv2.norm", "conv2_res.norm", "lstm1_norm", "attention_norm",
             "lstm2_norm", "dense1.norm", "dense1_res.norm", "dense2.norm")
_HEAD_NAMES = ("storm_binary", "storm_probability", "tec_forecast", "uncertainty")


def _suffixed(base: str, i: int) -> str:
    return base if i == 0 else f"{base}_{i}"


def layer_map() -> dict[str, tuple[str, str]]:
    """torch module path → (Keras layer path, kind) for every weighted layer of V2.1."""
    out: dict[str, tuple[str, str]] = {}
    for i, module in enumerate(("conv1", "conv1_res", "conv2", "conv2_res")):
        out[f"{module}.conv"] = (_suffixed("conv1d", i), "conv")
    for i, module in enumerate(_LN_ORDER):
        out[module] = (_suffixed("layer_normalization", i), "norm")
    for i, module in enumerate(("lstm1", "lstm2")):
        out[module] = (_suffixed("bidirectional", i), "bilstm")
    for proj, keras in (("wq", "wq"), ("wk", "wk"), ("wv", "wv"), ("out", "dense")):
        out[f"attention.{proj}"] = (f"multi_head_self_attention/{keras}", "dense")
    for i, module in enumerate(("dense1.dense", "dense1_res.dense", "dense2.dense")):
        out[module] = (_suffixed("dense", i), "dense")
    for i, head in enumerate(_HEAD_NAMES):
        out[f"{head}.hidden"] = (_suffixed("dense", 3 + i), "dense")
        out[f"{head}.output"] = (head, "dense")
    return out


_VARS = {"conv": ("kernel", "bias"), "dense": ("kernel", "bias"), "norm": ("gamma", "beta"),
         "lstm": ("kernel", "recurrent_kernel", "bias")}


def normalise_name(raw: str) -> str:
    """A stored weight path as ``layer[/sublayer]/weight`` (see the module docstring)."""
    parts = [p for p in raw.replace(":0", "").split("/") if p]
    if parts and parts[0] in ("model_weights", "layers"):
        parts = parts[1:]
    if len(parts) >= 2 and parts[0] == parts[1]:
        parts = parts[1:]
    parts = [{"forward_layer": "forward_lstm", "backward_layer": "backward_lstm"}.get(p, p) for p in parts
             if not re.fullmatch(r"lstm_cell(_\d+)?|cell", p)]
    if len(parts) >= 2 and parts[-2] == "vars" and parts[-1].isdigit():
        kind = "lstm" if any(p.endswith("_lstm") for p in parts) else (
            "norm" if parts[0].startswith("layer_normalization") else "dense")
        index = int(parts[-1])
        names = _VARS[kind]
        parts = [*parts[:-2], names[index] if index < len(names) else f"var{index}"]
    return "/".join(parts)


def read_arrays(path: Path) -> dict[str, np.ndarray]:
    """Named arrays from a ``.h5`` (legacy Keras or Keras 3 weights), a ``.keras`` zip or an ``.npz``."""
    path = Path(path)
    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as data:
                return {normalise_name(k): np.asarray(data[k]) for k in data.files}
        except (OSError, ValueError) as exc:
            raise InvalidCheckpoint(f"{path.name}: not a readable .npz of arrays ({exc})") from None
    if path.suffix not in (".h5", ".keras"):
        raise InvalidCheckpoint(f"{path.name}: Keras weights must be .h5, .keras or .npz")
    import h5py

    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                member = next((n for n in z.namelist() if n.endswith(".weights.h5")), None)
                if member is None:
                    raise InvalidCheckpoint(f"{path.name}: a .keras archive without model.weights.h5")
                blob: Any = io.BytesIO(z.read(member))
        else:
            blob = str(path)
        found: dict[str, np.ndarray] = {}
        with h5py.File(blob, "r") as f:
            f.visititems(lambda name, obj: found.__setitem__(normalise_name(name), np.asarray(obj[()]))
                         if isinstance(obj, h5py.Dataset) else None)
    except (OSError, zipfile.BadZipFile) as exc:
        raise InvalidCheckpoint(f"{path.name}: not a readable HDF5/Keras file ({exc})") from None
    return found


def infer_config(arrays: Mapping[str, np.ndarray], *, attention_heads: int = 8, steps: int = 24) -> TecConfig:
    """The widths the arrays were trained with (attention heads and steps cannot be read from shapes)."""
    def shape(name: str, axis: int) -> int:
        if name not in arrays:
            raise InvalidCheckpoint(f"Keras weights lack {name!r}")
        return int(arrays[name].shape[axis])

    return TecConfig(
        steps=steps, features=shape("conv1d/kernel", 1), conv1=shape("conv1d/kernel", 2),
        conv2=shape("conv1d_2/kernel", 2), lstm1=shape("bidirectional/forward_lstm/recurrent_kernel", 0),
        attention_heads=attention_heads, lstm2=shape("bidirectional_1/forward_lstm/recurrent_kernel", 0),
        dense1=shape("dense/kernel", 1), dense2=shape("dense_2/kernel", 1), binary_hidden=shape("dense_3/kernel", 1),
        probability_hidden=shape("dense_4/kernel", 1), tec_hidden=shape("dense_5/kernel", 1),
        uncertainty_hidden=shape("dense_6/kernel", 1), leads=shape("tec_forecast/kernel", 1), single_bias=True)


def _convert(kind: str, keras: str, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    def get(name: str) -> np.ndarray:
        key = f"{keras}/{name}"
        if key not in arrays:
            raise InvalidCheckpoint(f"Keras weights lack {key!r}")
        return np.asarray(arrays[key], dtype=np.float32)

    if kind == "conv":
        return {"weight": get("kernel").transpose(2, 1, 0), "bias": get("bias")}
    if kind == "dense":
        return {"weight": get("kernel").T, "bias": get("bias")}
    if kind == "norm":
        return {"weight": get("gamma"), "bias": get("beta")}
    out: dict[str, np.ndarray] = {}
    for direction, suffix in (("forward_lstm", ""), ("backward_lstm", "_reverse")):
        out[f"weight_ih_l0{suffix}"] = get(f"{direction}/kernel").T
        out[f"weight_hh_l0{suffix}"] = get(f"{direction}/recurrent_kernel").T
        out[f"bias_ih_l0{suffix}"] = get(f"{direction}/bias")
    return out


def keras_state_dict(arrays: Mapping[str, np.ndarray], *, attention_heads: int = 8,
                     steps: int = 24) -> tuple[TecConfig, dict[str, Any]]:
    """``(config, state dict)`` of a ``single_bias`` ``TecV21`` holding the Keras weights; ``InvalidCheckpoint``
    names the first missing, unexpected or mis-shaped array."""
    import torch

    from plugins.tec.model import TecV21

    config = infer_config(arrays, attention_heads=attention_heads, steps=steps)
    expected = TecV21(config).state_dict()
    state: dict[str, Any] = {}
    used: set[str] = set()
    for module, (keras, kind) in layer_map().items():
        for name, value in _convert(kind, keras, arrays).items():
            key = f"{module}.{name}"
            if tuple(expected[key].shape) != value.shape:
                raise InvalidCheckpoint(f"Keras {keras}: {name} has shape {value.shape}, the port expects "
                                        f"{tuple(expected[key].shape)}")
            state[key] = torch.from_numpy(np.ascontiguousarray(value))
        used.update(k for k in arrays if k.startswith(keras + "/"))
    extra = sorted(k for k in arrays if k not in used and not k.endswith(("optimizer", "iteration")))
    extra = [k for k in extra if not k.startswith(("optimizer", "top_level_model_weights"))]
    if extra:
        raise InvalidCheckpoint(f"Keras weights hold {len(extra)} array(s) V2.1 has no place for, e.g. {extra[0]!r}")
    return config, state


def import_keras(path: Path, *, attention_heads: int = 8, steps: int = 24) -> tuple[TecConfig, dict[str, Any]]:
    """``keras_state_dict`` of the arrays in ``path`` (``.h5``, ``.keras`` or ``.npz``)."""
    return keras_state_dict(read_arrays(path), attention_heads=attention_heads, steps=steps)
