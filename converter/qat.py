"""Quantization-aware training (tensorflow-model-optimization): a short fine-tune with fake-quant before int8 export.

Why QAT and not a converter fix: post-training int8 of MobileNetV2 alpha 0.35 loses several top-1 points, and the
quantization debugger shows no single bad layer: every layer's own error is at the int8 noise floor, and the error
accumulates through the blocks. Letting the weights adapt to the fake-quant noise is what removes it (the numbers:
docs/benchmarks.md, Converter).

How:

1. The trainer's model nests sub-models (``backbone`` holding ``mobilenetv2``, ``head``); tfmot cannot quantize nested
   models, so :func:`flatten_model` rebuilds ONE flat functional graph from fresh copies of every leaf layer, with
   the weights copied (same outputs as the original, exactly).
2. Every layer except ``Rescaling`` (tfmot has no config for it; the converter calibrates its range) is annotated
   and ``quantize_apply`` inserts fake-quant. Batch-norm layers are frozen (inference mode), as in the trainer.
3. :func:`calibrate_ranges`: tfmot starts every activation range at -6..6 and moves it with an EMA of decay 0.999,
   i.e. not at all in a few dozen steps: without this step the ranges stay wrong (the bottleneck outputs reach
   +-100) and QAT starts far below the float model. The ranges are set from the training photos (mean of per-batch
   min/max), which reproduces the post-training int8 model as the starting point.
4. Fine-tune by distillation: the QAT model learns to agree with the float model (the thing the int8 gate
   measures) on the training photos and their mirror images, rather than re-fitting the training labels. The loss
   is :func:`logit_matching_loss`: it matches the float model's scores on every class, so a close call between two
   classes keeps its order; cross-entropy against the float probabilities mostly looks at the top class. Dropout is
   off (it would only add noise to a distillation); the run is seeded with TensorFlow op determinism, so the same
   run folder and seed give the same int8 model, in ``edge-convert`` and in ``edge-kit`` alike.

Logit matching was chosen over cross-entropy distillation and other distillation data (random crops, the trainer's
augmentation) by their agreement with float32 over five seeded flowers splits (docs/benchmarks.md, Converter).
"""
from __future__ import annotations

import contextlib

from typing import Any, Callable, Iterable, Iterator, List, Sequence

import numpy as np

from converter.errors import ConvertError
from trainer.graph import SameTensor


def _inline(model: Any, inputs: Sequence[Any], make_layer: Callable[[Any], Any]) -> List[Any]:
    """Apply ``model``'s graph to ``inputs`` layer by layer, recursing into nested functional models; each leaf layer
    is replaced by ``make_layer(layer)`` -> (layer to call, layer whose weights to set)."""
    import tensorflow as tf
    import tf_keras as keras

    tensors = {str(id(t)): SameTensor(v) for t, v in zip(model.inputs, inputs)}
    for depth in sorted(model._nodes_by_depth, reverse=True):  # noqa: SLF001 - the functional graph, in order
        for node in model._nodes_by_depth[depth]:  # noqa: SLF001
            layer = node.layer
            if isinstance(layer, keras.layers.InputLayer):
                continue
            args, kwargs = node.map_arguments(tensors)
            kwargs = {k: v for k, v in kwargs.items() if k != "training"}
            if isinstance(layer, keras.Model):
                if not getattr(layer, "_is_graph_network", False):
                    raise ConvertError(f"--qat needs functional (sub-)models; {layer.name!r} is a subclassed model.")
                outputs = _inline(layer, tf.nest.flatten(args), make_layer)
            else:
                to_call, fresh = make_layer(layer)
                outputs = to_call(*args, **kwargs)
                fresh.set_weights(layer.get_weights())
            for t, v in zip(tf.nest.flatten(node.outputs), tf.nest.flatten(outputs)):
                tensors[str(id(t))] = SameTensor(v)
    return [tensors[str(id(t))].value for t in model.outputs]


def flatten_model(model: Any, annotate: bool = False) -> Any:
    """One flat functional model computing the same function as ``model`` (nested functional models inlined, fresh
    layers, weights copied). With ``annotate``, every layer but ``Rescaling`` is wrapped for tfmot quantization."""
    import tf_keras as keras

    def make_layer(layer: Any):
        fresh = layer.__class__.from_config(layer.get_config())
        if annotate and not isinstance(layer, keras.layers.Rescaling):
            import tensorflow_model_optimization as tfmot

            return tfmot.quantization.keras.quantize_annotate_layer(fresh), fresh
        return fresh, fresh

    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ConvertError("--qat expects a model with one input and one output.")
    image = keras.Input(shape=model.input_shape[1:], dtype=model.inputs[0].dtype, name="image")
    (output,) = _inline(model, [image], make_layer)
    return keras.Model(image, output, name=f"{model.name}_flat")


def build_qat_model(model: Any) -> Any:
    """The same classifier, flat, with fake-quant on every layer but ``Rescaling``; batch-norm frozen. The activation
    ranges are still tfmot's -6..6 defaults: call :func:`calibrate_ranges` before using it."""
    import tensorflow_model_optimization as tfmot

    try:
        annotated = flatten_model(model, annotate=True)
        with tfmot.quantization.keras.quantize_scope():
            qat_model = tfmot.quantization.keras.quantize_apply(annotated)
    except ConvertError:
        raise
    except Exception as exc:  # tfmot raises for unsupported layers
        raise ConvertError(f"--qat cannot quantize this model ({str(exc).splitlines()[0][:300] if str(exc) else exc!r}); "
                           "convert without --qat.") from exc
    for layer in qat_model.layers:  # keep batch-norm statistics frozen, as in the trainer's fine-tune
        if "BatchNormalization" in type(getattr(layer, "layer", layer)).__name__:
            layer.trainable = False
    return qat_model


