"""plugins.deepech.class_gates: scores against the majority class and the (L, MLT) climatology, with intervals.
The suite refuses a classifier that always says the majority class although its accuracy is high."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pytest

from gates.bootstrap import block_bootstrap, block_indices
from gates.classification import classification_scores
from gates.probabilistic import ProbabilityBins, roc_auc, roc_curve
from plugins.deepech.class_gates import AccuracyGate, MarginOverBaselines, ReliabilityGate
from plugins.deepech.evaluation import Setup, evaluate, lmlt_keys
from plugins.deepech.extracts import TRAIN_END, labelled_table, table_arrays
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


def interval_of(ctx: Any, stream: str, statistic: Any, n: int) -> dict[str, float]:
    """The recipe the gates promise: 300 resamples of half-hour blocks, from the run's stream named for the gate."""
    return block_bootstrap(statistic, np.arange(n), rng=ctx.rng(stream), block=min(30, n // 5),
                           n_resamples=300).as_json()


def test_margin_gate_names_and_descriptions() -> None:
    gate = MarginOverBaselines("balanced_accuracy", against="majority")
    assert gate.name == "balanced-accuracy-vs-majority"
    assert gate.description == ("balanced_accuracy − baseline balanced_accuracy on the test window (baseline: "
                                "majority class, fitted on the training window); value > 0")
    gate = MarginOverBaselines("roc_auc")  # defaults: the better baseline, the value, every test row
    assert (gate.name, gate.against, gate.on, gate.storm_only, gate.min_rows, gate.min_events) == (
        "roc-auc-vs-baselines", "best", "value", False, 0, 0)
    gate = MarginOverBaselines("brier", on="lower", storm_only=True, setup=Setup(storm_symh_nt=-80.0))
    assert gate.name == "storm-brier-vs-baselines"
    assert gate.description == (
        "Brier skill score on storm rows (SYM-H ≤ -80 nT) of the test window (baseline: better of majority class "
        "and (L, MLT) climatology, fitted on the training window); lower 95 % bootstrap bound > 0")
    with pytest.raises(ValueError, match="^against must be 'majority' or 'best', got 'climatology'$"):
        MarginOverBaselines("f1", against="climatology")


def test_an_unknown_score_is_an_error_not_a_verdict(oracle_ctx: Any) -> None:
    with pytest.raises(ValueError, match="^unknown score 'mcc'$"):
        MarginOverBaselines("mcc").evaluate(oracle_ctx)


def test_margin_gate_reports_its_scores_interval_and_message(oracle_ctx: Any) -> None:
    ev = evaluate(oracle_ctx)
    truth = ev.present
    gate = MarginOverBaselines("f1", against="majority")
    out = gate.evaluate(oracle_ctx)
    scores = {"candidate": classification_scores(ev.predicted, truth)["f1"], "majority": 0.0,
              "lmlt_climatology": classification_scores(ev.clim_prob > 0.5, truth)["f1"]}
    assert out.details["scores"] == pytest.approx(scores) and scores["lmlt_climatology"] > scores["candidate"]
    assert out.value == pytest.approx(scores["candidate"])  # against the majority class only, as configured
    assert out.details["table"] == {"title": "f1 on 420 rows", "columns": ["forecast", "f1"],
                                    "rows": [[k, pytest.approx(v)] for k, v in scores.items()]}
    assert (out.details["rows"], out.details["events"]) == (420, 80)
    assert out.details["climatology_fallbacks"] == ev.clim_fallbacks > 0

    def f1_margin(i: np.ndarray) -> float:
        return classification_scores(ev.predicted[i], truth[i])["f1"] - 0.0

    iv = interval_of(oracle_ctx, gate.name, f1_margin, 420)
    assert out.details["interval"] == pytest.approx(iv)
    assert out.message == (
        f"f1 margin over majority class {out.value:.4f} [{iv['lower']:.4f}, {iv['upper']:.4f}] at 95 % (above 0) "
        f"on 420 rows, 80 events; candidate {scores['candidate']:.3f}, majority 0.000, "
        f"lmlt_climatology {scores['lmlt_climatology']:.3f}")


@pytest.mark.parametrize("metric", ["accuracy", "balanced_accuracy", "precision", "recall", "f1"])
def test_each_label_score_is_the_confusion_matrix_score(oracle_ctx: Any, metric: str) -> None:
    ev = evaluate(oracle_ctx)
    out = MarginOverBaselines(metric).evaluate(oracle_ctx)
    expected = {"candidate": classification_scores(ev.predicted, ev.present)[metric],
                "majority": classification_scores(np.zeros(420, bool), ev.present)[metric],
                "lmlt_climatology": classification_scores(ev.clim_prob > 0.5, ev.present)[metric]}
    assert out.details["scores"] == pytest.approx(expected)
    assert out.value == pytest.approx(expected["candidate"] - max(expected["majority"], expected["lmlt_climatology"]))


def test_probability_scores_are_brier_and_roc_auc(oracle_ctx: Any) -> None:
    ev = evaluate(oracle_ctx)
    truth = ev.present.astype(float)
    brier = MarginOverBaselines("brier").evaluate(oracle_ctx).details["scores"]
    assert brier == pytest.approx({"candidate": np.mean((ev.prob - truth) ** 2),
                                   "majority": np.mean((ev.majority_prob - truth) ** 2),
                                   "lmlt_climatology": np.mean((ev.clim_prob - truth) ** 2)})
    auc = MarginOverBaselines("roc_auc").evaluate(oracle_ctx).details["scores"]
    assert auc == pytest.approx({"candidate": roc_auc(ev.prob, truth), "majority": 0.5,
                                 "lmlt_climatology": roc_auc(ev.clim_prob, truth)})
    assert MarginOverBaselines("roc_auc").description == (
        "roc_auc − baseline roc_auc on the test window (baseline: better of majority class and (L, MLT) "
        "climatology, fitted on the training window); value > 0")
    vs_majority = MarginOverBaselines("brier", against="majority").evaluate(oracle_ctx)
    assert vs_majority.message.startswith("Brier skill vs majority class ")
    assert vs_majority.value == pytest.approx(1 - brier["candidate"] / brier["majority"])


def test_margin_gate_on_the_lower_bound(oracle_ctx: Any) -> None:
    value = MarginOverBaselines("roc_auc").evaluate(oracle_ctx)
    lower = MarginOverBaselines("roc_auc", on="lower").evaluate(oracle_ctx)
    assert value.value == lower.value > 0 > lower.details["interval"]["lower"]
    assert value.passed and not lower.passed  # above the better baseline, not surely
    assert "at 95 % (above 0) on 420 rows" in value.message
    assert "at 95 % (lower bound not above 0) on 420 rows" in lower.message
    assert lower.message.startswith("roc_auc margin over best baseline ")
    storm = MarginOverBaselines("brier", on="lower", storm_only=True).evaluate(oracle_ctx)
    assert storm.passed and storm.message.startswith("Brier skill vs best baseline ")
    assert "(lower bound above 0) on 224 rows, 30 events; candidate " in storm.message


def test_roc_auc_is_undefined_on_a_window_of_one_class(labelled: Any, make_ctx: Any, oracle: Any) -> None:
    times, rows, present, amp = table_arrays(labelled)
    absent = present & (times < np.datetime64(TRAIN_END, "s"))  # no wave in the test window
    ctx = make_ctx(oracle(), labelled_table(rows, absent, np.where(absent, amp, np.nan)))
    with pytest.raises(GateError, match="not finite"):
        MarginOverBaselines("roc_auc").evaluate(ctx)
    out = AccuracyGate(0.5).evaluate(ctx)  # accuracy is still defined (ROC-AUC is not), its ROC figure a diagonal
    ev = evaluate(ctx)
    assert not ev.present.any() and out.value == pytest.approx(np.mean(~ev.predicted)) and out.passed
    assert out.details["scores"]["roc_auc"] is None
    assert out.figures[0]["curves"] == {"candidate": {"fpr": [0.0, 1.0], "tpr": [0.0, 1.0], "auc": None}}


@pytest.mark.parametrize("events", ["one", "all"])
def test_roc_is_drawn_from_one_event_and_not_for_a_window_of_events_only(labelled: Any, make_ctx: Any, oracle: Any,
                                                                         events: str) -> None:
    times, rows, present, amp = table_arrays(labelled)
    test = times >= np.datetime64(TRAIN_END, "s")
    if events == "one":
        labels = present & (~test | (np.cumsum(present & test) == 1))  # the test window's first wave only
    else:
        labels = present | test
    ctx = make_ctx(oracle(), labelled_table(rows, labels, np.where(labels, np.nan_to_num(amp, nan=10.0), np.nan)))
    out = AccuracyGate(0.0).evaluate(ctx)
    ev = evaluate(ctx)
    assert int(ev.present.sum()) == (1 if events == "one" else 420)
    curves = out.figures[0]["curves"]
    if events == "one":
        assert set(curves) == {"candidate", "lmlt_climatology"} and out.details["scores"]["roc_auc"] is not None
        assert curves["candidate"]["auc"] == pytest.approx(roc_auc(ev.prob, ev.present.astype(float)))
        # ROC-AUC is defined on every resample holding the one wave (once or more), undefined on those without
        idx = block_indices(420, 30, 300, ctx.rng("roc-auc-vs-baselines"))
        without = int((ev.present[idx].sum(axis=1) == 0).sum())
        assert 0 < without < 300
    else:
        assert curves == {"candidate": {"fpr": [0.0, 1.0], "tpr": [0.0, 1.0], "auc": None}}
        without = 300
    with pytest.raises(GateError, match=f"^the statistic was not finite on {without} resample"):
        MarginOverBaselines("roc_auc").evaluate(ctx)


def test_brier_skill_is_undefined_when_a_baseline_is_perfect(labelled: Any, make_ctx: Any, oracle: Any) -> None:
    # SYNTHETIC: the test window repeats the day's first 420 rows, whose (L, MLT) bins never saw a wave in training,
    # and holds no wave: the climatology says 0 there and is exactly right (Brier 0), so no skill can be measured
    _times, rows, _present, _amp = table_arrays(labelled)
    day = np.concatenate([rows[:1020], rows[:420]])
    keys = lmlt_keys(day)
    seen_first = {tuple(k) for k in keys[:420]}
    waves = np.array([i < 1020 and tuple(k) not in seen_first for i, k in enumerate(keys)])
    ctx = make_ctx(oracle(), labelled_table(day, waves, np.where(waves, 10.0, np.nan)))
    ev = evaluate(ctx)
    assert waves.sum() > 0 and not ev.present.any() and not ev.clim_prob.any() and ev.clim_fallbacks == 0
    with pytest.raises(GateError, match="^the statistic was not finite on 300 resample"):
        MarginOverBaselines("brier").evaluate(ctx)
    assert MarginOverBaselines("brier", against="majority").evaluate(ctx).value > 0  # the majority class is not


def test_margin_exactly_zero_is_not_above_zero(oracle_ctx: Any) -> None:
    out = MarginOverBaselines("f1", against="majority", on="lower").evaluate(oracle_ctx)
    assert out.details["interval"]["lower"] == 0.0 and not out.passed  # resamples where neither finds a wave
    assert "(lower bound not above 0)" in out.message


def test_storm_slice_minimum_rows_are_inclusive(oracle_ctx: Any) -> None:
    n = int(evaluate(oracle_ctx).storm.sum())
    out = MarginOverBaselines("brier", storm_only=True, min_rows=n).evaluate(oracle_ctx)
    assert out.details["rows"] == n == 224


def test_accuracy_gate_reports_what_it_measured(oracle_ctx: Any) -> None:
    ev = evaluate(oracle_ctx)
    out = AccuracyGate().evaluate(oracle_ctx)
    expected = classification_scores(ev.predicted, ev.present, ev.prob)
    assert out.details["scores"] == pytest.approx(
        {k: expected[k] for k in ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "roc_auc")})
    majority = dict(out.details["majority"])
    assert majority.pop("confusion") == [[340, 0], [80, 0]] == expected["baseline"].pop("confusion")
    assert majority == pytest.approx(expected["baseline"])
    assert out.details["confusion"] == expected["confusion"] == [[335, 5], [74, 6]]
    assert (out.details["test_rows"], out.details["training_rows"]) == (420, 1020)
    assert out.details["training_rate"] == pytest.approx(ev.training_rate) and out.details["threshold"] == 0.5
    assert out.details["split"] == {"test_from": "2015-01-01T17:00:00", "storm_symh_nt": -50.0}
    iv = interval_of(oracle_ctx, "accuracy", lambda i: float(np.mean(ev.predicted[i] == ev.present[i])), 420)
    assert out.details["interval"] == pytest.approx(iv)
    truth = ev.present.astype(float)
    fpr, tpr, _ = roc_curve(ev.prob, truth)
    cf, ct, _ = roc_curve(ev.clim_prob, truth)
    assert out.figures == ({"kind": "roc", "title": "ROC on the test window", "curves": {
        "candidate": {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "auc": pytest.approx(expected["roc_auc"])},
        "lmlt_climatology": {"fpr": cf.tolist(), "tpr": ct.tolist(),
                             "auc": pytest.approx(roc_auc(ev.clim_prob, truth))}}},)
    assert AccuracyGate(0.8).description == "accuracy on the test window ≥ 0.8 (upstream published 0.912)"
    later = Setup(test_from=datetime(2015, 1, 1, 12))  # the suite's own split: 720 test rows, not 420
    moved = AccuracyGate(setup=later).evaluate(oracle_ctx)
    assert moved.details["test_rows"] == 720 and moved.details["training_rows"] == 720
    assert MarginOverBaselines("accuracy", setup=later).evaluate(oracle_ctx).details["rows"] == 720
    reliability = ReliabilityGate(setup=later).evaluate(oracle_ctx)
    assert reliability.details["table"]["rows"][0][1] == pytest.approx(
        np.mean((evaluate(oracle_ctx, later).prob - evaluate(oracle_ctx, later).present) ** 2))  # its Brier score
    assert moved.value == pytest.approx(np.mean(evaluate(oracle_ctx, later).predicted == evaluate(oracle_ctx,
                                                                                                  later).present))


