"""Run a ``.tflite`` variant on the validation photos with the TensorFlow Lite interpreter and measure it."""
from __future__ import annotations

import time
import warnings
from typing import Any, Dict, Iterable, List, Optional, Tuple

import numpy as np

from device.backends import make_interpreter
from device.errors import ModelError
from device.quantization import dequantize, quantize, tensor_quantization


def evaluation_backend() -> str:
    """The interpreter the converter measures with: ``ai-edge-litert`` (LiteRT, what ``edge-classify`` and the
    Android app run) when installed, else ``tensorflow`` (``tf.lite.Interpreter``). Never ``tflite-runtime``: it can
    fail to load models in a process that has TensorFlow. The choice matters for ``dynamic`` models only, whose
    kernels differ between the two (flowers: one validation photo of 120 flips); int8 and float outputs are
    bit-identical."""
    from device.backends import installed_backends

    return "ai-edge-litert" if "ai-edge-litert" in installed_backends() else "tensorflow"


def run_tflite(
    model: bytes, images: np.ndarray, num_threads: Optional[int] = None, backend: Optional[str] = None,
    interpreter: Any = None,
) -> Dict[str, Any]:
    """Scores (dequantized to float probabilities) for every image, and the per-image invoke times in ms.

    ``images``: N x H x W x 3 uint8 preprocessed photos. Inputs are cast or quantized to the input tensor's type.
    ``backend``: default :func:`evaluation_backend` (TensorFlow's interpreter if that one cannot load the model);
    the one used is returned as ``"interpreter"``, the interpreter itself as ``"interpreter_object"`` (pass it back
    as ``interpreter`` to run more photos on the same model without loading it again).
    """
    backend = backend or evaluation_backend()
    interp = interpreter
    with warnings.catch_warnings():  # tf.lite.Interpreter's deprecation notice, when it is the one used
        warnings.simplefilter("ignore", UserWarning)
        try:
            interp = interp or make_interpreter(model, backend=backend, num_threads=num_threads)
        except ModelError:
            if backend == "tensorflow":
                raise
            # LiteRT beside TensorFlow in one process can fail to load a model: measure with TensorFlow's own.
            backend = "tensorflow"
            interp = make_interpreter(model, backend=backend, num_threads=num_threads)
    in_detail = interp.input_details[0]
    out_detail = interp.output_details[0]
    in_scale, in_zp = tensor_quantization(in_detail)
    out_scale, out_zp = tensor_quantization(out_detail)
    scores: List[np.ndarray] = []
    times: List[float] = []
    for image in images:
        x = quantize(image[None].astype(np.float32), in_scale, in_zp, in_detail["dtype"])
        interp.set_input(x)
        start = time.perf_counter()
        interp.invoke()
        times.append((time.perf_counter() - start) * 1000.0)
        scores.append(dequantize(interp.get_output(), out_scale, out_zp).reshape(-1))
    return {"scores": np.stack(scores), "latency_ms": np.asarray(times), "interpreter": backend,
            "interpreter_object": interp}


def run_tflite_batches(model: bytes, batches: Iterable[Tuple[np.ndarray, np.ndarray]],
                       num_threads: Optional[int] = None, backend: Optional[str] = None) -> Dict[str, Any]:
    """:func:`run_tflite` over ``(photos, labels)`` batches (one interpreter for all); also returns ``"labels"``, so
    that memory holds one batch of photos at a time, not the whole set."""
    interp = None
    scores: List[np.ndarray] = []
    labels: List[np.ndarray] = []
    times: List[np.ndarray] = []
    used = backend
    for images, y in batches:
        out = run_tflite(model, images, num_threads, used, interp)
        interp, used = out["interpreter_object"], out["interpreter"]
        scores.append(out["scores"])
        times.append(out["latency_ms"])
        labels.append(np.asarray(y))
    if not scores:
        return {"scores": np.zeros((0, 0), np.float32), "labels": np.zeros(0, np.int64),
                "latency_ms": np.zeros(0), "interpreter": used or evaluation_backend()}
    return {"scores": np.concatenate(scores), "labels": np.concatenate(labels), "latency_ms": np.concatenate(times),
            "interpreter": used}


def latency_summary(times_ms: np.ndarray) -> Dict[str, float]:
    """Median and 90th percentile of invoke times (ms); the first run (warm-up) is dropped when there are more."""
    t = times_ms[1:] if len(times_ms) > 1 else times_ms
    return {"latency_median_ms": float(np.median(t)), "latency_p90_ms": float(np.percentile(t, 90))}
