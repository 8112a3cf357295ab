"""The two DeepECH networks as specified, with upstream's state_dict key names (``lstm1.lstm.weight_ih_l0`` …)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from plugins.deepech.schema import HISTORY_SLICES, POSITION

HIDDEN = 64
CLASSIFIER_PARAMETERS = 2_850_417
REGRESSOR_PARAMETERS = 3_015_921
CLASSIFIER_ENCODERS = 2  # lstm1 on the first SME history, lstm2 on the first SYM-H history
REGRESSOR_ENCODERS = 4  # and lstm3, lstm4 on the two histories at the second cadence


class AttentionPool(nn.Module):
    """Scores every step with ``attention`` (Linear 64 → 1, no bias); softmax over time."""

    def __init__(self, hidden: int = HIDDEN) -> None:
        super().__init__()
        self.attention = nn.Linear(hidden, 1, bias=False)

    def forward(self, outputs: torch.Tensor) -> torch.Tensor:
        weights = torch.softmax(self.attention(outputs), dim=1)  # (batch, steps, 1)
        return (weights * outputs).sum(dim=1)


class SeriesEncoder(nn.Module):
    """One index history → 64 values: a one-layer LSTM (input 1, hidden 64) and attention over its outputs."""

    def __init__(self, hidden: int = HIDDEN) -> None:
        super().__init__()
        self.lstm = nn.LSTM(input_size=1, hidden_size=hidden, num_layers=1, batch_first=True)
        self.attention = AttentionPool(hidden)

    def forward(self, series: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.lstm(series.unsqueeze(-1))
        return self.attention(outputs)


class DeepECHNet(nn.Module):
    """``encoders`` history encoders and the position encoder, concatenated, then the fc1…fc8 head.

    ``forward`` takes raw 224-column rows (no normalisation inside, as upstream) and returns one value per row:
    the logit for the classifier, the amplitude in dB for the regressor.
    """

    def __init__(self, encoders: int) -> None:
        super().__init__()
        if encoders not in (CLASSIFIER_ENCODERS, REGRESSOR_ENCODERS):
            raise ValueError(f"DeepECH has 2 (classifier) or 4 (regressor) encoders, not {encoders}")
        self.encoders = encoders
        for k in range(1, encoders + 1):
            setattr(self, f"lstm{k}", SeriesEncoder())
        self.pos_fc1 = nn.Linear(4, 100)
        self.pos_fc2 = nn.Linear(100, 200)
        self.pos_fc3 = nn.Linear(200, 500)
        self.fc1 = nn.Linear(HIDDEN * encoders + 500, 1024)
        self.fc2 = nn.Linear(1024, 1024)
        self.fc3 = nn.Linear(1024, 512)
        self.fc4 = nn.Linear(512, 512)
        self.fc5 = nn.Linear(512, 256)
        self.fc6 = nn.Linear(256, 256)
        self.fc7 = nn.Linear(256, 64)
        self.fc8 = nn.Linear(64, 1)
        self.dropout = nn.Dropout(0.1)

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        act = nn.functional.leaky_relu
        parts = [getattr(self, f"lstm{k}")(rows[:, HISTORY_SLICES[k - 1]]) for k in range(1, self.encoders + 1)]
        pos = torch.relu(self.pos_fc1(rows[:, POSITION]))
        pos = torch.relu(self.pos_fc2(pos))
        parts.append(self.pos_fc3(pos))
        x = act(self.fc1(torch.cat(parts, dim=1)), 0.01)
        for layer in (self.fc2, self.fc3, self.fc4, self.fc5):
            x = act(layer(x), 0.01)
        x = self.dropout(act(self.fc6(x), 0.01))
        x = self.dropout(act(self.fc7(x), 0.01))
        return self.fc8(x).squeeze(-1)


def build_classifier() -> DeepECHNet:
    """The presence classifier (2,850,417 parameters, 32 state_dict entries)."""
    return DeepECHNet(CLASSIFIER_ENCODERS)


def build_regressor() -> DeepECHNet:
    """The amplitude regressor (3,015,921 parameters, 42 state_dict entries)."""
    return DeepECHNet(REGRESSOR_ENCODERS)


def parameter_count(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())
