"""The model: a registered backbone + a small softmax head, built so the head can train on cached features.

::

    full model  (input: H x W x 3 float32, 0-255 RGB; output: softmax probabilities)
    = backbone: Rescaling (the backbone's normalisation) -> base (no top, BN in inference mode) -> GlobalAveragePooling
    + head:     Dropout -> Dense(n_classes, softmax)

The base is one row of :mod:`trainer.backbones` (MobileNetV2 at some width, EfficientNet-Lite0): this module never
asks which. No Lambda layers: the saved ``.keras`` file loads with ``safe_mode=True``. Phase 1 trains ``head`` on
backbone features computed once; phase 2 wraps ``full`` behind augmentation layers and unfreezes the top blocks of
the base.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

from trainer import backbones
from trainer.backbones import BackboneSpec
from trainer.config import MAX_SIZE, MIN_SIZE
from trainer.errors import TrainerError
from trainer.keras_import import keras

__all__ = ["ModelParts", "build_model", "unfreeze_top", "augmentation", "training_model", "describe", "load_model",
           "input_size", "keras"]


@dataclass
class ModelParts:
    """The views of one set of weights: ``full = head(backbone(input))``; ``base`` is the backbone's nested
    convolutional model (its layers are what fine-tuning unfreezes), ``spec`` the registry row it was built from."""

    full: Any
    backbone: Any
    head: Any
    base: Any
    spec: BackboneSpec

    @property
    def mobilenet(self) -> Any:
        """The nested base model (the name from when MobileNetV2 was the only backbone)."""
        return self.base

    @property
    def feature_dim(self) -> int:
        return int(self.backbone.output_shape[-1])


def build_model(
    n_classes: int,
    alpha: float = 0.35,
    size: int = 224,
    weights: Optional[str] = "imagenet",
    dropout: float = 0.2,
    backbone: Union[BackboneSpec, str, None] = None,
) -> ModelParts:
    """Build backbone, head and full model.

    ``backbone``: a registry row or name (:mod:`trainer.backbones`); None = MobileNetV2 at width ``alpha``.
    ``weights``: "imagenet", a local weights file of that backbone (MobileNetV2: a no-top ``.h5``; EfficientNet-Lite0:
    the ``.pth`` state dict), or None for random weights.
    """
    spec = backbone if isinstance(backbone, BackboneSpec) else backbones.resolve(backbone, alpha)
    if not MIN_SIZE <= int(size) <= MAX_SIZE:
        raise TrainerError(f"size={size} is outside {MIN_SIZE}-{MAX_SIZE}.")
    if n_classes < 2:
        raise TrainerError("a classifier needs at least two classes.")
    k = keras()
    image = k.Input(shape=(size, size, 3), dtype="float32", name="image")
    x = k.layers.Rescaling(spec.scale, offset=spec.offset, name="normalize")(image)
    base = spec.build(size, weights)
    base.trainable = False
    # training=False is recorded in the graph: batch-norm layers always run in inference mode, also when the top
    # blocks are unfrozen for fine-tuning ("frozen BN").
    x = base(x, training=False)
    features = k.layers.GlobalAveragePooling2D(name="pool")(x)
    backbone_model = k.Model(image, features, name="backbone")

    feat_in = k.Input(shape=(int(features.shape[-1]),), dtype="float32", name="features")
    h = k.layers.Dropout(dropout, name="dropout")(feat_in)
    probs = k.layers.Dense(n_classes, activation="softmax", name="classifier")(h)
    head = k.Model(feat_in, probs, name="head")

    full = k.Model(image, head(backbone_model(image)), name="edge_kit_classifier")
    return ModelParts(full=full, backbone=backbone_model, head=head, base=base, spec=spec)


def unfreeze_top(parts: ModelParts, blocks: int) -> List[str]:
    """Make the top ``blocks`` blocks of the base and its last convolution trainable, batch-norm layers excluded
    (the layers named by ``parts.spec.block_prefixes``). Returns the names of the layers made trainable."""
    prefixes = parts.spec.block_prefixes(blocks)
    base = parts.base
    base.trainable = True
    names = []
    bn = keras().layers.BatchNormalization
    for layer in base.layers:
        layer.trainable = layer.name.startswith(prefixes) and not isinstance(layer, bn)
        if layer.trainable and layer.weights:
            names.append(layer.name)
    if not any(layer.name.startswith(prefixes[0]) for layer in base.layers):
        raise TrainerError(f"no layer named {prefixes[0]}* in the {parts.spec.title} base; the registry's block names "
                           "do not match the model.")
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
