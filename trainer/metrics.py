"""Classification metrics (numpy only) and the run folder's PNG plots (matplotlib, Agg backend)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Mapping, Sequence

import numpy as np

from common.atomic import atomic_path


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


def classification_metrics(probs: np.ndarray, y_true: Sequence[int], labels: Sequence[str]) -> Dict[str, Any]:
    """Top-1 accuracy, per-class precision/recall/support, confusion matrix and cross-entropy of ``probs``."""
    y = np.asarray(y_true, dtype=np.int64)
    pred = probs.argmax(axis=1)
    cm = confusion_matrix(y, pred, len(labels))
    per_class = {}
    for i, name in enumerate(labels):
        tp = int(cm[i, i])
        predicted = int(cm[:, i].sum())
        support = int(cm[i].sum())
        per_class[name] = {
            "precision": tp / predicted if predicted else 0.0,
            "recall": tp / support if support else 0.0,
            "support": support,
        }
    loss = nll(probs, y)
    return {
        "accuracy": float((pred == y).mean()) if len(y) else float("nan"),
        "loss": loss,
        "count": int(len(y)),
        "per_class": per_class,
        "confusion_matrix": cm.tolist(),
        "labels": list(labels),
    }


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def plot_training_curves(history: Mapping[str, List[Mapping[str, float]]], destination: Path) -> Path:
    """Loss and accuracy per epoch of each phase (phase 2 continues the epoch axis of phase 1)."""
    plt = _pyplot()
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
    offset = 0
    colors = {"phase1": ("tab:blue", "tab:orange"), "phase2": ("tab:green", "tab:red")}
    for phase, rows in history.items():
        if not rows:
            continue
        epochs = np.arange(offset + 1, offset + len(rows) + 1)
        c_train, c_val = colors.get(phase, ("tab:gray", "tab:purple"))
        for ax, key in ((ax_loss, "loss"), (ax_acc, "accuracy")):
            ax.plot(epochs, [r.get(key, np.nan) for r in rows], color=c_train, label=f"{phase} train")
            ax.plot(epochs, [r.get(f"val_{key}", np.nan) for r in rows], color=c_val, linestyle="--",
                    label=f"{phase} val")
        offset += len(rows)
    ax_loss.set_title("loss")
    ax_acc.set_title("accuracy")
    for ax in (ax_loss, ax_acc):
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(destination, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return destination


def plot_confusion_matrix(cm: Sequence[Sequence[int]], labels: Sequence[str], destination: Path,
                          title: str = "validation confusion matrix") -> Path:
    plt = _pyplot()
    matrix = np.asarray(cm)
    n = len(labels)
    size = max(4.0, 0.6 * n + 2.5)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xticklabels(labels, rotation=45, ha="right")
    ax.set_yticklabels(labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    top = matrix.max() if matrix.size else 0
    for i in range(n):
        for j in range(n):
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center",
                    color="white" if top and matrix[i, j] > top / 2 else "black")
    fig.tight_layout()
    with atomic_path(destination, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return destination
