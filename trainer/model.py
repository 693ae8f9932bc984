"""The model: MobileNetV2 backbone + a small softmax head, built so the head can train on cached features.

::

    full model  (input: H x W x 3 float32, 0-255 RGB; output: softmax probabilities)
    = backbone: Rescaling(1/127.5, offset -1) -> MobileNetV2 (no top, BN in inference mode) -> GlobalAveragePooling
    + head:     Dropout -> Dense(n_classes, softmax)

No Lambda layers: the saved ``.keras`` file loads with ``safe_mode=True``. Phase 1 trains ``head`` on backbone
features computed once; phase 2 wraps ``full`` behind augmentation layers and unfreezes the top backbone blocks.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from trainer.config import ALPHAS, MAX_SIZE, MIN_SIZE, imagenet_weights_filename, weights_problem
from trainer.errors import TrainerError

MOBILENET_NAME = "mobilenetv2"  # name of the nested MobileNetV2 model inside the backbone


def keras():
    """The Keras used for training: tf_keras (Keras 2), needed by tensorflow-model-optimization downstream."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tf_keras

    return tf_keras


@dataclass
class ModelParts:
    """The three views of one set of weights: ``full = head(backbone(input))``."""

    full: Any
    backbone: Any
    head: Any
    mobilenet: Any

    @property
    def feature_dim(self) -> int:
        return int(self.backbone.output_shape[-1])


def _resolve_weights(weights: Optional[str], alpha: float, size: int) -> Optional[str]:
    if weights is None:
        return None
    if weights == "imagenet":
        # tf_keras caches in ~/.keras/models (it ignores $KERAS_HOME). Its weights for other input sizes are the
        # same architecture: offline, the cached 224 file serves any size rather than failing on a download.
        cache = Path.home() / ".keras" / "models"
        exact = cache / imagenet_weights_filename(alpha, size)
        fallback = cache / imagenet_weights_filename(alpha, 224)
        if not exact.is_file() and fallback.is_file():
            print(f"using the cached ImageNet weights trained at 224 px ({fallback}) for {size} px input")
            return str(fallback)
        return "imagenet"
    problem = weights_problem(weights, alpha, size)
    if problem:
        raise TrainerError(problem)
    return str(Path(weights).expanduser())


def build_model(
    n_classes: int,
    alpha: float = 0.35,
    size: int = 224,
    weights: Optional[str] = "imagenet",
    dropout: float = 0.2,
) -> ModelParts:
    """Build backbone, head and full model. ``weights``: "imagenet", a local no-top ``.h5`` path, or None."""
    if not any(abs(alpha - a) < 1e-9 for a in ALPHAS):
        raise TrainerError(f"alpha={alpha} is not available; choose one of {', '.join(map(str, ALPHAS))}.")
    if not MIN_SIZE <= int(size) <= MAX_SIZE:
        raise TrainerError(f"size={size} is outside {MIN_SIZE}-{MAX_SIZE}.")
    if n_classes < 2:
        raise TrainerError("a classifier needs at least two classes.")
    k = keras()
    resolved = _resolve_weights(weights, alpha, size)
    image = k.Input(shape=(size, size, 3), dtype="float32", name="image")
    x = k.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="normalize")(image)
    try:
        mobilenet = k.applications.MobileNetV2(
            input_shape=(size, size, 3), alpha=alpha, include_top=False, weights=resolved
        )
    except Exception as exc:  # download failure offline, or an .h5 of another architecture
        if resolved == "imagenet":
            name = imagenet_weights_filename(alpha, size)
            raise TrainerError(
                f"could not get the ImageNet weights for MobileNetV2 alpha {alpha} ({exc}). Offline, copy {name} to "
                f"{Path.home() / '.keras' / 'models' / name} or pass --weights PATH/TO/{name}."
            ) from exc
        raise TrainerError(
            f"{resolved}: could not load these weights into MobileNetV2 alpha {alpha}, {size}px, no top ({exc}). "
            "Use the no-top weights file made for the same alpha."
        ) from exc
    mobilenet._name = MOBILENET_NAME
    mobilenet.trainable = False
    # training=False is recorded in the graph: batch-norm layers always run in inference mode, also when the top
    # blocks are unfrozen for fine-tuning ("frozen BN").
    x = mobilenet(x, training=False)
    features = k.layers.GlobalAveragePooling2D(name="pool")(x)
    backbone = k.Model(image, features, name="backbone")

    feat_in = k.Input(shape=(int(features.shape[-1]),), dtype="float32", name="features")
    h = k.layers.Dropout(dropout, name="dropout")(feat_in)
    probs = k.layers.Dense(n_classes, activation="softmax", name="classifier")(h)
    head = k.Model(feat_in, probs, name="head")

    full = k.Model(image, head(backbone(image)), name="edge_kit_classifier")
    return ModelParts(full=full, backbone=backbone, head=head, mobilenet=mobilenet)


def unfreeze_top(parts: ModelParts, blocks: int) -> List[str]:
    """Make the top ``blocks`` inverted-residual blocks (of 16) and the last 1x1 conv trainable, batch-norm layers
    excluded. Returns the names of the layers made trainable."""
    mobilenet = parts.mobilenet
    mobilenet.trainable = True
    first = f"block_{17 - blocks}_"
    started = False
    names = []
    bn = keras().layers.BatchNormalization
    for layer in mobilenet.layers:
        if layer.name.startswith(first):
            started = True
        layer.trainable = started and not isinstance(layer, bn)
        if layer.trainable and layer.weights:
            names.append(layer.name)
    if not started:
        raise TrainerError(f"no layer named {first}* in the backbone; fine_tune_blocks must be 1-16.")
    return names


def augmentation(seed: int) -> Any:
    """Training-only augmentation on 0-255 RGB: flip, small rotation, zoom, brightness, contrast.

    Keras preprocessing layers: active in ``fit``/``train_on_batch``, identity at inference. Never saved with the
    model (the saved model is ``full``, not the training wrapper).
    """
    k = keras()
    return k.Sequential(
        [
            k.layers.RandomFlip("horizontal", seed=seed),
            k.layers.RandomRotation(0.06, fill_mode="reflect", seed=seed + 1),
            k.layers.RandomZoom((-0.2, 0.1), fill_mode="reflect", seed=seed + 2),
            k.layers.RandomBrightness(0.15, value_range=(0.0, 255.0), seed=seed + 3),
            k.layers.RandomContrast(0.15, seed=seed + 4),
        ],
        name="augment",
    )


def training_model(parts: ModelParts, augment: bool, seed: int) -> Any:
    """``full`` behind the augmentation layers (or ``full`` itself when ``augment`` is False)."""
    if not augment:
        return parts.full
    k = keras()
    size = parts.full.input_shape[1:]
    image = k.Input(shape=size, dtype="float32", name="image")
    return k.Model(image, parts.full(augmentation(seed)(image)), name="train_wrapper")


def describe(parts: ModelParts) -> Dict[str, Any]:
    """Parameter counts for logs."""
    return {
        "params": int(parts.full.count_params()),
        "backbone_params": int(parts.backbone.count_params()),
        "head_params": int(parts.head.count_params()),
    }


def load_model(path: "str | Path") -> Any:
    """Load a saved ``model.keras`` with ``safe_mode=True`` (no code is deserialised)."""
    return keras().models.load_model(str(path), safe_mode=True, compile=False)


def input_size(model: Any) -> Tuple[int, int]:
    shape = model.input_shape
    return int(shape[1]), int(shape[2])
