"""Ensemble scores: closed forms, the peers on random inputs, identities for any input, NaN policies, bad input."""

from __future__ import annotations

import math
import re
import tracemalloc
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gates.crps_kernel import sorting_network
from gates.ensemble import (
    as_float_array,
    crps_ensemble,
    crps_gaussian,
    crps_point,
    ensemble_pair,
    member_axis_of,
    rank_histogram,
    rank_histogram_chi2,
    rank_histogram_shared_ties,
    rank_histogram_test,
    rank_reliability_index,
    ranks,
    spread_skill_ratio,
    twcrps_ensemble,
)
from registry.errors import GateError

values = st.floats(-1e3, 1e3, allow_nan=False, width=64)


def brute_crps(x: np.ndarray, y: np.ndarray, fair: bool = False) -> np.ndarray:
    """The definition over all member pairs, members on axis 0."""
    m = x.shape[0]
    pairs = np.abs(x[:, None] - x[None, :]).sum(axis=(0, 1))
    return np.abs(x - y).mean(axis=0) - 0.5 * pairs / (m * (m - 1) if fair else m * m)


def test_closed_forms():
    assert crps_gaussian(0.0, 1.0, 0.0) == pytest.approx(0.233695, abs=1e-6)  # (√2 − 1)/√π
    assert crps_gaussian(0.0, 1.0, 0.0) == pytest.approx((math.sqrt(2) - 1) / math.sqrt(math.pi), rel=1e-12)
    members = np.array([1.0, 2.0, 3.0, 4.0])
    assert crps_ensemble(members, 2.5) == pytest.approx(0.375, abs=1e-15)
    assert crps_ensemble(members, 2.5, fair=True) == pytest.approx(1 / 6, abs=1e-15)
    assert crps_ensemble(np.array([3.0]), -1.5) == 4.5  # one member: the absolute error
    # the two estimators differ by E|X − X'| / (2m), with the unbiased E|X − X'| = 20 / 12 here
    assert crps_ensemble(members, 2.5) - crps_ensemble(members, 2.5, fair=True) == pytest.approx(20 / 12 / 8, abs=1e-15)
    assert crps_point([1.0, -2.0], [0.5, 1.0]).tolist() == [0.5, 3.0]
    assert crps_gaussian([1.0, 1.0], 0.0, [3.0, -1.0]).tolist() == [2.0, 2.0]  # σ = 0: the point forecast


@pytest.mark.parametrize("m", [1, 2, 3, 7, 8, 9, 31, 32, 33, 50, 64, 65, 130])
def test_the_sorting_network_sorts(m):
    lo, hi = sorting_network(m)
    assert (lo < hi).all() and (hi < m).all()
    rows = np.random.default_rng(m).integers(0, 4, size=(300, m)).astype(float)  # many ties
    for i, j in zip(lo, hi, strict=True):
        rows[:, i], rows[:, j] = np.minimum(rows[:, i], rows[:, j]), np.maximum(rows[:, i], rows[:, j])
    assert (np.diff(rows, axis=1) >= 0).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("shape", "axis"), [((50, 130), 0), ((130, 50), -1), ((3, 9, 7, 5), 1), ((4, 65), 0),
                                             ((1, 3), 0), ((65, 1), -1)])
def test_crps_matches_the_definition_for_any_shape_and_member_axis(dtype, shape, axis):
    rng = np.random.default_rng(len(shape) * 100 + shape[0])
    x = rng.normal(size=shape).astype(dtype)
    xm = np.moveaxis(x.astype(np.float64), axis, 0)
    y = rng.normal(size=xm.shape[1:])
    got = crps_ensemble(x, y, member_axis=axis)
    assert got.shape == y.shape and got.dtype == np.float64
    np.testing.assert_allclose(got, brute_crps(xm, y), rtol=1e-12, atol=1e-12)
    if xm.shape[0] > 1:
        np.testing.assert_allclose(crps_ensemble(x, y, member_axis=axis, fair=True), brute_crps(xm, y, True),
                                   rtol=1e-12, atol=1e-12)


