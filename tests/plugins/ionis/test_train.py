"""Training: the upstream recipe on a small synthetic extract, deterministic per seed, registrable output."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from plugins.ionis.bands import BAND_IDS
from plugins.ionis.family import IonisFamily
from plugins.ionis.features import SPEC_FEATURES_BY_DNN
from plugins.ionis.train import defibrillate, path_split, rows_from_table, train
from registry.errors import InvalidInput

GRIDS = ["DN46", "FN20", "JN48", "JO51", "PM95", "CN87", "FM19", "IO91", "KP20", "QF56"]
CONFIG = {"version": "v22", "model": {"architecture": "IonisGate", "dnn_dim": 15},
          "features": list(SPEC_FEATURES_BY_DNN[15]),
          "training": {"batch_size": 512, "val_split": 0.2, "epochs": 2}}


def synthetic_table(n: int = 2000, seed: int = 0) -> dict[str, np.ndarray]:
    """Labelled synthetic: SNR rises with frequency by day and falls by night (no real measurements)."""
    rng = np.random.default_rng(seed)
    hour = rng.integers(0, 24, n)
    band = rng.choice(list(BAND_IDS.values()), n)
    day = np.cos(2 * np.pi * (hour - 14) / 24)
    snr = -18 + 4 * day * (band - 106) / 5 + rng.normal(0, 2, n)
    snr[:5] = np.nan  # unusable rows are dropped, not trained on
    return {"tx_grid_4": rng.choice(GRIDS, n), "rx_grid_4": rng.choice(GRIDS, n), "band": band, "hour": hour,
            "month": rng.integers(1, 13, n), "median_snr": snr, "spot_count": rng.integers(1, 50, n),
            "avg_sfi": rng.uniform(65, 220, n), "avg_kp": rng.uniform(0, 7, n)}


def test_rows_from_table_drops_unusable_rows():
    rows = rows_from_table(synthetic_table(), CONFIG)
    assert rows.dropped == 5 and rows.x.shape == (1995, 17) and rows.weight.mean() == pytest.approx(1.0, abs=1e-5)


def test_held_out_rows_are_whole_paths_never_seen_in_training():
    rows = rows_from_table(synthetic_table(), CONFIG)
    val, fit = path_split(rows.paths, 0.2, seed=3)
    assert len(val) + len(fit) == len(rows.z) and len(val) > 0 and len(fit) > 0
    assert not set(rows.paths[val]) & set(rows.paths[fit])  # no path (in either direction) on both sides
    assert "DN46-FN20" in set(rows.paths) and "FN20-DN46" not in set(rows.paths)
    again, _ = path_split(rows.paths, 0.2, seed=3)
    other, _ = path_split(rows.paths, 0.2, seed=4)
    assert np.array_equal(val, again) and not np.array_equal(val, other)


def test_defibrillator_init():
    from plugins.ionis.model import IonisGate

    module = IonisGate(15)
    defibrillate(module)
    with torch.no_grad():
        parts = module.decompose(torch.randn(8, 17))
    assert torch.allclose(parts.g_sun, torch.ones_like(parts.g_sun))
    assert float(module.storm_sidecar.fc2.bias.detach()) == -10.0 and not module.sun_sidecar.fc1.bias.requires_grad


def test_training_is_deterministic_and_keeps_the_clamp(tmp_path):
    one = train(synthetic_table(), CONFIG, seed=3)
    two = train(synthetic_table(), CONFIG, seed=3)
    for key, value in one.module.state_dict().items():
        assert torch.equal(value, two.module.state_dict()[key]), key
    for car in (one.module.sun_sidecar, one.module.storm_sidecar):
        for w in (car.fc1.weight.detach(), car.fc2.weight.detach()):
            assert float(w.min()) >= 0.5 and float(w.max()) <= 2.0
        assert float(car.fc1.bias.detach().abs().max()) == 0.0
    assert set(one.metrics) == {"val_rmse_true", "val_pearson", "sfi_benefit", "storm_cost"}
    assert one.lineage["rows_val"] + one.lineage["rows_train"] == 1995 and one.lineage["seed"] == 3
    assert "paths held out" in one.lineage["split"]

    files = one.save(tmp_path, CONFIG)
    facts = IonisFamily().validate(files)
    assert facts["parameters"] == 205_621 and facts["uses_override"] is True


def test_targets_are_normalised_with_the_constants_of_their_source():
    config = {**CONFIG, "norm_constants_per_band": {
        str(b): {"wspr": {"mean": -18.0, "std": 6.0}, "rbn": {"mean": 12.0, "std": 6.5}} for b in BAND_IDS.values()}}
    table = synthetic_table(50)
    table["median_snr"] = np.full(50, 12.0)
    table["norm_source"] = np.array(["rbn"] * 25 + ["contest"] * 25, dtype=object)
    rows = rows_from_table(table, config)
    assert np.allclose(rows.z[:20], 0.0)  # rbn rows: (12 − 12)/6.5
    assert np.allclose(rows.z[-20:], (12.0 + 18.0) / 6.0)  # contest rows use the WSPR constants
    table["norm_source"] = np.array(["dxcc"] * 50, dtype=object)
    with pytest.raises(InvalidInput, match="no normalisation constants for source 'dxcc'"):
        rows_from_table(table, config)
