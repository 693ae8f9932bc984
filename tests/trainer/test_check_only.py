"""``edge-train DATA --check-only``: the dataset health check alone writes OUT/dataset_health.json and nothing else,
exits 0 on findings, refuses what a training refuses (exit 2, one line); on real photos it finds planted duplicates
across splits and planted label flips."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from common import exit_codes
from common import run_folder as rf
from trainer.check_only import check_only
from trainer.cli import main
from trainer.config import TrainConfig
from trainer.dataset import discover, split_dataset
from trainer.errors import DatasetError, TrainerError
from tests.trainer.helpers import make_class_folders


def with_duplicate(photos_dir: Path, dest: Path) -> Path:
    """The fixture photos plus a copy of one daisy photo, re-encoded, in the rose folder."""
    shutil.copytree(photos_dir, dest)
    with Image.open(dest / "daisy" / "daisy_03.jpg") as im:
        im.convert("RGB").save(dest / "rose" / "copy_of_daisy_03.jpg", quality=70)
    return dest


def test_check_only_writes_the_health_file_and_nothing_else(tmp_path, photos_dir, capsys):
    data = with_duplicate(photos_dir, tmp_path / "photos")
    out = tmp_path / "out"
    rc = main([str(data), "--check-only", "-o", str(out), "--weights", "none", "--size", "96", "-q"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    from common.locks import LOCK_FILE

    # no model, no cache, no checkpoint (only the lock file edge-train held while it wrote)
    assert sorted(p.name for p in out.iterdir() if p.name != LOCK_FILE) == [rf.DATASET_HEALTH]
    report = json.loads((out / rf.DATASET_HEALTH).read_text(encoding="utf-8"))
    assert report["labels"] == ["daisy", "rose", "tulip"]
    assert sum(report["photos"].values()) == 31
    for key in ("duplicates", "suspect_labels", "confused_classes"):
        assert isinstance(report[key], list)
    pairs = [{d["a"], d["b"]} for d in report["duplicates"]]
    assert {"daisy/daisy_03.jpg", "rose/copy_of_daisy_03.jpg"} in pairs
    pair = report["duplicates"][pairs.index({"daisy/daisy_03.jpg", "rose/copy_of_daisy_03.jpg"})]
    assert set(pair) >= {"a", "b", "similarity", "splits"} and sorted(pair["labels"]) == ["daisy", "rose"]
    if pair["splits"][0] != pair["splits"][1]:
        assert report["duplicates"][0]["splits"][0] != report["duplicates"][0]["splits"][1]  # cross-split first
    for suspect in report["suspect_labels"]:
        assert set(suspect) >= {"file", "label", "suggested", "score"}
    # the one-line summary, pointing at the file
    assert captured.out.strip().startswith("dataset health: ") and str(out / rf.DATASET_HEALTH) in captured.out


def test_check_only_splits_the_photos_as_a_training_would(tmp_path, photos_dir):
    config = TrainConfig(data_dir=str(photos_dir), out_dir=str(tmp_path / "out"), weights=None, size=96, seed=3,
                         verbose=False)
    result = check_only(config)
    expected = split_dataset(discover(photos_dir), None, config.val_split, config.test_split, config.seed,
                             config.min_photos_per_class)
    assert result.splits == expected
    assert result.report.photos == {"train": len(expected.train), "val": len(expected.val)}
    assert result.path == (tmp_path / "out" / rf.DATASET_HEALTH).resolve()


@pytest.mark.parametrize("bad", ["missing", "one photo"])
def test_a_bad_photo_folder_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, bad):
    folders = {"missing": tmp_path / "missing",
               "one photo": make_class_folders(tmp_path / "one", {"daisy": 1, "rose": 6})}
    out = tmp_path / "out"
    rc = main([str(folders[bad]), "--check-only", "-o", str(out), "--weights", "none", "--size", "96", "-q"])
    err = capsys.readouterr().err
    assert rc == exit_codes.BAD_INPUT
    assert len(err.strip().splitlines()) == 1 and err.startswith("edge-train: error: ") and "Traceback" not in err
    assert not out.exists()


def test_a_folder_that_cannot_be_split_leaves_no_output_folder(tmp_path):
    # every class has 5 files but one of them is not a photo: found only after decoding
    data = make_class_folders(tmp_path / "photos", {"daisy": 5, "rose": 5})
    (data / "daisy" / "img_000.jpg").write_bytes(b"not a photo")
    out = tmp_path / "out"
    with pytest.raises(DatasetError):
        check_only(TrainConfig(data_dir=str(data), out_dir=str(out), weights=None, size=96, verbose=False))
    assert not out.exists()


def test_a_finished_run_is_not_touched_without_overwrite(tmp_path, photos_dir):
    out = tmp_path / "run"
    out.mkdir()
    for name in (rf.MODEL, rf.METRICS, rf.DATASET_HEALTH):
        (out / name).write_text(f"the finished run's {name}")
    config = TrainConfig(data_dir=str(photos_dir), out_dir=str(out), weights=None, size=96, verbose=False)
    with pytest.raises(TrainerError, match="finished run.*--overwrite"):
        check_only(config)
    assert (out / rf.DATASET_HEALTH).read_text() == f"the finished run's {rf.DATASET_HEALTH}"
    config.overwrite = True
    check_only(config)
    assert json.loads((out / rf.DATASET_HEALTH).read_text())["labels"] == ["daisy", "rose", "tulip"]
    assert (out / rf.MODEL).read_text() == f"the finished run's {rf.MODEL}"


# ------------------------------------------------------------------------------------ real photos, real backbone

#: Photos moved into the folder of another class (their own class is clear to a head that never saw them; flips
#: between classes the head mixes up are found less often: benchmarks/bench_health.py).
FLIPS = (("rose", "2093263381_afd51358a3.jpg", "daisy"), ("sunflower", "14646283472_50a3ae1395.jpg", "rose"))


def _planted(flowers: Path, dest: Path) -> dict:
    """train/ val/ test/ folders of real flower photos (symlinks) with two duplicates across splits and two label
    flips planted."""
    classes = ("daisy", "rose", "sunflower")
    files = {c: sorted(p.name for p in (flowers / c).iterdir())[:50] for c in classes}
    moved = {(c, name) for c, name, _ in FLIPS}
    for c in classes:
        for split, names in (("train", files[c][:40]), ("val", files[c][40:46]), ("test", files[c][46:50])):
            (dest / split / c).mkdir(parents=True, exist_ok=True)
            for name in names:
                if (c, name) not in moved:
                    (dest / split / c / name).symlink_to(flowers / c / name)
    for c, name, wrong in FLIPS:
        assert name in files[c][:40]
        (dest / "train" / wrong / f"moved_{name}").symlink_to(flowers / c / name)
    # duplicates across splits: a train photo resized into test, a val photo re-encoded into test
    with Image.open(flowers / "rose" / files["rose"][5]) as im:
        im.convert("RGB").resize((im.width * 2 // 3, im.height * 2 // 3)).save(dest / "test" / "rose" / "dup_a.jpg")
    with Image.open(flowers / "daisy" / files["daisy"][43]) as im:
        im.convert("RGB").save(dest / "test" / "daisy" / "dup_b.jpg", quality=50)
    return {"duplicates": [{f"train/rose/{files['rose'][5]}", "test/rose/dup_a.jpg"},
                           {f"val/daisy/{files['daisy'][43]}", "test/daisy/dup_b.jpg"}],
            "flips": {f"train/{wrong}/moved_{name}": c for c, name, wrong in FLIPS}}


@pytest.mark.slow  # the real backbone over 150 photos
def test_planted_duplicates_and_label_flips_are_found_on_real_photos(tmp_path, flowers_dir, alpha035_weights):
    truth = _planted(flowers_dir, tmp_path / "photos")
    result = check_only(TrainConfig(data_dir=str(tmp_path / "photos"), out_dir=str(tmp_path / "out"),
                                    weights=str(alpha035_weights), verbose=False))
    report = result.report
    first = [{d.a, d.b} for d in report.duplicates[:2]]
    assert sorted(map(sorted, first)) == sorted(map(sorted, truth["duplicates"]))  # both listed, and first
    assert all(d.cross_split for d in report.duplicates[:2])
    suspects = {s.file: s for s in report.suspect_labels}
    for path, true_class in truth["flips"].items():
        assert path in suspects, [s.file for s in report.suspect_labels]
        assert suspects[path].suggested == true_class
    assert report.cross_split_counts() == {("train", "test"): 1, ("val", "test"): 1}
    assert np.isfinite(report.temperature)