def test_crps_agrees_with_the_peers():
    import properscoring
    import scores.probability
    import scoringrules
    import xarray as xr
    import xskillscore

    rng = np.random.default_rng(7)
    x, y = rng.gamma(2.0, size=(300, 20)), rng.gamma(2.0, size=300)  # members last, as the peers default to
    ours = crps_ensemble(x, y, member_axis=-1)
    fair = crps_ensemble(x, y, member_axis=-1, fair=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_allclose(ours, properscoring.crps_ensemble(y, x), atol=1e-6)
        np.testing.assert_allclose(ours, scoringrules.crps_ensemble(y, x, estimator="nrg", backend="numpy"), atol=1e-6)
        np.testing.assert_allclose(fair, scoringrules.crps_ensemble(y, x, estimator="fair", backend="numpy"),
                                   atol=1e-6)
        fx, oy = xr.DataArray(x, dims=("p", "member")), xr.DataArray(y, dims=("p",))
        np.testing.assert_allclose(ours.mean(), float(xskillscore.crps_ensemble(oy, fx)), atol=1e-6)
        np.testing.assert_allclose(ours, scores.probability.crps_for_ensemble(fx, oy, "member", preserve_dims="p"),
                                   atol=1e-6)
        np.testing.assert_allclose(fair, scores.probability.crps_for_ensemble(
            fx, oy, "member", method="fair", preserve_dims="p"), atol=1e-6)
        tw = twcrps_ensemble(x, y, 2.5, member_axis=-1)
        np.testing.assert_allclose(tw, scoringrules.twcrps_ensemble(y, x, 2.5, estimator="nrg", backend="numpy"),
                                   atol=1e-6)
        np.testing.assert_allclose(tw, scores.probability.tw_crps_for_ensemble(
            fx, oy, "member", lambda v: np.maximum(v, 2.5), preserve_dims="p"), atol=1e-6)
        mu, sigma = rng.normal(size=50), rng.gamma(1.0, size=50)
        np.testing.assert_allclose(crps_gaussian(mu, sigma, y[:50]), properscoring.crps_gaussian(y[:50], mu, sigma),
                                   atol=1e-6)


def test_threshold_weighting_counts_only_the_upper_tail():
    x = np.array([[0.0, 1.0, 5.0], [0.5, 2.0, 6.0]])  # 2 members, 3 points
    y = np.array([0.2, 1.5, 5.5])
    tw = twcrps_ensemble(x, y, 3.0)
    assert tw[0] == 0.0 and tw[1] == 0.0  # members and obs all below the threshold: nothing counts
    assert tw[2] == crps_ensemble(x, y)[2]  # all above it: the plain CRPS
    with pytest.raises(GateError, match="threshold must be finite"):
        twcrps_ensemble(x, y, float("inf"))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 12), st.integers(1, 9), st.integers(0, 2**32 - 1), st.floats(-1e3, 1e3))
