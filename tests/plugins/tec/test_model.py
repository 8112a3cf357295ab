"""V2.1 port: both parameter counts, shapes of the four heads, the single-bias LSTM."""

from __future__ import annotations

import pytest
import torch

from plugins.tec.model import (
    KERAS_LN_EPS,
    KERAS_PARAMETERS,
    TORCH_DEFAULT_PARAMETERS,
    TecConfig,
    TecV21,
    parameter_count,
)


def test_full_size_counts_match_keras_exactly_and_torch_default_is_3072_more() -> None:
    keras_like = TecV21()
    assert parameter_count(keras_like) == KERAS_PARAMETERS == 3_879_986
    torch_default = TecV21(TecConfig(single_bias=False))
    assert parameter_count(torch_default) == TORCH_DEFAULT_PARAMETERS == 3_883_058
    assert TORCH_DEFAULT_PARAMETERS - KERAS_PARAMETERS == 3_072


def test_single_bias_keeps_recurrent_bias_as_zero_buffer_outside_the_state_dict() -> None:
    m = TecV21(TecConfig(conv1=4, conv2=4, lstm1=2, attention_heads=2, lstm2=2, dense1=4, dense2=4))
    assert "lstm1.bias_hh_l0" not in m.state_dict() and "lstm1.bias_ih_l0" in m.state_dict()
    assert "lstm2.bias_hh_l0_reverse" not in dict(m.named_parameters())
    assert torch.count_nonzero(m.lstm1.bias_hh_l0) == 0


def test_heads_shapes_and_ranges_and_layernorm_eps() -> None:
    m = TecV21(TecConfig(conv1=4, conv2=6, lstm1=2, attention_heads=2, lstm2=3, dense1=8, dense2=4)).eval()
    out = m(torch.randn(3, 24, 24))
    assert {k: tuple(v.shape) for k, v in out.items()} == {
        "storm_binary": (3, 1), "storm_probability": (3, 24), "tec_forecast": (3, 24), "uncertainty": (3, 1)}
    for head in ("storm_binary", "storm_probability", "uncertainty"):
        assert ((out[head] > 0) & (out[head] < 1)).all()
    assert m.conv1.norm.eps == KERAS_LN_EPS == 1e-3


@pytest.mark.parametrize("bad", [{"steps": 23}, {"conv1": 0}, {"lstm1": 3, "attention_heads": 4}, {"dense1": True}])
def test_impossible_configs_are_refused(bad: dict) -> None:
    with pytest.raises(ValueError):
        TecConfig(**bad)


def test_config_round_trips_and_refuses_unknown_fields() -> None:
    c = TecConfig(conv1=5)
    assert TecConfig.from_json(c.as_json()) == c
    with pytest.raises(ValueError, match="unknown"):
        TecConfig.from_json({"conv9": 1})