def calibrate_ranges(qat_model: Any, batches: Iterable[np.ndarray]) -> int:
    """Set every fake-quant activation range to the mean over ``batches`` (uint8 or float 0-255 photos) of the batch
    min/max (tfmot's own EMA, decay 0.999 from -6..6, would need thousands of steps). Dropout is off meanwhile.
    Returns the batch count."""
    from tensorflow_model_optimization.python.core.quantization.keras import quantizers

    original = quantizers.quant_ops.MovingAvgQuantize
    seen = {"batches": 0}

    def cumulative_mean(*args, **kwargs):  # decay k/(k+1): batch 0 replaces the default, then a running mean
        kwargs["ema_decay"] = seen["batches"] / (seen["batches"] + 1.0)
        return original(*args, **kwargs)

    quantizers.quant_ops.MovingAvgQuantize = cumulative_mean
    try:
        with dropout_off(qat_model):
            for batch in batches:
                qat_model(np.asarray(batch).astype(np.float32), training=True)  # eager: patch applies
                seen["batches"] += 1
    finally:
        quantizers.quant_ops.MovingAvgQuantize = original
    return seen["batches"]


def logit_matching_loss(target_probs: Any, probs: Any) -> Any:
    """Distillation loss per photo: the mean squared difference between the two models' log-probabilities, each
    centred over the classes. A softmax's log-probabilities are its logits minus one constant per photo, so this is
    the squared error of the logits (Ba & Caruana's logit matching), computed from the probabilities the model
    outputs. Probabilities are clipped at 1e-7 (log of 0)."""
    import tensorflow as tf

    diff = (tf.math.log(tf.clip_by_value(probs, 1e-7, 1.0))
            - tf.math.log(tf.clip_by_value(tf.cast(target_probs, probs.dtype), 1e-7, 1.0)))
    diff -= tf.reduce_mean(diff, axis=-1, keepdims=True)
    return tf.reduce_mean(tf.square(diff), axis=-1)


@contextlib.contextmanager
def dropout_off(qat_model: Any) -> Iterator[None]:
    """Set every Dropout rate of ``qat_model`` to 0 inside the block (the rates are restored after it)."""
    dropouts = [getattr(l, "layer", l) for l in qat_model.layers]
    dropouts = [(l, l.rate) for l in dropouts if type(l).__name__ == "Dropout"]
    try:
        for layer, _ in dropouts:
            layer.rate = 0.0
        yield
    finally:
        for layer, rate in dropouts:
            layer.rate = rate


def quantization_aware_finetune(model: Any, run: Any, photos: Any, cfg: Any, log: Callable[[str], None] = print,
                                batch_size: int = 32) -> Any:
    """Fine-tune a fake-quant copy of ``model`` for ``cfg.qat_epochs`` to match ``model``'s probabilities on the run's
    training photos and their mirror images; returns the QAT model (same input/output), for the int8 converter.

    ``photos``: :class:`converter.photos.RunPhotos`. Photos are streamed from it a batch at a time (each batch: half
    photos, half the same photos mirrored; the float model's targets computed per batch), so memory does not grow
    with the training set.
    """
    import time

    import tensorflow as tf
    import tf_keras as keras

    from trainer.progress import Progress

    if not run.train:
        raise ConvertError(f"{run.run_dir / 'splits.json'}: the training split is empty; --qat needs its photos.")
    # Repeatable for the same run and seed whether or not training ran in this process: the global seed (which also
    # seeds the order below) and op determinism are set first. The trainer sets both too, so before this,
    # `edge-kit` (train + convert in one process) shuffled differently from `edge-convert` and got another int8 model.
    keras.utils.set_random_seed(cfg.seed)
    tf.config.experimental.enable_op_determinism()
    qat_model = build_qat_model(model)

    items = list(run.train)
    half = max(1, batch_size // 2)
    batches = calibrate_ranges(qat_model, (x for x, _ in photos.batches(items, batch_size)))
    if batches == 0:
        raise ConvertError(f"{run.run_dir / 'splits.json'}: none of the training photos could be read for --qat.")
    qat_model.compile(optimizer=keras.optimizers.Adam(cfg.qat_learning_rate), loss=logit_matching_loss)
    log(f"QAT: ranges from the {len(items)} training photos ({batches} batches); distilling {cfg.qat_epochs} "
        f"epoch(s) on them and their mirror images")

    @tf.function(reduce_retracing=True)
    def teacher(x: tf.Tensor) -> tf.Tensor:
        return model(x, training=False)

    rng = np.random.default_rng(cfg.seed)
    with dropout_off(qat_model):  # distilling the float model's outputs: dropout would only add noise to the targets
        for epoch in range(cfg.qat_epochs):
            order = [items[i] for i in rng.permutation(len(items))]
            progress = Progress(f"QAT epoch {epoch + 1}/{cfg.qat_epochs}", 2 * len(order), interval=10.0,
                                enabled=bool(getattr(cfg, "verbose", True)))
            t = time.perf_counter()
            for x, _ in photos.batches(order, half):
                x = np.concatenate([x, x[:, :, ::-1]]).astype(np.float32)
                qat_model.train_on_batch(x, teacher(tf.constant(x)))
                progress.update(len(x))
            progress.finish(f"- {time.perf_counter() - t:.0f} s")
    return qat_model
