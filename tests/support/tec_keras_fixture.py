"""A small Keras-layout V2.1 written by the tests themselves, and an independent NumPy forward pass with Keras's
semantics (i, f, c, o gates, one bias, LayerNorm eps 1e-3, same-padded convolutions) to check the import against."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from plugins.tec.model import TecConfig

TINY = TecConfig(conv1=6, conv2=8, lstm1=4, attention_heads=2, lstm2=3, dense1=10, dense2=6, binary_hidden=5,
                 probability_hidden=7, tec_hidden=5, uncertainty_hidden=4)
_LN = ("layer_normalization", *(f"layer_normalization_{i}" for i in range(1, 10)))
_HEADS = (("storm_binary", "dense_3", TINY.binary_hidden, 1), ("storm_probability", "dense_4", TINY.probability_hidden,
          24), ("tec_forecast", "dense_5", TINY.tec_hidden, 24), ("uncertainty", "dense_6", TINY.uncertainty_hidden, 1))


def keras_arrays(c: TecConfig = TINY, seed: int = 3) -> dict[str, np.ndarray]:
    """Random weights under Keras's names and shapes (kernels (in, out), LSTM kernels (in, 4H))."""
    rng = np.random.default_rng(seed)

    def r(*shape: int) -> np.ndarray:
        return (rng.normal(size=shape) * 0.4).astype(np.float32)

    a: dict[str, np.ndarray] = {}
    for name, i, o in (("conv1d", c.features, c.conv1), ("conv1d_1", c.conv1, c.conv1), ("conv1d_2", c.conv1, c.conv2),
                       ("conv1d_3", c.conv2, c.conv2)):
        a[f"{name}/kernel"], a[f"{name}/bias"] = r(3, i, o), r(o)
    widths = (c.conv1, c.conv1, c.conv2, c.conv2, 2 * c.lstm1, 2 * c.lstm1, 2 * c.lstm2, c.dense1, c.dense1, c.dense2)
    for name, w in zip(_LN, widths, strict=True):
        a[f"{name}/gamma"], a[f"{name}/beta"] = 1 + r(w), r(w)
    for name, i, h in (("bidirectional", c.conv2, c.lstm1), ("bidirectional_1", 2 * c.lstm1, c.lstm2)):
        for d in ("forward_lstm", "backward_lstm"):
            a[f"{name}/{d}/kernel"], a[f"{name}/{d}/recurrent_kernel"], a[f"{name}/{d}/bias"] = (
                r(i, 4 * h), r(h, 4 * h), r(4 * h))
    w = 2 * c.lstm1
    for p in ("wq", "wk", "wv", "dense"):
        a[f"multi_head_self_attention/{p}/kernel"], a[f"multi_head_self_attention/{p}/bias"] = r(w, w), r(w)
    trunk = (("dense", 4 * c.lstm2, c.dense1), ("dense_1", c.dense1, c.dense1), ("dense_2", c.dense1, c.dense2))
    for name, i, o in trunk:
        a[f"{name}/kernel"], a[f"{name}/bias"] = r(i, o), r(o)
    widths = {"storm_binary": c.binary_hidden, "storm_probability": c.probability_hidden,
              "tec_forecast": c.tec_hidden, "uncertainty": c.uncertainty_hidden}
    for head, hidden, _tiny, out in _HEADS:
        h = widths[head]
        a[f"{hidden}/kernel"], a[f"{hidden}/bias"] = r(c.dense2, h), r(h)
        a[f"{head}/kernel"], a[f"{head}/bias"] = r(h, out), r(out)
    return a


def write_legacy_h5(arrays: dict[str, np.ndarray], path: Path) -> Path:
    """Keras 2 ``model.save`` layout: ``model_weights/<layer>/<layer>/[<sub>/lstm_cell_N/]<weight>:0``."""
    import h5py

    with h5py.File(path, "w") as f:
        for name, value in arrays.items():
            parts = name.split("/")
            layer = parts[0]
            if parts[1:2] in (["forward_lstm"], ["backward_lstm"]):
                parts = [*parts[:2], "lstm_cell_7", parts[2]]
            f[f"model_weights/{layer}/{'/'.join(parts)}:0"] = value
        f["optimizer_weights/iteration:0"] = np.int64(5)
    return path


_INDEX = {"kernel": 0, "bias": 1, "gamma": 0, "beta": 1}
_LSTM_INDEX = {"kernel": 0, "recurrent_kernel": 1, "bias": 2}