def test_crps_is_non_negative_and_invariant_to_member_order_and_translation(m, n, seed, shift):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(m, n)) * rng.uniform(0.01, 10), rng.normal(size=n)
    got = crps_ensemble(x, y)
    assert (got >= 0).all()
    np.testing.assert_allclose(crps_ensemble(rng.permutation(x, axis=0), y), got, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(crps_ensemble(x + shift, y + shift), got, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(crps_ensemble(x * 3.0, y * 3.0), 3.0 * got, rtol=1e-12, atol=1e-12)  # scale
    if m > 1:
        fair = crps_ensemble(x, y, fair=True)
        # the estimators differ by E|X − X'| / (2m), the plain CRPS penalising the finite ensemble
        spread = np.abs(x[:, None] - x[None, :]).sum(axis=(0, 1)) / (m * (m - 1))
        np.testing.assert_allclose(got - fair, spread / (2 * m), rtol=1e-9, atol=1e-12)


@given(hnp.arrays(np.float64, st.integers(1, 30), elements=values), st.data())
@settings(deadline=None)
def test_one_member_crps_is_the_absolute_error(obs, data):
    member = data.draw(hnp.arrays(np.float64, obs.shape, elements=values))
    assert (crps_ensemble(member[None, :], obs) == np.abs(member - obs)).all()


def test_nan_policies():
    x = np.array([[1.0, np.nan, 1.0, np.nan], [2.0, 2.0, np.nan, np.nan], [3.0, 3.0, 3.0, np.nan]])
    y = np.array([2.0, 2.0, 2.0, 2.0])
    with pytest.raises(GateError, match="non-finite values at 3 of 4 point"):
        crps_ensemble(x, y)
    with pytest.raises(GateError, match="non-finite values at 1 of 2"):
        crps_ensemble(np.array([[1.0, np.inf]]), [0.0, 0.0])  # infinities too
    prop = crps_ensemble(x, y, nan_policy="propagate")
    assert prop[0] == crps_ensemble(x[:, :1], y[:1])[0] and np.isnan(prop[1:]).all()
    omit = crps_ensemble(x, y, nan_policy="omit")
    assert omit[0] == prop[0]
    assert omit[1] == crps_ensemble(np.array([2.0, 3.0]), 2.0)  # NaN member dropped: 2 members left
    assert omit[2] == crps_ensemble(np.array([1.0, 3.0]), 2.0)
    assert np.isnan(omit[3])  # no member left
    assert np.isnan(crps_ensemble(np.array([[1.0], [np.nan]]), [1.0], nan_policy="omit", fair=True))  # 1 left
    assert np.isnan(crps_ensemble(np.ones((2, 2)), [np.nan, 1.0], nan_policy="omit"))[0]
    with pytest.raises(GateError, match="obs holds 1 non-finite"):
        crps_ensemble(np.ones((2, 2)), [np.nan, 1.0])
    with pytest.raises(GateError, match="nan_policy must be one of"):
        crps_ensemble(np.ones((2, 2)), [1.0, 1.0], nan_policy="ignore")


def test_float32_members_are_not_copied_to_float64():
    x = np.random.default_rng(0).normal(size=(50, 20_000)).astype(np.float32)
    y = np.zeros(20_000)
    crps_ensemble(x, y)
    tracemalloc.start()
    got = crps_ensemble(x, y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < x.nbytes / 4  # the float64 result (8 bytes a point) and small blocks, not (m × N) of anything
    np.testing.assert_allclose(got[:50], brute_crps(x[:, :50].astype(np.float64), y[:50]), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: crps_ensemble(np.ones((3, 4)), np.ones(5)), r"obs shape \(5,\) does not match members shape \(3, 4\)"),
    (lambda: crps_ensemble(np.ones((3, 4)), np.ones((4, 1))), r"obs shape \(4, 1\)"),  # no broadcasting
    (lambda: crps_ensemble(np.ones((0, 4)), np.ones(4)), "empty ensemble"),
    (lambda: crps_ensemble(np.ones((3, 0)), np.ones(0)), "obs is empty"),
    (lambda: crps_ensemble(np.ones((3, 4)), np.ones(3), member_axis=2), "member_axis 2 is out of range"),
    (lambda: crps_ensemble(np.ones((3, 4)), np.ones(3), member_axis=-3), "member_axis -3 is out of range"),
    (lambda: crps_ensemble(np.ones((3, 4)), np.ones(3), member_axis=1.0), "member_axis must be an int"),
    (lambda: crps_ensemble(np.float64(1.0), 1.0), "member axis"),
    (lambda: crps_ensemble(np.array(["a", "b"]), 1.0), "members must be numeric"),
    (lambda: crps_ensemble(np.ones((1, 3)), np.ones(3), fair=True), "two members"),
    (lambda: crps_gaussian(0.0, -1.0, 0.0), "sigma must be ≥ 0"),
    (lambda: crps_gaussian(np.zeros(2), 1.0, np.zeros(3)), "do not broadcast"),
    (lambda: crps_point([1.0], [1.0, 2.0]), r"pred shape \(1,\)"),
    (lambda: spread_skill_ratio(np.ones((1, 4)), np.zeros(4)), "two members"),
    (lambda: spread_skill_ratio(np.ones((3, 4)), np.ones(4)), "exact on every case"),
    (lambda: spread_skill_ratio(np.array([[1.0, np.nan]] * 2), np.ones(2)), "non-finite"),
    (lambda: ranks(np.ones((3, 4)), [1.0, 1.0, np.inf, 1.0], np.random.default_rng()), "non-finite"),
    (lambda: rank_histogram_test([5]), "at least two bins"),
    (lambda: rank_histogram_test([[1, 2]]), "one-dimensional"),
    (lambda: rank_histogram_test([0, 0]), "no cases"),
    (lambda: rank_histogram_test([3, -1]), "≥ 0"),
    (lambda: rank_histogram_test([3, np.nan]), "finite"),
])
def test_bad_input_is_one_clear_error(call, message):
    with pytest.raises(GateError, match=message):
        call()


def test_rank_histogram_any_axis_and_its_p_value():
    x = np.array([[0.0, 1.0, 2.0], [10.0, 11.0, 12.0]]).T  # 3 points, 2 members on the last axis
    got = ranks(x, np.array([-1.0, 10.5, 99.0]), np.random.default_rng(0), member_axis=-1)
    assert got.tolist() == [0, 1, 2]
    counts = rank_histogram(x, np.array([-1.0, 10.5, 99.0]), np.random.default_rng(0), member_axis=1)
    assert counts.tolist() == [1, 1, 1]
    stat, p = rank_histogram_test([10, 10, 10])
    assert stat == 0.0 and p == 1.0
    stat, p = rank_histogram_test([20, 10, 0])  # χ² = (100 + 0 + 100)/10 with 2 degrees of freedom
    assert stat == 20.0 and p == pytest.approx(math.exp(-10.0), rel=1e-9)  # χ²(2) survival is e^(−x/2)


def test_spread_skill_by_variable_and_lead():
    rng = np.random.default_rng(2)
    centre = rng.normal(size=(2, 3, 4000))  # (variable, lead, point)
    scale = np.array([0.5, 1.0, 2.0])[None, :, None]  # spread grows with lead; the truth stays at scale 1
    members = centre + scale * rng.normal(size=(16, 2, 3, 4000))
    truth = centre + rng.normal(size=(2, 3, 4000))
    per_lead = spread_skill_ratio(members, truth, by=1)
    assert per_lead.shape == (3,)
    assert per_lead[0] < 0.75 and 0.9 < per_lead[1] < 1.1 and per_lead[2] > 1.3
    both = spread_skill_ratio(members, truth, by=(0, 1))
    assert both.shape == (2, 3) and np.allclose(both.mean(axis=0), per_lead, rtol=0.1)
    whole = spread_skill_ratio(members, truth)
    assert isinstance(whole, float) and per_lead.min() < whole < per_lead.max()
    with pytest.raises(GateError, match=r"by axis \(3,\) is out of range"):
        spread_skill_ratio(members, truth, by=3)
    with pytest.raises(GateError, match=r"^by names an axis twice: \(1, -2\) for obs of shape \(2, 3, 4000\)$"):
        spread_skill_ratio(members, truth, by=(1, -2))  # -2 is axis 1 again


def test_spread_skill_closed_form():
    # two members 0 and 2 at both points: mean 1, variance (ddof 1) 2; obs 0 and 2: RMSE of the mean 1
    members = np.array([[0.0, 0.0], [2.0, 2.0]])
    assert spread_skill_ratio(members, [0.0, 2.0]) == pytest.approx(math.sqrt(2 * 3 / 2), rel=1e-15)
    by_point = spread_skill_ratio(members[:, None, :], [[0.0, 2.0]], by=-2)  # a negative axis of obs is kept too
    assert by_point.shape == (1,) and by_point[0] == pytest.approx(math.sqrt(3), rel=1e-15)
    members3 = np.array([[0.0], [3.0], [6.0]])  # variance 9, (m + 1)/m = 4/3
    assert spread_skill_ratio(members3, [1.0]) == pytest.approx(math.sqrt(9 * 4 / 3) / 2, rel=1e-15)


def test_ties_are_broken_uniformly_over_the_ranks_they_share():
    members = np.broadcast_to(np.array([0.0, 1.0, 1.0, 2.0])[:, None], (4, 6000))
    got = ranks(members, np.ones(6000), np.random.default_rng(0))
    assert got.dtype == np.int64
    counts = np.bincount(got, minlength=5)
    assert counts[0] == 0 and counts[4] == 0  # one member below, one above: never rank 0 or 4
    assert all(1800 < c < 2200 for c in counts[1:4])  # ranks 1, 2, 3 about equally often
    assert rank_histogram(np.zeros((3, 5)), np.full(5, -1.0), np.random.default_rng(1)).tolist() == [5, 0, 0, 0]
    assert rank_histogram(np.zeros((3, 5)), np.full(5, 1.0), np.random.default_rng(1)).tolist() == [0, 0, 0, 5]


def test_error_messages_name_their_argument_in_full():
    for call, message in [
        (lambda: crps_gaussian("a", 1.0, 0.0), "mu must be numeric"),
        (lambda: crps_gaussian(0.0, "a", 0.0), "sigma must be numeric"),
        (lambda: crps_gaussian(0.0, 1.0, "a"), "obs must be numeric"),
        (lambda: crps_point("a", 1.0), "pred must be numeric"),
        (lambda: crps_point(1.0, "a"), "obs must be numeric"),
        (lambda: crps_ensemble(np.ones((2, 2)), ["a", "b"]), "obs must be numeric"),
        (lambda: rank_histogram_test(["a", "b"]), "counts must be numeric"),
        (lambda: crps_ensemble(np.ones((1, 2)), [1.0, 1.0], fair=True), "^the fair CRPS needs at least two members$"),
        (lambda: crps_ensemble(np.ones((0, 2)), [1.0, 1.0]), r"^members is an empty ensemble \(0 members\)$"),
        (lambda: rank_histogram_test([0, 0]), "^rank histogram has no cases$"),
        (lambda: spread_skill_ratio(np.ones((1, 2)), [1.0, 1.0]), "^spread needs at least two members$"),
    ]:
        with pytest.raises(GateError, match=message):
            call()
    assert rank_histogram_test([1, 1]) == (0.0, 1.0)  # one case a bin is a histogram
    with pytest.raises(GateError, match=r"members hold non-finite values at 1 of 2 point\(s\); remove them or pass "
                                        r"nan_policy='omit' \(NaN members dropped\) or 'propagate' \(NaN for those"):
        crps_ensemble(np.array([[1.0, np.nan]]), [1.0, 1.0])


def test_shared_ties_spread_an_observation_over_the_ranks_it_could_take():
    members = np.array([[0.0, 1.0, 5.0], [0.0, 2.0, 5.0], [3.0, 3.0, 5.0]])  # 3 members × 3 points
    counts = rank_histogram_shared_ties(members, np.array([0.0, 2.5, 9.0]))
    # point 0 ties two members below one: ranks 0, 1, 2 share it; point 1 has rank 2; point 2 rank 3
    np.testing.assert_allclose(counts, [1 / 3, 1 / 3, 1 / 3 + 1, 1])
    np.testing.assert_allclose(rank_histogram_shared_ties(np.zeros((4, 3)), np.zeros(3)), [0.6] * 5)
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 3, size=(5, 4000)).astype(float), rng.integers(0, 3, size=4000).astype(float)
    drawn = rank_histogram(x, y, rng)  # random tie-breaking agrees with the shared expectation
    np.testing.assert_allclose(drawn / 4000, rank_histogram_shared_ties(x, y) / 4000, atol=0.02)
    with pytest.raises(GateError, match="non-finite"):
        rank_histogram_shared_ties(np.array([[np.inf]]), np.array([0.0]))


