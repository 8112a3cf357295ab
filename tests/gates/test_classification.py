"""Classification and regression scores against scikit-learn, closed forms and their zero-division edges."""

from __future__ import annotations

import numpy as np
import pytest

from gates.classification import classification_scores, confusion_matrix, regression_scores, scores_of_matrix
from registry.errors import GateError


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_classification_matches_scikit_learn(seed):
    from sklearn import metrics as sk

    rng = np.random.default_rng(seed)
    truth = (rng.uniform(size=300) < 0.2).astype(int)
    score = truth + rng.normal(scale=0.8, size=300)
    pred = (score > 0.5).astype(int)
    got = classification_scores(pred, truth, score)
    assert got["confusion"] == sk.confusion_matrix(truth, pred).tolist()
    assert got["accuracy"] == pytest.approx(sk.accuracy_score(truth, pred), abs=1e-12)
    assert got["balanced_accuracy"] == pytest.approx(sk.balanced_accuracy_score(truth, pred), abs=1e-12)
    assert got["precision"] == pytest.approx(sk.precision_score(truth, pred), abs=1e-12)
    assert got["recall"] == pytest.approx(sk.recall_score(truth, pred), abs=1e-12)
    assert got["f1"] == pytest.approx(sk.f1_score(truth, pred), abs=1e-12)
    assert got["mcc"] == pytest.approx(sk.matthews_corrcoef(truth, pred), abs=1e-12)
    assert got["roc_auc"] == pytest.approx(sk.roc_auc_score(truth, score), abs=1e-12)
    base = got["baseline"]  # always "absent": accuracy 0.8-ish, but no skill
    assert base["confusion"][0][1] == 0 and base["confusion"][1][1] == 0
    assert base["accuracy"] == pytest.approx(1 - truth.mean()) and base["balanced_accuracy"] == 0.5
    assert base["mcc"] == 0.0 and base["f1"] == 0.0 and base["precision"] == 0.0


def test_closed_forms_and_zero_divisions():
    assert confusion_matrix([1, 0, 1, 1], [1, 0, 0, 1]).tolist() == [[1, 1], [0, 2]]
    s = scores_of_matrix([[1, 1], [0, 2]])
    assert s["precision"] == 2 / 3 and s["recall"] == 1.0 and s["accuracy"] == 0.75
    assert s["f1"] == 0.8 and s["balanced_accuracy"] == 0.75
    assert s["mcc"] == pytest.approx(2 / np.sqrt(3 * 2 * 2 * 1))
    perfect = scores_of_matrix([[5, 0], [0, 5]])
    assert perfect["mcc"] == 1.0 and perfect["f1"] == 1.0
    inverted = scores_of_matrix([[0, 5], [5, 0]])
    assert inverted["mcc"] == -1.0 and inverted["accuracy"] == 0.0
    only_negatives = scores_of_matrix([[3, 1], [0, 0]])  # no positives in the truth
    assert only_negatives["recall"] == 0.0 and only_negatives["balanced_accuracy"] == 0.75
    only_positives = scores_of_matrix([[0, 0], [1, 3]])
    assert only_positives["balanced_accuracy"] == 0.75
    assert classification_scores(1, 1)["accuracy"] == 1.0  # one element


def test_regression_scores_and_skill():
    from sklearn.metrics import mean_absolute_error, r2_score

    rng = np.random.default_rng(4)
    truth = rng.normal(10, 3, size=500)
    pred = truth + rng.normal(0.5, 1, size=500)
    reference = np.full(500, 10.0)  # climatology
    got = regression_scores(pred, truth, reference)
    assert got["r2"] == pytest.approx(r2_score(truth, pred), abs=1e-12)
    assert got["mae"] == pytest.approx(mean_absolute_error(truth, pred), abs=1e-12)
    assert got["rmse"] == pytest.approx(np.sqrt(np.mean((pred - truth) ** 2)), abs=1e-12)
    assert got["bias"] == pytest.approx(np.mean(pred - truth), abs=1e-12)
    r2_ref = r2_score(truth, reference)
    assert got["r2_skill"] == pytest.approx((got["r2"] - r2_ref) / (1 - r2_ref), abs=1e-12)
    ref = regression_scores(reference, truth)
    assert got["rmse_skill"] == pytest.approx(1 - got["rmse"] / ref["rmse"], abs=1e-12)
    assert got["mae_skill"] == pytest.approx(1 - got["mae"] / ref["mae"], abs=1e-12)
    assert got["bias_skill"] == pytest.approx(1 - abs(got["bias"]) / abs(ref["bias"]), abs=1e-12)
    same = regression_scores(pred, truth, pred)
    assert same["rmse_skill"] == 0.0 and same["r2_skill"] == 0.0
    assert regression_scores(pred, truth, truth)["rmse_skill"] is None  # a perfect reference leaves nothing to beat
    assert "rmse_skill" not in regression_scores(pred, truth)
    assert np.isnan(regression_scores([1.0, 2.0], [3.0, 3.0])["r2"])  # constant truth


@pytest.mark.parametrize(("call", "message"), [
    (lambda: confusion_matrix([1, 0], [1, 0, 1]), r"pred shape \(2,\) does not match truth shape \(3,\)"),
    (lambda: confusion_matrix([[1], [0]], [1, 0]), r"pred shape \(2, 1\)"),
    (lambda: confusion_matrix([], []), "pred is empty"),
    (lambda: confusion_matrix([1, 2], [1, 0]), "pred must be 0 or 1"),
    (lambda: confusion_matrix([1, 0], [0.5, 0]), "truth must be 0 or 1"),
    (lambda: confusion_matrix([1, np.nan], [1, 0]), "pred must be 0 or 1"),
    (lambda: regression_scores([1.0], [1.0, 2.0]), r"pred shape \(1,\)"),
    (lambda: regression_scores([1.0, np.inf], [1.0, 2.0]), "non-finite"),
    (lambda: regression_scores([1.0, 2.0], [1.0, 2.0], [1.0]), r"reference shape \(1,\)"),
    (lambda: regression_scores([], []), "pred is empty"),
])
def test_bad_input_is_one_clear_error(call, message):
    with pytest.raises(GateError, match=message):
        call()
