"""Probability forecasts of binary events: Brier score and its Murphy decomposition, reliability, ROC."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gates.ensemble import as_float_array
from registry.errors import GateError


def probabilities_and_events(prob: Any, event: Any) -> tuple[np.ndarray, np.ndarray]:
    """Checked ``(prob, event)`` as float64 of one shape: probabilities in [0, 1], events 0 or 1, not empty."""
    p = as_float_array("prob", prob).astype(np.float64, copy=False)
    e = as_float_array("event", event).astype(np.float64, copy=False)
    if p.shape != e.shape:
        raise GateError(f"prob shape {p.shape} does not match event shape {e.shape}")
    if p.size == 0:
        raise GateError("prob is empty: nothing to score")
    if not ((p >= 0) & (p <= 1)).all():  # NaN fails this too
        raise GateError("prob must lie in [0, 1] (NaN is not a probability)")
    if not ((e == 0) | (e == 1)).all():
        raise GateError("event must be 0 or 1")
    return p, e


def bin_edges(bins: int | Any) -> np.ndarray:
    """``bins`` equal-width bins on [0, 1], or the given increasing edges from 0 to 1."""
    if isinstance(bins, int | np.integer) and not isinstance(bins, bool):
        if bins < 1:
            raise GateError(f"bins must be ≥ 1, got {bins}")
        return np.linspace(0.0, 1.0, int(bins) + 1)
    edges = as_float_array("bins", bins).astype(np.float64)
    if edges.ndim != 1 or len(edges) < 2 or edges[0] != 0 or edges[-1] != 1 or not (np.diff(edges) > 0).all():
        raise GateError("bins must be a count or strictly increasing edges from 0 to 1")
    return edges


@dataclass
class ProbabilityBins:
    """Sufficient statistics of (probability, event) pairs per probability bin; ``add`` them tile by tile.

    A forecast equal to an inner edge falls in the bin below it (bins are (e_k, e_k+1], the first [0, e_1]).
    """

    edges: np.ndarray
    n: np.ndarray = field(init=False)
    sum_p: np.ndarray = field(init=False)
    sum_p2: np.ndarray = field(init=False)
    sum_o: np.ndarray = field(init=False)
    sum_po: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        k = len(self.edges) - 1
        self.n, self.sum_p, self.sum_p2, self.sum_o, self.sum_po = (np.zeros(k) for _ in range(5))

    @classmethod
    def of(cls, prob: Any, event: Any, bins: int | Any = 10) -> ProbabilityBins:
        """The statistics of one array of forecasts."""
        acc = cls(bin_edges(bins))
        acc.add(prob, event)
        return acc

    def add(self, prob: Any, event: Any) -> None:
        """Count more pairs."""
        p, e = probabilities_and_events(prob, event)
        k = len(self.edges) - 1
        idx = np.searchsorted(self.edges[1:-1], p.ravel(), side="left")
        p, e = p.ravel(), e.ravel()
        self.n += np.bincount(idx, minlength=k)
        self.sum_p += np.bincount(idx, p, minlength=k)
        self.sum_p2 += np.bincount(idx, p * p, minlength=k)
        self.sum_o += np.bincount(idx, e, minlength=k)
        self.sum_po += np.bincount(idx, p * e, minlength=k)

    def decomposition(self) -> BrierDecomposition:
        """The Brier score and its terms (see ``BrierDecomposition``)."""
        total = self.n.sum()
        if total == 0:
            raise GateError("no forecasts were added")
        full = self.n > 0
        n, sp, sp2, so, spo = (a[full] for a in (self.n, self.sum_p, self.sum_p2, self.sum_o, self.sum_po))
        pbar, obar, base = sp / n, so / n, so.sum() / total
        return BrierDecomposition(
            brier=float((sp2 - 2 * spo + so).sum() / total),  # Σ (p − o)², with o² = o
            reliability=float((n * (pbar - obar) ** 2).sum() / total),
            resolution=float((n * (obar - base) ** 2).sum() / total),
            uncertainty=float(base * (1 - base)),
            within_bin_variance=float((sp2 - n * pbar**2).sum() / total),
            within_bin_covariance=float(2 * (spo - n * pbar * obar).sum() / total),
        )

    def reliability(self, level: float = 0.9) -> ReliabilityDiagram:
        """Reliability diagram data with consistency bars: where a reliable forecast's observed frequency
        falls with probability ``level`` given each bin's count and mean forecast (binomial quantiles)."""
        from scipy.stats import binom

        if not 0 < level < 1:
            raise GateError(f"level must lie in (0, 1), got {level}")
        with np.errstate(invalid="ignore", divide="ignore"):
            forecast = self.sum_p / self.n
            observed = self.sum_o / self.n
            tail = (1 - level) / 2
            lower = binom.ppf(tail, self.n, forecast) / self.n
            upper = binom.ppf(1 - tail, self.n, forecast) / self.n
        return ReliabilityDiagram(self.edges.copy(), forecast, observed, self.n.astype(np.int64), lower, upper,
                                  level)