def test_reliability_index_of_flat_and_one_rank_histograms():
    assert rank_reliability_index([5, 5, 5, 5]) == 0.0
    assert rank_reliability_index([0, 0, 8]) == pytest.approx(4 / 3)  # 2·m/(m + 1), m = 2
    assert rank_reliability_index([1, 3]) == pytest.approx(0.5)
    for bad, message in (([1], "at least two bins"), ([0, 0], "no cases"), ([1, -1, 2], "≥ 0"),
                         ([1, np.nan], "finite")):
        with pytest.raises(GateError, match=message):
            rank_reliability_index(bad)


def test_float32_is_kept_and_everything_else_becomes_float64():
    assert as_float_array("x", np.ones(2, dtype=np.float32)).dtype == np.float32
    assert as_float_array("x", np.ones(2, dtype=np.float64)).dtype == np.float64
    assert as_float_array("x", [1, 2]).dtype == np.float64
    assert as_float_array("x", np.ones(2, dtype=np.float16)).dtype == np.float64
    with pytest.raises(GateError, match=r"^x must be numeric, got <U1$"):
        as_float_array("x", ["a"])
    x, y, axis = ensemble_pair(np.ones((2, 3), dtype=np.float32), np.ones(3, dtype=np.float32))
    assert x.dtype == np.float32 and y.dtype == np.float64 and axis == 0  # obs is small: always float64


