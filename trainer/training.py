"""Training: photos folder -> fine-tuned MobileNetV2 classifier in a run folder.

1. **Split** the file list (seeded, stratified; a test split when every class has enough photos) and save
   ``splits.json``.
2. **Decode** the training and validation photos once through the preprocessing contract into an on-disk uint8
   cache; unusable files are skipped with one warning and listed in ``dataset.json``. The test photos are not read
   until step 5.
3. **Phase 1**: compute the frozen backbone's pooled features of the train and val photos ONCE (batched), then
   train the softmax head on them for many cheap epochs (label smoothing, class weights, optional weight decay,
   early stopping on the validation loss, or top-1 with ``selection="top1"``, with the best weights restored).
4. **Phase 2** (fine-tuning, automatic when every class has enough photos): unfreeze the top backbone blocks
   (batch-norm stays frozen, in inference mode), train at a low learning rate with augmentation (flip, rotation,
   zoom, brightness, contrast; training only; constant or cosine learning rate), early stopping as in phase 1; the
   phase-1 model is kept unless a fine-tuning epoch beats it.
5. **Evaluate** the chosen model on the validation photos (they chose it: best epoch, phase 1 or 2) and only now
   decode the test photos and evaluate on them (an unreadable one is skipped and listed, like any other).
6. **Save** the run folder: ``model.keras``, ``labels.txt``, ``config.json``, ``splits.json``, ``history.json``,
   ``metrics.json``, ``training_curves.png``, ``confusion_matrix.png``, ``dataset.json``.

Every epoch writes a checkpoint (weights, optimizer, epoch, phase); the decoded photos and features are cached in
``<out>/checkpoint/``. Running again with the same output folder and settings resumes where it stopped.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence, Tuple

import numpy as np

from common import figures
from common import run_folder as rf
from common.atomic import atomic_path, fsync_dir
from common.metrics import accuracy_lines, classification_metrics, evaluation_roles, nll
from common.paths import check_output_dir

from trainer import checkpoint as ckpt
from trainer.config import TrainConfig
from trainer.dataset import Discovery, Splits, check_class_counts, class_weights, discover, hold_out_test, \
    resolve_test_split, split_dataset, without
from trainer.errors import SkippedFilesWarning, TrainerError
from trainer.images import ImageCache, build_image_cache
from trainer.model import ModelParts, build_model, keras, training_model, unfreeze_top
from trainer.progress import Progress, say

#: Files of a finished run folder (defined in common/run_folder.py).
RUN_FILES = rf.TRAINER_FILES
CHECKPOINT_DIR = rf.CHECKPOINT_DIR
#: Inside ``checkpoint/``: where a training writes its run files until they are all complete.
STAGING_DIR = "run"

#: ``hook(phase, epoch, logs)`` is called after each epoch's checkpoint is written (phase 1 or 2, epoch from 0).
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
    return any((ck / name).is_file() for name in ("features.npz", "phase1.npz", "phase2.npz"))


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


# --------------------------------------------------------------------------------------------------------------
# Determinism, devices


def _seed_everything(config: TrainConfig) -> None:
    k = keras()
    import tensorflow as tf

    k.utils.set_random_seed(config.seed)
    if config.deterministic:
        try:
            tf.config.experimental.enable_op_determinism()
        except (AttributeError, RuntimeError):  # older TF, or already configured
            pass


def _strategy() -> Any:
    """MirroredStrategy across all GPUs when there are several, the default strategy otherwise."""
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


# --------------------------------------------------------------------------------------------------------------
# Features


def _extract_features(
    backbone: Any, cache: ImageCache, rows: np.ndarray, batch_size: int, label: str, verbose: bool,
    mirror: bool = False,
) -> Tuple[np.ndarray, float]:
    """Pooled backbone features of ``rows`` of the cache, batched. Returns (features, seconds)."""
    import tensorflow as tf

    size = backbone.input_shape[1:]
    @tf.function(input_signature=[tf.TensorSpec((None,) + tuple(size), tf.float32)])
    def fn(x: tf.Tensor) -> tf.Tensor:
        return backbone(x, training=False)

    out = np.empty((len(rows), int(backbone.output_shape[-1])), dtype=np.float32)
    progress = Progress(label, len(rows), enabled=verbose)
    pos = 0
    for batch in cache.batches(rows, batch_size, mirror=mirror):
        out[pos : pos + len(batch)] = fn(tf.constant(batch)).numpy()
        pos += len(batch)
        progress.update(len(batch))
    seconds = progress.finish()
    return out, seconds


def _features(parts: ModelParts, cache: ImageCache, splits: Splits, config: TrainConfig, ck_dir: Path,
              timings: Dict[str, float]) -> Dict[str, np.ndarray]:
    path = ck_dir / "features.npz"
    if path.is_file():
        try:
            with np.load(path) as data:
                feats = {k: data[k] for k in data.files if k != "timings"}
                t = json.loads(bytes(data["timings"]).decode("utf-8"))
            if len(feats["train"]) == len(splits.train) and len(feats["val"]) == len(splits.val):
                timings.update(t)
                say("using the cached backbone features", config.verbose)
                return feats
        except (OSError, ValueError, KeyError):
            pass
    feats: Dict[str, np.ndarray] = {}
    t: Dict[str, float] = {}
    for name in ("train", "val"):
        rows = cache.rows([p for p, _ in splits.items(name)])
        feats[name], seconds = _extract_features(parts.backbone, cache, rows, config.batch_size,
                                                 f"backbone features ({name})", config.verbose)
        t[f"features_{name}_s"] = seconds
    if config.mirror_features:
        rows = cache.rows([p for p, _ in splits.train])
        feats["train_mirrored"], t["features_train_mirrored_s"] = _extract_features(
            parts.backbone, cache, rows, config.batch_size, "backbone features (train, mirrored)", config.verbose,
            mirror=True)
    t["feature_images_per_s"] = (len(splits.train) + len(splits.val)) / max(1e-9, t["features_train_s"] + t["features_val_s"])
    timings.update(t)
    ckpt.write_npz(path, {**feats, "timings": np.frombuffer(json.dumps(t).encode("utf-8"), dtype=np.uint8)})
    return feats


# --------------------------------------------------------------------------------------------------------------
# Early stopping bookkeeping shared by both phases


@dataclass
class _Tracker:
    best_loss: float = math.inf
    best_top1: float = -1.0  # validation top-1 of the best epoch
    best_epoch: int = -1
    wait: int = 0
    epoch: int = 0  # epochs completed
    done: bool = False
    history: List[Dict[str, float]] = field(default_factory=list)
    selection: str = "loss"  # TrainConfig.selection: what "best" means

    def to_state(self) -> Dict[str, Any]:
        return {"best_loss": self.best_loss if math.isfinite(self.best_loss) else None, "best_top1": self.best_top1,
                "best_epoch": self.best_epoch, "wait": self.wait, "epoch": self.epoch, "done": self.done,
                "history": self.history}

    @classmethod
    def from_state(cls, state: Dict[str, Any], selection: str = "loss") -> "_Tracker":
        best = state.get("best_loss")
        return cls(best_loss=math.inf if best is None else float(best),
                   best_top1=float(state.get("best_top1", -1.0)), best_epoch=int(state["best_epoch"]),
                   wait=int(state["wait"]), epoch=int(state["epoch"]), done=bool(state["done"]),
                   history=list(state["history"]), selection=selection)

    def rebudget(self, patience: int, max_epochs: int) -> None:
        """Resumed with another epoch budget (``edge-kit --epochs 80`` after an interrupted 60): a phase that
        stopped at the old limit goes on to the new one; one already past a lower limit, or out of patience, is
        done."""
        self.done = self.wait >= patience or self.epoch >= max_epochs

    def _better(self, val_loss: float, val_top1: float) -> bool:
        lower_loss = val_loss < self.best_loss - 1e-6
        if self.selection == "top1":
            return val_top1 > self.best_top1 + 1e-9 or (abs(val_top1 - self.best_top1) <= 1e-9 and lower_loss)
        return lower_loss

    def update(self, val_loss: float, val_top1: float, patience: int, max_epochs: int) -> bool:
        """Record one finished epoch; True when it is the best so far (by ``selection``)."""
        improved = self._better(val_loss, val_top1)
        if improved:
            self.best_loss, self.best_top1, self.best_epoch, self.wait = val_loss, val_top1, self.epoch, 0
        else:
            self.wait += 1
        self.epoch += 1
        self.done = self.wait >= patience or self.epoch >= max_epochs
        return improved


def _epoch_order(seed: int, phase: int, epoch: int, n: int) -> np.ndarray:
    return np.random.default_rng([seed, phase, epoch]).permutation(n)


# --------------------------------------------------------------------------------------------------------------
# Phase 1: the head on cached features


def _train_head(parts: ModelParts, feats: Dict[str, np.ndarray], y_train: np.ndarray, y_val: np.ndarray,
                weights: np.ndarray, config: TrainConfig, ck_dir: Path, hooks: Sequence[EpochHook]) -> _Tracker:
    import tensorflow as tf

    k = keras()
    n_classes = len(weights)
    # A plain (non-distributed) copy: the head is tiny, its training runs as one graph call per epoch.
    head = k.models.clone_model(parts.head)
    head.set_weights(parts.head.get_weights())
    optimizer = k.optimizers.Adam(config.head_learning_rate, weight_decay=config.head_weight_decay or None)
    optimizer.build(head.trainable_variables)
    path = ck_dir / "phase1.npz"
    saved = ckpt.load(path)
    tracker = _Tracker(selection=config.selection)
    best = head.get_weights()
    if saved is not None:
        w, o, b, state = saved
        head.set_weights(w)
        ckpt.set_optimizer_values(optimizer, head.trainable_variables, o)
        best, tracker = b, _Tracker.from_state(state, config.selection)
        if not (ck_dir / "phase2.npz").is_file():  # phase 1 is the latest: its epoch budget may have been changed
            tracker.rebudget(config.head_patience, config.head_epochs)
        say(f"phase 1: resuming after epoch {tracker.epoch}", config.verbose and not tracker.done)

    eps = config.label_smoothing
    if "train_mirrored" in feats:  # each training photo seen as itself and mirrored: twice the examples
        x_train = tf.constant(np.concatenate([feats["train"], feats["train_mirrored"]]))
        y_train = np.concatenate([y_train, y_train])
    else:
        x_train = tf.constant(feats["train"])
    targets = tf.constant(np.eye(n_classes, dtype=np.float32)[y_train] * (1 - eps) + eps / n_classes)
    sample_w = tf.constant(weights[y_train].astype(np.float32))
    n, bs = len(y_train), config.batch_size
    n_batches = (n + bs - 1) // bs

    @tf.function
    def run_epoch(order: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
        total_loss = tf.constant(0.0)
        correct = tf.constant(0.0)
        for b in tf.range(n_batches):
            idx = order[b * bs : tf.minimum((b + 1) * bs, n)]
            x, t, w = tf.gather(x_train, idx), tf.gather(targets, idx), tf.gather(sample_w, idx)
            with tf.GradientTape() as tape:
                probs = head(x, training=True)
                per_sample = -tf.reduce_sum(t * tf.math.log(tf.clip_by_value(probs, 1e-7, 1.0)), axis=1)
                loss = tf.reduce_mean(w * per_sample)
            grads = tape.gradient(loss, head.trainable_variables)
            optimizer.apply_gradients(zip(grads, head.trainable_variables))
            total_loss += tf.reduce_sum(w * per_sample)
            correct += tf.reduce_sum(tf.cast(tf.argmax(probs, 1) == tf.argmax(t, 1), tf.float32))
        return total_loss / n, correct / n

    @tf.function
    def predict(x: tf.Tensor) -> tf.Tensor:
        return head(x, training=False)

    x_val = tf.constant(feats["val"])
    while not tracker.done:
        epoch = tracker.epoch
        loss, acc = run_epoch(tf.constant(_epoch_order(config.seed, 1, epoch, n), dtype=tf.int32))
        probs = predict(x_val).numpy()
        row = {"epoch": epoch + 1, "loss": float(loss), "top1": float(acc),
               "val_loss": nll(probs, y_val), "val_top1": float((probs.argmax(1) == y_val).mean())}
        tracker.history.append(row)
        if tracker.update(row["val_loss"], row["val_top1"], config.head_patience, config.head_epochs):
            best = head.get_weights()
        ckpt.save(path, head.get_weights(), ckpt.optimizer_values(optimizer), best, tracker.to_state())
        if config.verbose and (epoch % 5 == 4 or tracker.done or epoch == 0):
            say(f"phase 1 (head) epoch {epoch + 1}/{config.head_epochs}: " + _fmt(row))
        for hook in hooks:
            hook(1, epoch, row)
    parts.head.set_weights(best)
    say(f"phase 1: best epoch {tracker.best_epoch + 1} (validation loss {tracker.best_loss:.4f}, "
        f"top-1 {tracker.best_top1:.4f})", config.verbose)
    return tracker


def _fmt(row: Dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.4f}" for k, v in row.items() if k != "epoch")


# --------------------------------------------------------------------------------------------------------------
# Phase 2: fine-tuning with augmentation


def _predict_images(model: Any, cache: ImageCache, rows: np.ndarray, batch_size: int) -> np.ndarray:
    import tensorflow as tf

    outs = [model(tf.constant(batch), training=False).numpy() for batch in cache.batches(rows, batch_size)]
    return np.concatenate(outs) if outs else np.zeros((0, model.output_shape[-1]), np.float32)


def _fine_tune_learning_rate(config: TrainConfig, n_train: int) -> Any:
    """Phase 2's learning rate: the number, or a schedule over the optimizer's steps (``fine_tune_schedule``)."""
    lr = config.fine_tune_learning_rate
    if config.fine_tune_schedule == "constant":
        return lr
    steps_per_epoch = max(1, math.ceil(n_train / config.batch_size))
    total = max(2 * steps_per_epoch, config.fine_tune_epochs * steps_per_epoch)
    return keras().optimizers.schedules.CosineDecay(
        initial_learning_rate=lr / steps_per_epoch, decay_steps=total - steps_per_epoch, alpha=0.0,
        warmup_target=lr, warmup_steps=steps_per_epoch)


def _fine_tune(parts: ModelParts, strategy: Any, cache: ImageCache, splits: Splits, phase1: _Tracker,
               weights: np.ndarray, config: TrainConfig, ck_dir: Path, hooks: Sequence[EpochHook]) -> _Tracker:
    k = keras()
    n_classes = len(splits.labels)
    with strategy.scope():
        unfrozen = unfreeze_top(parts, config.fine_tune_blocks)
        model = training_model(parts, config.augment, config.seed)
        optimizer = k.optimizers.Adam(_fine_tune_learning_rate(config, len(splits.train)))
        model.compile(optimizer=optimizer,
                      loss=k.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
                      metrics=["accuracy"])
    say(f"phase 2 (fine-tuning): {len(unfrozen)} backbone layers unfrozen (top {config.fine_tune_blocks} blocks), "
        f"learning rate {config.fine_tune_learning_rate:g} ({config.fine_tune_schedule}), "
        f"augmentation {'on' if config.augment else 'off'}", config.verbose)
    path = ck_dir / "phase2.npz"
    saved = ckpt.load(path)
    # Baseline: the phase-1 model. If no fine-tuning epoch beats it on the validation photos, it is what gets saved.
    tracker = _Tracker(best_loss=phase1.best_loss, best_top1=phase1.best_top1, selection=config.selection)
    best = parts.full.get_weights()
    if saved is not None:
        w, o, b, state = saved
        parts.full.set_weights(w)
        if not ckpt.set_optimizer_values(optimizer, model.trainable_variables, o):
            say("phase 2: optimizer state did not fit; continuing with a fresh optimizer", config.verbose)
        best, tracker = b, _Tracker.from_state(state, config.selection)
        tracker.rebudget(config.fine_tune_patience, config.fine_tune_epochs)
        say(f"phase 2: resuming after epoch {tracker.epoch}", config.verbose and not tracker.done)

    y_train = np.array([label for _, label in splits.train], dtype=np.int64)
    y_val = np.array([label for _, label in splits.val], dtype=np.int64)
    onehot = np.eye(n_classes, dtype=np.float32)
    train_rows = cache.rows([p for p, _ in splits.train])
    val_rows = cache.rows([p for p, _ in splits.val])
    cw = {i: float(w) for i, w in enumerate(weights)}
    while not tracker.done:
        epoch = tracker.epoch
        order = _epoch_order(config.seed, 2, epoch, len(train_rows))
        progress = Progress(f"phase 2 epoch {epoch + 1}/{config.fine_tune_epochs}", len(order),
                            enabled=config.verbose, interval=10.0)
        loss_sum = acc_sum = 0.0
        for start, batch in zip(range(0, len(order), config.batch_size),
                                cache.batches(train_rows[order], config.batch_size)):
            labels = y_train[order[start : start + len(batch)]]
            logs = model.train_on_batch(batch, onehot[labels], class_weight=cw, return_dict=True)
            loss_sum += float(logs["loss"]) * len(batch)
            acc_sum += float(logs["accuracy"]) * len(batch)
            progress.update(len(batch))
        probs = _predict_images(parts.full, cache, val_rows, config.batch_size)
        row = {"epoch": epoch + 1, "loss": loss_sum / len(order), "top1": acc_sum / len(order),
               "val_loss": nll(probs, y_val), "val_top1": float((probs.argmax(1) == y_val).mean())}
        tracker.history.append(row)
        if tracker.update(row["val_loss"], row["val_top1"], config.fine_tune_patience, config.fine_tune_epochs):
            best = parts.full.get_weights()
        ckpt.save(path, parts.full.get_weights(), ckpt.optimizer_values(optimizer), best, tracker.to_state())
        progress.finish("- " + _fmt(row))
        for hook in hooks:
            hook(2, epoch, row)
    parts.full.set_weights(best)
    if tracker.best_epoch >= 0:
        say(f"phase 2: best epoch {tracker.best_epoch + 1} (validation loss {tracker.best_loss:.4f}, "
            f"top-1 {tracker.best_top1:.4f})", config.verbose)
    else:
        say(f"phase 2: no epoch beat the phase-1 model on the validation {config.selection}; keeping it",
            config.verbose)
    return tracker


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


def train(config: TrainConfig, hooks: Sequence[EpochHook] = ()) -> Run:
    """Train a classifier on ``config.data_dir`` and write the run folder ``config.out_dir``.

    Resumes an interrupted run in the same folder (same settings); refuses to replace a finished run unless
    ``config.overwrite``. The photo folder is checked before the output folder is touched, and the run files are
    written beside the old run (``checkpoint/run/``) and moved into place only when all are complete, so a failed
    or interrupted retrain keeps the finished run. ``hooks`` are called after every epoch (tests use them to simulate an interruption).
    """
    t_start = time.perf_counter()
    config.validate()
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
    strategy = _strategy()
    t = time.perf_counter()
    with strategy.scope():
        parts = build_model(len(splits.labels), config.alpha, config.size, config.weights, config.dropout)
    timings["build_s"] = time.perf_counter() - t

    y_train = np.array([label for _, label in splits.train], dtype=np.int64)
    y_val = np.array([label for _, label in splits.val], dtype=np.int64)
    weights = (np.array([class_weights(splits.labels, splits.train)[i] for i in range(len(splits.labels))])
               if config.class_weights else np.ones(len(splits.labels)))

    t = time.perf_counter()
    feats = _features(parts, cache, splits, config, ck_dir, timings)
    t_head = time.perf_counter()
    phase1 = _train_head(parts, feats, y_train, y_val, weights, config, ck_dir, hooks)
    timings["head_s"] = time.perf_counter() - t_head
    # Cost of phase 1 relative to one backbone pass over the training photos: the features of the training photos
    # are computed once and reused by every head epoch; the validation features (for early stopping) come on top.
    train_features_s = timings["features_train_s"] + timings.get("features_train_mirrored_s", 0.0)
    timings["phase1_s"] = train_features_s + timings["features_val_s"] + timings["head_s"]
    one_pass = max(1e-9, timings["features_train_s"])
    timings["phase1_vs_backbone_pass"] = (train_features_s + timings["head_s"]) / one_pass
    timings["phase1_with_val_vs_backbone_pass"] = timings["phase1_s"] / one_pass
    history: Dict[str, List[Dict[str, float]]] = {"phase1": phase1.history, "phase2": []}

    fine_tune = fine_tune_enabled(config, splits)
    if fine_tune:
        t = time.perf_counter()
        phase2 = _fine_tune(parts, strategy, cache, splits, phase1, weights, config, ck_dir, hooks)
        history["phase2"] = phase2.history
        timings["phase2_s"] = time.perf_counter() - t
    elif config.fine_tune is None and config.fine_tune_epochs > 0:
        say(f"phase 2 skipped: fine-tuning needs at least {config.fine_tune_min_per_class} training photos in every "
            "class (force it with --fine-tune)", verbose)

    # Every decision is made. Final evaluation with the full model on the decoded photos (the same pixels the device
    # will see): the validation photos, then the test photos, decoded only now.
    metrics: Dict[str, Any] = {}
    probs = _predict_images(parts.full, cache, cache.rows([p for p, _ in splits.val]), config.batch_size)
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
            probs = _predict_images(parts.full, test_cache, test_cache.rows([p for p, _ in splits.test]),
                                    config.batch_size)
            metrics["test"] = classification_metrics(probs, [label for _, label in splits.test], splits.labels)
    metrics["val_top1"] = metrics["val"]["top1"]
    metrics["evaluation"] = evaluation_roles([name for name in ("val", "test") if name in metrics])
    metrics["fine_tuned"] = fine_tune
    metrics["best_epoch"] = {"phase1": phase1.best_epoch + 1,
                             "phase2": (phase2.best_epoch + 1) if fine_tune else None}

    _save_run(staging, parts, config, splits, history, metrics, dataset, fine_tune, weights, test_split)
    timings["total_s"] = time.perf_counter() - t_start
    rf.write_history(staging, history, timings)
    _publish(staging, out)
    shutil.rmtree(ck_dir, ignore_errors=True)
    for line in accuracy_lines(metrics):
        say(line, verbose)
    say(f"run folder {out} ({timings['total_s']:.0f} s)", verbose)
    return Run(path=out, labels=list(splits.labels), metrics=metrics, history=history, config=config,
               dataset=dataset, timings=timings, model=parts.full)


def _save_run(out: Path, parts: ModelParts, config: TrainConfig, splits: Splits,
              history: Dict[str, List[Dict[str, float]]], metrics: Dict[str, Any], dataset: Dict[str, Any],
              fine_tune: bool, weights: np.ndarray, test_split: float) -> None:
    parts.mobilenet.trainable = False  # the saved model is for inference; its layers carry no training state
    with atomic_path(out / rf.MODEL, suffix=".keras") as tmp:
        tmp.unlink()  # Keras refuses to overwrite silently in some versions
        parts.full.save(tmp)
    rf.write_labels(out, splits.labels)
    rf.write_splits(out, splits)
    cfg = config.to_dict()
    cfg["resolved"] = {"fine_tune": fine_tune, "test_split": test_split, "class_weights": {splits.labels[i]: float(w) for i, w in
                                                                 enumerate(weights)}}
    rf.write_json(out, rf.CONFIG, cfg)
    rf.write_json(out, rf.METRICS, metrics)
    rf.write_json(out, rf.DATASET, dataset)
    figures.write_png(figures.training_curves_png(figures.training_phases(history)), out / rf.TRAINING_CURVES)
    figures.write_png(figures.confusion_matrix_png(splits.labels, metrics["val"]["confusion_matrix"],
                                                   "validation confusion matrix"), out / rf.CONFUSION_MATRIX)
