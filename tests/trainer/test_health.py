"""trainer.health on synthetic features and pixels: near-duplicates (cross-split first, confirmed by the pixels),
suspect labels from out-of-fold probabilities, confused classes, the summary line and the JSON file. No assets, no
TensorFlow."""
from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from common import run_folder as rf
from common.run_folder import Splits
from trainer import head_fit, health


def texture(seed: int, size: int = 224) -> np.ndarray:
    """A photo-like RGB image: smooth blobs plus fine texture, different for every seed."""
    rng = np.random.default_rng(seed)
    coarse = Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).resize((size, size),
                                                                                     Image.Resampling.BICUBIC)
    fine = Image.fromarray(rng.integers(0, 256, (56, 56, 3), dtype=np.uint8)).resize((size, size),
                                                                                    Image.Resampling.BICUBIC)
    return (0.6 * np.asarray(coarse, np.float32) + 0.4 * np.asarray(fine, np.float32)).astype(np.uint8)


def as_decoded(pixels: np.ndarray, size: int = 224) -> np.ndarray:
    """What the trainer's cache holds: the photo resized to the model's square input."""
    return np.asarray(Image.fromarray(pixels).resize((size, size), Image.Resampling.BILINEAR))


def jpeg(pixels: np.ndarray, quality: int) -> np.ndarray:
    import io

    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


# ----------------------------------------------------------------------------------------- nearest pairs

def brute_force_pairs(x: np.ndarray, k: int, threshold: float):
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    sims = xn @ xn.T
    out = set()
    for i in range(len(x)):
        later = [(sims[i, j], j) for j in range(i + 1, len(x))]
        for s, j in sorted(later, reverse=True)[:k]:
            if s >= threshold:
                out.add((i, j))
    return out


def test_nearest_pairs_in_blocks_are_the_brute_force_top_k():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 16)).astype(np.float32)
    x[150:180] = x[:30] + 0.05 * rng.normal(size=(30, 16))  # 30 near-copies
    x[200:205] = x[0] + 0.05 * rng.normal(size=(5, 16))  # one photo with 6 near-copies in all
    for block_elements in (300 * 7, 300 * 64, 1 << 23):  # many blocks, a few, one
        i, j, s = health.nearest_pairs(x, 3, 0.9, block_elements=block_elements)
        assert set(zip(i.tolist(), j.tolist())) == brute_force_pairs(x, 3, 0.9)
        assert np.all(np.diff(s) <= 1e-6)  # most similar first
        assert np.all(i < j)
    assert {(k, 150 + k) for k in range(1, 30)} <= set(zip(i.tolist(), j.tolist()))


def test_nearest_pairs_of_nothing_or_one_photo():
    for n in (0, 1):
        i, j, s = health.nearest_pairs(np.zeros((n, 4), np.float32), 5, 0.5)
        assert len(i) == len(j) == len(s) == 0


# ----------------------------------------------------------------------------------------- pixel check

def test_pixel_similarity_confirms_copies_and_rejects_other_photos():
    photo = texture(1, 320)
    same = as_decoded(photo)
    copies = {
        "re-encoded": as_decoded(jpeg(photo, 40)),
        "resized": as_decoded(np.asarray(Image.fromarray(photo).resize((160, 160), Image.Resampling.LANCZOS))),
        "cropped": as_decoded(photo[20:300, 12:292]),  # 87 % of each side, off-centre
        "darker": (same * 0.7).astype(np.uint8),
    }
    threshold = health.HealthSettings().duplicate_pixels
    for kind, copy in copies.items():
        assert health.pixel_similarity(same, copy) >= threshold, kind
        assert health.pixel_similarity(copy, same) == pytest.approx(health.pixel_similarity(same, copy))
    for seed in range(2, 8):
        assert health.pixel_similarity(same, as_decoded(texture(seed, 320))) < threshold
    assert health.pixel_similarity(same, same) == pytest.approx(1.0, abs=1e-4)


def test_a_flat_photo_matches_nothing():
    flat = np.full((224, 224, 3), 128, np.uint8)
    assert health.pixel_similarity(flat, as_decoded(texture(3))) < health.HealthSettings().duplicate_pixels


# ----------------------------------------------------------------------------------------- duplicates

def split_world(n_per_split=(12, 6, 6), classes=("cat", "dog"), dim=32, seed=0):
    """Splits of distinct photos (random features, random pixels) and their readers."""
    rng = np.random.default_rng(seed)
    items, feats, pixels = {}, {}, {}
    for name, n in zip(rf.SPLIT_NAMES, n_per_split):
        items[name] = [(f"{name}/{classes[k % 2]}/p{k}.jpg", k % 2) for k in range(n)]
        feats[name] = rng.normal(size=(n, dim)).astype(np.float32)
        for k, (path, _) in enumerate(items[name]):
            pixels[path] = as_decoded(texture(zlib.crc32(path.encode())))
    splits = Splits(Path("/photos"), list(classes), items["train"], items["val"], items["test"])
    return splits, feats, pixels


