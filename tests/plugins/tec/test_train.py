"""Training: temporal windows from the config (refused when they overlap), a seeded run, the split in the lineage."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from plugins.tec.synthetic import synthetic_rows
from plugins.tec.train import TrainConfig, train
from registry.errors import InvalidInput

TINY = {"conv1": 4, "conv2": 4, "lstm1": 2, "attention_heads": 2, "lstm2": 2, "dense1": 4, "dense2": 4,
        "binary_hidden": 2, "probability_hidden": 2, "tec_hidden": 4, "uncertainty_hidden": 2}
WINDOWS = {"train": ["2021-01-01", "2021-02-01"], "validation": ["2021-02-01", "2021-02-15"]}


@pytest.mark.parametrize("bad, match", [
    ({"windows": {"train": ["2021-01-01", "2021-03-01"], "validation": ["2021-02-01", "2021-04-01"]}},
     "validation window must start after"),
    ({"windows": {"train": ["2021-01-01", "2021-01-01"], "validation": ["2021-02-01", "2021-04-01"]}}, "empty"),
    ({"windows": {"train": ["2021-01-01", "2021-02-01"]}}, "validation"),
    ({"windows": WINDOWS, "epochs": 0}, "epochs 1-1000"),
    ({"windows": WINDOWS, "model": {"conv9": 3}}, "unknown TecConfig"),
])
def test_bad_configs_are_one_error(bad: dict, match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        TrainConfig.from_json(bad)


def test_a_seeded_run_records_a_temporal_split_that_ends_before_validation() -> None:
    rows = synthetic_rows("2021-01-01", "2021-02-15", seed=1)
    config = TrainConfig.from_json({"windows": WINDOWS, "model": TINY, "epochs": 1, "batch_size": 64, "stride": 4})
    model, facts = train(rows, config, epochs=None, seed=3, device="cpu", progress=False)
    split = facts["split"]
    assert split["method"] == "temporal" and split["train"]["first"] >= "2021-01-01T23"
    assert split["train"]["last"] <= "2021-02-01T00:00:00" < split["validation"]["first"] + "Z"
    assert facts["epochs_run"] == 1 and np.isfinite(facts["metrics"]["validation_rmse_tecu"])
    again, _ = train(rows, config, epochs=None, seed=3, device="cpu", progress=False)
    for (k, a), b in zip(model.state_dict().items(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
