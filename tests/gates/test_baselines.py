"""Baselines: persistence aligned once by its lead, a keyed climatology that counts its fallbacks."""

from __future__ import annotations

import numpy as np
import pytest

from gates.baselines import Climatology, persistence, persistence_by_time
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


def test_persistence_by_time_pairs_by_timestamp_and_a_gap_drops_pairs_instead_of_shifting() -> None:
    times = np.array([0, 1, 2, 4, 5])  # hour 3 missing
    values = np.array([10.0, 11.0, 12.0, 14.0, 15.0])
    forecast, truth, rows = persistence_by_time(times, values, 1)
    assert rows.tolist() == [1, 2, 4] and forecast.tolist() == [10.0, 11.0, 14.0] and truth.tolist() == [11, 12, 15]
    # the gap-free helper would have paired 12 → 14 as one step
    assert persistence(values, 1)[0].tolist() == [10, 11, 12, 14]


def test_persistence_by_time_keeps_groups_apart_and_reads_datetimes() -> None:
    t = np.datetime64("2023-01-01T00") + np.array([0, 24, 0, 24]) * np.timedelta64(1, "h")
    forecast, truth, rows = persistence_by_time(t, [1.0, 2.0, 30.0, 40.0], np.timedelta64(24, "h"),
                                                groups=[0, 0, 1, 1])
    assert rows.tolist() == [1, 3] and forecast.tolist() == [1.0, 30.0] and truth.tolist() == [2.0, 40.0]
    with pytest.raises(GateError, match="nothing to pair"):
        persistence_by_time([0, 1], [1.0, 2.0], 5)
    with pytest.raises(GateError, match="share a group and a time"):
        persistence_by_time([0, 0, 1], [1.0, 2.0, 3.0], 1)
    with pytest.raises(GateError, match="lead must be positive"):
        persistence_by_time([0, 1], [1.0, 2.0], 0)
