"""Verification metrics: identities that hold for any input, the failures a gate must catch, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gates.metrics import (
    brier_score,
    crps_ensemble,
    finite_array,
    mae,
    pearson,
    rank_histogram,
    rank_histogram_chi2,
    rmse,
    skill_score,
    spread_skill_ratio,
)
from registry.errors import GateError

values = st.floats(-1e3, 1e3, allow_nan=False)


@settings(deadline=None)  # the shared CI box can stall any one example past 200 ms
@given(hnp.arrays(np.float64, st.integers(1, 30), elements=values), st.data())
def test_one_member_crps_is_the_absolute_error(obs, data):
    member = data.draw(hnp.arrays(np.float64, obs.shape, elements=values))
    assert np.allclose(crps_ensemble(member[None, :], obs), np.abs(member - obs), atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 8), st.integers(1, 10), st.integers(0, 2**32 - 1))
def test_crps_equals_its_definition_and_is_never_negative(m, n, seed):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(m, n)), rng.normal(size=n)
    brute = np.abs(x - y).mean(axis=0) - 0.5 * np.abs(x[:, None, :] - x[None, :, :]).mean(axis=(0, 1))
    got = crps_ensemble(x, y)
    assert np.allclose(got, brute, atol=1e-12) and (got >= -1e-12).all()
    if m > 1:  # the fair estimator divides the spread by m(m − 1): more spread credit, never a larger CRPS
        pairs = np.abs(x[:, None, :] - x[None, :, :]).sum(axis=(0, 1))
        fair = np.abs(x - y).mean(axis=0) - 0.5 * pairs / (m * (m - 1))
        assert np.allclose(crps_ensemble(x, y, fair=True), fair, atol=1e-12)
        assert (crps_ensemble(x, y, fair=True) <= got + 1e-12).all()


def test_a_consistent_ensemble_has_flat_ranks_and_spread_skill_near_one():
    rng = np.random.default_rng(1)
    n, m = 20_000, 10
    centre = rng.normal(size=n)
    members = centre + rng.normal(size=(m, n))  # truth and members: the same distribution around centre
    truth = centre + rng.normal(size=n)
    counts = rank_histogram(members, truth, np.random.default_rng(2))
    assert counts.sum() == n and len(counts) == m + 1
    assert rank_histogram_chi2(counts) < 3 * m  # flat: χ² about its m degrees of freedom
    assert spread_skill_ratio(members, truth) == pytest.approx(1.0, abs=0.05)


def test_an_under_dispersive_ensemble_is_caught():
    # the HRRR failure mode in reverse: samplers with the wrong spread
    rng = np.random.default_rng(3)
    centre = rng.normal(size=5000)
    members = centre + 0.2 * rng.normal(size=(8, 5000))
    truth = centre + rng.normal(size=5000)
    assert spread_skill_ratio(members, truth) < 0.3
    counts = rank_histogram(members, truth, np.random.default_rng(4))
    assert counts[0] + counts[-1] > 0.5 * counts.sum()  # U-shaped: truth outside the ensemble most of the time
    assert rank_histogram_chi2(counts) > 100


def test_ties_are_spread_over_the_bins_they_share():
    members = np.zeros((4, 1000))  # e.g. zero reflectivity everywhere
    counts = rank_histogram(members, np.zeros(1000), np.random.default_rng(0))
    assert counts.min() > 150  # not all in the lowest bin


def test_a_constant_forecast_has_no_correlation_and_no_skill_over_itself():
    truth = np.random.default_rng(5).normal(20, 13, 500)
    constant = np.full(500, 20.0)
    assert np.isnan(pearson(constant, truth))  # NaN: no threshold passes it (upstream TEC failure a)
    assert skill_score(rmse(constant, truth), rmse(constant, truth)) == 0.0
    assert skill_score(0.0, 2.0) == 1.0 and skill_score(4.0, 2.0) == -1.0
    assert pearson(truth, truth) == pytest.approx(1.0)
    assert mae(truth + 1, truth) == pytest.approx(1.0)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: rmse([1.0, np.nan], [1.0, 2.0]), "non-finite"),
    (lambda: rmse([1.0, 2.0], [1.0, 2.0, 3.0]), "does not match"),
    (lambda: rmse([], []), "empty"),
    (lambda: skill_score(1.0, 0.0), "baseline error > 0"),
    (lambda: brier_score([0.2, 1.5], [0, 1]), r"\[0, 1\]"),
    (lambda: brier_score([0.2, 0.5], [0, 2]), "0 or 1"),
    (lambda: crps_ensemble(np.ones((1, 3)), np.ones(3), fair=True), "two members"),
    (lambda: crps_ensemble(np.ones(3), np.ones(3)), r"obs shape \(3,\) does not match"),
    (lambda: spread_skill_ratio(np.ones((3, 4)), np.ones(4)), "exact on every case"),
    (lambda: rank_histogram(np.ones((3, 4)), np.ones(5), np.random.default_rng()), r"obs shape \(5,\) does not match"),
])
def test_input_a_gate_cannot_score_is_a_gate_error(call, message):
    with pytest.raises(GateError, match=message):
        call()


def test_brier_score():
    assert brier_score([1.0, 0.0, 0.5], [1, 0, 1]) == pytest.approx(0.25 / 3)


def test_scores_against_scikit_learn_and_numpy_on_random_input():
    from sklearn.metrics import mean_absolute_error, mean_squared_error

    rng = np.random.default_rng(11)
    p, t = rng.normal(size=(40, 3)), rng.normal(size=(40, 3))
    assert rmse(p, t) == pytest.approx(np.sqrt(mean_squared_error(t.ravel(), p.ravel())), rel=1e-12)
    assert mae(p, t) == pytest.approx(mean_absolute_error(t.ravel(), p.ravel()), rel=1e-12)
    assert pearson(p, t) == pytest.approx(np.corrcoef(p.ravel(), t.ravel())[0, 1], rel=1e-12)
    assert rmse([3.0], [1.0]) == 2.0 and mae([3.0], [1.0]) == 2.0  # one element
    assert rmse([1.0, 1.0], [0.0, 0.0]) == 1.0 and rmse([2.0, 0.0], [0.0, 0.0]) == pytest.approx(np.sqrt(2))
    assert mae([2.0, 0.0], [0.0, 0.0]) == 1.0  # mean, not sum nor max


def test_pearson_edges():
    assert np.isnan(pearson([1.0], [2.0]))  # one point: no correlation
    assert pearson([1.0, 2.0], [2.0, 4.0]) == pytest.approx(1.0)  # two points are enough
    assert pearson([1.0, 2.0], [4.0, 2.0]) == pytest.approx(-1.0)
    assert np.isnan(pearson([1.0, 2.0], [3.0, 3.0]))  # constant truth
    assert np.isnan(pearson([3.0, 3.0], [1.0, 2.0]))  # constant forecast


def test_skill_score_boundaries():
    assert skill_score(1.0, 1.0) == 0.0 and skill_score(0.5, 1.0) == 0.5 and skill_score(3.0, 1.0) == -2.0
    assert skill_score(1.0, 1e-300) < -1e299  # a tiny positive baseline is still a baseline
    for model, base in [(1.0, 0.0), (1.0, -1.0), (np.nan, 1.0), (1.0, np.nan), (np.inf, 1.0), (1.0, np.inf),
                        (-np.inf, 1.0)]:
        with pytest.raises(GateError, match="baseline error > 0"):
            skill_score(model, base)


def test_brier_boundaries():
    assert brier_score([0.0, 1.0], [0, 1]) == 0.0 and brier_score([1.0, 0.0], [0, 1]) == 1.0  # ends are probabilities
    assert brier_score([0.5], [1]) == 0.25  # one element
    assert brier_score([[0.2], [0.4]], [[0], [1]]) == pytest.approx((0.04 + 0.36) / 2)
    for prob in ([-1e-12, 0.5], [0.5, 1 + 1e-12]):
        with pytest.raises(GateError, match=r"\[0, 1\]"):
            brier_score(prob, [0, 1])
    with pytest.raises(GateError, match="0 or 1"):
        brier_score([0.5, 0.5], [0, 0.5])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_every_non_finite_value_is_refused_and_counted(bad):
    with pytest.raises(GateError, match=r"prediction holds 1 non-finite value\(s\) of 3"):
        rmse([1.0, bad, 2.0], [1.0, 1.0, 1.0])
    with pytest.raises(GateError, match=r"truth holds 2 non-finite value\(s\) of 3"):
        mae([1.0, 1.0, 1.0], [bad, 1.0, bad])


def test_shapes_never_broadcast():
    with pytest.raises(GateError, match=r"prediction shape \(3, 1\) does not match truth shape \(3,\)"):
        rmse(np.ones((3, 1)), np.ones(3))
    with pytest.raises(GateError, match=r"\(1,\) does not match truth shape \(3,\)"):
        mae([1.0], np.ones(3))
    assert rmse(np.ones((3, 1)), np.zeros((3, 1))) == 1.0


def test_finite_array_rank_and_dtype():
    assert finite_array("x", [1, 2]).dtype == np.float64
    assert finite_array("x", [[1.0]], ndim=2).shape == (1, 1)
    with pytest.raises(GateError, match=r"x must have 1 dimension\(s\), got shape \(1, 1\)"):
        finite_array("x", [[1.0]], ndim=1)
    with pytest.raises(GateError, match="x is empty"):
        finite_array("x", np.ones((0, 3)))


def test_constant_sides_are_nan_without_numpy_warnings():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NaN by decision, not by a 0/0 inside corrcoef
        assert np.isnan(pearson([3.0, 3.0, 3.0], [1.0, 2.0, 5.0]))
        assert np.isnan(pearson([1.0, 2.0, 5.0], [3.0, 3.0, 3.0]))
        assert np.isnan(pearson([7.0], [1.0]))
    assert pearson([1.0, 2.0], [3.0, 4.0]) == pytest.approx(1.0)  # a spread of exactly 1 is not constant


def test_brier_messages_in_full():
    with pytest.raises(GateError, match=r"^probabilities must lie in \[0, 1\]$"):
        brier_score([0.5, 2.0], [0, 1])
    with pytest.raises(GateError, match=r"^outcomes must be 0 or 1$"):
        brier_score([0.5, 0.5], [0, 3])