def test_member_axis_accepts_every_axis_of_the_members_and_nothing_else():
    x = np.ones((3, 4))
    assert [member_axis_of(x, a) for a in (-2, -1, 0, 1)] == [0, 1, 0, 1]
    got = member_axis_of(x, np.int64(-1))
    assert got == 1 and type(got) is int
    for bad in (True, False, 1.0, "0", None):
        with pytest.raises(GateError, match=rf"^member_axis must be an int, got {re.escape(repr(bad))}$"):
            member_axis_of(x, bad)  # type: ignore[arg-type]
    for bad in (2, -3):
        with pytest.raises(GateError, match=rf"^member_axis {bad} is out of range for members of shape \(3, 4\)$"):
            member_axis_of(x, bad)
    assert crps_ensemble(np.array([[0.0, 4.0], [2.0, 4.0]]), [1.0, 1.0], member_axis=-2).tolist() == [0.5, 3.0]


@pytest.mark.parametrize(("call", "message"), [
    (lambda: crps_ensemble(np.float64(1.0), 1.0), "members must have a member axis, got a scalar"),
    (lambda: rank_histogram(np.float64(1.0), 1.0, np.random.default_rng(0)),
     "members must have a member axis, got a scalar"),
    (lambda: crps_ensemble(np.ones((3, 4)), np.ones(5)),
     r"obs shape \(5,\) does not match members shape \(3, 4\) less member axis 0 \(\(4,\)\)"),
    (lambda: crps_ensemble(np.ones((3, 0)), np.ones(0)), "obs is empty: nothing to score"),
    (lambda: crps_ensemble(np.ones((2, 2)), [1.0, 1.0], nan_policy="ignore"),
     "nan_policy must be one of raise, propagate, omit, got 'ignore'"),
    (lambda: crps_ensemble(np.ones((2, 2)), [np.inf, 1.0]),
     "obs holds 1 non-finite value\\(s\\) of 2; remove them or pass nan_policy='omit'"),
    (lambda: crps_ensemble(np.array([[1.0, np.nan]]), [1.0, 1.0]),
     r"members hold non-finite values at 1 of 2 point\(s\); remove them or pass nan_policy='omit' \(NaN members "
     r"dropped\) or 'propagate' \(NaN for those points\)"),
    (lambda: twcrps_ensemble(np.ones((2, 2)), [1.0, 1.0], float("inf")), "threshold must be finite, got inf"),
    (lambda: twcrps_ensemble(np.ones((2, 2)), [1.0, 1.0], float("nan")), "threshold must be finite, got nan"),
    (lambda: crps_gaussian(0.0, -1e-300, 0.0), "sigma must be ≥ 0"),
    (lambda: crps_gaussian(np.zeros(2), 1.0, np.zeros(3)), r"mu \(2,\), sigma \(\) and obs \(3,\) do not broadcast"),
    (lambda: crps_point([1.0], [1.0, 2.0]), r"pred shape \(1,\) does not match obs shape \(2,\)"),
    (lambda: ranks(np.array([[1.0, np.inf]]), [1.0, 1.0], np.random.default_rng(0)),
     "members or obs hold non-finite values: ranks need finite input"),
    (lambda: ranks(np.ones((2, 2)), [1.0, np.nan], np.random.default_rng(0)),
     "members or obs hold non-finite values: ranks need finite input"),
    (lambda: rank_histogram_shared_ties(np.ones((2, 2)), [np.nan, 1.0]),
     "members or obs hold non-finite values: ranks need finite input"),
    (lambda: rank_histogram_shared_ties(np.array([[1.0, -np.inf]]), [1.0, 1.0]),
     "members or obs hold non-finite values: ranks need finite input"),
    (lambda: spread_skill_ratio(np.ones((2, 2)), [np.inf, 1.0]),
     "members or obs hold non-finite values: spread/skill needs finite input"),
    (lambda: spread_skill_ratio(np.array([[1.0, 2.0], [np.inf, 0.0]]), [0.0, 1.0]),
     "members or obs hold non-finite values: spread/skill needs finite input"),
    (lambda: spread_skill_ratio(np.ones((2, 2, 3)), np.zeros((2, 3)), by=-3),
     r"by axis \(-3,\) is out of range for obs of shape \(2, 3\)"),
    (lambda: spread_skill_ratio(np.ones((2, 2, 3)), np.zeros((2, 3)), by=(0, 2)),
     r"by axis \(0, 2\) is out of range for obs of shape \(2, 3\)"),
    (lambda: spread_skill_ratio(np.ones((3, 4)), np.ones(4)), "the ensemble mean is exact on every case: spread/skill "
                                                              "is undefined"),
    (lambda: rank_reliability_index([[1, 2]]), r"counts must be one-dimensional with at least two bins, got shape "
                                               r"\(1, 2\)"),
    (lambda: rank_reliability_index([3]), r"counts must be one-dimensional with at least two bins, got shape \(1,\)"),
    (lambda: rank_reliability_index([1, np.inf]), "counts must be finite and ≥ 0"),
    (lambda: rank_reliability_index([0, 0]), "rank histogram has no cases"),
    (lambda: rank_histogram_test([3]), r"counts must be one-dimensional with at least two bins, got shape \(1,\)"),
    (lambda: rank_histogram_test([1, np.inf]), "counts must be finite and ≥ 0"),
    (lambda: rank_histogram_test([1, -1]), "counts must be finite and ≥ 0"),
    (lambda: rank_histogram_test(["a", "b"]), "counts must be numeric, got <U1"),
])
def test_error_messages_in_full(call, message):
    with pytest.raises(GateError, match=f"^{message}$"):
        call()


