"""The demo's synthetic signatures: deterministic, labelled, and physically plausible."""

from __future__ import annotations

import numpy as np

from plugins.ionis.demo import demo_config, synthesize


def _days(n: int = 400) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    return {"date": np.arange("2015-01-01", "2016-02-05", dtype="datetime64[D]")[:n],
            "f107_obs": rng.uniform(70, 200, n), "kp_sum": rng.uniform(0, 50, n)}


def test_same_seed_same_rows_other_seed_other_rows():
    a, b, c = synthesize(_days(), 2000, 7), synthesize(_days(), 2000, 7), synthesize(_days(), 2000, 8)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["median_snr"], c["median_snr"])


def test_bands_open_by_day_high_and_by_night_low():
    rows = synthesize(_days(), 60_000, 3)
    snr, band, hour = rows["median_snr"], rows["band"], rows["hour"]
    high = band >= 110
    low = band == 102
    # averaged over all paths, 10/12 m are better in the reliability-weighted sense when the band is open
    assert snr[high & (rows["reliability"] > 0.5)].mean() > snr[high & (rows["reliability"] < 0.1)].mean() + 10
    assert snr[low].std() > 3 and set(np.unique(hour)) == set(range(24))


def test_storms_lower_and_sunspots_raise_snr_on_average():
    rows = synthesize(_days(), 60_000, 4)
    kp, sfi, snr = rows["avg_kp"], rows["avg_sfi"], rows["median_snr"]
    assert snr[kp > 4].mean() < snr[kp < 2].mean()
    hi = rows["band"] >= 108
    assert snr[hi & (sfi > 150)].mean() > snr[hi & (sfi < 100)].mean()


def test_config_is_v22_shaped_with_spec_thresholds():
    cfg = demo_config()
    assert cfg["model"]["dnn_dim"] == 15 and len(cfg["features"]) == 17
    assert cfg["validation"] == {"pearson_min": 0.46, "kp_storm_min": 1.0, "sfi_benefit_min": 0.4, "tst900_min": 8}
