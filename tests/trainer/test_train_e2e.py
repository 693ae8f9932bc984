"""End-to-end training on real flower photos (small: alpha 0.35, 96-128 px, a few photos per class)."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from device.preprocess import load_and_preprocess
from tests.trainer.helpers import link_photos
from trainer import RunFolder, SkippedFilesWarning, TrainConfig, TrainerError, train
from trainer import checkpoint as ckpt
from trainer.training import CHECKPOINT_DIR, RUN_FILES

pytestmark = pytest.mark.slow
CLASSES = ("daisy", "dandelion", "sunflower")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, flowers_dir: Path, alpha035_weights: Path):
    """One real training run, shared by the tests below: 3 classes x 20 photos (symlinks) plus two bad files."""
    base = tmp_path_factory.mktemp("e2e")
    data = link_photos(flowers_dir, base / "photos", CLASSES, 20)
    (data / "daisy" / "empty.jpg").write_bytes(b"")
    (data / "sunflower" / "notes.jpg").write_text("not a photo")
    config = TrainConfig(data_dir=str(data), out_dir=str(base / "run"), alpha=0.35, size=128,
                         weights=str(alpha035_weights), val_split=0.25, fine_tune=True, fine_tune_epochs=2,
                         seed=0, verbose=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = train(config)
    return run, config, [w for w in caught if issubclass(w.category, SkippedFilesWarning)]


def test_run_folder_is_complete_and_accuracy_beats_chance(trained) -> None:
    run, config, skipped_warnings = trained
    for name in RUN_FILES:
        assert (run.path / name).is_file(), name
    assert not (run.path / CHECKPOINT_DIR).exists()
    assert (run.path / "labels.txt").read_text().splitlines() == list(CLASSES)
    metrics = json.loads((run.path / "metrics.json").read_text())
    assert metrics["val"]["count"] == 15
    assert metrics["val"]["top1"] >= 0.6, metrics  # chance is 0.33
    assert set(metrics["val"]["per_class"]) == set(CLASSES)
    assert np.array(metrics["val"]["confusion_matrix"]).sum() == 15
    history = json.loads((run.path / "history.json").read_text())
    assert len(history["phase2"]) == 2 and history["timings"]["head_s"] > 0
    assert metrics["head"]["folds"] >= 2 and metrics["selection"]["photos"] == 15
    assert (run.path / "training_curves.png").read_bytes()[:4] == b"\x89PNG"
    cfg = json.loads((run.path / "config.json").read_text())
    assert cfg["preprocessing"]["height"] == 128 and cfg["preprocessing"]["contract"] == "edge-kit-preprocess"
    # one warning naming both bad files, and a record in dataset.json
    assert len(skipped_warnings) == 1
    assert "empty.jpg" in str(skipped_warnings[0].message) and "notes.jpg" in str(skipped_warnings[0].message)
    dataset = json.loads((run.path / "dataset.json").read_text())
    assert dataset["skipped_count"] == 2
    assert dataset["per_class"] == {"daisy": 20, "dandelion": 20, "sunflower": 20}


def test_saved_model_reloads_safely_and_predicts_identically(trained) -> None:
    import tf_keras

    run, config, _ = trained
    folder = RunFolder(run.path)
    assert folder.labels == list(CLASSES)
    val = folder.split_files("val")
    assert len(val) == 15 and {p for p, _ in val}.isdisjoint(p for p, _ in folder.split_files("train"))
    x = np.stack([load_and_preprocess(p, folder.preprocessing) for p, _ in val]).astype(np.float32)
    loaded = tf_keras.models.load_model(str(folder.model_path), safe_mode=True)
    assert not any(type(layer).__name__ == "Lambda" for layer in loaded.submodules)
    before = run.model.predict(x, verbose=0)
    after = loaded.predict(x, verbose=0)
    np.testing.assert_array_equal(before, after)
    np.testing.assert_allclose(after.sum(axis=1), 1.0, rtol=1e-5)
    # the accuracy in metrics.json is that of the saved model on the photos listed in splits.json
    acc = float((after.argmax(1) == np.array([label for _, label in val])).mean())
    assert acc == pytest.approx(json.loads((run.path / "metrics.json").read_text())["val"]["top1"])


def test_finished_run_is_not_overwritten(trained) -> None:
    run, config, _ = trained
    with pytest.raises(TrainerError, match="already holds a finished run"):
        train(config)


class _Interrupt:
    def __init__(self, phase: int, epoch: int) -> None:
        self.phase, self.epoch = phase, epoch

    def __call__(self, phase: int, epoch: int, logs) -> None:
        if (phase, epoch) == (self.phase, self.epoch):
            raise KeyboardInterrupt


def test_interrupted_run_resumes_from_its_checkpoint(tmp_path: Path, flowers_dir: Path, offline_keras_home: Path) -> None:
    data = link_photos(flowers_dir, tmp_path / "photos", ("daisy", "rose"), 8)
    config = TrainConfig(data_dir=str(data), out_dir=str(tmp_path / "run"), alpha=0.35, size=96,
                         weights="imagenet", fine_tune=True, fine_tune_epochs=3, fine_tune_views=2, seed=1,
                         verbose=False)
    with pytest.raises(KeyboardInterrupt):
        train(config, hooks=[_Interrupt(2, 1)])
    ck = tmp_path / "run" / CHECKPOINT_DIR
    assert list(ck.glob("features_*.npz")) and (ck / "phase1.npz").is_file()  # the features and the fitted head
    weights, optimizer_vars, _, state = ckpt.load(ck / "phase2.npz")
    assert state["epoch"] == 2 and optimizer_vars and int(optimizer_vars[0]) > 0  # step counter saved
    first_epochs = state["history"]

    changed = TrainConfig(**{**config.__dict__, "alpha": 0.5})
    with pytest.raises(TrainerError, match="different settings.*alpha"):
        train(changed)

    seen = []
    run = train(config, hooks=[lambda phase, epoch, logs: seen.append((phase, epoch))])
    assert seen == [(2, 2)]  # only the missing epoch ran
    assert run.history["phase2"][:2] == first_epochs and len(run.history["phase2"]) == 3
    assert (tmp_path / "run" / "model.keras").is_file() and not ck.exists()
    assert run.metrics["selection"]["photos"] == run.metrics["val"]["count"]


def test_fine_tuning_that_does_not_win_beyond_noise_leaves_the_head(tmp_path: Path, photos_dir: Path) -> None:
    """Random weights on ten photos a class: fine-tuning runs (forced), the validation photos compare it with the
    head, and the saved model is the one the decision names."""
    config = TrainConfig(data_dir=str(photos_dir), out_dir=str(tmp_path / "run"), weights=None, size=96,
                         fine_tune=True, fine_tune_epochs=2, fine_tune_min_per_class=2, verbose=False)
    run = train(config)
    decision = run.metrics["selection"]
    assert len(run.history["phase2"]) == 2 and decision["photos"] == run.metrics["val"]["count"]
    assert run.metrics["fine_tuned"] == decision["keep_fine_tuned"]
    assert decision["net"] == decision["improved"] - decision["worsened"]
    head = run.metrics["head"]
    assert head["C"] > 0 and head["folds"] >= 2 and 0 <= head["cv_top1"] <= 1
    assert json.loads((run.path / "config.json").read_text())["resolved"]["fine_tune"] == run.metrics["fine_tuned"]


def test_the_run_folder_has_the_dataset_health_check(trained) -> None:
    run, _, _ = trained
    health = json.loads((run.path / "dataset_health.json").read_text())
    splits = json.loads((run.path / "splits.json").read_text())
    assert health["photos"] == {name: len(splits[name]) for name in ("train", "val", "test") if splits[name]}
    assert health["scored"] == len(splits["train"])  # phase 1's out-of-fold predictions, every training photo
    assert health["summary"].startswith("dataset health: ")
    assert "health_s" in json.loads((run.path / "history.json").read_text())["timings"]
