"""Baselines: persistence aligned once by its lead, a keyed climatology that counts its fallbacks."""

from __future__ import annotations

import numpy as np
import pytest

from gates.baselines import Climatology, persistence
from registry.errors import GateError


def test_persistence_pairs_each_value_with_the_one_lead_steps_later():
    forecast, truth = persistence(np.arange(30.0), lead=24)
    assert forecast.tolist() == list(range(6)) and truth.tolist() == list(range(24, 30))
    with pytest.raises(GateError, match="lead 30"):
        persistence(np.arange(30.0), lead=30)


def test_climatology_means_per_key_and_counts_fallbacks():
    keys = np.array([[1, 0], [1, 0], [2, 5]])
    clim = Climatology.fit(keys, [10.0, 20.0, 40.0])
    assert clim.means == {(1, 0): 15.0, (2, 5): 40.0} and clim.global_mean == pytest.approx(70 / 3)
    forecast, fallbacks = clim.predict(np.array([[2, 5], [3, 3], [1, 0]]))
    assert forecast.tolist() == [40.0, pytest.approx(70 / 3), 15.0] and fallbacks == 1
    with pytest.raises(GateError, match="non-finite"):
        Climatology.fit(keys, [1.0, np.nan, 99.9])
