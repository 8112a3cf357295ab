"""Band names, dial frequencies and σ ↔ dB constants."""

from __future__ import annotations

import json

import numpy as np
import pytest

from plugins.ionis.bands import BAND_IDS, BandPlan
from registry.errors import InvalidInput


def test_band_ids_cover_160m_to_10m():
    assert BAND_IDS["160m"] == 102 and BAND_IDS["20m"] == 107 and BAND_IDS["10m"] == 111


def test_band_lookup_accepts_names_and_ids():
    plan = BandPlan.from_config(None)
    assert plan.band_id("10m") == plan.band_id("111") == plan.band_id(111) == 111
    with pytest.raises(InvalidInput, match="unknown band '11m'"):
        plan.band_id("11m")


def test_to_db_uses_per_band_wspr_constants():
    plan = BandPlan.from_config(None)
    assert plan.to_db(np.array([1.0, 0.0]), np.array([111, 102])) == pytest.approx([6.5 - 17.86, -18.04])


def test_nearest_band_by_frequency():
    plan = BandPlan.from_config(None)
    assert plan.nearest_band(np.array([28.074, 14.0, 1.9, 7.2])).tolist() == [111, 107, 102, 105]


def test_config_constants_equal_the_spec_defaults(ionis_data):
    config = json.loads((ionis_data / "config_v22.json").read_text())
    fixed, defaults = BandPlan.from_config(config), BandPlan.from_config(None)
    assert (fixed.dial_hz, fixed.wspr_norm) == (defaults.dial_hz, defaults.wspr_norm)
    assert set(fixed.source_norm) == {"wspr", "rbn"} and fixed.norm("rbn")[111] != fixed.norm("wspr")[111]
