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


@pytest.mark.parametrize(("call", "message"), [
    (lambda: confusion_matrix([1, 0], [1, 0, 1]), r"pred shape \(2,\) does not match truth shape \(3,\)"),
    (lambda: confusion_matrix([], []), "pred is empty: nothing to score"),
    (lambda: confusion_matrix([1, 2], [1, 0]), r"pred must be 0 or 1 \(a class label\), got other values"),
    (lambda: confusion_matrix([1, 0], [1, -1]), r"truth must be 0 or 1 \(a class label\), got other values"),
    (lambda: confusion_matrix(["a"], [1]), "pred must be numeric, got <U1"),
    (lambda: confusion_matrix([1], ["a"]), "truth must be numeric, got <U1"),
    (lambda: classification_scores([1, 0], [1, 0, 0]), r"pred shape \(2,\) does not match truth shape \(3,\)"),
    (lambda: regression_scores([1.0], [1.0, 2.0]), r"pred shape \(1,\) does not match truth shape \(2,\)"),
    (lambda: regression_scores([], []), "pred is empty: nothing to score"),
    (lambda: regression_scores([1.0, np.nan], [1.0, 2.0]), "pred or truth holds non-finite values"),
    (lambda: regression_scores([1.0, 2.0], [1.0, -np.inf]), "pred or truth holds non-finite values"),
    (lambda: regression_scores(["a"], [1.0]), "pred must be numeric, got <U1"),
    (lambda: regression_scores([1.0], ["a"]), "truth must be numeric, got <U1"),
    (lambda: regression_scores([1.0, 2.0], [1.0, 2.0], [1.0]), r"reference shape \(1,\) does not match truth shape "
                                                                r"\(2,\)"),
    (lambda: regression_scores([1.0, 2.0], [1.0, 2.0], [1.0, np.inf]), "reference or truth holds non-finite values"),
    (lambda: regression_scores([1.0, 2.0], [1.0, 2.0], ["a", "b"]), "reference must be numeric, got <U1"),
])
def test_error_messages_in_full(call, message):
    with pytest.raises(GateError, match=f"^{message}$"):
        call()


def test_labels_of_any_shape_and_type_count_once_each():
    pred = np.array([[1.0, 0.0], [1.0, 1.0]])
    truth = np.array([[True, False], [False, True]])
    assert confusion_matrix(pred, truth).tolist() == [[1, 1], [0, 2]]
    assert confusion_matrix(pred, truth).dtype == np.int64
    got = classification_scores(pred, truth, score=np.array([[0.9, 0.1], [0.4, 0.8]]))  # a 2-D score too
    assert got["confusion"] == [[1, 1], [0, 2]] and got["roc_auc"] == 1.0
    assert classification_scores([0, 1], [1, 0], score=[0.1, 0.9])["roc_auc"] == 0.0  # backwards
    assert classification_scores([1, 1], [1, 0])["roc_auc"] is None


@pytest.mark.parametrize(("truth", "majority"), [([1, 1, 0], 1), ([0, 0, 1], 0), ([0, 1, 0, 1], 0), ([1], 1)])
def test_the_baseline_always_predicts_the_majority_class_of_the_truth(truth, majority):
    got = classification_scores(np.zeros(len(truth), dtype=int), truth)
    base = got["baseline"]
    positives = sum(truth)
    if majority:  # every case predicted positive
        assert base["confusion"] == [[0, len(truth) - positives], [0, positives]]
    else:
        assert base["confusion"] == [[len(truth) - positives, 0], [positives, 0]]
    assert base["accuracy"] == max(positives, len(truth) - positives) / len(truth)
    assert base["balanced_accuracy"] == (0.5 if 0 < positives < len(truth) else 1.0)
    assert got["accuracy"] == (len(truth) - positives) / len(truth)  # the prediction's own scores beside it


