"""edge-kit device runtime: the preprocessing contract and TFLite classification, with no TensorFlow.

    >>> from device import Classifier
    >>> Classifier.from_file("model.tflite").classify("photo.jpg", top_k=3)

``Classifier`` is imported lazily, so ``import device.preprocess`` (used by training) stays light.
"""
from typing import Any

__all__ = ["Classifier"]


def __getattr__(name: str) -> Any:
    if name == "Classifier":
        from device.classifier import Classifier

        return Classifier
    raise AttributeError(f"module 'device' has no attribute {name!r}")
