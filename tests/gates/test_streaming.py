"""Streaming accumulators give the whole array's result tile by tile, and refuse tiles that do not fit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gates.ensemble import crps_ensemble, rank_histogram, spread_skill_ratio
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
