"""Windows by timestamp: a missing hour breaks windows instead of shifting them; leads are the right hours."""

from __future__ import annotations

import numpy as np
import pytest

from plugins.tec.features import Features
from plugins.tec.sequences import build_samples
from registry.errors import InvalidInput


def features_for(hours: np.ndarray, location: np.ndarray | None = None) -> Features:
    n = len(hours)
    values = np.tile(hours[:, None].astype(np.float32), (1, 24))  # feature value = its hour, to trace rows
    location = np.zeros(n, dtype=np.int64) if location is None else location
    key = location * 10**8 + hours
    complete = np.isin(key - 1, key)
    return Features(values, complete, location, hours.astype(np.int64), 0)


def test_a_gap_breaks_every_window_that_would_span_it() -> None:
    hours = np.array([h for h in range(100) if h != 60])
    f = features_for(hours)
    s = build_samples(f, hours.astype(float) * 10, steps=4, leads=3)
    issue = s.issue_hour.tolist()
    # input hours h-3..h need h-4 for differences; targets h+1..h+3 must exist; 60 missing
    # 56 is the last issue hour before (targets 57-59), 65 the first after (input 62-65, 61 lacks its difference)
    assert [h for h in issue if 50 <= h <= 70] == [50, 51, 52, 53, 54, 55, 56, 65, 66, 67, 68, 69, 70]
    assert issue[0] == 4 and issue[-1] == 96
    i = issue.index(70)
    assert s.x[i, :, 0].tolist() == [67, 68, 69, 70]
    assert s.target[i].tolist() == [710.0, 720.0, 730.0]  # lead k is the truth at issue + k


def test_shuffled_rows_give_the_same_windows_and_locations_stay_apart() -> None:
    hours = np.concatenate([np.arange(30), np.arange(30)])
    loc = np.repeat([0, 1], 30)
    tec = np.concatenate([np.arange(30.0), 100 + np.arange(30.0)])
    perm = np.random.default_rng(0).permutation(60)
    a = build_samples(features_for(hours, loc), tec, steps=5, leads=2)
    b = build_samples(features_for(hours[perm], loc[perm]), tec[perm], steps=5, leads=2)
    np.testing.assert_array_equal(a.target, b.target)
    assert a.target[a.location == 1].min() >= 100 and a.target[a.location == 0].max() < 100


def test_serving_windows_need_no_targets_and_an_empty_result_is_one_error() -> None:
    hours = np.arange(25)
    s = build_samples(features_for(hours), np.zeros(25), need_targets=False)
    assert len(s) == 1 and np.isnan(s.target).all()
    with pytest.raises(InvalidInput, match="24 consecutive hours"):
        build_samples(features_for(np.arange(24)), np.zeros(24), need_targets=False)
