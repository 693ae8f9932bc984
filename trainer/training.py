"""Training: photos folder -> classifier in a run folder. The orchestration; each phase has a module of its own.

1. **Split** the file list (seeded, stratified; a test split when every class has enough photos) and save
   ``splits.json``.
2. **Decode** the training and validation photos once through the preprocessing contract into an on-disk uint8
   cache (:mod:`trainer.images`); unusable files are skipped with one warning and listed in ``dataset.json``. The
   test photos are not read until step 6.
3. **Features**: the frozen backbone's pooled features of the train and val photos, once (:mod:`trainer.features`).
4. **Phase 1**, the head (:mod:`trainer.head_fit`): a linear softmax head whose regularisation is chosen by k-fold
   cross-validation on the training photos, like a linear probe; never worse than one, and seconds to fit.
5. **Phase 2**, fine-tuning (:mod:`trainer.fine_tune`, when every class has enough photos and it can pay): the top
   backbone blocks train on cached activations of the frozen ones, a fixed schedule; the validation photos then
   decide, once, whether the fine-tuned model beats the head beyond noise (:mod:`trainer.selection`). When the head
   stays, it is refitted on the training and validation photos together (``refit_head``).
6. **Evaluate** the chosen model on the validation photos (they chose it) and only now decode the test photos and
   evaluate on them (an unreadable one is skipped and listed, like any other).
7. **Save** the run folder: ``model.keras``, ``labels.txt``, ``config.json``, ``splits.json``, ``history.json``,
   ``metrics.json``, ``training_curves.png``, ``confusion_matrix.png``, ``dataset.json``.

The decoded photos, features, the fitted head and every fine-tuning epoch are checkpointed in ``<out>/checkpoint/``.
Running again with the same output folder and settings resumes where it stopped.
"""
from __future__ import annotations

import json
import os
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from common import figures
from common import run_folder as rf
from common.atomic import atomic_path, fsync_dir
from common.metrics import accuracy_lines, classification_metrics, evaluation_roles
from common.paths import check_output_dir

from trainer import backbone_search, backbones, features, fine_tune, head_fit, health, selection
from trainer.config import TrainConfig
from trainer.dataset import Discovery, Splits, check_class_counts, class_weights, discover, hold_out_test, \
    resolve_test_split, split_dataset, use_class_weights, without
from trainer.errors import SkippedFilesWarning, TrainerError
from trainer.images import ImageCache, build_image_cache
from trainer.model import ModelParts, build_model, keras
from trainer.progress import say

#: Files of a finished run folder (defined in common/run_folder.py).
RUN_FILES = rf.TRAINER_FILES
CHECKPOINT_DIR = rf.CHECKPOINT_DIR
#: Inside ``checkpoint/``: where a training writes its run files until they are all complete.
STAGING_DIR = "run"

#: ``hook(phase, epoch, logs)`` is called after each fine-tuning epoch's checkpoint is written (phase 2, epoch from
#: 0).
EpochHook = Callable[[int, int, Dict[str, float]], None]


@dataclass
class Run:
    """The result of :func:`train`: where the run folder is and what the training reached."""

    path: Path
    labels: List[str]
    metrics: Dict[str, Any]
    history: Dict[str, List[Dict[str, float]]]
    config: TrainConfig
    dataset: Dict[str, Any]
    timings: Dict[str, float] = field(default_factory=dict)
    model: Any = None  # the trained tf_keras model in memory (the one saved as model.keras)

    @property
    def model_path(self) -> Path:
        return self.path / rf.MODEL

    @property
    def val_top1(self) -> float:
        """Top-1 accuracy on the validation photos."""
        return float(self.metrics["val"]["top1"])

    def load_model(self) -> Any:
        from trainer.model import load_model

        return load_model(self.model_path)


# --------------------------------------------------------------------------------------------------------------
# Output folder: finished runs, resumption


