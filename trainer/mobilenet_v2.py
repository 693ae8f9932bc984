"""The MobileNetV2 family: Keras Applications' model and its ImageNet weights (the Keras download or a local file).

Layer names are Keras's own: the first block ``expanded_conv_*``, then ``block_1_*`` ... ``block_16_*``, the last
1x1 convolution ``Conv_1``. ``alpha`` (the width multiplier) picks the row of the backbone registry.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Tuple

from trainer.errors import TrainerError
from trainer.keras_import import keras

#: Width multipliers that Keras ships MobileNetV2 ImageNet weights for.
ALPHAS: Tuple[float, ...] = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
#: Input sizes Keras has ImageNet weights for.
WEIGHT_SIZES: Tuple[int, ...] = (96, 128, 160, 192, 224)

#: Every block's layer-name prefix, input to output; the first (no expansion) is never unfrozen.
BLOCK_PREFIXES: Tuple[str, ...] = ("expanded_conv_",) + tuple(f"block_{i}_" for i in range(1, 17))
_RESIDUAL = {2, 4, 5, 7, 8, 9, 11, 12, 14, 15}  # blocks with a skip connection (stride 1, same width)
#: The layer whose output leaves each block (its sum when the block has a skip connection).
BLOCK_OUTPUTS: Tuple[str, ...] = ("expanded_conv_project_BN",) + tuple(
    f"block_{i}_add" if i in _RESIDUAL else f"block_{i}_project_BN" for i in range(1, 17))
STEM_OUTPUT = "Conv1_relu"
#: The last 1x1 convolution (and its batch norm), unfrozen with the top blocks.
TOP_PREFIXES: Tuple[str, ...] = ("Conv_1",)
#: Name of the nested model inside the trainer's backbone.
MODEL_NAME = "mobilenetv2"


def feature_dim(alpha: float) -> int:
    """Channels of the last convolution: 1280, widened beyond alpha 1."""
    return int(1280 * alpha) if alpha > 1.0 else 1280


def alpha_text(alpha: float) -> str:
    """``alpha`` as Keras writes it in file names (``1.0``, ``0.35``)."""
    return {0.35: "0.35", 0.5: "0.5", 0.75: "0.75", 1.0: "1.0", 1.3: "1.3", 1.4: "1.4"}[float(alpha)]


def imagenet_weights_filename(alpha: float, size: int) -> str:
    """The file name Keras looks for in ``~/.keras/models`` for ``weights="imagenet"`` (no top)."""
    rows = size if size in WEIGHT_SIZES else 224
    return f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{alpha_text(alpha)}_{rows}_no_top.h5"


def _divisible(value: float, divisor: int = 8) -> int:
    """Keras Applications' channel rounding (``_make_divisible``)."""
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * value else new


def width_of_weights(path: "str | Path") -> Optional[float]:
    """The width ``alpha`` of a MobileNetV2 no-top ``.h5`` weights file, read from two of its kernels' shapes (the
    first convolution and block 1's projection differ for every width); None for any other file (a with-top file,
    another network, not HDF5)."""
    try:
        import h5py  # a TensorFlow dependency: training machines have it
    except ImportError:
        return None

    def name(value: Any) -> str:
        return value.decode() if isinstance(value, bytes) else str(value)

    try:
        with h5py.File(Path(path).expanduser(), "r") as h5:
            root = h5["model_weights"] if "model_weights" in h5 else h5
            layers = [name(n) for n in root.attrs.get("layer_names", [])]
            if not layers or layers[-1] != "out_relu":  # with a top (predictions) or not MobileNetV2
                return None
            shapes = []
            for layer in ("Conv1", "block_1_project"):
                group = root[layer]
                shapes.append(group[name(group.attrs["weight_names"][0])].shape[-1])
    except (OSError, KeyError, IndexError, ValueError, TypeError):
        return None
    for alpha in ALPHAS:
        if (shapes[0], shapes[1]) == (_divisible(32 * alpha), _divisible(24 * alpha)):
            return alpha
    return None


def cached_weights(alpha: float, size: int) -> Optional[Path]:
    """The Keras cache's ImageNet weights file of this width (for ``size``, else for 224), when it is there."""
    cache = Path.home() / ".keras" / "models"
    for candidate in (imagenet_weights_filename(alpha, size), imagenet_weights_filename(alpha, 224)):
        if (cache / candidate).is_file():
            return cache / candidate
    return None


def weights_problem(weights: Optional[str], alpha: float, size: int) -> Optional[str]:
    """The message for a weights file that is not there (None when ``weights`` is usable as far as files go)."""
    if weights is None or weights == "imagenet" or Path(weights).expanduser().is_file():
        return None
    return (f"{Path(weights).expanduser()}: weights file not found. Pass the path of a MobileNetV2 no-top .h5 file "
            f"(for alpha {alpha}: {imagenet_weights_filename(alpha, size)}), 'imagenet', or 'none' to start from "
            "random weights.")


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


def build(alpha: float, size: int, weights: Optional[str]) -> Any:
    """MobileNetV2 without its top for ``size`` x ``size`` input in [-1, 1]; ``weights``: "imagenet", a no-top
    ``.h5`` path, or None (random)."""
    resolved = _resolve_weights(weights, alpha, size)
    try:
        model = keras().applications.MobileNetV2(
            input_shape=(size, size, 3), alpha=alpha, include_top=False, weights=resolved)
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
    model._name = MODEL_NAME
    return model
