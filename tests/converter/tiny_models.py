"""Tiny image classifiers (a few KB) in every variant edge-kit writes, for metadata tests and golden files.

Built with TensorFlow and edge-kit's own converter settings (``converter.variants.convert_variant``): float32,
float16, dynamic-range, int8 with uint8 input/output (edge-kit's default) and int8 with int8 input/output. Random
weights: only the tensor types and the metadata matter here.
"""
from __future__ import annotations

from pathlib import Path
import warnings
from typing import Dict, List

import numpy as np

from converter.metadata import ModelCard
from device.preprocess import PreprocessConfig

#: Variant name -> (converter variant, int8 input/output type).
VARIANTS = {
    "float32": ("float32", "uint8"),
    "float16": ("float16", "uint8"),
    "dynamic": ("dynamic", "uint8"),
    "int8": ("int8", "uint8"),
    "int8_int8io": ("int8", "int8"),
}
LABELS = ["daisy", "dandelion", "café ☕ rose"]
CONFIG = PreprocessConfig(height=24, width=32, crop="center")
#: The committed golden models (``tests/golden/make_metadata_golden.py``): ``tiny_<variant>.tflite``.
GOLDEN_DIR = Path(__file__).resolve().parents[1] / "golden" / "metadata"


def golden_model(variant: str) -> bytes:
    """The committed golden model of ``variant`` (metadata written by edge-kit's writer)."""
    return (GOLDEN_DIR / f"tiny_{variant}.tflite").read_bytes()


def golden_card(variant: str) -> ModelCard:
    """The model card the golden model of ``variant`` was written with."""
    return ModelCard(name=f"tiny_{variant}", description=f"edge-kit metadata golden model ({variant}, random weights)")


def raw_variants() -> Dict[str, bytes]:
    """``{variant: .tflite bytes without metadata}`` (imports TensorFlow; about a second per variant)."""
    import tf_keras as keras

    from converter import trace
    from converter.variants import convert_variant

    keras.utils.set_random_seed(7)
    model = keras.Sequential([
        keras.layers.Input((CONFIG.height, CONFIG.width, 3)),
        keras.layers.Rescaling(1 / 127.5, offset=-1),
        keras.layers.Conv2D(8, 3, strides=2, activation="relu"),
        keras.layers.Conv2D(40, 3, strides=2, activation="relu"),  # > 1024 weights: dynamic-range quantizes it
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(len(LABELS), activation="softmax"),
    ])
    frozen = trace.freeze(model)
    rng = np.random.default_rng(0)

    def calibration():
        for _ in range(8):
            yield [rng.integers(0, 256, (1, CONFIG.height, CONFIG.width, 3)).astype(np.float32)]

    return {name: convert_variant(frozen.function, variant, calibration, io)
            for name, (variant, io) in VARIANTS.items()}


def model_outputs(model: bytes, n_inputs: int = 4) -> List[np.ndarray]:
    """The outputs of a ``.tflite`` model on ``n_inputs`` seeded random inputs of its own shape and type (0-255,
    shifted by -128 for int8 input), run with TensorFlow's interpreter: for checking that a rewrite of a model
    changes no output bit."""
    import tensorflow as tf

    with warnings.catch_warnings():  # tf.lite.Interpreter's deprecation notice
        warnings.simplefilter("ignore")
        interp = tf.lite.Interpreter(model_content=model)
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    results = []
    for seed in range(n_inputs):
        x = np.random.default_rng(seed).integers(0, 256, inp["shape"])
        if inp["dtype"] == np.int8:
            x = x - 128
        interp.set_tensor(inp["index"], x.astype(inp["dtype"]))
        interp.invoke()
        results.append(interp.get_tensor(out["index"]).copy())
    return results
