"""The health check at the end of a training: the test photos' features come from the backbone as it was when the
training and validation features were computed, even when fine-tuning has changed it since, and the fine-tuned
weights are put back."""
from __future__ import annotations

import json
import shutil

import numpy as np

from common import run_folder as rf
from device.preprocess import PreprocessConfig
from trainer import features, health
from trainer.dataset import discover, split_dataset
from trainer.images import build_image_cache
from trainer.model import build_model


def test_test_features_use_the_frozen_backbone_and_the_tuned_weights_stay(tmp_path, photos_dir):
    data = tmp_path / "photos"
    shutil.copytree(photos_dir, data)
    test_dir = data.parent / "held"
    (test_dir / "rose").mkdir(parents=True)
    shutil.copy(data / "rose" / "rose_02.jpg", test_dir / "rose" / "copy.jpg")  # a training photo, also in test
    prep = PreprocessConfig(96, 96)
    splits = split_dataset(discover(data), None, 0.2, 0.0, seed=0)
    splits.test = [("../held/rose/copy.jpg", 1)]
    cache = build_image_cache(data, [p for p, _ in splits.train + splits.val], prep, tmp_path / "c.npy", verbose=False)
    test_cache = build_image_cache(data, ["../held/rose/copy.jpg"], prep, tmp_path / "t.npy", verbose=False)
    parts = build_model(3, 0.35, 96, None)
    feats = {name: features.extract(parts.backbone, cache, cache.rows([p for p, _ in splits.items(name)]), 8, name,
                                    False)[0] for name in ("train", "val")}
    frozen = parts.backbone.get_weights()
    tuned = [w + np.random.default_rng(0).normal(0, 0.5, w.shape).astype(w.dtype) for w in frozen]  # "fine-tuned"
    parts.backbone.set_weights(tuned)
    timings: dict = {}
    report = health.after_training(tmp_path, splits, feats, None, parts.backbone, frozen, [cache, test_cache], 8,
                                   False, timings)
    pairs = [({d.a, d.b}, d.splits) for d in report.duplicates]
    assert ({"rose/rose_02.jpg", "../held/rose/copy.jpg"}, (next(n for n in ("train", "val") if any(
        p == "rose/rose_02.jpg" for p, _ in splits.items(n))), "test")) in pairs
    assert all(np.array_equal(a, b) for a, b in zip(parts.backbone.get_weights(), tuned))  # put back
    assert json.loads((tmp_path / rf.DATASET_HEALTH).read_text())["photos"]["test"] == 1
    assert timings["health_s"] > 0