def test_duplicates_across_splits_come_first_and_the_pixels_decide():
    splits, feats, pixels = split_world()
    # a train photo copied into test (resized), a val photo copied into train (re-encoded), a pair inside train
    feats["test"][2] = feats["train"][3] + 0.01
    pixels[splits.test[2][0]] = as_decoded(np.asarray(Image.fromarray(pixels[splits.train[3][0]]).resize((150, 150))))
    feats["train"][7] = feats["val"][1] + 0.01
    pixels[splits.train[7][0]] = jpeg(pixels[splits.val[1][0]], 50)
    feats["train"][9] = feats["train"][10] + 0.001
    pixels[splits.train[9][0]] = pixels[splits.train[10][0]].copy()
    # look-alikes: the same features (the model sees the same thing), different pictures: not duplicates
    feats["val"][4] = feats["test"][5] + 0.001
    found = health.find_duplicates(splits, feats, pixels.__getitem__)
    pairs = [(d.a, d.b, d.splits, d.cross_split) for d in found]
    assert set(pairs[:2]) == {(splits.train[3][0], splits.test[2][0], ("train", "test"), True),
                              (splits.train[7][0], splits.val[1][0], ("train", "val"), True)}
    assert pairs[2] == (splits.train[9][0], splits.train[10][0], ("train", "train"), False)
    assert len(found) == 3  # the look-alike pair was rejected by the pixel check
    assert all(d.pixel_similarity >= health.HealthSettings().duplicate_pixels for d in found)
    # without pixels, the feature similarity alone decides: the look-alikes are listed too
    assert len(health.find_duplicates(splits, feats, None)) == 4


def test_duplicate_pairs_name_the_earlier_split_first():
    splits, feats, pixels = split_world()
    feats["train"][0] = feats["test"][0]
    pixels[splits.train[0][0]] = pixels[splits.test[0][0]]
    (d,) = health.find_duplicates(splits, feats, pixels.__getitem__)
    assert d.splits == ("train", "test") and d.a == splits.train[0][0] and d.b == splits.test[0][0]
    assert d.to_dict()["splits"] == ["train", "test"] and d.to_dict()["labels"] == ["cat", "cat"]


# ----------------------------------------------------------------------------------------- suspect labels

