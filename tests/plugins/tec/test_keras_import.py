"""Keras weights → port: the documented mapping reproduces an independent Keras-semantics forward pass."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from tec_keras_fixture import TINY, keras_arrays, keras_forward, write_keras3, write_legacy_h5

from plugins.tec.keras_import import import_keras, keras_state_dict, normalise_name
from plugins.tec.model import TecV21
from registry.errors import InvalidCheckpoint


def _port_outputs(state: dict, config, x: np.ndarray) -> dict[str, np.ndarray]:
    model = TecV21(config).eval()
    model.load_state_dict(state)
    with torch.no_grad():
        return {k: v.double().numpy() for k, v in model(torch.tensor(x, dtype=torch.float32)).items()}


@pytest.mark.parametrize("layout", ["npz", "legacy_h5", "keras3"])
def test_imported_weights_reproduce_the_keras_forward_pass(tmp_path: Path, layout: str) -> None:
    arrays = keras_arrays()
    path = tmp_path / {"npz": "w.npz", "legacy_h5": "w.h5", "keras3": "w.keras"}[layout]
    if layout == "npz":
        np.savez(path, **arrays)
    elif layout == "legacy_h5":
        write_legacy_h5(arrays, path)
    else:
        write_keras3(arrays, path)
    config, state = import_keras(path, attention_heads=TINY.attention_heads)
    assert config == TINY
    x = np.random.default_rng(0).normal(size=(2, 24, 24))
    want = keras_forward(x, arrays)
    got = _port_outputs(state, config, x)
    for head in want:
        np.testing.assert_allclose(got[head], want[head], rtol=2e-4, atol=2e-5)


def test_swapping_two_lstm_gates_breaks_the_match() -> None:
    """The gate order is load-bearing: i, f, c, o in Keras is i, f, g, o in torch without reordering."""
    arrays = keras_arrays()
    x = np.random.default_rng(1).normal(size=(1, 24, 24))
    want = keras_forward(x, arrays)["tec_forecast"]
    swapped = dict(arrays)
    k = swapped["bidirectional/forward_lstm/kernel"]
    h = k.shape[1] // 4
    swapped["bidirectional/forward_lstm/kernel"] = np.concatenate([k[:, h:2 * h], k[:, :h], k[:, 2 * h:]], axis=1)
    config, state = keras_state_dict(swapped, attention_heads=2)
    assert not np.allclose(_port_outputs(state, config, x)["tec_forecast"], want, atol=1e-3)


def test_missing_extra_and_misshaped_arrays_are_named(tmp_path: Path) -> None:
    arrays = keras_arrays()
    del arrays["layer_normalization_5/beta"]
    with pytest.raises(InvalidCheckpoint, match="layer_normalization_5/beta"):
        keras_state_dict(arrays, attention_heads=2)
    arrays = keras_arrays() | {"dense_99/kernel": np.zeros((2, 2), np.float32)}
    with pytest.raises(InvalidCheckpoint, match="dense_99/kernel"):
        keras_state_dict(arrays, attention_heads=2)
    arrays = keras_arrays()
    arrays["dense_1/bias"] = np.zeros(3, np.float32)
    with pytest.raises(InvalidCheckpoint, match="dense_1: bias has shape"):
        keras_state_dict(arrays, attention_heads=2)
    with pytest.raises(InvalidCheckpoint, match=".h5, .keras or .npz"):
        import_keras(tmp_path / "w.onnx")
    (tmp_path / "bad.h5").write_bytes(b"not hdf5")
    with pytest.raises(InvalidCheckpoint, match="not a readable"):
        import_keras(tmp_path / "bad.h5")


def test_names_are_normalised() -> None:
    assert normalise_name("model_weights/dense_2/dense_2/kernel:0") == "dense_2/kernel"
    assert (normalise_name("model_weights/bidirectional/bidirectional/backward_lstm/lstm_cell_3/recurrent_kernel:0")
            == "bidirectional/backward_lstm/recurrent_kernel")
    assert normalise_name("layers/bidirectional_1/forward_layer/cell/vars/2") == "bidirectional_1/forward_lstm/bias"
    assert normalise_name("layers/layer_normalization_3/vars/1") == "layer_normalization_3/beta"
    assert normalise_name("layers/multi_head_self_attention/wq/vars/0") == "multi_head_self_attention/wq/kernel"


def test_full_size_keras_layout_holds_exactly_the_keras_count_and_imports() -> None:
    from plugins.tec.model import KERAS_PARAMETERS, TecConfig, parameter_count

    arrays = keras_arrays(TecConfig())
    assert sum(a.size for a in arrays.values()) == KERAS_PARAMETERS == 3_879_986
    config, state = keras_state_dict(arrays)
    model = TecV21(config)
    model.load_state_dict(state)
    assert config == TecConfig() and parameter_count(model) == KERAS_PARAMETERS
