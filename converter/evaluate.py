"""Run a ``.tflite`` variant on the validation photos with the TensorFlow Lite interpreter and measure it."""
from __future__ import annotations

import time
import warnings
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from device.backends import make_interpreter
from device.quantization import dequantize, quantize, tensor_quantization


def run_tflite(model: bytes, images: np.ndarray, num_threads: Optional[int] = None) -> Dict[str, Any]:
    """Scores (dequantized to float probabilities) for every image, and the per-image invoke times in ms.

    ``images``: N x H x W x 3 uint8 preprocessed photos. Inputs are cast or quantized to the input tensor's type.
    Runs on ``tf.lite.Interpreter`` (backend "tensorflow"): this process already has TensorFlow loaded.
    """
    with warnings.catch_warnings():  # tf.lite.Interpreter's deprecation notice: it is deliberate here
        warnings.simplefilter("ignore", UserWarning)
        interp = make_interpreter(model, backend="tensorflow", num_threads=num_threads)
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
    return {"scores": np.stack(scores), "latency_ms": np.asarray(times)}


def classification_metrics(
    scores: np.ndarray, truth: Sequence[int], labels: Sequence[str], reference_scores: Optional[np.ndarray] = None
) -> Dict[str, Any]:
    """Top-1, top-5 (5+ classes), per-class accuracy and, given reference scores (the Keras model), top-1 agreement
    and mean absolute score difference."""
    truth_arr = np.asarray(truth)
    top1 = scores.argmax(axis=1)
    out: Dict[str, Any] = {"top1": float((top1 == truth_arr).mean()) if len(truth_arr) else float("nan")}
    if len(labels) >= 5:
        top5 = np.argsort(-scores, axis=1, kind="stable")[:, :5]
        out["top5"] = float(np.mean([t in row for t, row in zip(truth_arr, top5)]))
    out["per_class"] = {
        label: (float((top1[truth_arr == i] == i).mean()) if np.any(truth_arr == i) else None)
        for i, label in enumerate(labels)
    }
    if reference_scores is not None:
        out["agreement_with_keras"] = float((top1 == reference_scores.argmax(axis=1)).mean())
        out["mean_abs_score_diff"] = float(np.abs(scores - reference_scores).mean())
    return out


def latency_summary(times_ms: np.ndarray) -> Dict[str, float]:
    """Median and 90th percentile of invoke times (ms); the first run (warm-up) is dropped when there are more."""
    t = times_ms[1:] if len(times_ms) > 1 else times_ms
    return {"latency_median_ms": float(np.median(t)), "latency_p90_ms": float(np.percentile(t, 90))}
