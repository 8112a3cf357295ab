"""Scores of yes/no predictions (confusion matrix and its ratios) and of continuous ones (R², errors, skill)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gates.ensemble import as_float_array
from gates.probabilistic import roc_auc
from registry.errors import GateError


def _labels(pred: Any, truth: Any) -> tuple[np.ndarray, np.ndarray]:
    p, t = as_float_array("pred", pred).ravel(), as_float_array("truth", truth).ravel()
    if np.shape(pred) != np.shape(truth):
        raise GateError(f"pred shape {np.shape(pred)} does not match truth shape {np.shape(truth)}")
    if p.size == 0:
        raise GateError("pred is empty: nothing to score")
    for name, a in (("pred", p), ("truth", t)):
        if not ((a == 0) | (a == 1)).all():
            raise GateError(f"{name} must be 0 or 1 (a class label), got other values")
    return p.astype(bool), t.astype(bool)


def confusion_matrix(pred: Any, truth: Any) -> np.ndarray:
    """``[[tn, fp], [fn, tp]]`` (rows: truth 0/1, columns: predicted 0/1)."""
    p, t = _labels(pred, truth)
    return np.array([[np.sum(~t & ~p), np.sum(~t & p)], [np.sum(t & ~p), np.sum(t & p)]], dtype=np.int64)


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den else 0.0  # no predicted (or true) positives: 0, as scikit-learn reports


def scores_of_matrix(matrix: Any) -> dict[str, float]:
    """Accuracy, balanced accuracy, precision, recall, F1 and Matthews' correlation of a 2 × 2 confusion matrix."""
    (tn, fp), (fn, tp) = np.asarray(matrix, dtype=np.float64)
    n = tn + fp + fn + tp
    recall = _ratio(tp, tp + fn)
    precision = _ratio(tp, tp + fp)
    specificity = _ratio(tn, tn + fp)
    den = math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return {
        "accuracy": _ratio(tp + tn, n),
        "balanced_accuracy": (recall + specificity) / 2 if (tp + fn) and (tn + fp) else recall or specificity,
        "precision": precision,
        "recall": recall,
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "mcc": _ratio(tp * tn - fp * fn, den),
    }


def classification_scores(pred: Any, truth: Any, score: Any = None) -> dict[str, Any]:
    """The scores of ``pred`` against ``truth``, beside those of always predicting the majority class of the
    truth (the baseline a presence detector must beat), and ROC-AUC when a continuous ``score`` is given.

    :returns: ``{"confusion": [[tn, fp], [fn, tp]], "accuracy", "balanced_accuracy", "precision", "recall", "f1",
        "mcc", "roc_auc" (or None), "baseline": {same for the majority class}}``.
    """
    p, t = _labels(pred, truth)
    matrix = confusion_matrix(p, t)
    majority = np.full(t.shape, t.mean() > 0.5)
    out: dict[str, Any] = {"confusion": matrix.tolist(), **scores_of_matrix(matrix)}
    out["roc_auc"] = None if score is None else roc_auc(np.ravel(score), t.astype(np.float64))
    out["baseline"] = {"confusion": confusion_matrix(majority, t).tolist(),
                       **scores_of_matrix(confusion_matrix(majority, t))}
    return out


def _pair(pred: Any, truth: Any, name: str = "pred") -> tuple[np.ndarray, np.ndarray]:
    p = as_float_array(name, pred).astype(np.float64, copy=False)
    t = as_float_array("truth", truth).astype(np.float64, copy=False)
    if p.shape != t.shape:
        raise GateError(f"{name} shape {p.shape} does not match truth shape {t.shape}")
    if p.size == 0:
        raise GateError(f"{name} is empty: nothing to score")
    if not (np.isfinite(p).all() and np.isfinite(t).all()):
        raise GateError(f"{name} or truth holds non-finite values")
    return p, t


def regression_scores(pred: Any, truth: Any, reference: Any = None) -> dict[str, float | None]:
    """R², RMSE, MAE and bias (mean of pred − truth) and, given a ``reference`` forecast of the same rows, the
    skill of each against it: ``1 − score/reference`` for RMSE, MAE and |bias| (None where the reference is
    perfect) and ``1 − MSE/MSE_ref`` for R² (the same as (R² − R²_ref)/(1 − R²_ref))."""
    p, t = _pair(pred, truth)
    err = p - t
    mse = float(np.mean(err**2))
    var = float(np.var(t))
    out: dict[str, float | None] = {
        "r2": 1 - mse / var if var > 0 else float("nan"),  # a constant truth leaves nothing to explain
        "rmse": math.sqrt(mse), "mae": float(np.mean(np.abs(err))), "bias": float(np.mean(err)),
    }
    if reference is not None:
        r, _ = _pair(reference, t, "reference")
        ref_err = r - t
        ref = {"rmse": math.sqrt(float(np.mean(ref_err**2))), "mae": float(np.mean(np.abs(ref_err))),
               "bias": abs(float(np.mean(ref_err))), "r2": float(np.mean(ref_err**2))}
        mine = {"rmse": out["rmse"], "mae": out["mae"], "bias": abs(float(np.mean(err))), "r2": mse}
        for key in ("r2", "rmse", "mae", "bias"):
            out[f"{key}_skill"] = 1 - mine[key] / ref[key] if ref[key] > 0 else None  # type: ignore[operator]
    return out