def _prepare_out_dir(config: TrainConfig) -> Path:
    """Check the output folder and set up its ``checkpoint/``; nothing finished is removed here.

    A finished run is replaced only with ``config.overwrite``, and only at the end (:func:`_publish`): until the new
    run is complete, the old one stays as it was. An interrupted run with the same settings is resumed (also with
    ``overwrite``); one with other settings is refused unless ``overwrite``, or unless it never finished an epoch
    nor computed its features (then there is nothing to lose and it is started over).
    """
    out = Path(config.out_dir).expanduser().resolve()
    check_output_dir(out, "--out")  # a file in the way, read-only, full: one line, before any slow work
    ck = out / CHECKPOINT_DIR
    if rf.has_finished_training(out) and not config.overwrite:
        raise TrainerError(
            f"{out}: already holds a finished run. Choose another output folder (--out), or pass --overwrite "
            "to replace it (it is kept until the new run is complete)."
        )
    key = json.loads(json.dumps(config.resume_key()))  # as stored: tuples become lists
    saved = rf.read_checkpoint_key(out)  # None: nothing to resume; {}: an unreadable key
    if ck.exists() and saved != key:
        if saved and not config.overwrite and _has_progress(ck):
            changed = sorted(k for k in set(saved) | set(key) if saved.get(k) != key.get(k))
            hint = ""
            if "test_split" in changed and key.get("test_split") is None:  # started before the automatic test split
                hint = f" (it was started with --test-split {saved.get('test_split')}; pass that to resume it)"
            raise TrainerError(
                f"{out}: holds an interrupted run with different settings ({', '.join(changed)}){hint}. Run again "
                f"with the same settings to resume it, choose another --out, or pass --overwrite to start over."
            )
        shutil.rmtree(ck)  # another run's leftovers with nothing to resume, or replaced on purpose (--overwrite)
    elif saved is not None:
        say(f"resuming the interrupted run in {out}", config.verbose)
    out.mkdir(parents=True, exist_ok=True)
    rf.write_checkpoint_key(out, key)
    return out


def _has_progress(ck: Path) -> bool:
    """Whether an interrupted training in ``ck`` got far enough to be worth resuming (features or an epoch)."""
    return any((ck / name).is_file() for name in ("phase1.npz", "phase2.npz")) or any(ck.glob("features_*.npz"))


def _publish(staging: Path, out: Path) -> None:
    """Move the new run's files from ``staging`` into ``out``, replacing the old run's (each move atomic); a file
    of the old run that the new one does not have is removed. Until this point the old run is untouched."""
    rf.invalidate_derived(out)  # the old model's .tflite files and reports go first: none may describe the new one
    for name in RUN_FILES:
        src = staging / name
        if src.is_file():
            os.replace(src, out / name)
        else:
            (out / name).unlink(missing_ok=True)
    fsync_dir(out)


def _keep_photo_cache(ck_dir: Path, out: Path) -> None:
    """Move the decoded photos (``checkpoint/*images_*``) to ``<out>/cache/`` for the converter, replacing an older
    cache; a failure here only costs the converter a decode, so it is not an error."""
    cache = out / rf.PHOTO_CACHE_DIR
    try:
        cache.mkdir(exist_ok=True)
        for old in cache.glob("*images_*"):
            old.unlink()
        for path in sorted(ck_dir.glob("*images_*")):
            if path.suffix in (".npy", ".json") and not path.name.startswith("."):
                os.replace(path, cache / path.name)
        fsync_dir(cache)
    except OSError:
        pass


# --------------------------------------------------------------------------------------------------------------
# Determinism


def _seed_everything(config: TrainConfig) -> None:
    k = keras()
    import tensorflow as tf

    k.utils.set_random_seed(config.seed)
    if config.deterministic:
        try:
            tf.config.experimental.enable_op_determinism()
        except (AttributeError, RuntimeError):  # older TF, or already configured
            pass


def _set_head(parts: ModelParts, fit: head_fit.HeadFit) -> None:
    """Put the fitted head's weights into the model's Dense layer."""
    parts.head.get_layer("classifier").set_weights([fit.kernel, fit.bias])


def _head_phase(parts: ModelParts, feats: Dict[str, np.ndarray], y_train: np.ndarray, balanced: bool,
                config: TrainConfig, ck_dir: Path, verbose: bool) -> head_fit.HeadFit:
    """Phase 1: the head chosen by cross-validation on the training photos' features (cached in ``ck_dir``)."""
    path = ck_dir / "phase1.npz"
    fit = head_fit.load(path, len(y_train))
    if fit is None:
        fit = head_fit.fit_head(feats["train"], y_train, int(parts.head.output_shape[-1]), seed=config.seed,
                                balanced=balanced, folds=config.head_folds)
        head_fit.save(path, fit)
    _set_head(parts, fit)
    cv = f", cross-validated top-1 {fit.cv_top1:.3f} over {fit.folds} folds" if fit.cv_top1 is not None else ""
    say(f"phase 1 (head): C {fit.C:g}{cv} on {len(y_train)} training photos", verbose)
    return fit


