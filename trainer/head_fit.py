"""Phase 1: the classifier head, fitted like a linear probe and chosen by cross-validation on the training photos.

The head is a multinomial logistic regression on the frozen backbone's pooled features (standardised, L2 penalty),
which is exactly a ``Dense(n_classes, softmax)`` layer once the standardisation is folded into its weights. Its
regularisation strength ``C`` is chosen by stratified k-fold cross-validation on the training photos: every training
photo is scored once by a head that did not see it, so the choice rests on all of them, not on the few validation
photos (which only confirm it afterwards). The out-of-fold probabilities are kept: the dataset health check reads
them to find photos whose label looks wrong.

scikit-learn does the fitting (a training-side dependency; never imported by the device runtime). BLAS threads are
limited to one: on a small machine that is busy decoding, threaded BLAS makes lbfgs many times slower.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

#: The regularisation strengths tried (inverse L2 penalty on standardised features), weakest penalty last.
C_GRID: Sequence[float] = tuple(float(c) for c in np.logspace(-4, 1, 11))
#: Folds of the cross-validation (fewer when the smallest class has fewer training photos).
FOLDS = 5
#: Largest number of training photos the cross-validation fits on; above it a stratified subset chooses ``C``
#: (the final head still fits on every photo), so the choice costs the same beyond this size.
MAX_CV_PHOTOS = 4000
#: ``C`` used when the smallest class has fewer than two training photos and cross-validation is impossible.
FALLBACK_C = 0.01


@dataclass
class HeadFit:
    """A fitted head: ``softmax(features @ kernel + bias)``, and how it was chosen."""

    kernel: np.ndarray  #: features x classes, float32 (the standardisation folded in)
    bias: np.ndarray  #: classes, float32
    C: float  #: the chosen inverse L2 strength
    folds: int  #: folds of the cross-validation (0: none was possible)
    #: out-of-fold scores per C tried: {"C", "top1", "loss"} (mean over the training photos)
    cv: List[Dict[str, float]] = field(default_factory=list)
    #: out-of-fold probabilities at the chosen C, one row per training photo (rows of photos outside the
    #: cross-validated subset are NaN); None without cross-validation
    oof_probs: Optional[np.ndarray] = None

    @property
    def cv_top1(self) -> Optional[float]:
        """Out-of-fold top-1 of the chosen C (an honest estimate from the training photos alone)."""
        for row in self.cv:
            if row["C"] == self.C:
                return row["top1"]
        return None

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities of ``features`` (N x D), as the Dense softmax layer computes them."""
        logits = np.asarray(features, np.float64) @ self.kernel.astype(np.float64) + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def summary(self) -> Dict[str, object]:
        """The JSON form kept in the run's history: the choice and the cross-validation table."""
        return {"C": self.C, "folds": self.folds, "cv_top1": self.cv_top1, "cv": self.cv}


def _estimator(C: float, balanced: bool, seed: int):
    # Lazy: scikit-learn is needed for training only.
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=3000, class_weight="balanced" if balanced else None,
                              random_state=seed, warm_start=True)


def _standardise(x: np.ndarray):
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    std[std < 1e-12] = 1.0
    return mean, std


def _fit(x: np.ndarray, y: np.ndarray, n_classes: int, C: float, balanced: bool, seed: int):
    """(coef K x D, intercept K) of the logistic regression on standardised ``x``; classes absent from ``y`` get
    a very negative intercept, so the head never predicts a class it has no photo of."""
    present = np.unique(y)
    coef = np.zeros((n_classes, x.shape[1]), np.float64)
    intercept = np.full(n_classes, -1e4, np.float64)
    est = _estimator(C, balanced, seed).fit(x, y)
    if len(present) == 2:  # scikit-learn keeps one row for two classes: logit(b) - logit(a)
        coef[present[1]], intercept[present[1]] = est.coef_[0] / 2, est.intercept_[0] / 2
        coef[present[0]], intercept[present[0]] = -est.coef_[0] / 2, -est.intercept_[0] / 2
    else:
        coef[present], intercept[present] = est.coef_, est.intercept_
    return coef, intercept