def test_reliability_gate_reports_the_decomposition_of_each_forecast(oracle_ctx: Any) -> None:
    ev = evaluate(oracle_ctx)
    truth = ev.present.astype(float)
    out = ReliabilityGate().evaluate(oracle_ctx)
    rows = []
    for name, prob in (("candidate", ev.prob), ("majority", ev.majority_prob), ("lmlt_climatology", ev.clim_prob)):
        d = ProbabilityBins.of(prob, truth, 10).decomposition()
        rows.append([name, *(pytest.approx(v) for v in (d.brier, d.reliability, d.resolution, d.uncertainty))])
    assert out.details["table"] == {"title": "Brier decomposition on the test window",
                                    "columns": ["forecast", "brier", "reliability", "resolution", "uncertainty"],
                                    "rows": rows}
    assert out.value == pytest.approx(rows[0][2]) and out.threshold == 0.02 and out.passed
    assert out.figures == (ProbabilityBins.of(ev.prob, truth, 10).reliability().figure(
        "Reliability of P(ECH present), test window"),)
    five = ReliabilityGate(bins=5).evaluate(oracle_ctx)
    assert five.value == pytest.approx(ProbabilityBins.of(ev.prob, truth, 5).decomposition().reliability)
    assert five.value != pytest.approx(out.value)
    clim5 = ProbabilityBins.of(ev.clim_prob, truth, 5).decomposition()
    assert five.details["table"]["rows"][2] == ["lmlt_climatology", *(pytest.approx(v) for v in (
        clim5.brier, clim5.reliability, clim5.resolution, clim5.uncertainty))]  # the baselines binned alike
    assert clim5.reliability != pytest.approx(rows[2][2])
    assert ReliabilityGate(maximum=out.value).evaluate(oracle_ctx).passed  # at the maximum: passes
    assert not ReliabilityGate(maximum=out.value * (1 - 1e-9)).evaluate(oracle_ctx).passed
    assert ReliabilityGate(0.05).description == "Brier reliability term of the probability on the test window ≤ 0.05"
