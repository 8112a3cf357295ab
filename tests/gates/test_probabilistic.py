"""Brier decomposition, reliability and ROC: identities for any input, the peers on random inputs, bad input."""

from __future__ import annotations

from dataclasses import astuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gates.probabilistic import (
    ProbabilityBins,
    bin_edges,
    brier_decomposition,
    reliability_diagram,
    roc_auc,
    roc_curve,
)
from registry.errors import GateError


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 300), st.integers(1, 12), st.integers(0, 2**32 - 1), st.booleans())
def test_the_decomposition_adds_up_to_the_brier_score(n, bins, seed, discrete):
    rng = np.random.default_rng(seed)
    p = rng.uniform(size=n)
    if discrete:  # one forecast value per bin: the classic three-term identity
        p = (np.floor(p * bins) + 0.5) / bins
    e = (rng.uniform(size=n) < p).astype(float)
    d = brier_decomposition(p, e, bins)
    assert d.brier == pytest.approx(np.mean((p - e) ** 2), abs=1e-12)
    total = d.reliability - d.resolution + d.uncertainty + d.within_bin_variance - d.within_bin_covariance
    assert total == pytest.approx(d.brier, abs=1e-12)
    assert d.reliability >= 0 and d.resolution >= 0 and 0 <= d.uncertainty <= 0.25 and d.within_bin_variance >= -1e-15
    if discrete:
        assert abs(d.within_bin_variance) < 1e-12 and abs(d.within_bin_covariance) < 1e-12


def test_decomposition_closed_form():
    # two bins, forecasts 0.2 (4 cases, 1 event) and 0.8 (4 cases, 2 events): ō = 3/8
    p = np.array([0.2] * 4 + [0.8] * 4)
    e = np.array([1, 0, 0, 0, 1, 1, 0, 0], dtype=float)
    d = brier_decomposition(p, e, 2)
    assert d.reliability == pytest.approx((4 * (0.2 - 0.25) ** 2 + 4 * (0.8 - 0.5) ** 2) / 8)
    assert d.resolution == pytest.approx((4 * (0.25 - 0.375) ** 2 + 4 * (0.5 - 0.375) ** 2) / 8)
    assert d.uncertainty == pytest.approx(0.375 * 0.625)


def test_reliability_matches_scikit_learn_and_has_consistency_bars():
    from sklearn.calibration import calibration_curve

    rng = np.random.default_rng(3)
    p = rng.uniform(size=5000) ** 2
    p[:10] = 0.3  # on an inner edge: the bin below, as scikit-learn bins it
    e = (rng.uniform(size=5000) < p).astype(float)
    r = reliability_diagram(p, e, 10, level=0.9)
    true, pred = calibration_curve(e, p, n_bins=10, strategy="uniform")
    full = r.counts > 0
    np.testing.assert_allclose(r.observed[full], true, atol=1e-12)
    np.testing.assert_allclose(r.forecast[full], pred, atol=1e-12)
    assert r.counts.sum() == 5000 and (r.lower[full] <= r.forecast[full] + 1e-9).all()
    assert (r.upper[full] >= r.forecast[full] - 1e-9).all()
    inside = (r.observed[full] >= r.lower[full]) & (r.observed[full] <= r.upper[full])
    assert inside.mean() >= 0.7  # a reliable forecast mostly stays within its 90 % bars
    fig = r.figure()
    assert fig["kind"] == "reliability" and len(fig["counts"]) == int(full.sum())


def test_an_overconfident_forecast_is_unreliable():
    rng = np.random.default_rng(4)
    truth_p = rng.uniform(0.3, 0.7, size=4000)
    e = (rng.uniform(size=4000) < truth_p).astype(float)
    sharp = np.where(truth_p > 0.5, 0.95, 0.05)
    assert brier_decomposition(sharp, e).reliability > 10 * brier_decomposition(truth_p, e).reliability


