"""Own checkpoints: safetensors with the config in its metadata, weights_only torch files, refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from tec_keras_fixture import TINY, keras_arrays

from plugins.tec.checkpoint import build_model, config_from_state, save_checkpoint
from plugins.tec.model import TecConfig, TecV21
from registry.errors import InvalidCheckpoint


def test_safetensors_round_trip_keeps_config_and_outputs(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = TecV21(TINY).eval()
    path = save_checkpoint(model, tmp_path / "w.safetensors")
    loaded, facts = build_model(path)
    x = torch.randn(2, 24, 24)
    with torch.no_grad():
        assert torch.equal(model(x)["tec_forecast"], loaded(x)["tec_forecast"])
    assert loaded.config == TINY and facts["weights_source"] == "torch"
    assert facts["parameters"] == sum(p.numel() for p in model.parameters())
    assert facts["parameter_convention"].startswith("keras")


def test_torch_file_without_metadata_infers_widths_and_bias_convention(tmp_path: Path) -> None:
    # heads are not in the shapes: a file without metadata is read with upstream's 8
    config = TecConfig(**{**TINY.as_json(), "single_bias": False, "attention_heads": 8})
    torch.save(TecV21(config).state_dict(), tmp_path / "w.pt")
    loaded, facts = build_model(tmp_path / "w.pt")
    assert loaded.config == config and facts["parameter_convention"].startswith("torch")
    assert config_from_state(TecV21(TINY).state_dict(), attention_heads=2) == TINY


def test_keras_npz_registers_as_weights(tmp_path: Path) -> None:
    np.savez(tmp_path / "upstream.npz", **keras_arrays())
    model, facts = build_model(tmp_path / "upstream.npz")
    assert facts["weights_source"] == "keras" and model.config.conv1 == TINY.conv1


def test_code_carrying_nan_and_misshaped_checkpoints_are_refused(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self):  # noqa: ANN204 - a pickle that would run code
            return (print, ("pwned",))

    torch.save({"conv1.conv.weight": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(InvalidCheckpoint, match="carries code"):
        build_model(tmp_path / "evil.pt")
    state = TecV21(TINY).state_dict()
    state["dense2.norm.weight"] = torch.full_like(state["dense2.norm.weight"], float("nan"))
    torch.save(state, tmp_path / "nan.pt")
    with pytest.raises(InvalidCheckpoint, match="dense2.norm.weight holds non-finite"):
        build_model(tmp_path / "nan.pt")
    state = TecV21(TINY).state_dict()
    del state["uncertainty.output.bias"]
    torch.save(state, tmp_path / "short.pt")
    with pytest.raises(InvalidCheckpoint, match="uncertainty.output.bias"):
        build_model(tmp_path / "short.pt")
