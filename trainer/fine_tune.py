"""Phase 2: fine-tune the top blocks of the backbone on cached activations of the frozen blocks below them.

Only the top ``blocks`` blocks (and the head) learn; everything below them is frozen, batch-norm included, so what
it computes for a photo never changes. It is computed once, for a few views of every training photo (the photo
itself, its mirror image, and augmented copies: rotation, zoom, brightness, contrast), and stored on disk
(:mod:`trainer.array_store`). Each epoch then shows every training photo once, as one of its views picked at random,
and runs only the upper part forward and backward: an epoch costs a fraction of a pass through the whole network.

It starts from a head of its own (:func:`warm_up_head`: a few epochs on the cached features with strong weight
decay), not from the cross-validated head of phase 1, which stays the model to beat.

The schedule is fixed (``epochs`` at a learning rate with one warm-up epoch and a cosine decay): no epoch is chosen
on the validation photos, which are kept for one decision only, whether the fine-tuned model replaces the
cross-validated head (:mod:`trainer.selection`). Every epoch still reports its validation loss and top-1, for the
training curves.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np

from common.metrics import nll
from trainer import checkpoint as ckpt
from trainer.array_store import ArrayReader, ArrayWriter
from trainer.graph import lower_model, upper_model
from trainer.images import ImageCache
from trainer.model import ModelParts, augmentation, keras, unfreeze_top
from trainer.progress import Progress, say

#: ``hook(epoch, row)`` after each epoch (epoch from 0; row: the history row).
EpochHook = Callable[[int, Dict[str, float]], None]

#: The head fine-tuning starts from: this many epochs on the cached features, Adam at this learning rate with this
#: decoupled weight decay (each step shrinks the weights by lr x decay). A small, unsure head passes larger
#: gradients into the backbone than the cross-validated probe does: started from the probe, fine-tuning gained
#: less on every shared dataset (docs/benchmarks.md). Fixed, not chosen on the validation photos (their loss
#: flattens well before the end of the warm-up).
WARMUP_EPOCHS = 20
WARMUP_LEARNING_RATE = 3e-3
WARMUP_WEIGHT_DECAY = 4.0


@dataclass
class FineTuneSettings:
    """What phase 2 does (the fields of ``TrainConfig`` it reads)."""

    epochs: int
    learning_rate: float
    blocks: int
    views: int  #: stored views per training photo: itself, mirrored, then augmented copies
    label_smoothing: float
    batch_size: int
    seed: int
    augment: bool = True
    verbose: bool = True


@dataclass
class FineTuneResult:
    history: List[Dict[str, float]]
    val_probs: np.ndarray  #: the final model's validation probabilities
    seconds: Dict[str, float] = field(default_factory=dict)


def boundary_layer(parts: ModelParts, blocks: int) -> str:
    """The layer of the base network whose output feeds the first of its top ``blocks`` blocks."""
    spec = getattr(parts, "spec", None)
    if spec is not None and hasattr(spec, "boundary_layer"):
        return spec.boundary_layer(blocks)
    names = {layer.name for layer in parts.base.layers}
    last = 16 - blocks  # MobileNetV2: blocks 1-16; the top ``blocks`` start at 17 - blocks
    for candidate in (f"block_{last}_add", f"block_{last}_project_BN"):
        if candidate in names:
            return candidate
    raise ValueError(f"no block {last} output in {parts.base.name}")


class FineTuner:
    """The lower (frozen) and upper (trained) halves of ``parts.full`` and the training of the upper one.

    The upper model shares its layers with ``parts.full``: after training, ``parts.full`` is the fine-tuned model.
    """

    def __init__(self, parts: ModelParts, settings: FineTuneSettings, class_weights: np.ndarray,
                 steps_per_epoch: int) -> None:
        import tensorflow as tf

        k = keras()
        self.parts, self.settings = parts, settings
        self.n_classes = len(class_weights)
        self.unfrozen = unfreeze_top(parts, settings.blocks)
        cut = boundary_layer(parts, settings.blocks)
        base = parts.base
        normalize = parts.backbone.get_layer("normalize")
        image = k.Input(shape=parts.full.input_shape[1:], dtype="float32", name="image")
        self.lower = k.Model(image, lower_model(base, cut)(normalize(image), training=False), name="lower")
        act = k.Input(shape=self.lower.output_shape[1:], dtype="float32", name="activation")
        upper_base = upper_model(base, cut)
        features = parts.backbone.get_layer("pool")(upper_base(act))
        self.upper = k.Model(act, parts.head(features), name="upper")
        self.activation_shape = tuple(int(d) for d in self.lower.output_shape[1:])
        self.augment = augmentation(settings.seed) if settings.augment else None

        total = max(1, settings.epochs * steps_per_epoch)
        warmup = min(steps_per_epoch, total // 2)
        lr = k.optimizers.schedules.CosineDecay(
            initial_learning_rate=settings.learning_rate / max(1, warmup) if warmup else settings.learning_rate,
            decay_steps=max(1, total - warmup), alpha=0.0, warmup_target=settings.learning_rate if warmup else None,
            warmup_steps=warmup)
        self.optimizer = k.optimizers.Adam(lr)
        self.optimizer.build(self.upper.trainable_variables)
        eps = settings.label_smoothing
        cw = tf.constant(np.asarray(class_weights, np.float32))
        upper, optimizer, n = self.upper, self.optimizer, self.n_classes

        @tf.function(reduce_retracing=True)
        def train_step(x: tf.Tensor, y: tf.Tensor):
            target = tf.one_hot(y, n) * (1 - eps) + eps / n
            w = tf.gather(cw, y)
            with tf.GradientTape() as tape:
                probs = upper(x, training=True)
                per = -tf.reduce_sum(target * tf.math.log(tf.clip_by_value(probs, 1e-7, 1.0)), axis=1)
                loss = tf.reduce_sum(w * per) / tf.reduce_sum(w)
            grads = tape.gradient(loss, upper.trainable_variables)
            optimizer.apply_gradients(zip(grads, upper.trainable_variables))
            correct = tf.reduce_sum(tf.cast(tf.argmax(probs, 1, output_type=tf.int32) == tf.cast(y, tf.int32),
                                            tf.float32))
            return tf.reduce_sum(w * per), correct

        @tf.function(reduce_retracing=True)
        def predict(x: tf.Tensor) -> tf.Tensor:
            return upper(x, training=False)

        @tf.function(reduce_retracing=True)
        def lower_fn(x: tf.Tensor) -> tf.Tensor:
            return self.lower(x, training=False)

        self._train_step, self._predict, self._lower = train_step, predict, lower_fn

    # ---- activations ---------------------------------------------------------------------------------------------

    def _views_of(self, batch: np.ndarray, view: int) -> np.ndarray:
        if view == 0:
            return batch
        if view == 1 or self.augment is None:
            return batch[:, :, ::-1]
        return np.asarray(self.augment(batch, training=True))

    def cache_activations(self, cache: ImageCache, rows: np.ndarray, views: int, path: Path,
                          label: str) -> ArrayReader:
        """The lower half's output for ``views`` views of each photo (row ``photo * views + view``), float16 on
        disk at ``path``; reused when ``path`` already holds them."""
        import tensorflow as tf

        shape = (len(rows) * views,) + self.activation_shape
        if path.is_file():
            try:
                reader = ArrayReader(path)
                if reader.shape == shape:
                    return reader
            except (OSError, ValueError):
                pass
        progress = Progress(label, len(rows) * views, unit="views", enabled=self.settings.verbose, interval=10.0)
        bs = self.settings.batch_size
        with ArrayWriter(path, shape[0], self.activation_shape, np.float16) as out:
            for start, batch in zip(range(0, len(rows), bs), cache.batches(rows, bs)):
                n = len(batch)
                acts = np.empty((n, views) + self.activation_shape, np.float16)
                for view in range(views):
                    acts[:, view] = self._lower(tf.constant(self._views_of(batch, view))).numpy()
                out[slice(start * views, (start + n) * views)] = acts.reshape((n * views,) + self.activation_shape)
                progress.update(n * views)
        progress.finish()
        return ArrayReader(path)

    # ---- training ------------------------------------------------------------------------------------------------

    def train_epoch(self, acts: ArrayReader, views: int, labels: np.ndarray, epoch: int,
                    progress: Optional[Progress] = None) -> Dict[str, float]:
        """One pass over the training photos, each as one of its ``views`` (seeded by ``seed`` and ``epoch``)."""
        import tensorflow as tf

        rng = np.random.default_rng([self.settings.seed, 2, epoch])
        order = rng.permutation(len(labels))
        picked = order * views + rng.integers(0, views, size=len(order))
        bs = self.settings.batch_size
        loss_sum = correct = 0.0
        for start in range(0, len(order), bs):
            x = acts.read(picked[start:start + bs]).astype(np.float32)
            loss, right = self._train_step(tf.constant(x), tf.constant(labels[order[start:start + bs]]))
            loss_sum += float(loss)
            correct += float(right)
            if progress is not None:
                progress.update(len(x))
        weights_sum = float(len(order))
        return {"loss": loss_sum / weights_sum, "top1": correct / len(order)}

    def predict(self, acts: ArrayReader, rows: Sequence[int]) -> np.ndarray:
        """Probabilities of the upper model for the given activation rows."""
        import tensorflow as tf

        outs = [self._predict(tf.constant(a.astype(np.float32))).numpy()
                for a in acts.batches(np.asarray(rows), self.settings.batch_size)]
        return np.concatenate(outs) if outs else np.zeros((0, self.n_classes), np.float32)


def warm_up_head(parts: ModelParts, features: np.ndarray, labels: np.ndarray, class_weights: np.ndarray,
                 settings: FineTuneSettings) -> None:
    """Train ``parts.head`` for :data:`WARMUP_EPOCHS` on the training photos' pooled ``features`` (label smoothing,
    class weights, dropout), the starting point of fine-tuning. Seconds: one graph call per epoch."""
    import tensorflow as tf

    k = keras()
    n_classes = len(class_weights)
    head = parts.head
    optimizer = k.optimizers.Adam(WARMUP_LEARNING_RATE, weight_decay=WARMUP_WEIGHT_DECAY)
    optimizer.build(head.trainable_variables)
    eps = settings.label_smoothing
    x_train = tf.constant(np.asarray(features, np.float32))
    y = np.asarray(labels, np.int64)
    targets = tf.constant(np.eye(n_classes, dtype=np.float32)[y] * (1 - eps) + eps / n_classes)
    sample_w = tf.constant(np.asarray(class_weights, np.float32)[y])
    n, bs = len(y), settings.batch_size
    n_batches = (n + bs - 1) // bs

    @tf.function
    def run_epoch(order: tf.Tensor) -> None:
        for b in tf.range(n_batches):
            idx = order[b * bs: tf.minimum((b + 1) * bs, n)]
            x, t, w = tf.gather(x_train, idx), tf.gather(targets, idx), tf.gather(sample_w, idx)
            with tf.GradientTape() as tape:
                probs = head(x, training=True)
                per_sample = -tf.reduce_sum(t * tf.math.log(tf.clip_by_value(probs, 1e-7, 1.0)), axis=1)
                loss = tf.reduce_mean(w * per_sample)
            grads = tape.gradient(loss, head.trainable_variables)
            optimizer.apply_gradients(zip(grads, head.trainable_variables))

    for epoch in range(WARMUP_EPOCHS):
        run_epoch(tf.constant(np.random.default_rng([settings.seed, 1, epoch]).permutation(n), dtype=tf.int32))


def fine_tune(parts: ModelParts, cache: ImageCache, train_rows: np.ndarray, y_train: np.ndarray,
              val_rows: np.ndarray, y_val: np.ndarray, class_weights: np.ndarray, settings: FineTuneSettings,
              ck_dir: Path, train_features: np.ndarray, hooks: Sequence[EpochHook] = ()) -> FineTuneResult:
    """Fine-tune ``parts.full`` in place for ``settings.epochs`` epochs, from a head warmed up on
    ``train_features`` (:func:`warm_up_head`); resumable from ``ck_dir``'s checkpoint."""
    import time

    seconds: Dict[str, float] = {}
    t = time.perf_counter()
    warm_up_head(parts, train_features, y_train, class_weights, settings)
    seconds["warm_up_s"] = time.perf_counter() - t
    steps = math.ceil(len(train_rows) / settings.batch_size)
    tuner = FineTuner(parts, settings, class_weights, steps)
    say(f"phase 2 (fine-tuning): a head warmed up for {WARMUP_EPOCHS} epochs, then the top {settings.blocks} blocks "
        f"({len(tuner.unfrozen)} layers) on cached activations "
        f"of {settings.views} views per photo, {settings.epochs} epochs, learning rate {settings.learning_rate:g} "
        "(warm-up, cosine)", settings.verbose)
    t = time.perf_counter()
    train_acts = tuner.cache_activations(cache, train_rows, settings.views, ck_dir / "phase2_train.npy",
                                         "phase 2: frozen blocks (train views)")
    val_acts = tuner.cache_activations(cache, val_rows, 1, ck_dir / "phase2_val.npy",
                                       "phase 2: frozen blocks (validation)")
    seconds["activations_s"] = time.perf_counter() - t

    path = ck_dir / "phase2.npz"
    history: List[Dict[str, float]] = []
    first = 0
    saved = ckpt.load(path)
    if saved is not None:
        w, o, _, state = saved
        if len(w) == len(parts.full.get_weights()) and ckpt.set_optimizer_values(
                tuner.optimizer, tuner.upper.trainable_variables, o):
            parts.full.set_weights(w)
            history, first = list(state["history"]), int(state["epoch"])
            say(f"phase 2: resuming after epoch {first}", settings.verbose and first < settings.epochs)
    t = time.perf_counter()
    y_train = np.asarray(y_train, np.int32)
    for epoch in range(first, settings.epochs):
        progress = Progress(f"phase 2 epoch {epoch + 1}/{settings.epochs}", len(y_train), enabled=settings.verbose,
                            interval=10.0)
        row = {"epoch": epoch + 1, **tuner.train_epoch(train_acts, settings.views, y_train, epoch, progress)}
        probs = tuner.predict(val_acts, np.arange(len(y_val)))
        row.update({"val_loss": nll(probs, y_val), "val_top1": float((probs.argmax(1) == y_val).mean())})
        history.append(row)
        ckpt.save(path, parts.full.get_weights(), ckpt.optimizer_values(tuner.optimizer), [],
                  {"epoch": epoch + 1, "history": history})
        progress.finish("- " + ", ".join(f"{k} {v:.4f}" for k, v in row.items() if k != "epoch"))
        for hook in hooks:
            hook(epoch, row)
    seconds["epochs_s"] = time.perf_counter() - t
    val_probs = tuner.predict(val_acts, np.arange(len(y_val)))
    return FineTuneResult(history=history, val_probs=val_probs, seconds=seconds)
