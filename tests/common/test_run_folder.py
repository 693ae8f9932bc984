"""common.run_folder: the one reader and writer of a run folder's files (the trainer, converter and pipeline use it)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from common import run_folder as rf
from common.run_folder import RunFolder, RunFolderError
from tests.conftest import REPO_ROOT
from trainer import TrainConfig


def test_reads_what_the_writers_wrote(fake_run: Path, photos_dir: Path):
    run = rf.RunFolder(fake_run)
    assert run.labels == ["daisy", "rose", "tulip"] and run.input_size == (96, 96)
    assert run.data_root == photos_dir and len(run.train) == 24 and len(run.val) == 6 and run.test == []
    assert all(path.is_file() for path, _ in run.split_files("val"))
    assert run.splits.held_out()[0] == "val"
    assert run.history is None and run.metrics is None  # optional files: absent is fine


def test_a_relative_photo_root_is_relative_to_the_run_folder(fake_run: Path, photos_dir: Path):
    data = json.loads((fake_run / rf.SPLITS).read_text())
    (fake_run / "photos").symlink_to(photos_dir)
    data["root"] = "photos"
    (fake_run / rf.SPLITS).write_text(json.dumps(data))
    assert rf.RunFolder(fake_run).data_root == (fake_run / "photos").resolve()


def test_history_has_one_shape(tmp_path: Path):
    rows = [{"epoch": 1, "loss": 1.0, "top1": 0.5, "val_loss": 1.1, "val_top1": 0.4}]
    rf.write_history(tmp_path, {"phase1": rows, "phase2": []}, {"total_s": 3.0})
    assert rf.read_history(tmp_path) == {"phase1": rows, "phase2": []}  # timings are not a phase
    assert rf.epoch_series(rows) == {"loss": [1.0], "top1": [0.5], "val_loss": [1.1], "val_top1": [0.4]}
    assert rf.read_history(tmp_path / "nothing") is None


def test_the_trainers_checkpoint_key_is_read_through_the_contract(tmp_path: Path):
    assert rf.read_checkpoint_key(tmp_path) is None  # no interrupted training
    rf.write_checkpoint_key(tmp_path, {"alpha": 0.35, "seed": 1})
    assert rf.read_checkpoint_key(tmp_path) == {"alpha": 0.35, "seed": 1}
    (tmp_path / rf.CHECKPOINT_KEY).write_text("{broken")
    assert rf.read_checkpoint_key(tmp_path) == {}  # there, but unreadable: nothing can be resumed


def test_corrupt_files_are_named_with_the_fix(fake_run: Path):
    (fake_run / rf.SPLITS).write_text(json.dumps({"root": "x", "labels": ["daisy", "rose", "tulip"],
                                                   "train": [["a.jpg", 7]]}))
    with pytest.raises(rf.RunFolderError, match=r"splits.json: not a valid split file .*re-run edge-train"):
        rf.RunFolder(fake_run)


# The run folder as the trainer writes it (moved from tests/trainer/test_config_cli_run_folder.py).
def _fake_run(path: Path) -> Path:
    path.mkdir()
    (path / "model.keras").write_bytes(b"placeholder")
    (path / "labels.txt").write_text("cat\ndog\n")
    cfg = TrainConfig(data_dir=str(path), size=128).to_dict()
    (path / "config.json").write_text(json.dumps(cfg))
    (path / "splits.json").write_text(json.dumps(
        {"root": str(path), "labels": ["cat", "dog"], "train": [["cat/a.jpg", 0]], "val": [["dog/b.jpg", 1]],
         "test": []}))
    return path


def test_run_folder_reads_without_tensorflow(tmp_path: Path) -> None:
    run = _fake_run(tmp_path / "run")
    code = (
        "import sys; from common.run_folder import RunFolder; from trainer.config import TrainConfig; r = RunFolder(sys.argv[1]); "
        "assert r.labels == ['cat', 'dog'] and r.input_size == (128, 128); "
        "assert r.split_files('val')[0][1] == 1 and TrainConfig.from_dict(r.config).size == 128; "
        "assert 'tensorflow' not in sys.modules and 'tf_keras' not in sys.modules; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code, str(run)], cwd=REPO_ROOT, capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


@pytest.mark.parametrize("damage, file, fix", [
    (lambda p: (p / "labels.txt").unlink(), "labels.txt", "missing"),
    (lambda p: (p / "model.keras").unlink(), "model.keras", "missing"),
    (lambda p: (p / "config.json").write_text("{not json"), "config.json", "corrupt JSON"),
    (lambda p: (p / "splits.json").unlink(), "splits.json", "missing"),
    (lambda p: (p / "labels.txt").write_text("cat\n"), "labels.txt", "at least two labels"),
    (lambda p: (p / "labels.txt").write_text("cat\nbird\n"), "splits.json", "differ from labels.txt"),
    (lambda p: (p / "config.json").write_text("{}"), "config.json", "preprocessing"),
])
def test_run_folder_errors_name_the_file_and_fix(tmp_path: Path, damage, file: str, fix: str) -> None:
    run = _fake_run(tmp_path / "run")
    damage(run)
    with pytest.raises(RunFolderError) as err:
        RunFolder(run)
    assert file in str(err.value) and fix in str(err.value) and "edge-train" in str(err.value)


def test_run_folder_missing(tmp_path: Path) -> None:
    with pytest.raises(RunFolderError, match="no such run folder"):
        RunFolder(tmp_path / "nope")


# ------------------------------------------------------------ what is made from the model describes the current one

def _converted(run: Path, model_bytes: bytes = b"a tflite model") -> Path:
    """``run/tflite/model_float32.tflite`` recorded as converted from the run's current model.keras."""
    tflite = run / rf.tflite_model("float32")
    tflite.parent.mkdir(exist_ok=True)
    tflite.write_bytes(model_bytes)
    rf.record_tflite(tflite, rf.model_digest(run))
    return tflite


