"""Classification metrics: ONE vocabulary and ONE implementation (numpy only, so the device environment can use it).

The vocabulary, used in every JSON file edge-kit writes (``metrics.json``, ``history.json`` rows,
``tflite/report.json``, ``classify.json``, ``report.json``):

* ``top1``: fraction of photos whose highest score is the true class (``val_top1`` for the validation photos in
  per-epoch rows); ``top5``: the true class among the five highest (only with five classes or more);
* ``per_class``: ``{label: {"precision", "recall", "support"}}``; recall is the class's top-1 accuracy; ``None``
  where undefined (no photo of the class, or none predicted as it);
* ``confusion_matrix``: ``cm[i][j]`` photos of class ``i`` predicted as class ``j`` (rows: true class);
* ``loss``: mean cross-entropy of the true class's probability; ``count``: number of photos; ``labels``;
* given reference scores (the Keras model's): ``agreement_with_keras`` (same top-1) and ``mean_abs_score_diff``.
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np


#: How the trainer's numbers are labelled in ``metrics.json`` (``"evaluation"``) and in the report: validation photos
#: chose the model (early stopping, phase choice), so their accuracy flatters it; test photos chose nothing.
SPLIT_ROLES = {"val": "validation (used for selection)", "test": "test (never used for any decision)"}
#: The validation photos' role when, after choosing, the head was also fitted on them (``refit_head``).
VAL_TRAINED_ROLE = "validation (used for selection, then also to fit the head)"
#: Said plainly when there is no test split.
VALIDATION_ONLY_NOTE = ("These are validation numbers: the same photos chose the model (fine-tuning or not), so they "
                        "flatter it. Hold out a test split (a test/ folder, or test_split) for numbers that no "
                        "decision saw.")
#: Said instead when the head was also fitted on the validation photos.
VALIDATION_TRAINED_NOTE = ("The head was also fitted on the validation photos, so their numbers are not an estimate; "
                           "the cross-validated top-1 of the head (metrics.json, head.cv_top1) is one. Hold out a "
                           "test split (a test/ folder, or test_split) for numbers that no decision saw.")


def evaluation_roles(scored: Sequence[str], val_trained: bool = False) -> Dict[str, Any]:
    """``metrics.json``'s ``"evaluation"`` block for the splits in ``scored`` ("val", "test"): the role of each, the
    split whose numbers are unbiased (``"test"`` or None) and, without a test split, a note saying what the
    validation numbers are. ``val_trained``: the head was also fitted on the validation photos."""
    roles = dict(SPLIT_ROLES, val=VAL_TRAINED_ROLE) if val_trained else SPLIT_ROLES
    out: Dict[str, Any] = {"roles": {name: roles[name] for name in scored if name in roles}}
    out["unbiased_split"] = "test" if "test" in scored else None
    out["note"] = None if "test" in scored else (VALIDATION_TRAINED_NOTE if val_trained else VALIDATION_ONLY_NOTE)
    return out


def accuracy_lines(metrics: Mapping[str, Any]) -> List[str]:
    """The accuracy lines ``edge-train`` and ``edge-kit`` print from ``metrics.json``: each split's top-1 with its
    role, and without a test split :data:`VALIDATION_ONLY_NOTE`."""
    lines = []
    evaluation = metrics.get("evaluation") if isinstance(metrics.get("evaluation"), Mapping) else {}
    roles = {**SPLIT_ROLES, **(evaluation.get("roles") or {})}
    for name in ("val", "test"):
        block = metrics.get(name)
        if isinstance(block, Mapping) and isinstance(block.get("top1"), (int, float)):
            lines.append(f"top-1 on {block.get('count')} {roles[name]} photos: {block['top1']:.4f}")
    if lines and not isinstance(metrics.get("test"), Mapping):
        lines.append(evaluation.get("note") or VALIDATION_ONLY_NOTE)
    return lines


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], n_classes: int) -> np.ndarray:
    """``cm[i, j]`` = number of photos of class ``i`` predicted as class ``j``."""
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return cm


def nll(probs: np.ndarray, y_true: Sequence[int]) -> float:
    """Mean cross-entropy of the true classes' probabilities (the validation loss early stopping watches)."""
    y = np.asarray(y_true, dtype=np.int64)
    if not len(y):
        return float("nan")
    return float(-np.mean(np.log(np.clip(probs[np.arange(len(y)), y], 1e-7, 1.0))))


def per_class(cm: np.ndarray, labels: Sequence[str]) -> Dict[str, Dict[str, Any]]:
    """Precision, recall and support of each class from a confusion matrix (rows: true class)."""
    out: Dict[str, Dict[str, Any]] = {}
    for i, name in enumerate(labels):
        tp = int(cm[i, i])
        predicted = int(cm[:, i].sum())
        support = int(cm[i].sum())
        out[name] = {"precision": tp / predicted if predicted else None,
                     "recall": tp / support if support else None,
                     "support": support}
    return out


def classification_metrics(scores: np.ndarray, y_true: Sequence[int], labels: Sequence[str],
                           reference_scores: Optional[np.ndarray] = None) -> Dict[str, Any]:
    """Every metric of the vocabulary above for ``scores`` (N x classes probabilities) against ``y_true``."""
    scores = np.asarray(scores)
    y = np.asarray(y_true, dtype=np.int64)
    pred = scores.argmax(axis=1) if len(y) else np.zeros(0, dtype=np.int64)
    cm = confusion_matrix(y, pred, len(labels))
    out: Dict[str, Any] = {"top1": float((pred == y).mean()) if len(y) else float("nan")}
    if len(labels) >= 5 and len(y):
        top5 = np.argsort(-scores, axis=1, kind="stable")[:, :5]
        out["top5"] = float(np.mean([t in row for t, row in zip(y, top5)]))
    out.update({"loss": nll(scores, y), "count": int(len(y)), "per_class": per_class(cm, labels),
                "confusion_matrix": cm.tolist(), "labels": list(labels)})
    if reference_scores is not None:
        reference_scores = np.asarray(reference_scores)
        out["agreement_with_keras"] = float((pred == reference_scores.argmax(axis=1)).mean())
        out["mean_abs_score_diff"] = float(np.abs(scores - reference_scores).mean())
    return out


def recall_per_class(metrics: Mapping[str, Any]) -> Dict[str, Optional[float]]:
    """``{label: recall}`` (each class's top-1 accuracy) of a :func:`classification_metrics` result."""
    return {label: entry.get("recall") for label, entry in metrics.get("per_class", {}).items()}
