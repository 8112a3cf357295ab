"""DeepECH presence gates: each score held against the majority class and the (L, MLT) occurrence climatology."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gates.base import Outcome, Threshold, table
from gates.bootstrap import block_bootstrap
from gates.classification import classification_scores, scores_of_matrix
from gates.probabilistic import ProbabilityBins, roc_auc, roc_curve
from plugins.deepech.evaluation import (
    BOOTSTRAP_RESAMPLES,
    DEFAULT_SETUP,
    Evaluation,
    Setup,
    bootstrap_block,
    evaluate,
)
from registry.errors import GateError

LABEL_SCORES = ("accuracy", "balanced_accuracy", "precision", "recall", "f1")


def _matrix(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    p, t = pred.astype(bool), truth.astype(bool)
    return np.array([[np.sum(~t & ~p), np.sum(~t & p)], [np.sum(t & ~p), np.sum(t & p)]])


def _score_fn(metric: str) -> Callable[[np.ndarray, np.ndarray, np.ndarray], float]:
    if metric in LABEL_SCORES:
        return lambda pred, _prob, truth: scores_of_matrix(_matrix(pred, truth))[metric]
    if metric == "roc_auc":
        return lambda _pred, prob, truth: roc_auc(prob, truth) if 0 < truth.sum() < len(truth) else float("nan")
    if metric == "brier":
        return lambda _pred, prob, truth: float(np.mean((prob - truth) ** 2))
    raise ValueError(f"unknown score {metric!r}")


def _rows_of(ev: Evaluation, subset: np.ndarray | None) -> np.ndarray:
    return np.ones(len(ev.rows), bool) if subset is None else subset


class MarginOverBaselines:
    """``metric`` of the candidate minus a baseline's on the test window (for the Brier score: the Brier skill
    score), held above 0. ``against="majority"`` compares with the majority class (label scores: a classifier
    that always says the majority class scores exactly 0 margin on balanced accuracy, recall and F1 however high
    its accuracy, and fails); ``"best"`` with the better of the majority class and the (L, MLT) occurrence
    climatology (probability scores). ``on="lower"`` holds the lower 95 % block-bootstrap bound instead of the
    value. Every baseline's score is shown beside the candidate's."""

    version = "1"

    def __init__(self, metric: str, *, against: str = "best", on: str = "value", storm_only: bool = False,
                 min_events: int = 0, min_rows: int = 0, setup: Setup = DEFAULT_SETUP) -> None:
        if against not in ("majority", "best"):
            raise ValueError(f"against must be 'majority' or 'best', got {against!r}")
        self.metric, self.against, self.on = metric, against, on
        self.storm_only = storm_only
        self.min_events, self.min_rows, self.setup = min_events, min_rows, setup
        where = (f"storm rows (SYM-H ≤ {setup.storm_symh_nt:g} nT) of the test window" if storm_only
                 else "the test window")
        base = "majority class" if against == "majority" else "better of majority class and (L, MLT) climatology"
        self.name = (f"{'storm-' if storm_only else ''}{metric.replace('_', '-')}-vs-"
                     f"{'majority' if against == 'majority' else 'baselines'}")
        what = "Brier skill score" if metric == "brier" else f"{metric} − baseline {metric}"
        bound = "lower 95 % bootstrap bound" if on == "lower" else "value"
        self.description = f"{what} on {where} (baseline: {base}, fitted on the training window); {bound} > 0"

    def _margin(self, metric_fn: Callable[..., float], pred: np.ndarray, prob: np.ndarray, truth: np.ndarray,
                bases: list[tuple[np.ndarray, np.ndarray]]) -> float:
        mine = metric_fn(pred, prob, truth)
        theirs = [metric_fn(bp, bq, truth) for bp, bq in bases]
        if self.metric == "brier":
            best = min(theirs)
            return 1.0 - mine / best if best > 0 else float("nan")
        return mine - max(theirs)

    def evaluate(self, ctx: Any) -> Outcome:
        ev = evaluate(ctx, self.setup)
        keep = ev.storm if self.storm_only else _rows_of(ev, None)
        truth = ev.present[keep].astype(np.float64)
        events = int(truth.sum())
        if keep.sum() < self.min_rows or events < self.min_events:
            raise GateError(f"{self.name}: {int(keep.sum())} rows with {events} wave-present events; needs at least "
                            f"{self.min_rows} rows and {self.min_events} events to be judged")
        pred, prob = ev.predicted[keep], ev.prob[keep]
        bases = [(b[0][keep], b[1][keep]) for name, b in ev.baselines().items()
                 if self.against == "best" or name == "majority"]
        fn = _score_fn(self.metric)
        idx = np.arange(int(keep.sum()))

        def stat(i: np.ndarray) -> float:
            return self._margin(fn, pred[i], prob[i], truth[i], [(bp[i], bq[i]) for bp, bq in bases])

        value = stat(idx)
        interval = block_bootstrap(stat, idx, rng=ctx.rng(self.name), block=bootstrap_block(len(idx)),
                                   n_resamples=BOOTSTRAP_RESAMPLES)
        scores = {"candidate": fn(pred, prob, truth)} | {
            name: fn(b[0][keep], b[1][keep], truth) for name, b in ev.baselines().items()}
        rows = [{"forecast": k, self.metric: v} for k, v in scores.items()]
        return Outcome.held_to(
            value, Threshold(">", 0.0, on=self.on), interval=interval.as_json(),
            message=_message(self, value, interval, scores, int(keep.sum()), events),
            details={"table": table(rows, ["forecast", self.metric], f"{self.metric} on {int(keep.sum())} rows"),
                     "scores": scores, "rows": int(keep.sum()), "events": events,
                     "climatology_fallbacks": ev.clim_fallbacks})


def _message(gate: MarginOverBaselines, value: float, interval: Any, scores: dict[str, float], n: int,
             events: int) -> str:
    shown = ", ".join(f"{k} {v:.3f}" for k, v in scores.items())
    base = "majority class" if gate.against == "majority" else "best baseline"
    what = f"Brier skill vs {base}" if gate.metric == "brier" else f"{gate.metric} margin over {base}"
    held = interval.lower if gate.on == "lower" else value
    verdict = ("lower bound " if gate.on == "lower" else "") + ("above" if held > 0 else "not above")
    return (f"{what} {value:.4f} [{interval.lower:.4f}, {interval.upper:.4f}] at 95 % ({verdict} 0) on {n} rows, "
            f"{events} events; {shown}")


class AccuracyGate:
    """Accuracy on the test window held to the published 0.912 (a configurable threshold, not a truth);
    the majority class's accuracy is shown beside it (high under imbalance, which is why the margin gates exist)."""

    name = "accuracy"
    version = "2"  # 2: a test window of one class is judged on accuracy (it raised before its ROC fallback)

    def __init__(self, minimum: float = 0.912, setup: Setup = DEFAULT_SETUP) -> None:
        self.minimum, self.setup = minimum, setup
        self.description = f"accuracy on the test window ≥ {minimum:g} (upstream published 0.912)"

    def evaluate(self, ctx: Any) -> Outcome:
        ev = evaluate(ctx, self.setup)
        both = 0 < ev.present.sum() < len(ev.present)  # ROC needs both classes; accuracy does not
        scores = classification_scores(ev.predicted.astype(float), ev.present.astype(float),
                                       ev.prob if both else None)
        idx = np.arange(len(ev.rows))
        interval = block_bootstrap(lambda i: float(np.mean(ev.predicted[i] == ev.present[i])), idx,
                                   rng=ctx.rng("accuracy"), block=bootstrap_block(len(idx)),
                                   n_resamples=BOOTSTRAP_RESAMPLES)
        fpr, tpr, _ = roc_curve(ev.prob, ev.present.astype(float)) if both \
            else (np.array([0.0, 1.0]), np.array([0.0, 1.0]), None)
        curves = {"candidate": {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "auc": scores["roc_auc"]}}
        if both:
            cf, ct, _ = roc_curve(ev.clim_prob, ev.present.astype(float))
            curves["lmlt_climatology"] = {"fpr": cf.tolist(), "tpr": ct.tolist(),
                                          "auc": roc_auc(ev.clim_prob, ev.present.astype(float))}
        shown = {k: scores[k] for k in (*LABEL_SCORES, "roc_auc")}
        return Outcome.held_to(
            scores["accuracy"], Threshold(">=", self.minimum), interval=interval.as_json(),
            details={"scores": shown, "majority": scores["baseline"], "confusion": scores["confusion"],
                     "test_rows": len(ev.rows), "training_rows": ev.training_rows,
                     "training_rate": ev.training_rate, "threshold": ev.threshold, "split": self.setup.to_json()},
            figures=({"kind": "roc", "title": "ROC on the test window", "curves": curves},))