def test_the_fair_crps_of_two_members_and_nan_obs_under_the_lenient_policies():
    two = np.array([[0.0], [2.0]])  # E|X − y| = 1, Σ|X − X'| = 4 over ordered pairs
    assert crps_ensemble(two, [1.0]).tolist() == [0.5]  # 1 − ½·4/4
    assert crps_ensemble(two, [1.0], fair=True).tolist() == [0.0]  # 1 − ½·4/2
    for policy in ("propagate", "omit"):
        got = crps_ensemble(np.ones((2, 2)), [np.nan, 2.0], nan_policy=policy)
        assert np.isnan(got[0]) and got[1] == 1.0


def test_the_threshold_weight_is_the_crps_of_the_values_floored_at_the_threshold():
    x = np.array([[0.0, 1.0, 4.0, -3.0], [2.0, 5.0, 6.0, 7.0], [3.5, 2.0, 1.0, 9.0]])
    y = np.array([1.0, 4.5, 2.0, -1.0])
    for t in (-10.0, 0.0, 1.5, 3.0, 8.0):
        want = crps_ensemble(np.maximum(x, t), np.maximum(y, t))
        np.testing.assert_allclose(twcrps_ensemble(x, y, t), want, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(twcrps_ensemble(x, y, t, fair=True),
                                   crps_ensemble(np.maximum(x, t), np.maximum(y, t), fair=True), rtol=1e-12,
                                   atol=1e-15)
    np.testing.assert_allclose(twcrps_ensemble(x, y, -10), crps_ensemble(x, y), rtol=1e-12)  # below all: plain CRPS
    assert twcrps_ensemble(x.T, y, 1.5, member_axis=1).tolist() == twcrps_ensemble(x, y, 1.5).tolist()


def test_gaussian_crps_off_centre_and_at_zero_spread():
    # z = 1, σ = 2: σ·[z(2Φ(1) − 1) + 2φ(1) − 1/√π]
    phi = math.exp(-0.5) / math.sqrt(2 * math.pi)
    cdf = 0.5 * (1 + math.erf(1 / math.sqrt(2)))
    assert crps_gaussian(1.0, 2.0, 3.0) == pytest.approx(2 * (2 * cdf - 1 + 2 * phi - 1 / math.sqrt(math.pi)),
                                                         rel=1e-12)
    assert crps_gaussian(1.0, 2.0, -1.0) == pytest.approx(crps_gaussian(1.0, 2.0, 3.0), rel=1e-12)  # symmetric
    assert crps_gaussian(np.float32(1.0), 0.0, 3.0) == 2.0
    assert crps_gaussian([0.0, 1.0], [[0.0], [1.0]], 1.0).shape == (2, 2)  # broadcast against each other


def test_rank_histograms_count_every_rank_along_any_member_axis():
    x = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])  # 2 points, 3 members on axis 0
    obs = np.array([2.5, 9.0])
    assert rank_histogram(x, obs, np.random.default_rng(0)).tolist() == [0, 0, 1, 1]
    assert rank_histogram(x.T, obs, np.random.default_rng(0), member_axis=-1).tolist() == [0, 0, 1, 1]
    assert rank_histogram_shared_ties(x.T, obs, member_axis=1).tolist() == [0.0, 0.0, 1.0, 1.0]
    assert rank_histogram_shared_ties(x, np.array([-1.0, 1.5])).tolist() == [1.0, 1.0, 0.0, 0.0]
    assert rank_histogram_shared_ties(x, obs).dtype == np.float64


