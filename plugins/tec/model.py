"""The Enhanced BiLSTM-Attention V2.1 TEC/storm forecaster, ported from Keras to PyTorch.

Two parameter counts, both honest: with ``single_bias=True`` (the default, and what Keras has) every LSTM gate
has one bias and the full-size model has **3,879,986** parameters, exactly Keras's count; with
``single_bias=False`` the LSTMs are plain ``nn.LSTM`` (separate input and recurrent biases) and the model has
**3,883,058** (+3,072). ``parameter_count`` reports what the instance really holds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

KERAS_LN_EPS = 1e-3  # Keras LayerNormalization's default epsilon (PyTorch's is 1e-5)
KERAS_PARAMETERS = 3_879_986
TORCH_DEFAULT_PARAMETERS = 3_883_058
STEPS = 24
FEATURES = 24
LEADS = 24
HEADS = ("storm_binary", "storm_probability", "tec_forecast", "uncertainty")


@dataclass(frozen=True)
class TecConfig:
    """Widths of V2.1; the defaults are upstream's. Tests use tiny ones (same structure, fewer units)."""

    steps: int = STEPS
    features: int = FEATURES
    conv1: int = 128
    conv2: int = 256
    lstm1: int = 256
    attention_heads: int = 8
    lstm2: int = 128
    dense1: int = 512
    dense2: int = 256
    binary_hidden: int = 64
    probability_hidden: int = 128
    tec_hidden: int = 128
    uncertainty_hidden: int = 64
    leads: int = LEADS
    single_bias: bool = True

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if name != "single_bias" and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise ValueError(f"TecConfig.{name} must be a positive integer, got {value!r}")
        if self.steps % 2:
            raise ValueError(f"steps must be even (MaxPool1D(2) halves them), got {self.steps}")
        if (2 * self.lstm1) % self.attention_heads:
            raise ValueError(f"attention width {2 * self.lstm1} is not divisible by {self.attention_heads} heads")

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TecConfig:
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"unknown TecConfig field(s): {', '.join(unknown)}")
        return cls(**data)


def _bidirectional_lstm(inputs: int, units: int, single_bias: bool) -> nn.LSTM:
    """``nn.LSTM`` (bidirectional, batch first); with ``single_bias`` its recurrent biases are fixed zero buffers,
    so each gate has one trainable bias (``bias_ih``) as in Keras."""
    lstm = nn.LSTM(inputs, units, batch_first=True, bidirectional=True)
    if single_bias:
        for name in ("bias_hh_l0", "bias_hh_l0_reverse"):
            zeros = torch.zeros_like(getattr(lstm, name)).detach()
            del lstm._parameters[name]
            lstm.register_buffer(name, zeros, persistent=False)
        lstm._init_flat_weights()
    return lstm


