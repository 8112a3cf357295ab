"""Streaming accumulators give the whole array's result tile by tile, and refuse tiles that do not fit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gates.ensemble import crps_ensemble, rank_histogram, rank_histogram_test, spread_skill_ratio
from gates.probabilistic import brier_decomposition, reliability_diagram
from gates.spatial import fss
from gates.streaming import (
    BrierAccumulator,
    CRPSAccumulator,
    FSSAccumulator,
    QuantileAccumulator,
    RankHistogramAccumulator,
    SpreadSkillAccumulator,
)
from registry.errors import GateError


def case(seed, shape=(3, 17, 11), m=6):
    rng = np.random.default_rng(seed)
    centre = rng.normal(size=shape)
    return centre + rng.normal(size=(m, *shape)), centre + rng.normal(size=shape)


def bands(rows, k, rng):
    cuts = np.sort(rng.choice(np.arange(1, rows), size=min(k, rows - 1), replace=False))
    return np.split(np.arange(rows), cuts)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 8))
def test_ensemble_accumulators_equal_the_whole_array(seed, k):
    members, obs = case(seed)
    crps, crps_v = CRPSAccumulator(), CRPSAccumulator(by=0, fair=True)
    rh, ss, ss_v = RankHistogramAccumulator(6, seed=1), SpreadSkillAccumulator(), SpreadSkillAccumulator(by=0)
    for rows in bands(obs.shape[1], k, np.random.default_rng(seed)):
        x, y = members[:, :, rows], obs[:, rows]
        for acc in (crps, crps_v, rh, ss, ss_v):
            acc.update(x, y)
    assert crps.result() == pytest.approx(crps_ensemble(members, obs).mean(), rel=1e-12)
    np.testing.assert_allclose(crps_v.result(), crps_ensemble(members, obs, fair=True).mean(axis=(1, 2)), rtol=1e-12)
    assert rh.result().sum() == obs.size
    # continuous data has no ties, so the tie-breaking draws cannot differ: the same counts
    assert rh.result().tolist() == rank_histogram(members, obs, np.random.default_rng(0)).tolist()
    assert ss.result() == pytest.approx(spread_skill_ratio(members, obs), rel=1e-12)
    np.testing.assert_allclose(ss_v.result(), spread_skill_ratio(members, obs, by=0), rtol=1e-12)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 10), st.lists(st.integers(1, 12), min_size=1, max_size=4))
def test_fss_over_bands_of_rows_equals_the_whole_field(seed, k, windows):
    rng = np.random.default_rng(seed)
    f, o = rng.normal(size=(23, 15)), rng.normal(size=(23, 15))
    acc = FSSAccumulator(0.5, windows)
    for rows in bands(23, k, rng):
        acc.update(f[rows], o[rows])
    np.testing.assert_allclose(acc.result(), fss(f, o, 0.5, windows), rtol=1e-12)


def test_brier_accumulator_equals_the_whole_array():
    rng = np.random.default_rng(2)
    p, e = rng.uniform(size=(4, 50)), rng.integers(0, 2, (4, 50))
    acc = BrierAccumulator(5)
    for i in range(4):
        acc.update(p[i], e[i])
    assert acc.result().brier == pytest.approx(brier_decomposition(p, e, 5).brier, rel=1e-12)
    assert acc.reliability().counts.tolist() == reliability_diagram(p, e, 5).counts.tolist()


def test_tiles_that_do_not_fit_are_refused():
    members, obs = case(0)
    acc = CRPSAccumulator(by=0)
    acc.update(members, obs)
    with pytest.raises(GateError, match="along by axis 0"):
        acc.update(members[:, :2], obs[:2])  # the variable axis must come whole
    with pytest.raises(GateError, match="tile has 5 members, the accumulator 6"):
        RankHistogramAccumulator(6).update(members[:5], obs)
    ss = SpreadSkillAccumulator()
    ss.update(members, obs)
    with pytest.raises(GateError, match="the same in every tile"):
        ss.update(members[:4], obs)
    with pytest.raises(GateError, match="by axis 3 is out of range"):
        CRPSAccumulator(by=3).update(members, obs)
    fa = FSSAccumulator(0.0, [3])
    fa.update(np.ones((2, 5)), np.ones((2, 5)))
    with pytest.raises(GateError, match="band has 4 columns"):
        fa.update(np.ones((2, 4)), np.ones((2, 4)))
    with pytest.raises(GateError, match="does not fit the 2 rows"):
        fa.result()
    for empty in (CRPSAccumulator(), RankHistogramAccumulator(3), SpreadSkillAccumulator(), FSSAccumulator(0, 1)):
        with pytest.raises(GateError, match="nothing to score"):
            empty.result()
    with pytest.raises(GateError, match="members must be a positive int"):
        RankHistogramAccumulator(0)



def test_quantiles_from_counts_on_fixed_edges():
    rng = np.random.default_rng(4)
    v = rng.normal(size=20_000)
    acc = QuantileAccumulator(np.linspace(-5, 5, 2001))
    for part in np.array_split(v, 7):
        acc.update(part)
    whole = QuantileAccumulator(np.linspace(-5, 5, 2001))
    whole.update(v)
    assert (acc.counts == whole.counts).all()
    assert acc._step is not None  # equal bins are found by arithmetic, and agree with a search
    expected = np.bincount(np.searchsorted(acc.edges, v, side="right"), minlength=len(acc.counts))
    assert (acc.counts == expected).all()
    assert acc.quantile(0.5) == pytest.approx(np.quantile(v, 0.5), abs=0.005)  # one bin is 0.005 wide
    for q in (0.001, 0.999):  # in the tails neighbouring order statistics lie ~0.01 apart as well
        assert acc.quantile(q) == pytest.approx(np.quantile(v, q), abs=0.02)
    assert acc.quantile(0) == v.min() and acc.quantile(1) == v.max()
    few = QuantileAccumulator([0.0, 1.0])
    few.update(np.array([-3.0, 0.5, 4.0, 4.0]))  # one below, one inside, two above the edges
    # values spread evenly inside their bin: [-3, 0] holds the first quarter, [0, 1] the second, [1, 4] the rest
    assert few.quantile(0.125) == -1.5 and few.quantile(0.25) == 0.0 and few.quantile(0.375) == 0.5
    assert few.quantile(0.5) == 1.0 and few.quantile(0.75) == 2.5 and few.quantile(1.0) == 4.0
    with pytest.raises(GateError, match="non-finite"):
        few.update(np.array([np.nan]))
    with pytest.raises(GateError, match="nothing to score"):
        QuantileAccumulator([0.0, 1.0]).quantile(0.5)
    with pytest.raises(GateError, match="q must lie"):
        few.quantile(1.5)
    with pytest.raises(GateError, match="strictly increasing"):
        QuantileAccumulator([1.0, 1.0])


@pytest.mark.parametrize(("call", "message"), [
    (lambda: CRPSAccumulator(by=1).update(np.ones((2, 3)), np.ones(3)),
     r"by axis 1 is out of range for obs of shape \(3,\)"),
    (lambda: CRPSAccumulator().result(), "no tile was added: nothing to score"),
    (lambda: RankHistogramAccumulator(0), "members must be a positive int, got 0"),
    (lambda: RankHistogramAccumulator(True), "members must be a positive int, got True"),
    (lambda: RankHistogramAccumulator(2.0), "members must be a positive int, got 2.0"),  # type: ignore[arg-type]
    (lambda: RankHistogramAccumulator(3).update(np.ones((2, 4)), np.zeros(4)), "tile has 2 members, the accumulator 3"),
    (lambda: RankHistogramAccumulator(2).result(), "no tile was added: nothing to score"),
    (lambda: SpreadSkillAccumulator().update(np.ones((1, 4)), np.zeros(4)),
     "tile has 1 members; spread needs ≥ 2, the same in every tile"),
    (lambda: SpreadSkillAccumulator().update(np.ones((2, 4)), [0.0, 0.0, np.nan, 0.0]),
     "members or obs hold non-finite values: spread/skill needs finite input"),
    (lambda: SpreadSkillAccumulator().result(), "no tile was added: nothing to score"),
    (lambda: QuantileAccumulator([1.0]), "edges must be at least two strictly increasing finite values"),
    (lambda: QuantileAccumulator([[0.0, 1.0]]), "edges must be at least two strictly increasing finite values"),
    (lambda: QuantileAccumulator([0.0, np.inf]), "edges must be at least two strictly increasing finite values"),
    (lambda: QuantileAccumulator([1.0, 1.0]), "edges must be at least two strictly increasing finite values"),
    (lambda: QuantileAccumulator([0.0, 1.0]).update([1.0, np.nan, np.inf]), "values hold 2 non-finite entries"),
    (lambda: QuantileAccumulator([0.0, 1.0]).quantile(0.5), "no values were added: nothing to score"),
])
def test_error_messages_in_full(call, message):
    with pytest.raises(GateError, match=f"^{message}$"):
        call()


def test_tiles_of_different_sizes_add_up_and_member_axes_are_read():
    rng = np.random.default_rng(30)
    x, y = rng.normal(size=(4, 30)), rng.normal(size=30)
    crps = CRPSAccumulator(member_axis=1)
    spread = SpreadSkillAccumulator(member_axis=-1)
    ranks_acc = RankHistogramAccumulator(4, member_axis=1)
    for lo, hi in ((0, 3), (3, 20), (20, 30)):  # three tiles of unequal size
        crps.update(x[:, lo:hi].T, y[lo:hi])
        spread.update(x[:, lo:hi].T, y[lo:hi])
        ranks_acc.update(x[:, lo:hi].T, y[lo:hi])
    assert crps.result() == pytest.approx(float(crps_ensemble(x, y).mean()), rel=1e-12)
    assert spread.result() == pytest.approx(spread_skill_ratio(x, y), rel=1e-12)
    assert ranks_acc.result().tolist() == rank_histogram(x, y, np.random.default_rng(0)).tolist()  # no ties
    assert ranks_acc.result_test() == rank_histogram_test(ranks_acc.result())
    by = CRPSAccumulator(by=-1)  # a negative axis of obs is kept too
    by.update(x, y)
    np.testing.assert_allclose(by.result(), crps_ensemble(x, y), rtol=1e-12)
    with pytest.raises(GateError, match=r"^tile has \(5,\) entries along by axis -1, earlier tiles \(30,\)$"):
        by.update(x[:, :5], y[:5])
    with pytest.raises(GateError, match="^tile has 3 members; spread needs ≥ 2, the same in every tile$"):
        spread.update(x[:3, :5].T, y[:5])


def test_ties_are_drawn_from_the_seeded_generator():
    tied = np.zeros((2, 200)), np.zeros(200)
    one = RankHistogramAccumulator(2)
    one.update(*tied)
    again = RankHistogramAccumulator(2, seed=0)
    again.update(*tied)
    assert one.result().tolist() == again.result().tolist()  # the default seed is 0
    other = RankHistogramAccumulator(2, seed=1)
    other.update(*tied)
    assert other.result().tolist() != one.result().tolist()
    rng = np.random.default_rng(0)
    given_rng = RankHistogramAccumulator(2, seed=rng)
    assert given_rng.rng is rng  # a generator is used as it is, not reseeded
    single = RankHistogramAccumulator(1)  # one member: two ranks
    single.update(np.array([[0.0, 2.0]]), np.array([1.0, 1.0]))
    assert single.result().tolist() == [1, 1]


def test_fss_bands_count_events_strictly_above_and_windows_as_large_as_the_field():
    ones = np.ones((2, 3))
    acc = FSSAccumulator(1.0, 1)
    acc.update(ones, ones)
    assert np.isnan(acc.result()[0])  # 1 is not above 1: no event in either field
    half = FSSAccumulator(1.0, 1)
    half.update(ones * 2, ones)  # events in the forecast only
    assert half.result() == [0.0]
    other = FSSAccumulator(1.0, 1)
    other.update(ones, ones * 2)  # events in the observation only
    assert other.result() == [0.0]
    whole = FSSAccumulator(0.5, [1, 3])
    whole.update(np.eye(3)[:2], np.eye(3)[:2])
    whole.update(np.eye(3)[2:], np.eye(3)[2:])
    assert whole.result() == [1.0, 1.0]  # a 3 × 3 window on 3 rows and 3 columns fits
    with pytest.raises(GateError, match="^band has 4 columns, earlier bands 3$"):
        whole.update(np.ones((1, 4)), np.ones((1, 4)))
    short = FSSAccumulator(0.5, [1, 3])
    short.update(np.ones((2, 5)), np.ones((2, 5)))
    with pytest.raises(GateError, match="^a window of 3 does not fit the 2 rows × 5 columns added$"):
        short.result()
    narrow = FSSAccumulator(0.5, 3)
    narrow.update(np.ones((4, 2)), np.ones((4, 2)))
    with pytest.raises(GateError, match="^a window of 3 does not fit the 4 rows × 2 columns added$"):
        narrow.result()  # 4 rows but only 2 columns
    with pytest.raises(GateError, match="^no band was added: nothing to score$"):
        FSSAccumulator(0.5, 1).result()


def test_results_without_by_are_plain_floats():
    x, y = np.random.default_rng(31).normal(size=(3, 10)), np.zeros(10)
    crps, spread = CRPSAccumulator(), SpreadSkillAccumulator()
    crps.update(x, y)
    spread.update(x, y)
    assert type(crps.result()) is float and type(spread.result()) is float


def test_quantile_bins_of_integer_values_and_of_unequal_edges():
    ints = QuantileAccumulator([0.0, 2.0, 4.0])  # equal bins of width 2: found by arithmetic
    ints.update(np.array([1, 3], dtype=np.int64))
    assert ints.counts.tolist() == [0, 1, 1, 0]  # was [0, 2, 0, 0]: 1/step truncated to an integer 0
    floats = QuantileAccumulator([0.0, 2.0, 4.0])
    floats.update([1.0, 3.0])
    assert ints.quantile(0.5) == floats.quantile(0.5) == 2.0
    uneven = QuantileAccumulator([0.0, 0.5, 3.0])  # unequal bins: found by search
    uneven.update([1.0, 0.5, -1.0, 3.0])  # a value on an edge counts in the bin above it
    assert uneven.counts.tolist() == [1, 0, 2, 1]
    with pytest.raises(GateError, match="^edges must be at least two strictly increasing finite values$"):
        QuantileAccumulator([[0.0, 1.0], [2.0, 3.0]])
    with pytest.raises(GateError, match="^values must be numeric, got <U1$"):
        QuantileAccumulator([0.0, 1.0]).update(["a"])


def test_spread_skill_refuses_an_exact_mean_and_scores_a_unit_error():
    exact = SpreadSkillAccumulator()
    exact.update(np.array([[0.0, 1.0], [2.0, 3.0]]), [1.0, 2.0])
    with pytest.raises(GateError, match="^the ensemble mean is exact on every case: spread/skill is undefined$"):
        exact.result()
    unit = SpreadSkillAccumulator()
    unit.update(np.array([[0.0], [2.0]]), [2.0])  # squared error of the mean exactly 1, variance 2
    assert unit.result() == pytest.approx(np.sqrt(2 * 3 / 2), rel=1e-15)
