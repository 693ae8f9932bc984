"""Latency of one photo through each stage, and a thread sweep of the interpreter (``edge-classify --benchmark``).

Stages, each timed separately after a warm-up: **decode** (file to RGB), **preprocess** (crop + resize),
**invoke** (encode pixels, set the tensor, run the model, read the output), **postprocess** (dequantize, softmax
when needed, top-k), and **end to end** (``Classifier.classify(path)``). Reports median, p90 and p99 in ms.
"""
from __future__ import annotations

import time
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from device.preprocess import decode_image, preprocess


def time_ms(fn: Callable[[], object], runs: int, warmup: int) -> List[float]:
    """Milliseconds of ``runs`` calls of ``fn`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000.0)
    return out


def summarize(ms: Sequence[float]) -> Dict[str, float]:
    """``{"median", "p90", "p99", "min", "mean"}`` of a list of milliseconds."""
    a = np.asarray(ms, dtype=np.float64)
    return {
        "median": float(np.median(a)),
        "p90": float(np.percentile(a, 90)),
        "p99": float(np.percentile(a, 99)),
        "min": float(a.min()),
        "mean": float(a.mean()),
    }


def benchmark_stages(classifier, image_path: str, runs: int = 50, warmup: int = 5) -> Dict[str, Dict[str, float]]:
    """Per-stage latency statistics (ms) for one photo with ``classifier``."""
    rgb = decode_image(image_path, background=classifier.config.background, target=classifier.config.target)
    pixels = preprocess(rgb, classifier.config)
    tensor = classifier.encoding.encode(pixels)
    raw_interp = classifier.interpreter.raw
    in_index = classifier.interpreter.input_details[0]["index"]
    out_index = classifier.interpreter.output_details[0]["index"]

    def invoke() -> None:
        raw_interp.set_tensor(in_index, classifier.encoding.encode(pixels))
        raw_interp.invoke()
        raw_interp.get_tensor(out_index)

    raw_interp.set_tensor(in_index, tensor)
    raw_interp.invoke()
    raw_out = raw_interp.get_tensor(out_index)
    from device.postprocess import to_scores

    scale, zp = classifier._out_quant

    def post() -> None:
        classifier.rank(to_scores(raw_out, scale, zp, classifier.score_type), 5)

    return {
        "decode": summarize(time_ms(lambda: decode_image(image_path, background=classifier.config.background, target=classifier.config.target), runs, warmup)),
        "preprocess": summarize(time_ms(lambda: preprocess(rgb, classifier.config), runs, warmup)),
        "invoke": summarize(time_ms(invoke, runs, warmup)),
        "postprocess": summarize(time_ms(post, runs, warmup)),
        "end_to_end": summarize(time_ms(lambda: classifier.classify(image_path), runs, warmup)),
    }


def thread_sweep(
    model_path: str,
    backend: Optional[str],
    threads: Sequence[int],
    runs: int = 30,
    warmup: int = 3,
) -> Dict[int, Dict[str, float]]:
    """Invoke latency (ms) of the model for each interpreter thread count."""
    from device.backends import make_interpreter

    out: Dict[int, Dict[str, float]] = {}
    for n in threads:
        interp = make_interpreter(model_path, backend=backend, num_threads=n)
        detail = interp.input_details[0]
        x = np.zeros(detail["shape"], dtype=detail["dtype"])
        interp.set_input(x)
        out[n] = summarize(time_ms(interp.invoke, runs, warmup))
    return out


def format_report(stages: Dict[str, Dict[str, float]], sweep: Dict[int, Dict[str, float]], header: str = "") -> str:
    """A readable report of :func:`benchmark_stages` and :func:`thread_sweep` results."""
    lines = [header] if header else []
    lines.append(f"{'stage':<14}{'median ms':>10}{'p90 ms':>10}{'p99 ms':>10}")
    for name in ("decode", "preprocess", "invoke", "postprocess", "end_to_end"):
        s = stages[name]
        lines.append(f"{name.replace('_', ' '):<14}{s['median']:>10.2f}{s['p90']:>10.2f}{s['p99']:>10.2f}")
    parts = sum(stages[n]["median"] for n in ("decode", "preprocess", "invoke", "postprocess"))
    e2e = stages["end_to_end"]["median"]
    lines.append(
        "split of end to end: " + ", ".join(
            f"{n} {100 * stages[n]['median'] / parts:.0f}%" for n in ("decode", "preprocess", "invoke", "postprocess")
        ) + f" (sum of stages {parts:.2f} ms vs end to end {e2e:.2f} ms)"
    )
    if sweep:
        lines.append("thread sweep (invoke only):")
        for n, s in sweep.items():
            lines.append(f"  {n} thread{'s' if n > 1 else ' '}: median {s['median']:.2f} ms, p90 {s['p90']:.2f} ms")
    return "\n".join(lines)
