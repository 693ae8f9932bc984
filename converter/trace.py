"""Load the Keras model once, check it, and freeze it into one graph that every variant is converted from.

Why: ``TFLiteConverter.from_keras_model`` / ``from_concrete_functions(..., model)`` re-export the whole Keras object
graph as a SavedModel on every call, which is slow (with the pure-Python protobuf, most of a variant's time).
Freezing the inference function once and converting the frozen function is a small fraction of that
(docs/benchmarks.md).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Tuple

import numpy as np

from converter.errors import ConvertError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@dataclass
class FrozenModel:
    """The frozen inference function (batch 1) and the Keras model it came from."""

    keras_model: Any
    function: Any  #: a variable-free ``ConcreteFunction`` taking 1 x H x W x 3 float32 (0-255)
    input_size: Tuple[int, int]
    num_classes: int


def load_keras_model(path: Path) -> Any:
    """Load ``model.keras`` with tf_keras; a clear :class:`ConvertError` when it cannot be read."""
    import tf_keras as keras

    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:  # Keras raises many kinds of errors for broken files
        raise ConvertError(
            f"{path}: cannot load the Keras model ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}); "
            "re-run edge-train to write it again."
        ) from exc


def check_classifier(model: Any, path: Path, labels: List[str], sample: np.ndarray) -> None:
    """Refuse models whose output is not a probability over ``labels``.

    Checks: one image input (H x W x 3), one output of shape (batch, len(labels)), and on ``sample`` photos the
    outputs are non-negative and sum to 1 (softmax). Raises :class:`ConvertError` naming the file and the fix.
    """
    if len(model.inputs) != 1 or len(model.input_shape) != 4 or model.input_shape[-1] != 3:
        raise ConvertError(f"{path}: expected one image input of shape (batch, H, W, 3), got {model.input_shape}.")
    if len(model.outputs) != 1 or len(model.output_shape) != 2:
        raise ConvertError(
            f"{path}: expected one output of shape (batch, classes), got {model.output_shape}; the model must end in "
            "a Dense(len(labels), activation='softmax') layer."
        )
    n = model.output_shape[-1]
    if n != len(labels):
        raise ConvertError(
            f"{path}: the model has {n} outputs but labels.txt has {len(labels)} labels; the labels file does not "
            "match this model. Restore the labels.txt written with it, or re-run edge-train."
        )
    probs = np.asarray(model(sample.astype(np.float32), training=False))
    sums = probs.sum(axis=-1)
    if probs.min() < -1e-4 or np.abs(sums - 1.0).max() > 1e-3:
        raise ConvertError(
            f"{path}: the output is not a probability over the labels (values {probs.min():.3g}..{probs.max():.3g}, "
            f"row sums {sums.min():.3g}..{sums.max():.3g}); end the model with activation='softmax' and retrain."
        )


def freeze(model: Any) -> FrozenModel:
    """Trace ``model`` once at batch size 1 and fold its variables into constants."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    height, width = int(model.input_shape[1]), int(model.input_shape[2])
    fn = tf.function(lambda image: model(image, training=False))
    concrete = fn.get_concrete_function(tf.TensorSpec([1, height, width, 3], tf.float32, name="image"))
    frozen = convert_variables_to_constants_v2(concrete)
    return FrozenModel(model, frozen, (height, width), int(model.output_shape[-1]))