# --------------------------------------------------------------------------------------------------------------
# The run


def _dataset_summary(splits: Splits, skipped: List[Tuple[str, str]], discovery_ignored: List[Tuple[str, str]],
                     explicit: bool) -> Dict[str, Any]:
    counts = splits.counts()
    per_class = {label: sum(c.get(label, 0) for c in counts.values()) for label in splits.labels}
    return {
        "root": str(splits.root),
        "layout": "train/val folders" if explicit else "one folder per class",
        "labels": list(splits.labels),
        "counts": counts,
        "per_class": per_class,
        "total": int(sum(per_class.values())),
        "skipped_count": len(skipped),
        "skipped": [{"path": p, "reason": r} for p, r in skipped],
        "ignored": [{"path": p, "reason": r} for p, r in discovery_ignored],
    }


def _warn_skipped(skipped: List[Tuple[str, str]]) -> None:
    if not skipped:
        return
    lines = "\n".join(f"  {path}: {reason}" for path, reason in skipped[:50])
    more = f"\n  ... and {len(skipped) - 50} more (see dataset.json)" if len(skipped) > 50 else ""
    warnings.warn(
        f"skipped {len(skipped)} file(s) that are not usable photos (listed in dataset.json):\n{lines}{more}",
        SkippedFilesWarning, stacklevel=3,
    )


def _resumed_splits(staging: Path, discovery: Discovery) -> "Splits | None":
    """The split an interrupted run staged (its checkpoint key matched, or the staging folder would be gone), when
    it still fits the photo folder (same labels, every photo still there); None otherwise."""
    splits = rf.read_splits(staging)
    if splits is None or splits.labels != discovery.labels or splits.root != discovery.root:
        return None
    found = set(discovery.all_items())
    return splits if all(item in found for name in rf.SPLIT_NAMES for item in splits.items(name)) else None


def fine_tune_enabled(config: TrainConfig, splits: Splits) -> bool:
    """``config.fine_tune`` when set; otherwise on when every class has ``fine_tune_min_per_class`` training photos."""
    if config.fine_tune_epochs == 0:
        return False
    if config.fine_tune is not None:
        return bool(config.fine_tune)
    counts = splits.counts().get("train", {})
    return bool(counts) and min(counts.values()) >= config.fine_tune_min_per_class


def _fine_tune_phase(parts: ModelParts, cache: ImageCache, splits: Splits, train_features: np.ndarray,
                     head_val: np.ndarray, weights: np.ndarray, config: TrainConfig, ck_dir: Path,
                     hooks: Sequence[EpochHook], timings: Dict[str, float]
                     ) -> Tuple[Optional[selection.Decision], List[Dict[str, float]]]:
    """Phase 2, when it may pay, and the decision between it and the head. Returns (decision, epoch rows); the
    decision is None when phase 2 did not run. ``parts`` holds the winner afterwards."""
    y_val = np.array([label for _, label in splits.val], dtype=np.int64)
    if config.fine_tune is None and not selection.can_pay(head_val, y_val):
        wrong = int(np.sum(head_val.argmax(1) != y_val))
        say(f"phase 2 skipped: the head gets only {wrong} of {len(y_val)} validation photos wrong, so fine-tuning "
            "could not show a win beyond noise (force it with --fine-tune)", config.verbose)
        return None, []
    settings = fine_tune.FineTuneSettings(
        epochs=config.fine_tune_epochs, learning_rate=config.fine_tune_learning_rate, blocks=config.fine_tune_blocks,
        views=config.fine_tune_views, label_smoothing=config.label_smoothing, batch_size=config.batch_size,
        seed=config.seed, augment=config.augment, verbose=config.verbose)
    head_weights = parts.full.get_weights()
    t = time.perf_counter()
    result = fine_tune.fine_tune(
        parts, cache, cache.rows([p for p, _ in splits.train]),
        np.array([label for _, label in splits.train], dtype=np.int64), cache.rows([p for p, _ in splits.val]),
        y_val, weights, settings, ck_dir, train_features, [lambda epoch, row: [h(2, epoch, row) for h in hooks]])
    timings["phase2_s"] = time.perf_counter() - t
    timings.update({f"phase2_{k}": v for k, v in result.seconds.items()})
    decision = selection.compare(head_val, result.val_probs, y_val)
    if not decision.keep_fine_tuned:
        parts.full.set_weights(head_weights)
    say("phase 2: " + decision.sentence(), config.verbose)
    return decision, result.history