def clusters(n_per_class: int, classes: int, dim: int = 24, seed: int = 0):
    """Well separated classes of features, labels 0..classes-1."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 4, (classes, dim))
    x = np.concatenate([c + rng.normal(0, 1, (n_per_class, dim)) for c in centres]).astype(np.float32)
    return x, np.repeat(np.arange(classes), n_per_class)


def labelled_splits(y: np.ndarray, names=("ant", "bee", "cow")) -> Splits:
    return Splits(Path("/p"), list(names), [(f"{names[v]}/x{i}.jpg", int(v)) for i, v in enumerate(y)], [])


def test_flipped_training_labels_are_the_suspects_most_suspect_first():
    x, y = clusters(50, 3, seed=1)
    flipped = [3, 60, 110]
    y_noisy = y.copy()
    for i in flipped:
        y_noisy[i] = (y[i] + 1) % 3
    splits = labelled_splits(y_noisy)
    report = health.check(splits, {"train": x}, seed=0, balanced=False)
    assert {s.file for s in report.suspect_labels} == {splits.train[i][0] for i in flipped}
    for s in report.suspect_labels:
        i = next(k for k, (p, _) in enumerate(splits.train) if p == s.file)
        assert s.label == splits.labels[y_noisy[i]] and s.suggested == splits.labels[y[i]]
        settings = health.HealthSettings()
        assert s.label_probability <= settings.suspect_label_probability
        assert s.suggested_probability >= settings.suspect_other_probability and s.score == 1 - s.label_probability
    assert [s.score for s in report.suspect_labels] == sorted((s.score for s in report.suspect_labels), reverse=True)
    assert report.scored == len(y)


def test_the_trainers_head_is_used_as_it_is():
    x, y = clusters(20, 3)
    splits = labelled_splits(y)
    oof = np.full((len(y), 3), 0.01)
    oof[np.arange(len(y)), y] = 0.98
    oof[5] = [0.005, 0.99, 0.005]  # photo 5 (label 0) looks like class 1
    oof[6] = np.nan  # outside the cross-validated subset: not scored
    head = head_fit.HeadFit(kernel=np.zeros((24, 3), np.float32), bias=np.zeros(3, np.float32), C=1.0, folds=5,
                            oof_probs=oof)
    report = health.check(splits, {"train": x}, head)
    assert [(s.file, s.label, s.suggested) for s in report.suspect_labels] == [(splits.train[5][0], "ant", "bee")]
    assert report.scored == len(y) - 1
    assert [c.to_dict() for c in report.confused_classes] == [
        {"classes": ["ant", "bee"], "count": 1, "rate": round(1 / 39, 4), "a_as_b": 1, "b_as_a": 0}]


def test_without_cross_validation_there_are_no_suspects_but_duplicates_are_still_checked():
    x, y = clusters(1, 3)  # one photo per class: no fold possible
    x[1] = x[0]
    splits = labelled_splits(y)
    report = health.check(splits, {"train": x})
    assert report.suspect_labels == [] and report.confused_classes == [] and report.scored == 0
    assert len(report.duplicates) == 1 and report.temperature is None


def test_calibration_finds_the_temperature_of_over_confident_probabilities():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 2, (4000, 4))
    true_p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    labels = np.array([rng.choice(4, p=p) for p in true_p])
    sharp = np.exp(3 * logits) / np.exp(3 * logits).sum(1, keepdims=True)  # three times too confident
    calibrated, t = health.calibrate(sharp, labels)
    assert t == pytest.approx(3.0, rel=0.1)
    assert np.abs(calibrated - true_p).max() < 0.05
    sharp[0] = np.nan
    calibrated, _ = health.calibrate(sharp, labels)
    assert np.isnan(calibrated[0]).all() and np.isfinite(calibrated[1:]).all()


def test_confused_classes_count_both_directions_most_first():
    y = np.array([0] * 10 + [1] * 10 + [2] * 10)
    predicted = y.copy()
    predicted[[0, 1, 2]] = 1  # 3 ants called bees
    predicted[[10]] = 0  # 1 bee called an ant
    predicted[[20, 21]] = 0  # 2 cows called ants
    probs = np.eye(3)[predicted]
    pairs = health.find_confused_classes(labelled_splits(y), probs)
    assert [(c.classes, c.count, c.a_as_b, c.b_as_a) for c in pairs] == [
        (("ant", "bee"), 4, 3, 1), (("ant", "cow"), 2, 0, 2)]
    assert pairs[0].rate == pytest.approx(4 / 20)


# ----------------------------------------------------------------------------------------- summary and file

def report_with(cross: int, within: int, suspects: int) -> health.HealthReport:
    dups = [health.Duplicate(f"train/a{i}.jpg", f"test/b{i}.jpg", 0.99, 0.9, ("train", "test"), ("a", "a"))
            for i in range(cross)]
    dups += [health.Duplicate(f"train/c{i}.jpg", f"train/d{i}.jpg", 0.99, 0.9, ("train", "train"), ("a", "a"))
             for i in range(within)]
    sus = [health.SuspectLabel(f"a/s{i}.jpg", "a", "b", 0.99, 0.01, 0.98) for i in range(suspects)]
    return health.HealthReport(["a", "b"], dups, sus, [], {"train": 10, "test": 5}, 10, 1.0)


def test_summary_line():
    assert report_with(3, 0, 5).summary("the report") == (
        "dataset health: 3 photos appear in both train and test; 5 photos may be mislabelled: see the report")
    assert report_with(1, 2, 1).summary() == ("dataset health: 1 photo appears in both train and test; 2 "
                                              "near-duplicate pairs within a split; 1 photo may be mislabelled")
    assert report_with(0, 0, 0).summary("x.json") == (
        "dataset health: no duplicate photos or suspect labels found (x.json)")


def test_the_json_file_has_the_documented_shape(tmp_path):
    path = health.write(tmp_path, report_with(2, 1, 1))
    assert path == tmp_path / rf.DATASET_HEALTH and rf.DATASET_HEALTH in rf.TRAINER_FILES
    data = json.loads(path.read_text(encoding="utf-8"))
    assert set(data["duplicates"][0]) >= {"a", "b", "similarity", "splits"}
    assert [d["splits"] for d in data["duplicates"]] == [["train", "test"], ["train", "test"], ["train", "train"]]
    assert set(data["suspect_labels"][0]) >= {"file", "label", "suggested", "score"}
    assert data["confused_classes"] == [] and data["summary"].startswith("dataset health: 2 photos")
    assert [p.name for p in tmp_path.iterdir()] == [rf.DATASET_HEALTH]  # no temporary file left