def write_keras3(arrays: dict[str, np.ndarray], path: Path) -> Path:
    """Keras 3 ``.keras`` archive: ``model.weights.h5`` with ``layers/<layer>/[<sub>/cell/]vars/<index>``."""
    import io

    import h5py

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        for name, value in arrays.items():
            parts = name.split("/")
            if parts[1:2] in (["forward_lstm"], ["backward_lstm"]):
                sub = "forward_layer" if parts[1] == "forward_lstm" else "backward_layer"
                key = f"layers/{parts[0]}/{sub}/cell/vars/{_LSTM_INDEX[parts[2]]}"
            else:
                key = f"layers/{'/'.join(parts[:-1])}/vars/{_INDEX[parts[-1]]}"
            f[key] = value
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", "{}")
        z.writestr("model.weights.h5", buffer.getvalue())
    return path


def _ln(x: np.ndarray, a: dict[str, np.ndarray], name: str) -> np.ndarray:
    mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + 1e-3) * a[f"{name}/gamma"] + a[f"{name}/beta"]


def _conv(x: np.ndarray, a: dict[str, np.ndarray], name: str, ln: str) -> np.ndarray:
    k = a[f"{name}/kernel"]
    pad = np.concatenate([np.zeros_like(x[:, :1]), x, np.zeros_like(x[:, :1])], axis=1)
    y = sum(pad[:, j:j + x.shape[1]] @ k[j] for j in range(3)) + a[f"{name}/bias"]
    return _ln(np.maximum(y, 0), a, ln)


def _sig(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def _lstm(x: np.ndarray, a: dict[str, np.ndarray], prefix: str) -> np.ndarray:
    w, u, b = a[f"{prefix}/kernel"], a[f"{prefix}/recurrent_kernel"], a[f"{prefix}/bias"]
    h_units = u.shape[0]
    h = np.zeros((x.shape[0], h_units))
    c = np.zeros_like(h)
    out = []
    for t in range(x.shape[1]):
        z = x[:, t] @ w + h @ u + b
        i, f, g, o = (z[:, k * h_units:(k + 1) * h_units] for k in range(4))
        c = _sig(f) * c + _sig(i) * np.tanh(g)
        h = _sig(o) * np.tanh(c)
        out.append(h)
    return np.stack(out, axis=1)


def _bilstm(x: np.ndarray, a: dict[str, np.ndarray], name: str) -> np.ndarray:
    fwd = _lstm(x, a, f"{name}/forward_lstm")
    bwd = _lstm(x[:, ::-1], a, f"{name}/backward_lstm")[:, ::-1]
    return np.concatenate([fwd, bwd], axis=-1)


def _dense(x: np.ndarray, a: dict[str, np.ndarray], name: str) -> np.ndarray:
    return x @ a[f"{name}/kernel"] + a[f"{name}/bias"]


def keras_forward(x: np.ndarray, a: dict[str, np.ndarray], heads: int = TINY.attention_heads) -> dict[str, np.ndarray]:
    """V2.1's inference pass written from the spec, on Keras's own weight layout."""
    x = _conv(x.astype(np.float64), a, "conv1d", "layer_normalization")
    x = x + _conv(x, a, "conv1d_1", "layer_normalization_1")
    x = _conv(x, a, "conv1d_2", "layer_normalization_2")
    x = np.maximum(x[:, 0::2], x[:, 1::2])
    x = x + _conv(x, a, "conv1d_3", "layer_normalization_3")
    x = _ln(_bilstm(x, a, "bidirectional"), a, "layer_normalization_4")
    b, t, w = x.shape
    depth = w // heads
    m = "multi_head_self_attention"
    q, k, v = (_dense(x, a, f"{m}/{p}").reshape(b, t, heads, depth).transpose(0, 2, 1, 3) for p in ("wq", "wk", "wv"))
    logits = q @ k.transpose(0, 1, 3, 2) / np.sqrt(depth)
    weights = np.exp(logits - logits.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    attn = _dense((weights @ v).transpose(0, 2, 1, 3).reshape(b, t, w), a, f"{m}/dense")
    x = _ln(x + attn, a, "layer_normalization_5")
    x = _ln(_bilstm(x, a, "bidirectional_1"), a, "layer_normalization_6")
    x = np.concatenate([x.mean(1), x.max(1)], axis=-1)
    x = _ln(np.maximum(_dense(x, a, "dense"), 0), a, "layer_normalization_7")
    x = x + _ln(np.maximum(_dense(x, a, "dense_1"), 0), a, "layer_normalization_8")
    x = _ln(np.maximum(_dense(x, a, "dense_2"), 0), a, "layer_normalization_9")
    out = {}
    for head, hidden, _h, _o in _HEADS:
        y = _dense(np.maximum(_dense(x, a, hidden), 0), a, head)
        out[head] = y if head == "tec_forecast" else _sig(y)
    return out
