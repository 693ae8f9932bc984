"""Photo discovery, bad inputs, decoding up front and the seeded stratified split (no TensorFlow)."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from device.preprocess import PreprocessConfig
from tests.trainer.helpers import make_class_folders, write_photo
from trainer.dataset import Splits, class_weights, discover, load_splits, split_dataset
from trainer.errors import DatasetError, SkippedFilesWarning
from trainer.images import build_image_cache


def test_discover_one_folder_per_class_ignores_hidden(tmp_path: Path) -> None:
    root = make_class_folders(tmp_path / "photos", {"rose": 6, "daisy": 5})
    write_photo(root / "rose" / ".hidden.jpg", 99)
    write_photo(root / ".thumbnails" / "x.jpg", 98)
    (root / "rose" / ".DS_Store").write_bytes(b"junk")
    (root / "README.txt").write_text("notes")
    found = discover(root)
    assert found.labels == ["daisy", "rose"]
    assert not found.explicit
    assert Counter(label for _, label in found.files["train"]) == {0: 5, 1: 6}
    assert all(not Path(p).name.startswith(".") for p, _ in found.all_items())
    assert ("README.txt", "not inside a class folder") in found.ignored


def test_split_is_stratified_seeded_and_complete(tmp_path: Path) -> None:
    root = make_class_folders(tmp_path / "p", {"a": 20, "b": 10, "c": 7})
    found = discover(root)
    s1 = split_dataset(found, val_split=0.2, seed=3)
    s2 = split_dataset(found, val_split=0.2, seed=3)
    s3 = split_dataset(found, val_split=0.2, seed=4)
    assert s1.to_dict() == s2.to_dict()
    assert s1.val != s3.val
    assert s1.counts()["val"] == {"a": 4, "b": 2, "c": 1}  # round(n * 0.2), at least one
    assert s1.counts()["train"] == {"a": 16, "b": 8, "c": 6}
    assert not set(s1.train) & set(s1.val)
    assert sorted(s1.train + s1.val) == sorted(found.files["train"])
    with_test = split_dataset(found, val_split=0.2, test_split=0.2, seed=3)
    assert with_test.counts()["test"] == {"a": 4, "b": 2, "c": 1}
    assert not set(with_test.test) & (set(with_test.train) | set(with_test.val))


def test_splits_json_round_trip(tmp_path: Path) -> None:
    root = make_class_folders(tmp_path / "p", {"a": 5, "b": 5})
    splits = split_dataset(discover(root), seed=0)
    path = tmp_path / "splits.json"
    path.write_text(json.dumps(splits.to_dict()))
    data = json.loads(path.read_text())
    assert data["root"] == str(root.resolve()) and data["labels"] == ["a", "b"]
    assert all(isinstance(p, str) and isinstance(i, int) for p, i in data["train"] + data["val"])
    assert all((root / p).is_file() for p, _ in data["val"])
    again = load_splits(path)
    assert again.to_dict() == splits.to_dict()


def test_explicit_train_val_test_folders_are_used_as_given(tmp_path: Path) -> None:
    root = tmp_path / "p"
    make_class_folders(root / "train", {"cat": 4, "dog": 4})
    make_class_folders(root / "val", {"cat": 2, "dog": 1}, start_seed=100)
    make_class_folders(root / "test", {"cat": 1, "dog": 1}, start_seed=200)
    found = discover(root)
    assert found.explicit and found.labels == ["cat", "dog"]
    splits = split_dataset(found, seed=0)
    assert sorted(p for p, _ in splits.val) == ["val/cat/img_000.jpg", "val/cat/img_001.jpg", "val/dog/img_000.jpg"]
    assert len(splits.train) == 8 and len(splits.test) == 2
    assert all(p.startswith("train/") for p, _ in splits.train)


def test_train_folder_without_val_is_split(tmp_path: Path) -> None:
    root = tmp_path / "p"
    make_class_folders(root / "train", {"cat": 10, "dog": 10})
    make_class_folders(root / "test", {"cat": 2, "dog": 2}, start_seed=50)
    splits = split_dataset(discover(root), val_split=0.2, seed=1)
    assert splits.counts()["val"] == {"cat": 2, "dog": 2}
    assert len(splits.test) == 4 and all(p.startswith("test/") for p, _ in splits.test)


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda r: None, "no such folder"),
        (lambda r: r.mkdir(), "no class folders"),
        (lambda r: (r / "a").mkdir(parents=True) or (r / "b").mkdir(), "contain no files"),
        (lambda r: make_class_folders(r, {"only": 6}), "only one class"),
        (lambda r: make_class_folders(r, {"a": 6, "b": 2}), "at least 5"),
        (lambda r: make_class_folders(r, {"Rose": 5, "rose": 5, "tulip": 5}), "differ only in upper/lower case"),
        (lambda r: (make_class_folders(r, {"a": 6, "b": 6}), (r / "empty").mkdir()), "contain no photos"),
    ],
    ids=["missing", "empty", "no-files", "single-class", "too-few", "case-duplicates", "empty-class"],
)
def test_bad_folders_raise_clear_dataset_errors(tmp_path: Path, setup, message: str) -> None:
    root = tmp_path / "photos"
    setup(root)
    with pytest.raises(DatasetError) as err:
        split_dataset(discover(root), min_per_class=5)
    assert message in str(err.value)
    assert str(root) in str(err.value)  # names the folder


def test_file_instead_of_folder(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    write_photo(path, 0)
    with pytest.raises(DatasetError, match="is a file"):
        discover(path)


def test_val_class_missing_from_train(tmp_path: Path) -> None:
    root = tmp_path / "p"
    make_class_folders(root / "train", {"cat": 5, "dog": 5})
    make_class_folders(root / "val", {"cat": 1, "bird": 1})
    with pytest.raises(DatasetError, match="'bird'"):
        discover(root)


def _bad_and_odd_folder(root: Path) -> None:
    make_class_folders(root, {"a": 5, "b": 5})
    (root / "a" / "empty.jpg").write_bytes(b"")
    (root / "a" / "notes.jpg").write_text("this is not a photo")
    good = (root / "b" / "img_000.jpg").read_bytes()
    (root / "b" / "truncated.jpg").write_bytes(good[: len(good) // 2])
    write_photo(root / "b" / "cmyk.jpg", 7, mode="CMYK")
    write_photo(root / "b" / "gray16.png", 8, mode="I;16")
    write_photo(root / "a" / "palette.png", 9, mode="P")
    write_photo(root / "a" / "alpha.png", 10, mode="RGBA")
    write_photo(root / "a" / "gray.jpg", 11, mode="L")


def test_corrupt_files_are_skipped_with_reasons_and_odd_modes_decode(tmp_path: Path) -> None:
    root = tmp_path / "p"
    _bad_and_odd_folder(root)
    found = discover(root)
    cfg = PreprocessConfig(32, 32)
    cache = build_image_cache(found.root, [p for p, _ in found.all_items()], cfg, tmp_path / "cache" / "img.npy",
                              verbose=False)
    skipped = dict(cache.skipped)
    assert set(skipped) == {"a/empty.jpg", "a/notes.jpg", "b/truncated.jpg"}
    assert "empty" in skipped["a/empty.jpg"]
    assert "not a recognised image" in skipped["a/notes.jpg"]
    assert "truncated" in skipped["b/truncated.jpg"] or "corrupt" in skipped["b/truncated.jpg"]
    for odd in ("b/cmyk.jpg", "b/gray16.png", "a/palette.png", "a/alpha.png", "a/gray.jpg"):
        assert odd in cache.usable
        pixels = cache.photo(odd)
        assert pixels.shape == (32, 32, 3) and pixels.dtype == np.uint8 and pixels.any()
    splits = split_dataset(found, cache.usable, seed=0)
    assert not {p for p, _ in splits.train + splits.val} & set(skipped)
    # the cache is reused when nothing changed
    again = build_image_cache(found.root, [p for p, _ in found.all_items()], cfg, tmp_path / "cache" / "img.npy",
                              verbose=False)
    assert again.skipped == cache.skipped


def test_too_few_usable_photos_after_skipping(tmp_path: Path) -> None:
    root = make_class_folders(tmp_path / "p", {"a": 6, "b": 4})
    (root / "b" / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    found = discover(root)
    cache = build_image_cache(found.root, [p for p, _ in found.all_items()], PreprocessConfig(16, 16),
                              tmp_path / "c.npy", verbose=False)
    with pytest.raises(DatasetError, match="'b' has 4.*at least 5"):
        split_dataset(found, cache.usable, min_per_class=5)


def test_class_weights_balance_classes() -> None:
    items = [("x", 0)] * 30 + [("y", 1)] * 10
    w = class_weights(["a", "b"], items)
    assert w[0] * 30 == pytest.approx(w[1] * 10)
    assert w[0] * 30 + w[1] * 10 == pytest.approx(40)


def test_splits_from_bad_dict() -> None:
    with pytest.raises(ValueError, match="splits.json"):
        Splits.from_dict({"labels": ["a"], "root": "/x", "train": [["p", 3]]})


@pytest.mark.parametrize("name, problem", [("da\nisy", "holds a line break"), ("rose\r", "holds a line break"),
                                           (" tulip", "starts or ends with a blank")])
def test_a_class_folder_name_labels_txt_cannot_hold_is_refused_by_name(tmp_path: Path, name: str,
                                                                        problem: str) -> None:
    """A newline in a folder name gave labels.txt one line more than there are classes, and the converter then
    blamed "files from different runs"."""
    root = make_class_folders(tmp_path / "photos", {name: 6, "rose x": 6, "other": 6})
    with pytest.raises(DatasetError) as info:
        discover(root)
    message = str(info.value)
    assert repr(name) in message and problem in message and "rename the folder" in message
    assert "\n" not in message and "\r" not in message  # one line, the name escaped


def test_a_class_folder_name_in_a_split_layout_is_checked_too(tmp_path: Path) -> None:
    root = make_class_folders(tmp_path / "photos" / "train", {"a\nb": 6, "c": 6}).parent
    with pytest.raises(DatasetError, match=r"'a\\nb' holds a line break"):
        discover(root)


def test_symbolic_links_to_folders_and_broken_links_are_listed_not_used(tmp_path: Path) -> None:
    root = make_class_folders(tmp_path / "photos", {"daisy": 6, "rose": 6})
    (root / "latest").symlink_to(root / "daisy")  # would make the daisies a third class
    (root / "gone").symlink_to(tmp_path / "nowhere")
    (root / "rose" / "IMG_9.jpg").symlink_to(tmp_path / "deleted.jpg")
    (root / "rose" / "more").symlink_to(root / "daisy")
    write_photo(tmp_path / "elsewhere.jpg", 7)
    (root / "rose" / "linked.jpg").symlink_to(tmp_path / "elsewhere.jpg")  # a link to a photo: used
    with pytest.warns(SkippedFilesWarning) as caught:
        found = discover(root)
    assert found.labels == ["daisy", "rose"]
    assert "rose/linked.jpg" in [p for p, _ in found.all_items()]
    reasons = dict(found.ignored)
    assert set(reasons) == {"latest", "gone", "rose/IMG_9.jpg", "rose/more"}
    assert reasons["latest"].startswith("a symbolic link to a folder, not followed")
    assert reasons["rose/IMG_9.jpg"].startswith("a broken symbolic link")
    assert len(caught) == 1 and "4 symbolic link(s)" in str(caught[0].message)
