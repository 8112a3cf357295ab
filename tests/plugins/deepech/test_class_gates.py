"""plugins.deepech.class_gates: scores against the majority class and the (L, MLT) climatology, with intervals.
The suite refuses a classifier that always says the majority class although its accuracy is high."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from plugins.deepech.class_gates import AccuracyGate, MarginOverBaselines, ReliabilityGate
from plugins.deepech.evaluation import evaluate
from plugins.deepech.suites import release_suite
from registry.errors import GateError


@pytest.fixture(scope="module")
def majority_ctx(labelled: Any, make_ctx: Any, oracle: Any) -> Any:
    """A classifier that always says "absent": logit −4 on every row, as the real networks of ``majority_pair``
    give (fc8 weight 0, bias −4; that pair is refused through ``registry promote`` in test_family.py)."""

    class AlwaysAbsent(oracle):  # type: ignore[misc, valid-type]
        def logits(self, rows: np.ndarray) -> np.ndarray:
            return np.full(len(rows), -4.0)

    return make_ctx(AlwaysAbsent(), labelled)


@pytest.fixture(scope="module")
def oracle_ctx(labelled: Any, make_ctx: Any, oracle: Any) -> Any:
    return make_ctx(oracle(), labelled)


def test_majority_classifier_is_refused_although_its_accuracy_is_high(majority_ctx: Any) -> None:
    ev = evaluate(majority_ctx)
    assert not ev.predicted.any() and ev.present.mean() < 0.25  # imbalanced test window, always "absent"
    suite = release_suite(accuracy_min=0.75, name="t")  # an accuracy bar the majority class clears
    results = {g.name: g.evaluate(majority_ctx) for g in suite.gates if not g.name.startswith(("amplitude",
                                                                                               "storm-amplitude"))}
    assert results["accuracy"].passed and results["accuracy"].value > 0.75
    for name in ("balanced-accuracy-vs-majority", "recall-vs-majority", "f1-vs-majority", "precision-vs-majority",
                 "accuracy-vs-majority", "roc-auc-vs-baselines"):
        assert not results[name].passed, name
        assert results[name].value == 0.0 or name == "roc-auc-vs-baselines", name  # exactly the majority's score
    assert results["balanced-accuracy-vs-majority"].details["scores"] == {
        "candidate": 0.5, "majority": 0.5, "lmlt_climatology": pytest.approx(0.656, abs=0.01)}


def test_a_forecast_that_knows_the_labels_model_clears_the_margin_gates(oracle_ctx: Any) -> None:
    for metric in ("accuracy", "balanced_accuracy", "precision", "recall", "f1"):
        out = MarginOverBaselines(metric, against="majority").evaluate(oracle_ctx)
        assert out.passed and out.value > 0, (metric, out.message)
    assert MarginOverBaselines("roc_auc").evaluate(oracle_ctx).passed
    brier = MarginOverBaselines("brier", on="lower").evaluate(oracle_ctx)
    assert brier.passed and brier.details["interval"]["lower"] > 0, brier.message
    # the climatology over-predicts the rarer test window: on balanced accuracy it beats even the oracle
    assert not MarginOverBaselines("balanced_accuracy").evaluate(oracle_ctx).passed
    assert ReliabilityGate(0.05).evaluate(oracle_ctx).passed


def test_margin_is_against_the_better_baseline(oracle_ctx: Any) -> None:
    out = MarginOverBaselines("recall").evaluate(oracle_ctx)
    scores = out.details["scores"]
    assert out.value == pytest.approx(scores["candidate"] - max(scores["majority"], scores["lmlt_climatology"]))
    assert scores["majority"] == 0.0  # the majority class is "absent": it never finds a wave
    vs_majority = MarginOverBaselines("recall", against="majority").evaluate(oracle_ctx)
    assert vs_majority.value == pytest.approx(scores["candidate"]) and vs_majority.value > out.value
    brier = MarginOverBaselines("brier").evaluate(oracle_ctx)
    b = brier.details["scores"]
    assert brier.value == pytest.approx(1 - b["candidate"] / min(b["majority"], b["lmlt_climatology"]))


def test_accuracy_gate_threshold_and_figures(oracle_ctx: Any) -> None:
    ev = evaluate(oracle_ctx)
    acc = float(np.mean(ev.predicted == ev.present))
    assert AccuracyGate(acc).evaluate(oracle_ctx).passed
    assert not AccuracyGate(acc + 1e-9).evaluate(oracle_ctx).passed
    out = AccuracyGate().evaluate(oracle_ctx)
    assert out.threshold == 0.912 and out.figures[0]["kind"] == "roc"
    assert set(out.figures[0]["curves"]) == {"candidate", "lmlt_climatology"}


def test_storm_slice_needs_its_minimum_event_count(oracle_ctx: Any) -> None:
    ev = evaluate(oracle_ctx)
    events = int((ev.present & ev.storm).sum())
    out = MarginOverBaselines("brier", storm_only=True, min_events=events).evaluate(oracle_ctx)
    assert out.details["events"] == events and out.details["rows"] == int(ev.storm.sum())
    with pytest.raises(GateError, match=f"{events} wave-present events; needs at least .* {events + 1} events"):
        MarginOverBaselines("brier", storm_only=True, min_events=events + 1).evaluate(oracle_ctx)
    with pytest.raises(GateError, match="needs at least"):
        MarginOverBaselines("brier", storm_only=True, min_rows=int(ev.storm.sum()) + 1).evaluate(oracle_ctx)


def test_no_extract_fails_closed(make_ctx: Any, oracle: Any) -> None:
    from registry.errors import DataMissing

    with pytest.raises(DataMissing):
        AccuracyGate().evaluate(make_ctx(oracle(), None))
