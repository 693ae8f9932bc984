"""Interpreter backends and per-tensor quantization."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from device.backends import default_num_threads, installed_backends, make_interpreter, resolve_backend
from device.errors import ModelError
from device.quantization import dequantize, quantize, tensor_quantization

HAS_TFLITE_RUNTIME = importlib.util.find_spec("tflite_runtime") is not None
HAS_LITERT = importlib.util.find_spec("ai_edge_litert") is not None


def test_automatic_backend_prefers_litert_and_never_tensorflow_when_light_one_installed(monkeypatch):
    monkeypatch.delenv("EDGE_KIT_BACKEND", raising=False)
    assert resolve_backend() == [b for b in installed_backends() if b != "tensorflow"][0]
    assert resolve_backend("litert") == "ai-edge-litert"
    monkeypatch.setenv("EDGE_KIT_BACKEND", "tflite-runtime")
    assert resolve_backend() == "tflite-runtime"


def test_tflite_runtime_under_numpy_2_is_one_clear_line(monkeypatch):
    """tflite-runtime 2.14 imports under numpy 2 but then fails every model with a bare SystemError."""
    import importlib.metadata

    from device import backends

    real = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version",
                        lambda name: "2.14.0" if name == "tflite-runtime" else real(name))
    monkeypatch.setattr(backends.np, "__version__", "2.1.0")
    with pytest.raises(ModelError, match=r"built for numpy 1.x .* ai-edge-litert"):
        backends._interpreter_class("tflite-runtime")


def test_unknown_backend_is_a_clear_error():
    with pytest.raises(ModelError, match="unknown interpreter backend 'onnx'"):
        resolve_backend("onnx")


def test_default_threads_capped_at_four():
    assert 1 <= default_num_threads() <= 4


def test_interpreter_runs_reference_model_with_requested_threads(coral_quant):
    interp = make_interpreter(coral_quant, num_threads=1)
    assert interp.num_threads == 1
    out = interp.run(np.zeros((1, 224, 224, 3), np.uint8))[0]
    assert out.shape == (1, 1001) and out.dtype == np.uint8


@pytest.mark.ci_runs_elsewhere("scripts/test_tflite_runtime.sh: tflite-runtime 2.14 beside ai-edge-litert")
@pytest.mark.skipif(not (HAS_TFLITE_RUNTIME and HAS_LITERT),
                    reason="needs both tflite-runtime and ai-edge-litert (32-bit ARM has only tflite-runtime)")
@pytest.mark.parametrize("model", ["coral_quant", "float_model"])
def test_litert_and_tflite_runtime_agree(model, request, sanity_dir):
    from device import Classifier

    path = request.getfixturevalue(model)
    a = Classifier.from_file(path, backend="ai-edge-litert", num_threads=1, crop="stretch")
    b = Classifier.from_file(path, backend="tflite-runtime", num_threads=1, crop="stretch")
    for photo in ["coral_bird.bmp", "coral_parrot.jpg", "tflite-support_burger.jpg", "coral_cat.bmp"]:
        pixels = a.prepare(sanity_dir / photo)
        sa, sb = a.scores(pixels), b.scores(pixels)
        assert int(sa.argmax()) == int(sb.argmax())
        assert np.abs(sa - sb).max() < 0.05


@pytest.mark.parametrize(
    "content, message",
    [(b"", "empty"), (b"GIF89a" + b"\0" * 100, "not a TensorFlow Lite model"), (b"x" * 3, "not a TensorFlow Lite")],
)
def test_bad_model_files_name_the_file(tmp_path, content, message):
    path = tmp_path / "broken.tflite"
    path.write_bytes(content)
    with pytest.raises(ModelError, match=message) as info:
        make_interpreter(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("fraction", [0.005, 0.1, 0.5, 0.9])
def test_truncated_model_is_refused_before_the_interpreter_sees_it(tmp_path, coral_quant, monkeypatch, fraction):
    """tflite-runtime on 32-bit ARM crashes the process on a truncated file, so the check must come first."""
    from device import backends

    data = coral_quant.read_bytes()
    path = tmp_path / "truncated.tflite"
    path.write_bytes(data[: int(len(data) * fraction)])
    monkeypatch.setattr(backends, "_interpreter_class", lambda backend: pytest.fail("the interpreter was reached"))
    with pytest.raises(ModelError, match="truncated TFLite model") as info:
        make_interpreter(path)
    assert "truncated.tflite" in str(info.value) and "\n" not in str(info.value)


def test_operator_too_new_for_tflite_runtime_names_the_file_and_the_exports_that_run(tmp_path, monkeypatch, coral_quant):
    from device import Classifier, backends

    class OldInterpreter:
        def __init__(self, **kwargs):
            raise ValueError("Didn't find op for builtin opcode 'FULLY_CONNECTED' version '12'. An older version of "
                             "this builtin might be supported.\nRegistration failed.")

    monkeypatch.setattr(backends, "_interpreter_class", lambda backend: OldInterpreter)
    with pytest.raises(ModelError) as info:
        Classifier.from_file(coral_quant, backend="tflite-runtime")
    message = str(info.value)
    assert message.startswith(f"{coral_quant}: tflite-runtime") and "\n" not in message
    assert "'FULLY_CONNECTED' version '12'" in message and "int8 (default), float16 and float32" in message


@pytest.mark.ci_runs_elsewhere("scripts/test_tflite_runtime.sh, and the emulated 32-bit Pi (scripts/pi_emulated.sh)")
@pytest.mark.skipif(not HAS_TFLITE_RUNTIME, reason="tflite-runtime not installed")
def test_tflite_runtime_runs_the_int8_float_exports_but_not_the_dynamic_one():
    """The committed parity models (tests/pi/models: one current edge-kit export per variant) on tflite-runtime 2.14,
    the only interpreter of 32-bit Raspberry Pi OS: what the README says runs there."""
    from device import Classifier

    models = Path(__file__).resolve().parents[1] / "pi" / "models"
    for variant in ("int8", "float16", "float32"):
        Classifier.from_file(models / f"model_{variant}.tflite", backend="tflite-runtime", num_threads=1)
    with pytest.raises(ModelError, match=r"model_dynamic\.tflite: tflite-runtime, whose last release is 2\.14"):
        Classifier.from_file(models / "model_dynamic.tflite", backend="tflite-runtime", num_threads=1)


def test_missing_model_file(tmp_path):
    with pytest.raises(ModelError, match="no such model file"):
        make_interpreter(tmp_path / "nope.tflite")


def test_quantize_dequantize_round_trip_uint8_and_int8():
    x = np.array([-1.0, 0.0, 0.5, 0.99], np.float32)
    q = quantize(x, 1 / 128, 128, np.uint8)
    assert q.dtype == np.uint8 and q.tolist() == [0, 128, 192, 255]
    assert np.allclose(dequantize(q, 1 / 128, 128), [-1.0, 0.0, 0.5, 0.9921875])
    q8 = quantize([0.0, 255.0, 300.0], 1.0, -128, np.int8)
    assert q8.dtype == np.int8 and q8.tolist() == [-128, 127, 127]  # clipped, not wrapped
    assert dequantize(q8, 1.0, -128).tolist() == [0.0, 255.0, 255.0]


def test_quantize_rounds_values_exactly_on_half_to_even():
    """x / scale exactly on .5 rounds to the even neighbour (as TFLite's reference kernels do), not up: with scale
    0.5, 0.25 -> 0.5 -> 0 and 0.75 -> 1.5 -> 2; the zero point is added after rounding."""
    halves = [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5]
    assert quantize(halves, 1.0, 0, np.int8).tolist() == [-2, -2, 0, 0, 2, 2, 4]
    assert quantize([0.25, 0.75, 1.25], 0.5, 0, np.uint8).tolist() == [0, 2, 2]
    assert quantize([0.25, 0.75, 1.25], 0.5, 10, np.uint8).tolist() == [10, 12, 12]
    assert quantize([-0.75, -0.25], 0.5, 5, np.int8).tolist() == [3, 5]  # -1.5 -> -2, -0.5 -> 0
    assert quantize([2.5, 3.5], 0.0, 0, np.uint8).tolist() == [2, 4]  # not quantized: the cast rounds the same way


def test_scale_zero_means_not_quantized():
    assert quantize([1.25], 0.0, 0, np.float32).tolist() == [1.25]
    assert dequantize(np.array([3.5], np.float32), 0.0, 0).tolist() == [3.5]


def test_tensor_quantization_reads_interpreter_details(coral_quant):
    interp = make_interpreter(coral_quant)
    scale, zp = tensor_quantization(interp.output_details[0])
    assert scale == pytest.approx(1 / 256) and zp == 0
    with pytest.raises(ValueError, match="per-channel"):
        quantize([1.0], [0.1, 0.2], [0, 0], np.int8)
