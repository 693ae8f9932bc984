"""Quantization-aware training (tensorflow-model-optimization): a short fine-tune with fake-quant before int8 export.

The trainer's model nests MobileNetV2 as one layer; tfmot cannot quantize nested models, so the backbone is
quantized on its own and re-wrapped with the outer layers (Rescaling has no tfmot config; the outer layers' int8
ranges come from calibration in the int8 converter as usual).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from converter.errors import ConvertError
from device.errors import ImageError
from device.preprocess import load_and_preprocess

def build_qat_model(model: Any) -> Any:
    """The same classifier with fake-quant: each nested backbone (a plain functional model such as MobileNetV2)
    is wrapped by ``tfmot.quantization.keras.quantize_model``; the outer layers (Rescaling, pooling, Dense) are
    reused as they are and get their int8 ranges from calibration."""
    import tensorflow_model_optimization as tfmot
    import tf_keras as keras

    inputs = keras.Input(shape=model.input_shape[1:], dtype=model.inputs[0].dtype, name="image")
    x = inputs
    wrapped = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.Model):
            try:
                layer = tfmot.quantization.keras.quantize_model(layer)
                for inner in layer.layers:  # keep batch-norm statistics frozen, as in the trainer's fine-tune
                    if "BatchNormalization" in type(getattr(inner, "layer", inner)).__name__:
                        inner.trainable = False
            except Exception as exc:  # tfmot raises for unsupported layers
                raise ConvertError(f"--qat cannot quantize the backbone {layer.name!r} ({exc}); convert without "
                                   "--qat.") from exc
            wrapped += 1
        x = layer(x)
    if not wrapped:
        raise ConvertError("--qat expects the edge-train model (a backbone sub-model inside the classifier); convert "
                           "without --qat.")
    return keras.Model(inputs, x, name=f"{model.name}_qat")


def quantization_aware_finetune(model: Any, run: Any, cfg: Any, log: Callable[[str], None] = print) -> Any:
    """Fine-tune ``model`` for ``cfg.qat_epochs`` with fake-quant on the run's training photos; returns the QAT
    model (same input/output as ``model``), ready for the int8 converter."""
    import tf_keras as keras

    if not run.train:
        raise ConvertError(f"{run.run_dir / 'splits.json'}: the training split is empty; --qat needs its photos.")
    qat_model = build_qat_model(model)

    images, labels = [], []
    for rel, index in run.train:
        try:
            images.append(load_and_preprocess(run.data_root / rel, run.preprocessing))
            labels.append(index)
        except ImageError as exc:
            log(f"QAT: skipped {exc}")
    x = np.stack(images).astype(np.float32)
    y = np.asarray(labels)
    qat_model.compile(optimizer=keras.optimizers.Adam(cfg.qat_learning_rate),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    log(f"QAT: fine-tuning {cfg.qat_epochs} epoch(s) on {len(x)} training photos")
    qat_model.fit(x, y, epochs=cfg.qat_epochs, batch_size=32, shuffle=True, verbose=0)
    return qat_model
