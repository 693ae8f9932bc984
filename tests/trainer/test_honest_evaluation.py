"""Honest evaluation by default: with enough photos a test split is held out, and its photos are read by nothing
before the final evaluation (not the early stopping, not the choice between phase 1 and phase 2); an unreadable
test photo is skipped and reported, not fatal."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from common import defaults
from tests.read_spy import record_reads
from tests.trainer.helpers import make_class_folders
from trainer import SkippedFilesWarning, TrainConfig, train
from trainer.dataset import discover, resolve_test_split, split_dataset

PER_CLASS = defaults.TEST_SPLIT_MIN_PHOTOS  # just enough photos for the automatic test split


@pytest.mark.slow  # a real (tiny) training: both phases
def test_test_photos_are_read_only_by_the_final_evaluation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = make_class_folders(tmp_path / "photos", {"cat": PER_CLASS, "dog": PER_CLASS, "fox": PER_CLASS})
    config = TrainConfig(data_dir=str(data), out_dir=str(tmp_path / "run"), weights=None, size=96,
                         fine_tune=True, fine_tune_epochs=2, verbose=False)
    # The split is made on the file list, so it is known before training: break one test photo.
    expected = split_dataset(discover(data), None, config.val_split, None, config.seed, config.min_photos_per_class)
    assert expected.counts()["test"] == {"cat": 3, "dog": 3, "fox": 3}
    broken = expected.test[0][0]
    (data / broken).write_bytes(b"not a photo")

    log = record_reads(monkeypatch)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = train(config, hooks=[lambda phase, epoch, logs: log.mark(f"epoch {phase}.{epoch}")])

    test_paths = [data / rel for rel, _ in expected.test]
    selection_paths = [data / rel for name in ("train", "val") for rel, _ in expected.items(name)]
    test_reads = log.read_positions(test_paths)
    epochs = log.mark_positions("epoch 2.")
    assert len(epochs) == 2  # phase 2 ran: the validation photos had a choice to make (head or fine-tuned model)
    # Read, each once, but only after every epoch (the head-or-fine-tuning choice) and every other photo.
    assert sorted(log.events[i][1] for i in test_reads) == sorted(str(p.resolve()) for p in test_paths)
    assert min(test_reads) > max(log.mark_positions("epoch"))
    assert min(test_reads) > max(log.read_positions(selection_paths))

    # The broken test photo: a warning naming it, listed in dataset.json, left out of the numbers and splits.json.
    assert any(issubclass(w.category, SkippedFilesWarning) and broken in str(w.message) for w in caught)
    dataset = json.loads((run.path / "dataset.json").read_text())
    assert [s["path"] for s in dataset["skipped"]] == [broken]
    metrics = json.loads((run.path / "metrics.json").read_text())
    assert metrics["test"]["count"] == 8 and metrics["val"]["count"] == 3 * 6
    assert metrics["evaluation"]["unbiased_split"] == "test" and metrics["evaluation"]["note"] is None
    saved = json.loads((run.path / "splits.json").read_text())
    assert len(saved["test"]) == 8 and [broken, 0] not in saved["test"]
    assert sorted(map(tuple, saved["train"])) == sorted(expected.train)  # the very split that was planned
    config_json = json.loads((run.path / "config.json").read_text())
    assert config_json["test_split"] is None and config_json["resolved"]["test_split"] == defaults.TEST_SPLIT


def test_the_automatic_test_split_needs_enough_photos_in_every_class(tmp_path: Path) -> None:
    enough = discover(make_class_folders(tmp_path / "enough", {"a": PER_CLASS, "b": PER_CLASS + 10}))
    few = discover(make_class_folders(tmp_path / "few", {"a": PER_CLASS, "b": PER_CLASS - 1}))
    assert resolve_test_split(enough) == defaults.TEST_SPLIT
    assert resolve_test_split(few) == 0.0
    assert resolve_test_split(enough, 0.0) == 0.0  # --test-split 0 turns it off
    assert resolve_test_split(few, 0.25) == 0.25  # an explicit value is honoured
    # Same files + same seed = same split; the automatic split is stratified and disjoint from the others.
    one, two = (split_dataset(enough, None, 0.2, None, seed=7) for _ in range(2))
    assert one.to_dict() == two.to_dict()
    assert one.counts()["test"] == {"a": 3, "b": 4}
    assert not split_dataset(few, None, 0.2, None, seed=7).test
    names = [set(p for p, _ in one.items(n)) for n in ("train", "val", "test")]
    assert not (names[0] & names[1] or names[0] & names[2] or names[1] & names[2])
    # The test photos are chosen on the file list: an unreadable training photo (known only once decoded) changes
    # neither them nor the number of validation photos.
    unreadable = sorted(names[0])[0]
    usable = [p for p, _ in enough.all_items() if p != unreadable]
    again = split_dataset(enough, usable, 0.2, None, seed=7)
    assert again.test == one.test and again.counts()["val"] == one.counts()["val"]
    assert unreadable not in {p for p, _ in again.train + again.val}


def test_a_test_folder_wins_over_the_automatic_split(tmp_path: Path) -> None:
    root = tmp_path / "p"
    make_class_folders(root / "train", {"a": PER_CLASS, "b": PER_CLASS})
    make_class_folders(root / "val", {"a": 5, "b": 5}, start_seed=100)
    make_class_folders(root / "test", {"a": 2, "b": 2}, start_seed=200)
    found = discover(root)
    assert resolve_test_split(found) == 0.0
    splits = split_dataset(found, None, 0.2, None)
    assert splits.counts()["test"] == {"a": 2, "b": 2} and len(splits.train) == 2 * PER_CLASS


def test_an_interrupted_run_from_before_the_automatic_test_split_says_how_to_resume_it(tmp_path: Path) -> None:
    from common import run_folder as rf
    from trainer.errors import TrainerError
    from trainer.training import _prepare_out_dir

    data = make_class_folders(tmp_path / "photos", {"a": 6, "b": 6})
    out = tmp_path / "run"
    old = TrainConfig(data_dir=str(data), out_dir=str(out), weights=None, test_split=0.0)
    rf.write_checkpoint_key(out, json.loads(json.dumps(old.resume_key())))
    (out / rf.CHECKPOINT_DIR / "phase1.npz").write_bytes(b"an epoch")
    with pytest.raises(TrainerError, match=r"started with --test-split 0\.0; pass that to resume it"):
        _prepare_out_dir(TrainConfig(data_dir=str(data), out_dir=str(out), weights=None))
    assert _prepare_out_dir(old) == out.resolve()  # and with it, it resumes
