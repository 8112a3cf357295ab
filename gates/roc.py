"""Streaming ROC: the curve and its area from (score, event) pairs added tile by tile, exact or binned."""

from __future__ import annotations

from typing import Any

import numpy as np

from gates.ensemble import as_float_array
from registry.errors import GateError


def _scores_and_events(score: Any, event: Any) -> tuple[np.ndarray, np.ndarray]:
    s = as_float_array("score", score)
    e = as_float_array("event", event)
    if s.shape != e.shape:
        raise GateError(f"score shape {s.shape} does not match event shape {e.shape}")
    if not np.isfinite(s).all():
        raise GateError(f"score holds {int((~np.isfinite(s)).sum())} non-finite value(s)")
    if not ((e == 0) | (e == 1)).all():
        raise GateError("event must be 0 or 1")
    return s.ravel(), e.ravel() == 1


class ROCAccumulator:
    """ROC curve and AUC of ``(score, event)`` pairs added tile by tile (any shapes; score any finite number).

    Without ``edges`` it is **exact**: one count of events and of non-events per distinct score, so the curve and
    the AUC are those of ``gates.probabilistic.roc_curve``/``roc_auc`` (and scikit-learn) on the whole array. Its
    memory grows with the number of distinct scores: right for probabilities from an ensemble (k/m) or quantised
    scores, not for a billion continuous ones.

    With ``edges`` (strictly increasing) it is **binned**, in fixed memory: counts per bin [e_k, e_k+1), plus one
    below e_0 and one from the last edge up; the curve has one point per filled bin, "event if score ≥ its lower
    edge" (−inf for the lowest bin). Pairs of an event and a non-event in different bins are ordered the same way
    by their bins as by their scores; a pair in one bin counts ½ where its exact share is 0, ½ or 1. So the AUC is
    within ``auc_bound`` = ½ Σ_b P_b·N_b / (P·N) of the exact one, summed over bins whose scores are not all equal
    (``auc_bound`` is computed from the counts; scores that all lie on the edges give the exact result and 0).
    """

    def __init__(self, edges: Any = None) -> None:
        self.edges: np.ndarray | None = None
        self.scores = np.empty(0)  # exact: the distinct scores seen; binned: each bin's lower edge
        if edges is not None:
            e = as_float_array("edges", edges).copy()  # the caller's array may change later
            if e.ndim != 1 or len(e) < 1 or not np.isfinite(e).all() or not (np.diff(e) > 0).all():
                raise GateError("edges must be one or more strictly increasing finite values")
            self.edges = e
            self.scores = np.r_[-np.inf, e]
        self.low, self.high = np.full(len(self.scores), np.inf), np.full(len(self.scores), -np.inf)
        self.pos = np.zeros(len(self.scores), dtype=np.int64)
        self.neg = np.zeros(len(self.scores), dtype=np.int64)

    def update(self, score: Any, event: Any) -> None:
        """Count one tile of scores and their events (0 or 1, same shape)."""
        s, e = _scores_and_events(score, event)
        if self.edges is not None:
            idx = np.searchsorted(self.edges, s, side="right")
            np.minimum.at(self.low, idx, s)
            np.maximum.at(self.high, idx, s)
            self.pos += np.bincount(idx[e], minlength=len(self.pos))
            self.neg += np.bincount(idx[~e], minlength=len(self.neg))
            return
        merged, where = np.unique(np.r_[self.scores, s], return_inverse=True)
        old, new = where[:len(self.scores)], where[len(self.scores):]
        pos = np.bincount(new[e], minlength=len(merged))
        neg = np.bincount(new[~e], minlength=len(merged))
        pos[old] += self.pos
        neg[old] += self.neg
        self.scores, self.pos, self.neg = merged, pos, neg

    def _totals(self) -> tuple[int, int]:
        p, n = int(self.pos.sum()), int(self.neg.sum())
        if p == 0 or n == 0:
            raise GateError(f"ROC needs both events and non-events; {p} event(s) and {n} non-event(s) were added")
        return p, n

    def curve(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(false positive rate, true positive rate, thresholds)`` from the highest score (or bin) down,
        starting at (0, 0) with threshold +inf, one point per distinct score (or filled bin)."""
        p, n = self._totals()
        filled = (self.pos + self.neg)[::-1] > 0
        tp = np.cumsum(self.pos[::-1])[filled]
        fp = np.cumsum(self.neg[::-1])[filled]
        return np.r_[0.0, fp / n], np.r_[0.0, tp / p], np.r_[np.inf, self.scores[::-1][filled]]

    def result(self) -> float:
        """Area under the ROC curve (trapezoids; ties count one half): 0.5 is no skill, 1 perfect."""
        fpr, tpr, _ = self.curve()
        return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))

    @property
    def auc_bound(self) -> float:
        """Largest possible |binned AUC − exact AUC| given the counts (0 when exact)."""
        p, n = self._totals()
        if self.edges is None:
            return 0.0
        spread = self.high > self.low  # bins holding more than one distinct score
        return float(0.5 * np.sum(self.pos[spread] * self.neg[spread]) / (p * n))