def test_roc_matches_scikit_learn_and_scores():
    import scores.probability
    import xarray as xr
    from sklearn.metrics import roc_auc_score
    from sklearn.metrics import roc_curve as sk_roc

    rng = np.random.default_rng(5)
    s = np.round(rng.normal(size=400), 1)  # ties
    e = (rng.uniform(size=400) < 1 / (1 + np.exp(-2 * s))).astype(float)
    fpr, tpr, thr = roc_curve(s, e)
    skf, skt, _ = sk_roc(e, s, drop_intermediate=False)
    np.testing.assert_allclose(fpr, skf, atol=1e-12)
    np.testing.assert_allclose(tpr, skt, atol=1e-12)
    assert thr[0] == np.inf and (np.diff(thr) < 0).all()
    assert roc_auc(s, e) == pytest.approx(roc_auc_score(e, s), abs=1e-12)
    p = 1 / (1 + np.exp(-s))
    peer = scores.probability.roc_curve_data(xr.DataArray(p), xr.DataArray(e), np.linspace(0, 1, 2001))
    assert roc_auc(p, e) == pytest.approx(float(peer["AUC"]), abs=1e-3)  # theirs: on 2001 fixed thresholds
    assert roc_auc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]) == 1.0
    assert roc_auc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]) == 0.0
    assert roc_auc([0.5, 0.5], [0, 1]) == 0.5  # a tie counts one half


def test_bins_accumulate_like_the_whole_array():
    rng = np.random.default_rng(6)
    p, e = rng.uniform(size=1000), rng.integers(0, 2, 1000)
    acc = ProbabilityBins(bin_edges([0, 0.1, 0.5, 1]))
    for part in np.array_split(np.arange(1000), 7):
        acc.add(p[part], e[part])
    whole = ProbabilityBins.of(p, e, [0, 0.1, 0.5, 1])
    np.testing.assert_allclose(astuple(acc.decomposition()), astuple(whole.decomposition()), rtol=1e-12)
    assert acc.n.tolist() == whole.n.tolist()


@pytest.mark.parametrize(("call", "message"), [
    (lambda: brier_decomposition([0.2, 1.5], [0, 1]), r"prob must lie in \[0, 1\]"),
    (lambda: brier_decomposition([0.2, -0.0001], [0, 1]), r"prob must lie in \[0, 1\]"),
    (lambda: brier_decomposition([0.2, np.nan], [0, 1]), "NaN is not a probability"),
    (lambda: brier_decomposition([0.2, 0.5], [0, 2]), "event must be 0 or 1"),
    (lambda: brier_decomposition([0.2, 0.5], [[0, 1]]), r"prob shape \(2,\) does not match event shape \(1, 2\)"),
    (lambda: brier_decomposition([], []), "prob is empty"),
    (lambda: brier_decomposition([0.5], [1], 0), "bins must be ≥ 1"),
    (lambda: brier_decomposition([0.5], [1], [0, 0.7, 0.5, 1]), "strictly increasing"),
    (lambda: brier_decomposition([0.5], [1], [0.1, 1]), "from 0 to 1"),
    (lambda: ProbabilityBins(bin_edges(3)).decomposition(), "no forecasts"),
    (lambda: reliability_diagram([0.5], [1], level=1.0), "level"),
    (lambda: roc_curve([0.1, 0.2], [1, 1]), "both events and non-events"),
    (lambda: roc_curve([0.1, 0.2], [0, 0]), "both events and non-events"),
    (lambda: roc_curve([0.1, np.inf], [0, 1]), "non-finite"),
    (lambda: roc_curve([0.1, 0.2, 0.3], [0, 1]), "3 values, event 2"),
    (lambda: roc_curve([0.1, 0.2], [0, 3]), "event must be 0 or 1"),
])
def test_bad_input_is_one_clear_error(call, message):
    with pytest.raises(GateError, match=message):
        call()


def test_edges_of_the_unit_interval_are_probabilities():
    d = brier_decomposition([0.0, 1.0], [0, 1], 4)
    assert d.brier == 0.0 and d.reliability == 0.0
    r = reliability_diagram([0.0, 1.0, 0.25], [0, 1, 0], 4)
    assert r.counts.tolist() == [2, 0, 0, 1]  # 0.25 is the first bin's upper edge


