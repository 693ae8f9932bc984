"""The Keras the trainer builds models with, imported on first use (TensorFlow is heavy; importing the trainer's
configuration or registry must not load it)."""
from __future__ import annotations

import os
from typing import Any


def keras() -> Any:
    """tf_keras (Keras 2), which tensorflow-model-optimization (QAT, in the converter) needs."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tf_keras

    return tf_keras