def _cv_subset(y: np.ndarray, limit: int, seed: int) -> np.ndarray:
    """Row indices of a stratified subset of at most ``limit`` rows (all rows when there are fewer)."""
    if len(y) <= limit:
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    keep = []
    for label in np.unique(y):
        rows = np.flatnonzero(y == label)
        take = max(1, int(round(limit * len(rows) / len(y))))
        keep.append(rng.choice(rows, size=min(take, len(rows)), replace=False))
    return np.sort(np.concatenate(keep))


def fit_head(features: np.ndarray, labels: np.ndarray, n_classes: int, *, seed: int = 0,
             balanced: bool = True, c_grid: Sequence[float] = C_GRID, folds: int = FOLDS,
             max_cv_photos: int = MAX_CV_PHOTOS) -> HeadFit:
    """Choose ``C`` by stratified k-fold cross-validation on ``features``/``labels`` (out-of-fold top-1, ties to the
    lower out-of-fold loss), then fit the head on all of them.

    ``balanced``: weight the loss so every class counts the same (the trainer's ``class_weights``).
    """
    from sklearn.model_selection import StratifiedKFold
    from threadpoolctl import threadpool_limits

    x = np.asarray(features, np.float64)
    y = np.asarray(labels, np.int64)
    mean, std = _standardise(x)
    xs = (x - mean) / std
    counts = np.bincount(y, minlength=n_classes)
    k = int(min(folds, counts[counts > 0].min())) if len(y) else 0
    cv: List[Dict[str, float]] = []
    oof: Optional[np.ndarray] = None
    with threadpool_limits(1):
        if k >= 2:
            subset = _cv_subset(y, max_cv_photos, seed)
            xc, yc = xs[subset], y[subset]
            splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
            per_c = {float(c): np.zeros((len(yc), n_classes)) for c in c_grid}
            for train_rows, held_rows in splitter.split(xc, yc):
                # Ascending C with warm starts: each fit starts from the previous, more penalised solution.
                est = _estimator(float(c_grid[0]), balanced, seed)
                for c in sorted(float(v) for v in c_grid):
                    est.set_params(C=c)
                    est.fit(xc[train_rows], yc[train_rows])
                    probs = np.zeros((len(held_rows), n_classes))
                    probs[:, est.classes_] = est.predict_proba(xc[held_rows])
                    per_c[c][held_rows] = probs
            for c in sorted(per_c):
                p = per_c[c]
                cv.append({"C": c, "top1": float((p.argmax(1) == yc).mean()),
                           "loss": float(-np.log(np.clip(p[np.arange(len(yc)), yc], 1e-7, 1.0)).mean())})
            best = max(cv, key=lambda r: (r["top1"], -r["loss"]))
            C = best["C"]
            oof = np.full((len(y), n_classes), np.nan)
            oof[subset] = per_c[C]
        else:
            C = FALLBACK_C
        coef, intercept = _fit(xs, y, n_classes, C, balanced, seed)
    kernel = (coef / std).T
    bias = intercept - coef @ (mean / std)
    return HeadFit(kernel=kernel.astype(np.float32), bias=bias.astype(np.float32), C=float(C),
                   folds=k if k >= 2 else 0, cv=cv, oof_probs=oof)


def save(path: Path, fit: HeadFit) -> None:
    """Keep a fitted head in a checkpoint file (an interrupted training does not fit it again)."""
    import json

    from trainer import checkpoint as ckpt

    arrays = {"kernel": fit.kernel, "bias": fit.bias,
              "state": np.frombuffer(json.dumps({"C": fit.C, "folds": fit.folds, "cv": fit.cv}).encode("utf-8"),
                                     dtype=np.uint8)}
    if fit.oof_probs is not None:
        arrays["oof_probs"] = fit.oof_probs
    ckpt.write_npz(path, arrays)


def load(path: Path, n_train: int) -> Optional[HeadFit]:
    """The head :func:`save` kept, or None (no file, unreadable, or fitted on another number of photos)."""
    import json

    if not path.is_file():
        return None
    try:
        with np.load(path) as data:
            state = json.loads(bytes(data["state"]).decode("utf-8"))
            oof = data["oof_probs"] if "oof_probs" in data.files else None
            if oof is not None and len(oof) != n_train:
                return None
            return HeadFit(kernel=data["kernel"], bias=data["bias"], C=float(state["C"]), folds=int(state["folds"]),
                           cv=list(state["cv"]), oof_probs=oof)
    except (OSError, ValueError, KeyError):
        return None
