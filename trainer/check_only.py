"""``edge-train DATA --check-only``: the dataset health check alone, in seconds, before any training.

The photos are found, checked and split exactly as a training with the same settings would (same seed, same test
photos), decoded into a temporary cache, and passed once through the frozen backbone of the configured model; the
check (:mod:`trainer.health`) fits its own cross-validated head on the training photos' features, the k-fold
machinery of phase 1. Only ``<out>/dataset_health.json`` is written: no model, no other run-folder file, and the
temporary cache is removed.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict

from common import run_folder as rf
from common.paths import check_output_dir

from trainer import features, health
from trainer.config import TrainConfig
from trainer.dataset import check_class_counts, discover, hold_out_test, split_dataset, use_class_weights, without
from trainer.errors import TrainerError
from trainer.images import build_image_cache
from trainer import backbone_search, backbones
from trainer.model import build_model
from trainer.progress import say


@dataclass
class CheckOnlyResult:
    """What :func:`check_only` found and where it wrote it."""

    report: health.HealthReport
    path: Path  #: ``<out>/dataset_health.json``
    splits: rf.Splits
    timings: Dict[str, float] = field(default_factory=dict)


def check_only(config: TrainConfig, settings: health.HealthSettings = health.HealthSettings()) -> CheckOnlyResult:
    """Run the dataset health check of ``config.data_dir`` and write ``config.out_dir/dataset_health.json``.

    The photo folder is validated as for a training (:class:`trainer.errors.DatasetError` for a folder that cannot be
    trained on) before the output folder is touched. A folder holding a finished run is refused unless
    ``config.overwrite``: its ``dataset_health.json`` belongs to that run.
    """
    start = time.perf_counter()
    config.validate()
    verbose = config.verbose
    discovery = discover(config.data_dir)
    where = discovery.root / "train" if discovery.explicit else discovery.root
    if "val" not in discovery.files:
        check_class_counts(discovery.labels, discovery.files["train"], config.min_photos_per_class, where)
    out = Path(config.out_dir).expanduser().resolve()
    check_output_dir(out, "--out")
    if rf.has_finished_training(out) and not config.overwrite:
        raise TrainerError(f"{out}: holds a finished run, whose {rf.DATASET_HEALTH} belongs to it. Check into "
                           "another folder (--out), or pass --overwrite to replace that file.")
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    timings: Dict[str, float] = {}
    try:
        with tempfile.TemporaryDirectory(prefix=".health-check-", dir=out) as tmp:
            report, splits = _check(config, discovery, Path(tmp), settings, timings)
        path = health.write(out, report)
    except BaseException:
        if created and not any(out.iterdir()):
            shutil.rmtree(out, ignore_errors=True)  # a refused folder leaves nothing behind
        raise
    timings["total_s"] = time.perf_counter() - start
    say(report.summary(str(path)), verbose)
    return CheckOnlyResult(report=report, path=path, splits=splits, timings=timings)


def _check(config: TrainConfig, discovery, tmp: Path, settings: health.HealthSettings,
           timings: Dict[str, float]):
    verbose = config.verbose
    prep = config.preprocessing
    test = hold_out_test(discovery, config.test_split, config.seed)
    held = {path for path, _ in test}
    t = time.perf_counter()
    cache = build_image_cache(discovery.root, [p for p, _ in discovery.all_items() if p not in held], prep,
                              tmp / "images.npy", verbose=verbose)
    splits = split_dataset(discovery, cache.usable, config.val_split, config.test_split, config.seed,
                           config.min_photos_per_class, test)
    caches = [cache]
    if splits.test:
        caches.append(build_image_cache(discovery.root, [p for p, _ in splits.test], prep, tmp / "test_images.npy",
                                        verbose=verbose, label="decoding test photos"))
        splits = without(splits, [p for p, _ in caches[-1].skipped], "test")
    timings["decode_s"] = time.perf_counter() - t
    skipped = [path for c in caches for path, _ in c.skipped]
    if skipped:
        say(f"skipped {len(skipped)} file(s) that are not usable photos (a training lists them in "
            f"{rf.DATASET}), e.g. {skipped[0]}", verbose)
    t = time.perf_counter()
    # The named backbone; where a search would choose one, the smallest candidate with weights here (features of any
    # ImageNet backbone find duplicates and suspects; the check is meant to take seconds).
    spec, weights = config.spec, config.weights
    if config.searching:
        found = backbone_search.available(weights, config.size)
        if weights not in (None, "imagenet") and Path(weights).is_file():
            spec = backbones.identify_weights(weights)
        elif found:
            spec, weights = found[0].spec, found[0].weights
        else:
            spec = backbones.get(backbones.DEFAULT)
    parts = build_model(len(splits.labels), size=config.size, weights=weights, dropout=config.dropout, backbone=spec)
    feats = {}
    for name, source in (("train", caches[0]), ("val", caches[0]), ("test", caches[-1])):
        paths = [p for p, _ in splits.items(name)]
        if paths:
            feats[name], _ = features.extract(parts.backbone, source, source.rows(paths), config.batch_size,
                                              f"backbone features ({name})", verbose)
    timings["features_s"] = time.perf_counter() - t
    balanced = use_class_weights(config.class_weights, splits.train, len(splits.labels))
    report = health.check(splits, feats, None, health.pixels_from(*caches), settings, seed=config.seed,
                          balanced=balanced)
    timings["check_s"] = report.seconds
    return report, splits
