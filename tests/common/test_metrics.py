"""common.metrics: one vocabulary (top1, top5, per-class precision/recall, confusion matrix) for every part."""
from __future__ import annotations

import numpy as np
import pytest

from common.metrics import classification_metrics, recall_per_class


def one_hot(predicted, n):
    scores = np.full((len(predicted), n), 0.1 / max(1, n - 1))
    scores[np.arange(len(predicted)), predicted] = 0.9
    return scores


def test_a_worked_example():
    # truth:     a a a b b c ; predicted: a a b b a c
    m = classification_metrics(one_hot([0, 0, 1, 1, 0, 2], 3), [0, 0, 0, 1, 1, 2], ["a", "b", "c"])
    assert m["top1"] == pytest.approx(4 / 6) and m["count"] == 6
    assert m["confusion_matrix"] == [[2, 1, 0], [1, 1, 0], [0, 0, 1]]  # rows: true class
    assert m["per_class"]["a"] == {"precision": pytest.approx(2 / 3), "recall": pytest.approx(2 / 3), "support": 3}
    assert m["per_class"]["b"]["precision"] == pytest.approx(1 / 2) and m["per_class"]["b"]["recall"] == 0.5
    assert m["per_class"]["c"] == {"precision": 1.0, "recall": 1.0, "support": 1}
    assert "top5" not in m  # fewer than five classes
    assert m["loss"] == pytest.approx(-(4 * np.log(0.9) + 2 * np.log(0.05)) / 6)


def test_precision_and_recall_on_an_asymmetric_confusion_matrix():
    """Precision divides by what was *predicted* as the class (a column), recall by the class's photos (a row): on
    a matrix that is not symmetric the two differ, by hand:
    truth a a a a b c c ; predicted a a b c b b c  ->  rows a: [2, 1, 1], b: [0, 1, 0], c: [0, 1, 1]
    a: precision 2/2, recall 2/4; b: precision 1/3, recall 1/1; c: precision 1/2, recall 1/2."""
    m = classification_metrics(one_hot([0, 0, 1, 2, 1, 1, 2], 3), [0, 0, 0, 0, 1, 2, 2], ["a", "b", "c"])
    assert m["confusion_matrix"] == [[2, 1, 1], [0, 1, 0], [0, 1, 1]]
    assert m["per_class"]["a"] == {"precision": 1.0, "recall": 0.5, "support": 4}
    assert m["per_class"]["b"] == {"precision": pytest.approx(1 / 3), "recall": 1.0, "support": 1}
    assert m["per_class"]["c"] == {"precision": 0.5, "recall": 0.5, "support": 2}
    assert recall_per_class(m) == {"a": 0.5, "b": 1.0, "c": 0.5}


def test_exact_ties_count_for_the_lower_index_as_the_classifier_shows_them():
    """Quantized models tie exactly (uint8 scores); top-1 follows the ranking users see (device.postprocess: ties
    go to the lower index), so a photo of class a scored a = b counts as right, one of class b as wrong."""
    tied = np.array([[64, 64, 10], [64, 64, 10], [5, 100, 100]], np.uint8) / 256.0
    m = classification_metrics(tied, [0, 1, 2], ["a", "b", "c"])
    assert m["top1"] == pytest.approx(1 / 3)
    assert m["confusion_matrix"] == [[1, 0, 0], [1, 0, 0], [0, 1, 0]]


def test_undefined_per_class_values_are_none_not_zero():
    m = classification_metrics(one_hot([0, 0], 3), [0, 0], ["a", "b", "c"])
    assert m["per_class"]["b"] == {"precision": None, "recall": None, "support": 0}
    assert recall_per_class(m) == {"a": 1.0, "b": None, "c": None}


def test_top5_and_agreement_with_a_reference():
    rng = np.random.default_rng(0)
    scores = rng.random((40, 7))
    truth = rng.integers(0, 7, 40)
    m = classification_metrics(scores, truth, list("abcdefg"), reference_scores=scores[:, ::-1])
    top5 = np.argsort(-scores, axis=1)[:, :5]
    assert m["top5"] == pytest.approx(np.mean([t in row for t, row in zip(truth, top5)]))
    assert m["agreement_with_keras"] == pytest.approx(np.mean(scores.argmax(1) == scores[:, ::-1].argmax(1)))
    assert m["mean_abs_score_diff"] == pytest.approx(np.abs(scores - scores[:, ::-1]).mean())


def test_numpy_only():
    import subprocess
    import sys

    code = "import sys, common.metrics, common.gates, common.run_folder, common.requirements; " \
           "print(sorted(m for m in ('tensorflow', 'matplotlib', 'tf_keras') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stderr


def test_evaluation_roles_say_which_photos_chose_the_model():
    from common.metrics import VALIDATION_ONLY_NOTE, evaluation_roles

    with_test = evaluation_roles(["val", "test"])
    assert with_test["roles"] == {"val": "validation (used for selection)", "test": "test (never used for any decision)"}
    assert with_test["unbiased_split"] == "test" and with_test["note"] is None
    val_only = evaluation_roles(["val"])
    assert val_only["unbiased_split"] is None and val_only["note"] == VALIDATION_ONLY_NOTE
    assert "validation numbers" in val_only["note"]


def test_accuracy_lines_print_each_number_with_its_role():
    from common.metrics import VALIDATION_ONLY_NOTE, accuracy_lines

    val = {"top1": 0.9, "count": 20}
    assert accuracy_lines({"val": val}) == ["top-1 on 20 validation (used for selection) photos: 0.9000",
                                            VALIDATION_ONLY_NOTE]
    assert accuracy_lines({"val": val, "test": {"top1": 0.85, "count": 10}}) == [
        "top-1 on 20 validation (used for selection) photos: 0.9000",
        "top-1 on 10 test (never used for any decision) photos: 0.8500"]
    assert accuracy_lines({}) == []
