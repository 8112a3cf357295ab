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


def test_persistence_takes_one_finite_row_and_a_lead_from_one_to_one_short_of_its_length() -> None:
    assert [a.tolist() for a in persistence([1.0, 2.0], 1)] == [[1.0], [2.0]]
    assert [a.tolist() for a in persistence([1.0, 2.0, 4.0], 2)] == [[1.0], [4.0]]  # len − 1: one pair
    for lead in (0, -1, 3):
        with pytest.raises(GateError, match=rf"^lead {lead} needs a series longer than it \(got 3 samples\)$"):
            persistence([1.0, 2.0, 4.0], lead)
    with pytest.raises(GateError, match=r"^series must have 1 dimension\(s\), got shape \(3, 2\)$"):
        persistence(np.zeros((3, 2)), 1)
    with pytest.raises(GateError, match=r"^series holds 1 non-finite value\(s\) of 3"):
        persistence([1.0, np.inf, 3.0], 1)


def test_climatology_refuses_training_values_it_cannot_average_saying_which() -> None:
    with pytest.raises(GateError, match=r"^training values must have 1 dimension\(s\), got shape \(2, 1\)$"):
        Climatology.fit([[1], [2]], [[1.0], [2.0]])
    with pytest.raises(GateError, match=r"^training values holds 1 non-finite value\(s\) of 2"):
        Climatology.fit([[1], [2]], [1.0, -np.inf])
    with pytest.raises(GateError, match=r"^3 key rows for 2 training values$"):
        Climatology.fit([[1], [2], [3]], [1.0, 2.0])


def test_climatology_takes_one_key_column_as_a_flat_array_and_counts_its_training_rows() -> None:
    clim = Climatology.fit(np.array([1, 1, 2, 1]), [1.0, 3.0, 5.0, 2.0])
    assert clim.means == {(1,): 2.0, (2,): 5.0} and clim.global_mean == 2.75 and clim.training_rows == 4
    forecast, fallbacks = clim.predict(np.array([2, 7, 1, 9]))
    assert forecast.tolist() == [5.0, 2.75, 2.0, 2.75] and fallbacks == 2  # both unseen keys counted


def test_persistence_by_time_never_pairs_across_groups_or_out_of_order_rows() -> None:
    # two stations sampled at the same hours 0..3, given interleaved and out of order; the first hour of one
    # station must not be paired with the last hour of the other
    times = np.array([3, 0, 2, 1, 0, 1, 2, 3])
    groups = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    values = np.array([13.0, 10.0, 12.0, 11.0, 0.0, 1.0, 2.0, 3.0])
    forecast, truth, rows = persistence_by_time(times, values, 1, groups=groups)
    assert rows.tolist() == [0, 2, 3, 5, 6, 7]
    assert forecast.tolist() == [12.0, 11.0, 10.0, 0.0, 1.0, 2.0] and truth.tolist() == values[rows].tolist()
    forecast, truth, rows = persistence_by_time(times, values, 3, groups=groups)  # lead = the whole span
    assert rows.tolist() == [0, 7] and forecast.tolist() == [10.0, 0.0] and truth.tolist() == [13.0, 3.0]
    # negative times, a lead of two steps
    forecast, truth, rows = persistence_by_time([-4, -3, -2], [1.0, 2.0, 3.0], 2)
    assert rows.tolist() == [2] and forecast.tolist() == [1.0] and truth.tolist() == [3.0]
    # one time shared by two groups is fine; two samples of one group at one time are not
    assert persistence_by_time([0, 0, 1, 1], [1.0, 2.0, 3.0, 4.0], 1, groups=[0, 1, 0, 1])[2].tolist() == [2, 3]
    with pytest.raises(GateError, match=r"^two samples share a group and a time: persistence needs one value per "
                                        r"time$"):
        persistence_by_time([3, 3], [1.0, 2.0], 1)


def test_persistence_by_time_compares_integer_times_exactly_at_any_magnitude() -> None:
    # nanoseconds since 1970, one apart: far beyond what a float64 holds exactly (2**53), so a float anywhere in
    # the keys would merge neighbours or pair the wrong ones; float group labels are read as the integers they are
    times = 1_700_000_000_000_000_000 + np.arange(4)
    for groups in (None, [0.0, 0.0, 1.0, 1.0]):
        forecast, truth, rows = persistence_by_time(times, [1.0, 2.0, 3.0, 4.0], 1, groups=groups)
        assert rows.tolist() == ([1, 2, 3] if groups is None else [1, 3])
        assert forecast.tolist() == ([1.0, 2.0, 3.0] if groups is None else [1.0, 3.0])


def test_persistence_by_time_reads_datetimes_by_their_units_and_refuses_misshapen_input() -> None:
    t = np.datetime64("2023-01-01T00:00") + np.array([0, 30, 60, 90]) * np.timedelta64(1, "m")
    forecast, truth, rows = persistence_by_time(t, [1.0, 2.0, 3.0, 4.0], np.timedelta64(1, "h"))
    assert rows.tolist() == [2, 3] and forecast.tolist() == [1.0, 2.0] and truth.tolist() == [3.0, 4.0]
    with pytest.raises(GateError, match=r"^lead must be positive, got 0$"):
        persistence_by_time(t, [1.0, 2.0, 3.0, 4.0], np.timedelta64(0, "h"))
    with pytest.raises(GateError, match=r"^lead must be positive, got -1$"):
        persistence_by_time([0, 1], [1.0, 2.0], -1)
    assert persistence_by_time([0, 1], [1.0, 2.0], 1)[2].tolist() == [1]  # a lead of 1 is allowed
    with pytest.raises(GateError, match=r"^3 times for 2 values$"):
        persistence_by_time([0, 1, 2], [1.0, 2.0], 1)
    with pytest.raises(GateError, match=r"^0 times for 2 values$"):
        persistence_by_time(5, [1.0, 2.0], 1)
    with pytest.raises(GateError, match=r"^1 group labels for 2 values$"):
        persistence_by_time([0, 1], [1.0, 2.0], 1, groups=[0])
    with pytest.raises(GateError, match=r"^series holds 1 non-finite"):
        persistence_by_time([0, 1], [1.0, np.nan], 1)
    with pytest.raises(GateError, match=r"^series must have 1 dimension\(s\), got shape \(2, 1\)$"):
        persistence_by_time([0, 1], [[1.0], [2.0]], 1)
    with pytest.raises(GateError, match=r"^no sample has a value 3600 earlier in its group"):  # the lead in seconds
        persistence_by_time(t[:2], [1.0, 2.0], np.timedelta64(1, "h"))
    with pytest.raises(GateError, match=r"^no sample has a value 2 earlier in its group: nothing to pair$"):
        persistence_by_time([0, 1], [1.0, 2.0], 2)