class ReliabilityGate:
    """The reliability term of the probability's Brier decomposition (0 is perfectly calibrated), with the
    baselines' beside it and the reliability diagram."""

    name = "reliability"
    version = "1"

    def __init__(self, maximum: float = 0.02, bins: int = 10, setup: Setup = DEFAULT_SETUP) -> None:
        self.maximum, self.bins, self.setup = maximum, bins, setup
        self.description = f"Brier reliability term of the probability on the test window ≤ {maximum:g}"

    def evaluate(self, ctx: Any) -> Outcome:
        ev = evaluate(ctx, self.setup)
        truth = ev.present.astype(np.float64)
        acc = ProbabilityBins.of(ev.prob, truth, self.bins)
        mine = acc.decomposition()
        rows = [{"forecast": "candidate", **_terms(mine)}]
        for name, (_pred, prob) in ev.baselines().items():
            rows.append({"forecast": name, **_terms(ProbabilityBins.of(prob, truth, self.bins).decomposition())})
        return Outcome.held_to(
            mine.reliability, Threshold("<=", self.maximum),
            details={"table": table(rows, ["forecast", "brier", "reliability", "resolution", "uncertainty"],
                                    "Brier decomposition on the test window")},
            figures=(acc.reliability().figure("Reliability of P(ECH present), test window"),))


def _terms(d: Any) -> dict[str, float]:
    return {"brier": d.brier, "reliability": d.reliability, "resolution": d.resolution, "uncertainty": d.uncertainty}