def test_spread_skill_per_group_refuses_a_group_whose_mean_is_exact_and_counts_every_kept_axis():
    members = np.array([[[0.0, 1.0]], [[2.0, 3.0]]])  # 2 members, obs (1, 2)
    with pytest.raises(GateError, match="exact on every case"):
        spread_skill_ratio(members, [[1.0, 5.0]], by=1)  # the first point's mean is exact, the second's is not
    assert spread_skill_ratio(members, [[1.0, 5.0]]) == pytest.approx(math.sqrt(2 * 3 / 2) / math.sqrt(4.5))
    both = spread_skill_ratio(members, [[2.0, 5.0]], by=[-2, -1])
    np.testing.assert_allclose(both, [[math.sqrt(3) / 1.0, math.sqrt(3) / 3.0]], rtol=1e-15)
    assert spread_skill_ratio(members, [[2.0, 5.0]], by=np.int64(0)).shape == (1,)  # a numpy int is an axis too
    for bad in (True, 1.0, "0", (0, None)):
        with pytest.raises(GateError, match="^by must be an int or a tuple of ints"):
            spread_skill_ratio(members, [[2.0, 5.0]], by=bad)  # type: ignore[arg-type]


def test_chi2_and_reliability_of_a_single_case():
    assert rank_histogram_chi2([20, 10, 0]) == 20.0  # the statistic, not its p-value
    assert rank_histogram_chi2([10, 10, 10]) == 0.0
    assert rank_reliability_index([1, 0]) == 1.0  # one case: |1 − ½| + |0 − ½|
    assert rank_reliability_index(np.array([0.25, 0.75], dtype=np.float32)) == 0.5  # fractions, float32 too
    with pytest.raises(GateError, match=r"^counts must be numeric, got <U1$"):
        rank_reliability_index(["a", "b"])


def test_spread_skill_reads_the_members_along_the_member_axis():
    rng = np.random.default_rng(24)
    x, y = rng.normal(size=(5, 40)), rng.normal(size=40)
    assert spread_skill_ratio(x.T, y, member_axis=1) == spread_skill_ratio(x, y)
    assert spread_skill_ratio(x.T, y, member_axis=-1) == spread_skill_ratio(x, y)


def test_gaussian_crps_at_zero_spread_is_quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # σ = 0 is a supported input: no division warnings leak out
        assert crps_gaussian([1.0, 1.0], 0.0, [3.0, 1.0]).tolist() == [2.0, 0.0]  # 2/0 and 0/0 inside