def test_reliability_closed_form_bars_and_figure():
    # 10 forecasts of 0.5 (5 events) and one of 0.95 (an event); bins [0, 0.5], (0.5, 0.9], (0.9, 1]
    p = np.array([0.5] * 10 + [0.95])
    e = np.array([1, 0] * 5 + [1], dtype=float)
    r = reliability_diagram(p, e, [0, 0.5, 0.9, 1], level=0.9)
    assert r.edges.tolist() == [0, 0.5, 0.9, 1] and r.level == 0.9 and r.counts.dtype == np.int64
    assert r.counts.tolist() == [10, 0, 1]
    assert r.lower[0] == 0.2 and r.upper[0] == 0.8  # binomial(10, 0.5) 5 % and 95 % quantiles over 10
    assert r.figure("R") == {"kind": "reliability", "title": "R", "forecast": [0.5, 0.95], "observed": [0.5, 1.0],
                             "counts": [10, 1], "lower": [0.2, r.lower[2]], "upper": [0.8, 1.0]}
    with pytest.raises(GateError, match="level must lie in"):
        reliability_diagram(p, e, level=0.0)
    assert bin_edges([0, 1]).tolist() == [0.0, 1.0]  # two edges: one bin
    with pytest.raises(GateError, match="^bins must be a count or strictly increasing edges from 0 to 1$"):
        bin_edges([0, 0.5, 0.5, 1])
    with pytest.raises(GateError, match="^ROC needs both events and non-events$"):
        roc_curve([0.2, 0.3], [1, 1])


def test_roc_messages_name_the_argument_and_the_defaults_are_the_documented_ones():
    with pytest.raises(GateError, match="^score must be numeric, got <U1$"):
        roc_curve(["a", "b"], [0, 1])
    with pytest.raises(GateError, match="^event must be numeric, got <U1$"):
        roc_curve([0.1, 0.2], ["a", "b"])
    with pytest.raises(GateError, match="^score holds non-finite values$"):
        roc_curve([0.1, np.nan], [0, 1])
    with pytest.raises(GateError, match="^event must be 0 or 1$"):
        roc_curve([0.1, 0.2], [0, 0.5])
    with pytest.raises(GateError, match="^no forecasts were added$"):
        ProbabilityBins(bin_edges(3)).decomposition()
    p = np.linspace(0.01, 0.99, 50)  # synthetic forecasts
    e = (np.arange(50) % 3 == 0).astype(float)
    assert brier_decomposition(p, e) == brier_decomposition(p, e, 10) != brier_decomposition(p, e, 11)
    assert reliability_diagram(p, e).figure()["title"] == "Reliability"


def test_probability_errors_name_the_argument_and_say_what_is_wrong():
    with pytest.raises(GateError, match="^prob must be numeric, got <U1$"):
        brier_decomposition(["a", "b"], [0, 1])
    with pytest.raises(GateError, match="^event must be numeric, got <U1$"):
        brier_decomposition([0.1, 0.2], ["a", "b"])
    with pytest.raises(GateError, match="^bins must be numeric, got <U1$"):
        bin_edges(["a", "b"])
    with pytest.raises(GateError, match="^bins must be a count or strictly increasing edges from 0 to 1$"):
        bin_edges([[0, 0.5], [0.5, 1]])
    with pytest.raises(GateError, match="^prob is empty: nothing to score$"):
        brier_decomposition([], [])
    with pytest.raises(GateError, match=r"^prob must lie in \[0, 1\] \(NaN is not a probability\)$"):
        brier_decomposition([0.5, 1.01], [0, 1])
    with pytest.raises(GateError, match="^event must be 0 or 1$"):
        brier_decomposition([0.5, 0.5], [0, 0.5])


def test_reliability_defaults_bars_at_their_quantiles_and_empty_bins_without_warnings():
    import warnings

    p = np.full(100, 0.5)  # synthetic: 100 forecasts of 0.5, half of them events
    e = np.arange(100) % 2
    r = reliability_diagram(p, e)
    assert (len(r.edges), r.level) == (11, 0.9) and ProbabilityBins.of(p, e).n.size == 10
    assert ProbabilityBins.of(p, e).reliability().level == 0.9
    assert (r.lower[4], r.upper[4]) == (0.42, 0.58)  # binomial(100, 0.5) 5 % and 95 % quantiles over 100
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the nine empty bins are NaN, quietly
        empty = ProbabilityBins.of(p, e).reliability()
    assert np.isnan(empty.forecast[0]) and np.isnan(empty.lower[0]) and empty.counts[0] == 0
