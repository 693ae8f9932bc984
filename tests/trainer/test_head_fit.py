"""trainer.head_fit: phase 1's head is a cross-validated linear probe folded into the model's Dense layer."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from trainer import head_fit


def blobs(n_per_class: int, classes: int, dim: int = 12, spread: float = 2.5, seed: int = 0):
    """Overlapping Gaussian classes, so that the regularisation matters and not every photo is right."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1, (classes, dim))
    x = np.concatenate([c + spread * rng.normal(0, 1, (n_per_class, dim)) for c in centres]) * 3 + 5
    y = np.repeat(np.arange(classes), n_per_class)
    return x.astype(np.float32), y


def probe(x, y, seed: int):
    """The benchmark's linear probe: scikit-learn's grid search, written independently of head_fit."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    search = GridSearchCV(make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000)),
                          {"logisticregression__C": list(head_fit.C_GRID)},
                          cv=StratifiedKFold(n_splits=5, shuffle=True, random_state=seed))
    return search.fit(x, y)


def test_the_head_is_the_cross_validated_probe_folded_into_dense_weights():
    x, y = blobs(40, 4)
    xt, yt = blobs(30, 4, seed=1)
    fit = head_fit.fit_head(x, y, 4, seed=3, balanced=False)
    reference = probe(x, y, seed=3)
    assert fit.C == pytest.approx(reference.best_params_["logisticregression__C"])
    # softmax(x @ kernel + bias) is the probe's predict_proba: the same answers on photos neither has seen
    np.testing.assert_allclose(fit.predict_proba(xt), reference.predict_proba(xt), atol=2e-4)
    assert fit.kernel.shape == (12, 4) and fit.kernel.dtype == np.float32
    assert fit.folds == 5 and len(fit.cv) == len(head_fit.C_GRID)
    assert fit.cv_top1 == pytest.approx(reference.best_score_, abs=0.02)  # warm starts: within a photo or two


def test_out_of_fold_probabilities_cover_every_training_photo():
    x, y = blobs(15, 3)
    fit = head_fit.fit_head(x, y, 3, seed=0)
    assert fit.oof_probs.shape == (45, 3)
    np.testing.assert_allclose(fit.oof_probs.sum(1), 1.0, atol=1e-6)
    assert fit.cv_top1 == pytest.approx((fit.oof_probs.argmax(1) == y).mean())


def test_two_classes_and_too_few_photos_to_cross_validate():
    x, y = blobs(10, 2)
    fit = head_fit.fit_head(x, y, 2, seed=0)
    p = fit.predict_proba(x)
    assert p.shape == (10 * 2, 2) and (p.argmax(1) == y).mean() > 0.6
    tiny_y = np.array([0, 0, 0, 1])  # one photo of class 1: no folds possible
    tiny = head_fit.fit_head(x[:4], tiny_y, 2, seed=0)
    assert tiny.folds == 0 and tiny.C == head_fit.FALLBACK_C and tiny.oof_probs is None


def test_a_class_without_training_photos_is_never_predicted():
    x, y = blobs(10, 3)
    keep = y != 2
    fit = head_fit.fit_head(x[keep], y[keep], 3, seed=0)
    assert not np.any(fit.predict_proba(x).argmax(1) == 2)


def test_a_saved_head_loads_back(tmp_path: Path):
    x, y = blobs(10, 3)
    fit = head_fit.fit_head(x, y, 3, seed=0)
    head_fit.save(tmp_path / "h.npz", fit)
    again = head_fit.load(tmp_path / "h.npz", len(y))
    np.testing.assert_array_equal(again.kernel, fit.kernel)
    assert again.C == fit.C and again.cv == fit.cv
    assert head_fit.load(tmp_path / "h.npz", len(y) + 1) is None  # fitted on other photos: not reused


@pytest.mark.slow
def test_on_a_small_real_split_the_head_is_not_worse_than_the_probe(flowers_dir, alpha035_weights, tmp_path):
    """Real photos (flowers, 24 a class) through the real backbone: the trainer's head against the benchmark's
    probe on the same features and split, scored on photos neither saw."""
    from trainer.dataset import discover, split_dataset
    from trainer.features import extract
    from trainer.images import build_image_cache
    from trainer.model import build_model
    from device.preprocess import PreprocessConfig

    found = discover(flowers_dir)
    items = [it for label in range(len(found.labels)) for it in
             [x for x in found.all_items() if x[1] == label][:24]]
    cache = build_image_cache(found.root, [p for p, _ in items], PreprocessConfig(96, 96), tmp_path / "img.npy",
                              verbose=False)
    parts = build_model(len(found.labels), 0.35, 96, str(alpha035_weights))
    feats, _ = extract(parts.backbone, cache, cache.rows([p for p, _ in items]), 32, "features", False)
    y = np.array([label for _, label in items])
    rng = np.random.default_rng(0)
    held = np.concatenate([rng.choice(np.flatnonzero(y == c), 8, replace=False) for c in range(len(found.labels))])
    train = np.setdiff1d(np.arange(len(y)), held)
    fit = head_fit.fit_head(feats[train], y[train], len(found.labels), seed=0)  # the trainer's defaults
    reference = probe(feats[train], y[train], seed=0)
    head_top1 = (fit.predict_proba(feats[held]).argmax(1) == y[held]).mean()
    probe_top1 = (reference.predict(feats[held]) == y[held]).mean()
    assert head_top1 >= probe_top1
