"""Streaming ROC: exact mode equals the whole array and scikit-learn; binned mode stays within its stated bound."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from gates.probabilistic import roc_auc, roc_curve
from gates.roc import ROCAccumulator
from registry.errors import GateError


def case(seed: int, n: int = 3000, discrete: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic scores that carry some skill for synthetic events."""
    rng = np.random.default_rng(seed)
    event = rng.random(n) < 0.3
    score = event * 0.8 + rng.normal(size=n)
    return (np.round(score * 4) / 4 if discrete else score), event.astype(np.int8)


def in_tiles(acc: ROCAccumulator, score: np.ndarray, event: np.ndarray, cuts: list[int]) -> ROCAccumulator:
    for a, b in zip([0, *cuts], [*cuts, len(score)], strict=True):
        acc.update(score[a:b], event[a:b])
    return acc


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), discrete=st.booleans(), cuts=st.lists(st.integers(0, 400), max_size=5))
def test_exact_streaming_equals_the_whole_array_and_scikit_learn(seed: int, discrete: bool, cuts: list[int]) -> None:
    score, event = case(seed, 400, discrete)
    if event.min() == event.max():
        return
    acc = in_tiles(ROCAccumulator(), score, event, sorted(cuts))
    for got, want in zip(acc.curve(), roc_curve(score, event), strict=True):
        np.testing.assert_array_equal(got, want)
    assert acc.result() == pytest.approx(roc_auc(score, event), abs=1e-12)
    assert acc.result() == pytest.approx(roc_auc_score(event, score), abs=1e-12)
    assert acc.auc_bound == 0.0
    assert len(acc.scores) == len(acc.pos) == len(np.unique(score))  # memory: one entry per distinct score


def test_binned_auc_is_within_its_bound() -> None:
    score, event = case(1)
    acc = in_tiles(ROCAccumulator(np.linspace(-3, 4, 15)), score, event, [700, 701, 2500])
    exact = roc_auc_score(event, score)
    assert 0 < acc.auc_bound < 0.1
    assert abs(acc.result() - exact) <= acc.auc_bound
    assert abs(acc.result() - exact) > 1e-4  # binning does cost something on continuous scores
    fine = in_tiles(ROCAccumulator(np.linspace(-3, 4, 701)), score, event, [1000])
    assert fine.auc_bound < acc.auc_bound / 10 and abs(fine.result() - exact) <= fine.auc_bound
    fpr, tpr, thresholds = acc.curve()
    assert fpr[0] == tpr[0] == 0 and fpr[-1] == tpr[-1] == 1 and thresholds[0] == np.inf
    assert thresholds[-1] == -np.inf and (np.diff(thresholds) < 0).all()


def test_binned_bound_is_reached_when_one_bin_hides_a_perfect_order() -> None:
    acc = ROCAccumulator([0.0, 1.0])
    acc.update([0.2, 0.3, 0.7, 0.8], [0, 0, 1, 1])  # one bin [0, 1): exact AUC 1, binned ½
    assert acc.result() == 0.5 and acc.auc_bound == 0.5
    assert roc_auc_score([0, 0, 1, 1], [0.2, 0.3, 0.7, 0.8]) - acc.result() == acc.auc_bound


def test_scores_on_the_edges_give_the_exact_result() -> None:
    rng = np.random.default_rng(3)
    members = 10  # probabilities from a 10-member ensemble: k/10
    event = (rng.random(5000) < 0.4).astype(int)
    prob = np.clip(np.round(event * 3 + rng.normal(size=5000) * 3 + 4), 0, members) / members
    acc = in_tiles(ROCAccumulator(np.arange(members + 1) / members), prob, event, [2000])
    assert acc.auc_bound == 0.0
    assert acc.result() == pytest.approx(roc_auc_score(event, prob), abs=1e-12)
    fpr, tpr, thresholds = acc.curve()
    want = roc_curve(prob, event)
    np.testing.assert_array_equal(thresholds, want[2])
    np.testing.assert_allclose(fpr, want[0], rtol=0, atol=1e-15)
    np.testing.assert_allclose(tpr, want[1], rtol=0, atol=1e-15)


def test_scores_outside_the_edges_fall_in_the_end_bins() -> None:
    acc = ROCAccumulator([0.0, 1.0])
    acc.update([-5.0, 0.0, 1.0, 9.0], [0, 0, 1, 1])
    assert acc.pos.tolist() == [0, 0, 2] and acc.neg.tolist() == [1, 1, 0]
    assert acc.result() == 1.0 and acc.auc_bound == 0.0  # no bin holds both an event and a non-event
    tied = ROCAccumulator([0.0, 1.0])
    tied.update([1.0, 9.0], [0, 1])  # both in the top bin, different scores: the bin hides their order
    tied.update([-1.0], [1])
    assert tied.auc_bound == pytest.approx(0.5 * 1 * 1 / (2 * 1))


def test_one_edge_makes_two_bins_and_edges_are_copied() -> None:
    edges = np.array([0.5])
    acc = ROCAccumulator(edges)
    edges[0] = 9.0  # the caller's array changing later changes nothing
    acc.update(np.array([0.2, 0.7, 0.5], dtype=np.float32), [0, 1, 1])
    assert acc.pos.tolist() == [0, 2] and acc.neg.tolist() == [1, 0]
    assert acc.result() == 1.0 and acc.curve()[2].tolist() == [np.inf, 0.5, -np.inf]


def test_bad_input_is_one_clear_error() -> None:
    acc = ROCAccumulator()
    with pytest.raises(GateError, match="score shape"):
        acc.update([0.1, 0.2], [1])
    with pytest.raises(GateError, match="score holds 2 non-finite"):
        acc.update([np.nan, 0.1, np.inf], [1, 0, 0])
    with pytest.raises(GateError, match="^event must be 0 or 1$"):
        acc.update([0.1, 0.2], [1, 2])
    with pytest.raises(GateError, match="^score must be numeric"):
        acc.update(["a"], [1])
    with pytest.raises(GateError, match="^event must be numeric"):
        acc.update([0.1], ["a"])
    with pytest.raises(GateError, match="^edges must be numeric"):
        ROCAccumulator(["a"])
    with pytest.raises(GateError, match="0 event"):
        acc.result()
    acc.update([0.1, 0.2], [0, 0])
    with pytest.raises(GateError, match="0 event.*2 non-event"):
        acc.curve()
    with pytest.raises(GateError, match="0 event"):
        _ = acc.auc_bound
    for edges in ([1.0, 1.0], [[0.0, 1.0]], [], [0.0, np.inf]):
        with pytest.raises(GateError, match="^edges must be one or more strictly increasing finite values$"):
            ROCAccumulator(edges)
