"""Feature registry, the spec's reference vectors and physical-range validation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from plugins.ionis.features import (
    FEATURES,
    SPEC_FEATURES_BY_DNN,
    V21_ALPHA_FEATURES,
    PathBatch,
    build_features,
)
from registry.errors import InvalidInput

# W3 → G, 10 m (28.1246 MHz), SFI 150, Kp 2, 14 UTC, December, doy 355 (spec "Reference vectors")
REFERENCE = dict(tx_lat=39.14, tx_lon=-77.01, rx_lat=51.50, rx_lon=-0.12, freq_mhz=28.1246, hour_utc=14,
                 month=12, day_of_year=355, sfi=150, kp=2)
V20_REFERENCE = [0.293989, 0.931136, -0.5, -0.866025, 0.760376, 0.649483, 0.068667, 0.503556, 0, 1,
                 -0.988848, 0.5, 0.777778]
V22_REFERENCE_10_14 = [0.598451, 0.150447, 0.117750, 0.151489, 0.118565]


def test_v20_reference_vector():
    x = build_features(SPEC_FEATURES_BY_DNN[11], PathBatch(**REFERENCE))
    assert x.shape == (1, 13)
    assert x[0] == pytest.approx(V20_REFERENCE, abs=1e-6)


def test_v22_reference_features_10_to_14():
    x = build_features(SPEC_FEATURES_BY_DNN[15], PathBatch(**REFERENCE))
    assert x[0, 10:15] == pytest.approx(V22_REFERENCE_10_14, abs=1e-6)
    assert x[0, :10] == pytest.approx(V20_REFERENCE[:10], abs=1e-6)


def test_v21_alpha_list_is_the_spec_one():
    assert V21_ALPHA_FEATURES[10:12] == ("day_night_est", "vertex_lat") and len(V21_ALPHA_FEATURES) == 14
    x = build_features(V21_ALPHA_FEATURES, PathBatch(**REFERENCE))
    assert x[0, 10] == pytest.approx(-0.988848, abs=1e-6) and x[0, 11] == pytest.approx(0.598451, abs=1e-6)


def test_v21_beta_darkness_features_are_complementary_fractions():
    x = build_features(SPEC_FEATURES_BY_DNN[13], PathBatch(**{**REFERENCE, "hour_utc": np.arange(24)}))
    dark, light = x[:, 10], x[:, 11]
    assert ((dark >= 0) & (dark <= 1) & (light >= 0) & (light <= 1)).all()
    assert dark[4] > 0.5 > dark[14] and light[14] > 0.5 > light[4]  # night over the Atlantic at 04 UTC


@pytest.mark.parametrize("config", ["config_v20.json", "config_v21.json", "config_v22.json"])
def test_every_config_feature_is_registered(config, ionis_data):
    names = json.loads((ionis_data / config).read_text())["features"]
    assert set(names) <= set(FEATURES)
    assert tuple(names) == SPEC_FEATURES_BY_DNN[len(names) - 2]


def test_features_are_vectorised():
    n = 1000
    batch = PathBatch(**{**REFERENCE, "hour_utc": np.linspace(0, 23.9, n)})
    x = build_features(SPEC_FEATURES_BY_DNN[15], batch)
    assert x.shape == (n, 17) and x.dtype == np.float32 and np.isfinite(x).all()


@pytest.mark.parametrize(("column", "value", "shown"), [
    ("freq_mhz", 31.0, "1.8–30 MHz"), ("freq_mhz", 1.0, "1.8–30 MHz"), ("tx_lat", 91.0, "−90–90°"),
    ("rx_lat", -90.5, "−90–90°"), ("kp", 9.5, "0–9"), ("kp", -1.0, "0–9"), ("sfi", 40.0, "50–400"),
    ("sfi", 401.0, "50–400"), ("hour_utc", float("nan"), "0–24"),
])
def test_out_of_range_values_name_row_and_column(column, value, shown):
    values = np.full(3, REFERENCE[column], dtype=float)
    values[2] = value
    with pytest.raises(InvalidInput, match=rf"row 2: column '{column}': .* {shown}"):
        PathBatch(**{**REFERENCE, column: values})


def test_unknown_feature_name_is_refused():
    with pytest.raises(InvalidInput, match="unknown feature"):
        build_features(["distance", "moon_phase"], PathBatch(**REFERENCE))