def test_invalidate_derived_removes_what_the_model_made_and_nothing_else(fake_run: Path):
    _converted(fake_run)
    for name in (rf.CLASSIFY, rf.EXPORT, *rf.PIPELINE_REPORT_FILES.values()):
        (fake_run / name).write_text("{}")
    (fake_run / rf.REPORT_FIGURES_DIR).mkdir()
    (fake_run / rf.REPORT_FIGURES_DIR / "matrix.png").write_bytes(b"png")
    (fake_run / rf.PIPELINE_STATE).write_text("{}")
    before = sorted(p.name for p in fake_run.iterdir())
    removed = rf.invalidate_derived(fake_run)
    assert sorted(removed) == sorted(rf.DERIVED)
    assert sorted(p.name for p in fake_run.iterdir()) == sorted(set(before) - set(rf.DERIVED))
    assert rf.invalidate_derived(fake_run) == []  # nothing left to remove


def test_a_tflite_is_checked_against_the_run_folders_model(fake_run: Path, tmp_path: Path):
    tflite = _converted(fake_run)
    rf.check_tflite(tflite)  # converted from the current model: fine
    (fake_run / rf.MODEL).write_bytes(b"retrained or replaced")
    with pytest.raises(rf.StaleOutputError, match=r"model_float32\.tflite: was converted from another model than "
                                                  r".*model\.keras .*convert it again \(edge-convert "):
        rf.check_tflite(tflite)
    tflite = _converted(fake_run)
    tflite.write_bytes(b"copied over by hand")
    with pytest.raises(rf.StaleOutputError, match="is not the file the converter wrote"):
        rf.check_tflite(tflite)
    (fake_run / rf.TFLITE_DIR / rf.TFLITE_SOURCES).unlink()
    with pytest.raises(rf.StaleOutputError, match="nothing records which model it was converted from"):
        rf.check_tflite(tflite)
    elsewhere = tmp_path / "app" / "model.tflite"  # not in a run folder: nothing to compare with
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(b"x")
    rf.check_tflite(elsewhere)


def test_a_derived_json_names_its_model(fake_run: Path):
    data = rf.with_model_digest({"top1": 0.9}, fake_run)
    assert rf.stale_problem(fake_run, data, rf.CLASSIFY, "run it again") is None
    (fake_run / rf.MODEL).write_bytes(b"retrained")
    assert rf.stale_problem(fake_run, data, rf.CLASSIFY, "run it again") == (
        f"{fake_run / rf.CLASSIFY}: was made from another model.keras (the model was retrained or replaced since); "
        "run it again.")