def _choose_backbone(config: TrainConfig, y_train: np.ndarray, n_classes: int, balanced: bool,
                     train_features_of: Callable[[backbone_search.Candidate], Dict[str, np.ndarray]],
                     measure: Optional[backbone_search.Measure], timings: Dict[str, float]
                     ) -> Tuple[backbone_search.Candidate, Optional[backbone_search.SearchResult]]:
    """The backbone (and its weights) this training uses: the one named, or the search's choice among the
    candidates whose weights are here (:mod:`trainer.backbone_search`). Returns (candidate, search or None)."""
    if not config.searching:
        return backbone_search.Candidate(config.spec, config.weights), None
    weights = config.weights
    if weights not in (None, "imagenet") and Path(weights).is_file():  # one weights file: its backbone, no search
        return backbone_search.Candidate(backbones.identify_weights(weights), weights), None
    candidates = backbone_search.available(weights, config.size)
    if len(candidates) < 2:
        default = backbones.get(backbones.DEFAULT)
        pick = candidates[0] if candidates else backbone_search.Candidate(default, weights)
        say(f"backbone: {pick.spec.title} (the only candidate with weights here; --weights FOLDER or more files in "
            "Keras' cache give the backbone search more)" if candidates else
            f"backbone: {pick.spec.title} (no weights to compare backbones with)", config.verbose)
        return pick, None
    t = time.perf_counter()
    result = backbone_search.search(
        candidates, train_features_of, y_train, n_classes, config.size, config.seed,
        balanced, config.max_latency_ms, config.max_size_mb, measure,
        log=lambda m: say(m, config.verbose))
    timings["backbone_search_s"] = time.perf_counter() - t
    return result.chosen, result