def test_every_ratio_of_an_asymmetric_matrix():
    s = scores_of_matrix([[6, 2], [1, 3]])  # tn 6, fp 2, fn 1, tp 3
    assert s["accuracy"] == 9 / 12
    assert s["precision"] == 3 / 5 and s["recall"] == 3 / 4
    assert s["balanced_accuracy"] == (3 / 4 + 6 / 8) / 2
    assert s["f1"] == 6 / 9
    assert s["mcc"] == pytest.approx((3 * 6 - 2 * 1) / np.sqrt(5 * 4 * 8 * 7), rel=1e-15)
    worse = scores_of_matrix([[2, 6], [3, 1]])
    assert worse["mcc"] == pytest.approx((1 * 2 - 6 * 3) / np.sqrt(7 * 4 * 8 * 5), rel=1e-15) and worse["mcc"] < 0
    never = scores_of_matrix([[4, 0], [2, 0]])  # nothing predicted positive
    assert never["precision"] == 0.0 and never["f1"] == 0.0 and never["mcc"] == 0.0 and never["recall"] == 0.0
    assert never["balanced_accuracy"] == 0.5 and never["accuracy"] == 4 / 6
    always = scores_of_matrix([[0, 4], [0, 2]])  # everything predicted positive
    assert always["precision"] == 2 / 6 and always["recall"] == 1.0 and always["mcc"] == 0.0
    assert scores_of_matrix([[0, 0], [0, 0]])["accuracy"] == 0.0  # no cases: 0, not a division error
    missed = scores_of_matrix([[0, 0], [3, 0]])  # only positives, all missed
    assert missed["balanced_accuracy"] == 0.0 and missed["recall"] == 0.0


def test_regression_skill_in_closed_form_with_a_negative_bias():
    truth = np.array([0.0, 1.0, 2.0, 3.0])
    got = regression_scores(truth - 1.0, truth, truth + 2.0)  # errors −1 everywhere; the reference's +2
    assert got["rmse"] == 1.0 and got["mae"] == 1.0 and got["bias"] == -1.0
    assert got["r2"] == 1 - 1.0 / 1.25  # var(truth) = 1.25
    assert got["rmse_skill"] == 0.5 and got["mae_skill"] == 0.5 and got["bias_skill"] == 0.5
    assert got["r2_skill"] == 0.75  # 1 − MSE/MSE_ref = 1 − 1/4
    flipped = regression_scores(truth + 2.0, truth, truth - 1.0)  # the better one as the reference
    assert flipped["bias"] == 2.0 and flipped["bias_skill"] == -1.0 and flipped["r2_skill"] == -3.0
    unbiased_ref = regression_scores(truth - 1.0, truth, truth + np.array([1.0, -1.0, 1.0, -1.0]))
    assert unbiased_ref["bias_skill"] is None and unbiased_ref["rmse_skill"] == 0.0  # |bias_ref| = 0: nothing to beat
    assert regression_scores([1.0], [2.0])["r2"] != regression_scores([1.0], [2.0])["r2"]  # one value: NaN
    assert regression_scores(np.float32([1.5, 2.5]), [1.0, 2.0])["rmse"] == 0.5


def test_counts_of_a_large_grid_do_not_overflow():
    # a full-grid confusion matrix: the product under MCC's square root is ~1e20, past int64
    s = scores_of_matrix(np.array([[60_000, 40_000], [30_000, 70_000]], dtype=np.int64))
    want = (70_000 * 60_000 - 40_000 * 30_000) / np.sqrt(110_000.0 * 100_000 * 100_000 * 90_000)
    assert s["mcc"] == pytest.approx(want, rel=1e-12) and 0 < s["mcc"] < 1
    assert s["accuracy"] == 130_000 / 200_000


def test_balanced_accuracy_when_hits_equal_misses():
    assert scores_of_matrix([[3, 1], [2, 2]])["balanced_accuracy"] == (2 / 4 + 3 / 4) / 2  # tp = fn
    assert scores_of_matrix([[2, 2], [1, 3]])["balanced_accuracy"] == (3 / 4 + 2 / 4) / 2  # tn = fp