class SelfAttention(nn.Module):
    """Multi-head self-attention as upstream wrote it: q, k, v and output projections with bias, logits / √depth,
    no mask."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads, self.depth = heads, width // heads
        self.wq, self.wk, self.wv, self.out = (nn.Linear(width, width) for _ in range(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, w = x.shape

        def split(y: torch.Tensor) -> torch.Tensor:
            return y.view(b, t, self.heads, self.depth).transpose(1, 2)

        q, k, v = split(self.wq(x)), split(self.wk(x)), split(self.wv(x))
        weights = torch.softmax(q @ k.transpose(-1, -2) / self.depth ** 0.5, dim=-1)
        return self.out((weights @ v).transpose(1, 2).reshape(b, t, w))


class ConvBlock(nn.Module):
    """Conv1D (same padding, ReLU) → LayerNorm, on (batch, time, channels)."""

    def __init__(self, inputs: int, outputs: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(inputs, outputs, 3, padding=1)
        self.norm = nn.LayerNorm(outputs, eps=KERAS_LN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(torch.relu(self.conv(x.transpose(1, 2)).transpose(1, 2)))


class DenseBlock(nn.Module):
    """Dense (ReLU) → LayerNorm."""

    def __init__(self, inputs: int, outputs: int) -> None:
        super().__init__()
        self.dense = nn.Linear(inputs, outputs)
        self.norm = nn.LayerNorm(outputs, eps=KERAS_LN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(torch.relu(self.dense(x)))


class Head(nn.Module):
    """Dense (ReLU) → [Dropout] → Dense, with the output activation (sigmoid or linear)."""

    def __init__(self, inputs: int, hidden: int, outputs: int, sigmoid: bool, dropout: float = 0.0) -> None:
        super().__init__()
        self.hidden = nn.Linear(inputs, hidden)
        self.drop = nn.Dropout(dropout)
        self.output = nn.Linear(hidden, outputs)
        self.sigmoid = sigmoid

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.output(self.drop(torch.relu(self.hidden(x))))
        return torch.sigmoid(y) if self.sigmoid else y


class TecV21(nn.Module):
    """V2.1: input (batch, 24 steps, 24 features) → dict of the four heads (see ``HEADS``); ``tec_forecast``
    holds leads +1 … +24 h in TECU / 100."""

    def __init__(self, config: TecConfig | None = None) -> None:
        super().__init__()
        c = self.config = config or TecConfig()
        self.conv1 = ConvBlock(c.features, c.conv1)
        self.conv1_res = ConvBlock(c.conv1, c.conv1)
        self.conv2 = ConvBlock(c.conv1, c.conv2)
        self.conv2_res = ConvBlock(c.conv2, c.conv2)
        self.lstm1 = _bidirectional_lstm(c.conv2, c.lstm1, c.single_bias)
        self.lstm1_norm = nn.LayerNorm(2 * c.lstm1, eps=KERAS_LN_EPS)
        self.attention = SelfAttention(2 * c.lstm1, c.attention_heads)
        self.attention_norm = nn.LayerNorm(2 * c.lstm1, eps=KERAS_LN_EPS)
        self.lstm2 = _bidirectional_lstm(2 * c.lstm1, c.lstm2, c.single_bias)
        self.lstm2_norm = nn.LayerNorm(2 * c.lstm2, eps=KERAS_LN_EPS)
        self.dense1 = DenseBlock(4 * c.lstm2, c.dense1)
        self.dense1_res = DenseBlock(c.dense1, c.dense1)
        self.dense2 = DenseBlock(c.dense1, c.dense2)
        self.storm_binary = Head(c.dense2, c.binary_hidden, 1, sigmoid=True, dropout=0.2)
        self.storm_probability = Head(c.dense2, c.probability_hidden, c.leads, sigmoid=True)
        self.tec_forecast = Head(c.dense2, c.tec_hidden, c.leads, sigmoid=False)
        self.uncertainty = Head(c.dense2, c.uncertainty_hidden, 1, sigmoid=True)
        self.drop_conv, self.drop_dense1, self.drop_dense2 = nn.Dropout(0.2), nn.Dropout(0.3), nn.Dropout(0.2)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.drop_conv(self.conv1(x))
        x = x + self.conv1_res(x)
        x = self.conv2(x)
        x = nn.functional.max_pool1d(x.transpose(1, 2), 2).transpose(1, 2)
        x = self.drop_conv(x)
        x = x + self.conv2_res(x)
        x = self.lstm1_norm(self.lstm1(x)[0])
        x = self.attention_norm(x + self.attention(x))
        x = self.lstm2_norm(self.lstm2(x)[0])
        x = torch.cat([x.mean(dim=1), x.amax(dim=1)], dim=-1)
        x = self.drop_dense1(self.dense1(x))
        x = x + self.dense1_res(x)
        x = self.drop_dense2(self.dense2(x))
        return {name: getattr(self, name)(x) for name in HEADS}


def parameter_count(model: nn.Module) -> int:
    """Trainable parameters the instance holds (the fixed zero recurrent biases of ``single_bias`` are buffers)."""
    return sum(p.numel() for p in model.parameters())