def train(config: TrainConfig, hooks: Sequence[EpochHook] = (),
          measure: Optional[backbone_search.Measure] = None) -> Run:
    """Train a classifier on ``config.data_dir`` and write the run folder ``config.out_dir``.

    Resumes an interrupted run in the same folder (same settings); refuses to replace a finished run unless
    ``config.overwrite``. The photo folder is checked before the output folder is touched, and the run files are
    written beside the old run (``checkpoint/run/``) and moved into place only when all are complete, so a failed
    or interrupted retrain keeps the finished run. ``hooks`` are called after every fine-tuning epoch (tests use
    them to simulate an interruption). ``measure``: what a candidate backbone costs on the device, for the backbone
    search (``converter.backbone_costs.measure``, which ``edge-kit`` passes); without it the search estimates sizes
    and cannot hold a latency budget.
    """
    t_start = time.perf_counter()
    config.validate()
    if config.searching and config.max_latency_ms is not None and measure is None:
        raise TrainerError("max_latency_ms needs each candidate backbone's int8 model converted and timed, which "
                           "edge-kit does (edge-kit PHOTOS --out OUT --max-latency-ms N); edge-train alone can keep to "
                           "a size (--max-size-mb), or name the backbone (--backbone NAME).")
    verbose = config.verbose
    # The inputs first: a photo folder that cannot be trained on changes nothing in the output folder.
    discovery = discover(config.data_dir)
    where = discovery.root / "train" if discovery.explicit else discovery.root
    if "val" not in discovery.files:  # fail before decoding anything when the folder can never be split
        check_class_counts(discovery.labels, discovery.files["train"], config.min_photos_per_class, where)
    out = _prepare_out_dir(config)
    ck_dir = out / CHECKPOINT_DIR
    staging = ck_dir / STAGING_DIR  # the new run's files, moved over the old run's once all are written
    timings: Dict[str, float] = {}
    say(f"{discovery.root}: {len(discovery.labels)} classes, {len(discovery.all_items())} files", verbose)

    # The test photos are chosen on the file list and not decoded here: nothing but the final evaluation reads them.
    # A resumed run continues with the very split it staged.
    test_split = resolve_test_split(discovery, config.test_split)
    staged = _resumed_splits(staging, discovery)
    test = staged.test if staged is not None else hold_out_test(discovery, config.test_split, config.seed)
    held = {p for p, _ in test}
    t = time.perf_counter()
    prep = config.preprocessing
    cache = build_image_cache(discovery.root, [p for p, _ in discovery.all_items() if p not in held], prep,
                              ck_dir / f"images_{prep.height}x{prep.width}.npy", verbose=verbose)
    timings["decode_s"] = time.perf_counter() - t
    _warn_skipped(cache.skipped)
    splits = staged if staged is not None else split_dataset(
        discovery, cache.usable, config.val_split, config.test_split, config.seed, config.min_photos_per_class, test)
    rf.write_splits(staging, splits)
    skipped = list(cache.skipped)
    dataset = _dataset_summary(splits, skipped, discovery.ignored, discovery.explicit)
    say("split: " + ", ".join(f"{name} {sum(c.values())}" for name, c in splits.counts().items())
        + ("" if splits.test else " (no test split: the reported numbers will be validation numbers)"), verbose)

    _seed_everything(config)
    y_train = np.array([label for _, label in splits.train], dtype=np.int64)
    y_val = np.array([label for _, label in splits.val], dtype=np.int64)
    balanced = use_class_weights(config.class_weights, splits.train, len(splits.labels))
    weights = (np.array([class_weights(splits.labels, splits.train)[i] for i in range(len(splits.labels))])
               if balanced else np.ones(len(splits.labels)))
    train_paths = {"train": [p for p, _ in splits.train]}

    def features_of(candidate: backbone_search.Candidate, which: Dict[str, List[str]],
                    backbone: Any = None) -> Dict[str, np.ndarray]:
        """The candidate's features of these photos (cached in checkpoint/; its model is built only if needed)."""
        def build() -> Any:
            return build_model(len(splits.labels), size=config.size, weights=candidate.weights,
                               dropout=config.dropout, backbone=candidate.spec).backbone

        name = "+".join(which)
        return features.cached(ck_dir / f"features_{candidate.spec.name}_{name}.npz", backbone or build, cache, which,
                               config.batch_size, verbose, timings, tag=f" of {candidate.spec.title}")

    chosen, search = _choose_backbone(config, y_train, len(splits.labels), balanced,
                                      lambda c: features_of(c, train_paths), measure, timings)
    config = config.with_backbone(chosen.spec) if config.searching else config
    t = time.perf_counter()
    parts = build_model(len(splits.labels), size=config.size, weights=chosen.weights, dropout=config.dropout,
                        backbone=chosen.spec)
    timings["build_s"] = time.perf_counter() - t
    feats = {**features_of(chosen, train_paths, parts.backbone),
             **features_of(chosen, {"val": [p for p, _ in splits.val]}, parts.backbone)}
    frozen_backbone = parts.backbone.get_weights()  # the health check's test features must match these features
    t = time.perf_counter()
    head = _head_phase(parts, feats, y_train, balanced, config, ck_dir, verbose)
    timings["head_s"] = time.perf_counter() - t
    head_val = head.predict_proba(feats["val"])
    history: Dict[str, List[Dict[str, float]]] = {"phase2": []}

    decision: Optional[selection.Decision] = None
    fine_tune_on = fine_tune_enabled(config, splits)
    if fine_tune_on:
        decision, history["phase2"] = _fine_tune_phase(parts, cache, splits, feats["train"], head_val, weights, config,
                                                       ck_dir, hooks, timings)
    elif config.fine_tune is None and config.fine_tune_epochs > 0:
        say(f"phase 2 skipped: fine-tuning needs at least {config.fine_tune_min_per_class} training photos in every "
            "class (force it with --fine-tune)", verbose)
    fine_tuned = bool(decision and decision.keep_fine_tuned)
    refit = None
    if not fine_tuned and config.refit_head and len(y_val):
        # The validation photos have chosen (head or fine-tuning); the head now learns from them too.
        refit = head_fit.fit_head(np.concatenate([feats["train"], feats["val"]]), np.concatenate([y_train, y_val]),
                                  len(splits.labels), seed=config.seed, balanced=balanced,
                                  c_grid=[head.C])
        _set_head(parts, refit)
        say(f"head refitted on the {len(y_train) + len(y_val)} training and validation photos (C {head.C:g})",
            verbose)

    # Every decision is made. Final evaluation with the full model on the decoded photos (the same pixels the device
    # will see): the validation photos, then the test photos, decoded only now.
    metrics: Dict[str, Any] = {}
    probs, _ = features.extract(parts.full, cache, cache.rows([p for p, _ in splits.val]), config.batch_size,
                                "evaluating (validation)", False)
    metrics["val"] = classification_metrics(probs, [label for _, label in splits.val], splits.labels)
    if splits.test:
        t = time.perf_counter()
        test_cache = build_image_cache(discovery.root, [p for p, _ in splits.test], prep,
                                       ck_dir / f"test_images_{prep.height}x{prep.width}.npy", verbose=verbose,
                                       label="decoding test photos")
        timings["decode_test_s"] = time.perf_counter() - t
        _warn_skipped(test_cache.skipped)
        splits = without(splits, [p for p, _ in test_cache.skipped], "test")
        skipped += test_cache.skipped
        dataset = _dataset_summary(splits, skipped, discovery.ignored, discovery.explicit)
        if splits.test:
            probs, _ = features.extract(parts.full, test_cache, test_cache.rows([p for p, _ in splits.test]),
                                        config.batch_size, "evaluating (test)", False)
            metrics["test"] = classification_metrics(probs, [label for _, label in splits.test], splits.labels)
    metrics["val_top1"] = metrics["val"]["top1"]
    metrics["evaluation"] = evaluation_roles([name for name in ("val", "test") if name in metrics],
                                             val_trained=refit is not None)
    metrics["fine_tuned"] = fine_tuned
    metrics["head"] = {**head.summary(), "refit_on_validation": refit is not None}
    metrics["selection"] = decision.to_dict() if decision else None
    metrics["backbone"] = {"name": chosen.spec.name, "title": chosen.spec.title,
                           "search": None if search is None else {
                               "candidates": search.table(), "seconds": search.seconds,
                               "max_latency_ms": config.max_latency_ms, "max_size_mb": config.max_size_mb}}
    health.after_training(staging, splits, feats, head, parts.backbone, frozen_backbone,  # dataset_health.json
                          [cache] + ([test_cache] if splits.test else []), config.batch_size, verbose, timings)

    _save_run(staging, parts, config, splits, history, metrics, dataset, fine_tuned, weights, test_split,
              chosen.weights)
    timings["total_s"] = time.perf_counter() - t_start
    rf.write_history(staging, history, timings)
    _publish(staging, out)
    _keep_photo_cache(ck_dir, out)
    shutil.rmtree(ck_dir, ignore_errors=True)
    for line in accuracy_lines(metrics):
        say(line, verbose)
    say(f"run folder {out} ({timings['total_s']:.0f} s)", verbose)
    return Run(path=out, labels=list(splits.labels), metrics=metrics, history=history, config=config,
               dataset=dataset, timings=timings, model=parts.full)