@dataclass(frozen=True)
class BrierDecomposition:
    """Murphy's decomposition, generalised to binned continuous forecasts (Stephenson et al. 2008):
    ``brier = reliability − resolution + uncertainty + within_bin_variance − within_bin_covariance``; the last
    two vanish when the forecasts take one value per bin."""

    brier: float
    reliability: float
    resolution: float
    uncertainty: float
    within_bin_variance: float
    within_bin_covariance: float


@dataclass(frozen=True)
class ReliabilityDiagram:
    """Per bin: mean forecast, observed frequency, count and consistency bars (NaN where a bin is empty)."""

    edges: np.ndarray
    forecast: np.ndarray
    observed: np.ndarray
    counts: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    level: float

    def figure(self, title: str = "Reliability") -> dict[str, Any]:
        """A ``reliability`` figure spec for the scorecard (empty bins left out)."""
        keep = self.counts > 0
        return {"kind": "reliability", "title": title, "forecast": self.forecast[keep].tolist(),
                "observed": self.observed[keep].tolist(), "counts": self.counts[keep].tolist(),
                "lower": self.lower[keep].tolist(), "upper": self.upper[keep].tolist()}


def brier_decomposition(prob: Any, event: Any, bins: int | Any = 10) -> BrierDecomposition:
    """The Brier score and its Murphy decomposition over ``bins`` probability bins."""
    return ProbabilityBins.of(prob, event, bins).decomposition()


def reliability_diagram(prob: Any, event: Any, bins: int | Any = 10, level: float = 0.9) -> ReliabilityDiagram:
    """Reliability diagram data (bins, mean forecast, observed frequency, counts, consistency bars)."""
    return ProbabilityBins.of(prob, event, bins).reliability(level)


def roc_curve(score: Any, event: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(false positive rate, true positive rate, thresholds)``, one point per distinct score from the highest
    down, starting at (0, 0) with threshold +inf; needs both outcomes. ``score`` may be any real number."""
    s = as_float_array("score", score).astype(np.float64, copy=False).ravel()
    e = as_float_array("event", event).astype(np.float64, copy=False).ravel()
    if s.shape != e.shape:
        raise GateError(f"score has {s.size} values, event {e.size}")
    if not np.isfinite(s).all():
        raise GateError("score holds non-finite values")
    if not ((e == 0) | (e == 1)).all():
        raise GateError("event must be 0 or 1")
    positives = e.sum()
    if positives == 0 or positives == len(e):
        raise GateError("ROC needs both events and non-events")
    order = np.argsort(-s, kind="stable")
    s, e = s[order], e[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # last index of each run of equal scores
    tp = np.cumsum(e)[last]
    fp = last + 1 - tp
    return np.r_[0.0, fp / (len(e) - positives)], np.r_[0.0, tp / positives], np.r_[np.inf, s[last]]


def roc_auc(score: Any, event: Any) -> float:
    """Area under the ROC curve (trapezoids; ties count one half): 0.5 is no skill, 1 perfect."""
    fpr, tpr, _ = roc_curve(score, event)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
