"""common.run_folder: the one reader and writer of a run folder's files (the trainer, converter and pipeline use it)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from common import run_folder as rf


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