def _save_run(out: Path, parts: ModelParts, config: TrainConfig, splits: Splits,
              history: Dict[str, List[Dict[str, float]]], metrics: Dict[str, Any], dataset: Dict[str, Any],
              fine_tuned: bool, weights: np.ndarray, test_split: float, backbone_weights: Optional[str]) -> None:
    parts.base.trainable = False  # the saved model is for inference; its layers carry no training state
    with atomic_path(out / rf.MODEL, suffix=".keras") as tmp:
        tmp.unlink()  # Keras refuses to overwrite silently in some versions
        parts.full.save(tmp)
    rf.write_labels(out, splits.labels)
    rf.write_splits(out, splits)
    cfg = config.to_dict()
    cfg["resolved"] = {"fine_tune": fine_tuned, "test_split": test_split, "backbone_weights": backbone_weights,
                       "class_weights": {splits.labels[i]: float(w) for i, w in enumerate(weights)}}
    rf.write_json(out, rf.CONFIG, cfg)
    rf.write_json(out, rf.METRICS, metrics)
    rf.write_json(out, rf.DATASET, dataset)
    figures.write_png(figures.training_curves_png(figures.training_phases(history)), out / rf.TRAINING_CURVES)
    figures.write_png(figures.confusion_matrix_png(splits.labels, metrics["val"]["confusion_matrix"],
                                                   "validation confusion matrix"), out / rf.CONFUSION_MATRIX)
