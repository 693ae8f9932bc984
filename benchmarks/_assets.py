"""Where the benchmarks find the shared test assets: ``$EDGE_KIT_ASSETS``, else ``../shared/assets`` beside the
repository (the rule of ``tests/conftest.py``), and the real ImageNet MobileNetV2 weights inside them.

Imported by the benchmark scripts, which put the repository on ``sys.path`` first; imports no TensorFlow.
"""
from __future__ import annotations

import os
from pathlib import Path

from trainer.config import imagenet_weights_filename

REPO = Path(__file__).resolve().parent.parent


def assets_dir() -> Path:
    """The shared assets folder (it may not exist; callers that need it say so)."""
    env = os.environ.get("EDGE_KIT_ASSETS")
    return Path(env) if env else REPO.parent / "shared" / "assets"


def imagenet_weights(alpha: float = 0.35, size: int = 224) -> Path:
    """The local no-top ImageNet weights file of MobileNetV2 ``alpha`` at ``size`` px in the assets."""
    return assets_dir() / "weights" / imagenet_weights_filename(alpha, size)


def dataset(name: str) -> Path:
    """A dataset folder of the assets (``flowers``, ``clothing-small``, ``caltech101-lookalikes``)."""
    return assets_dir() / "datasets" / name
