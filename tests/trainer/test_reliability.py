"""Nothing finished is lost: a refused photo folder changes nothing in the run folder, a retrain replaces the finished
run only once complete, a refused start leaves no checkpoint that blocks the next, correct command."""
from __future__ import annotations

import errno
import hashlib
import json
from pathlib import Path

import pytest

from common import run_folder as rf
from trainer.config import TrainConfig
from trainer.errors import DatasetError, TrainerError
from trainer.training import STAGING_DIR, _prepare_out_dir, _publish, train
from tests.trainer.helpers import make_class_folders


def finished_run(out: Path) -> dict:
    """A folder holding every file of a finished training (stand-in contents); returns their digests."""
    out.mkdir(parents=True)
    for name in rf.TRAINER_FILES:
        (out / name).write_bytes(f"the finished run's {name}\n".encode())
    return digests(out)


def digests(out: Path) -> dict:
    return {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*")) if p.is_file()}


def bad_folders(tmp_path: Path) -> dict:
    (tmp_path / "empty").mkdir()
    return {"missing": tmp_path / "missing", "empty": tmp_path / "empty",
            "one photo": make_class_folders(tmp_path / "one", {"daisy": 1, "rose": 6})}


@pytest.mark.parametrize("bad", ["missing", "empty", "one photo"])
def test_a_refused_photo_folder_keeps_the_finished_run(tmp_path, bad):
    out = tmp_path / "run"
    before = finished_run(out)
    config = TrainConfig(data_dir=str(bad_folders(tmp_path)[bad]), out_dir=str(out), weights=None, overwrite=True,
                         verbose=False)
    with pytest.raises(DatasetError):
        train(config)
    assert digests(out) == before  # every file of the finished run as it was, and no checkpoint/ left


def test_a_refused_photo_folder_creates_nothing(tmp_path):
    out = tmp_path / "new-run"
    with pytest.raises(DatasetError):
        train(TrainConfig(data_dir=str(bad_folders(tmp_path)["one photo"]), out_dir=str(out), weights=None,
                          verbose=False))
    assert not out.exists()  # no checkpoint/run.json to say "interrupted run with different settings" next time


def _checkpoint(out: Path, config: TrainConfig, progress: bool) -> None:
    key = json.loads(json.dumps(config.resume_key()))
    rf.write_checkpoint_key(out, key)
    if progress:
        (out / rf.CHECKPOINT_DIR / "phase1.npz").write_bytes(b"an epoch")


def test_a_start_that_never_trained_does_not_block_other_settings(tmp_path, photos_dir):
    out = tmp_path / "run"
    other = make_class_folders(tmp_path / "other", {"a": 6, "b": 6})
    _checkpoint(out, TrainConfig(data_dir=str(other), out_dir=str(out), weights=None), progress=False)
    config = TrainConfig(data_dir=str(photos_dir), out_dir=str(out), weights=None, verbose=False)
    assert _prepare_out_dir(config) == out.resolve()  # nothing to resume: started over, no error
    assert rf.read_checkpoint_key(out)["data_dir"] == str(photos_dir.resolve())


def test_an_interrupted_training_with_other_settings_is_still_protected(tmp_path, photos_dir):
    out = tmp_path / "run"
    other = make_class_folders(tmp_path / "other", {"a": 6, "b": 6})
    _checkpoint(out, TrainConfig(data_dir=str(other), out_dir=str(out), weights=None), progress=True)
    config = TrainConfig(data_dir=str(photos_dir), out_dir=str(out), weights=None, verbose=False)
    with pytest.raises(TrainerError, match="interrupted run with different settings.*data_dir"):
        _prepare_out_dir(config)
    config.overwrite = True
    _prepare_out_dir(config)  # --overwrite starts over
    assert not (out / rf.CHECKPOINT_DIR / "phase1.npz").exists()


def test_publish_replaces_the_old_files_and_drops_those_the_new_run_lacks(tmp_path):
    out = tmp_path / "run"
    finished_run(out)
    staging = out / rf.CHECKPOINT_DIR / STAGING_DIR
    staging.mkdir(parents=True)
    for name in rf.TRAINER_FILES:
        if name != rf.CONFUSION_MATRIX:
            (staging / name).write_text(f"new {name}")
    (out / rf.TFLITE_DIR).mkdir()
    (out / rf.tflite_model("int8")).write_bytes(b"the old model's int8 export")
    for name in (rf.CLASSIFY, rf.EXPORT, "report.html"):
        (out / name).write_text("made from the old model")
    _publish(staging, out)
    assert (out / rf.MODEL).read_text() == f"new {rf.MODEL}"
    assert not (out / rf.CONFUSION_MATRIX).exists()
    # nothing made from the old model is left to be shipped or read as the new model's
    assert not any((out / name).exists() for name in rf.DERIVED)


def test_a_disk_filling_up_during_training_is_one_line(tmp_path, photos_dir, monkeypatch, capsys):
    import trainer.training
    from trainer.cli import main

    def full(config, hooks=()):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "run" / "checkpoint" / "phase1.npz"))

    monkeypatch.setattr(trainer.training, "train", full)
    assert main([str(photos_dir), "--out", str(tmp_path / "run"), "--weights", "none"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "disk is full" in err and "phase1.npz" in err


def test_relative_paths_are_resolved_against_the_working_folder(tmp_path, photos_dir, monkeypatch):
    import trainer.training
    from trainer.cli import main

    seen = {}

    def record(config, hooks=()):
        seen.update(data=config.data_dir, out=config.out_dir)
        raise TrainerError("stop here")

    monkeypatch.setattr(trainer.training, "train", record)
    monkeypatch.chdir(tmp_path)
    assert main([str(photos_dir), "--out", "runs/a", "--weights", "none"]) == 2
    assert seen["out"] == str(tmp_path / "runs" / "a")


@pytest.mark.slow
def test_a_retrain_replaces_the_finished_run_only_once_complete(tmp_path, photos_dir):
    """Real training (random weights, tiny photos): an interrupted retrain keeps the finished run; a finished one
    replaces every file."""
    out = tmp_path / "run"
    config = TrainConfig(data_dir=str(photos_dir), out_dir=str(out), weights=None, size=96, fine_tune=True,
                         fine_tune_epochs=1, fine_tune_min_per_class=2, verbose=False)
    train(config)
    before = {k: v for k, v in digests(out).items()}
    assert rf.has_finished_training(out)

    def interrupt(phase, epoch, logs):
        raise KeyboardInterrupt

    retrain = TrainConfig(**{**config.__dict__, "seed": 7, "overwrite": True})
    with pytest.raises(KeyboardInterrupt):
        train(retrain, hooks=[interrupt])
    after = digests(out)
    assert {k: after[k] for k in before} == before  # the finished run is untouched
    assert rf.RunFolder(out).labels  # and still reads as a complete run folder

    run = train(retrain)
    assert not (out / rf.CHECKPOINT_DIR).exists() and rf.has_finished_training(out)
    final = digests(out)
    assert final[rf.SPLITS] != before[rf.SPLITS] and final[rf.MODEL] != before[rf.MODEL]  # the new seed's run
    assert json.loads((out / rf.CONFIG).read_text())["seed"] == 7 and run.path == out.resolve()


@pytest.mark.slow
def test_a_retrain_leaves_no_model_of_the_previous_run_to_ship(tmp_path, photos_dir, capsys):
    """The sweep's case: a run folder with converted models, retrained on two classes with --overwrite; the old
    three-class .tflite files were then exported and classified as if they were the new model."""
    from converter.cli import main as convert_main
    from trainer.cli import main as train_main

    out = tmp_path / "r2"
    tiny = ["--weights", "none", "--size", "96", "--epochs", "2", "--no-fine-tune", "-q"]
    assert train_main([str(photos_dir), "--out", str(out), *tiny]) == 0
    tflite = out / rf.tflite_model("int8")
    tflite.parent.mkdir()
    tflite.write_bytes(b"TFL3 the three-class model")  # stands in for edge-convert's output (minutes of TensorFlow)
    rf.record_tflite(tflite, rf.model_digest(out))
    (out / rf.CLASSIFY).write_text("{}")
    two = make_class_folders(tmp_path / "two", {"cat": 6, "dog": 6})
    assert train_main([str(two), "--out", str(out), "--overwrite", *tiny]) == 0
    assert rf.RunFolder(out).labels == ["cat", "dog"]
    assert not (out / rf.TFLITE_DIR).exists() and not (out / rf.CLASSIFY).exists()
    capsys.readouterr()
    assert convert_main(["export", str(out), "--variant", "int8", "-o", str(tmp_path) + "/"]) == 2
    assert "not found; convert first" in capsys.readouterr().err and not (tmp_path / "model.tflite").exists()
