"""What a backbone costs on the device: its int8 model's size and invoke time, measured here, for the backbone search
(:mod:`trainer.backbone_search`; ``edge-kit`` hands :func:`measure` to the trainer).

The candidate (its backbone with random weights and a head of the right size) is post-training quantized on random
pixels (size and speed do not depend on the values) exactly as the int8 export is (:func:`converter.variants
.convert_variant`), then timed with the TFLite interpreter, one thread, over 40 photos: the 10th percentile, so that
a machine busy with other work (the search itself decodes photos) does not make a candidate look slow.
The result is kept per backbone, input size, head size, processor and interpreter in
``$XDG_CACHE_HOME/edge-kit/backbone_costs.json`` (``~/.cache``), so a search on the same machine measures once.
On a phone or a Raspberry Pi the times differ: each candidate's int8 model is kept beside that file
(``candidates/``, random weights: its speed is the trained model's), so it can be timed on the target before any
training (``edge-classify CANDIDATE.tflite photo.jpg --benchmark``).
"""
from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Callable, Dict, Optional

import numpy as np

from common.atomic import atomic_write_bytes, atomic_write_json
from converter.metadata import ModelCard, add_metadata
from device.preprocess import PreprocessConfig
from trainer.backbones import BackboneSpec

#: File name of the cache of measured costs.
COST_CACHE = "backbone_costs.json"
#: Folder (beside the cache) of the candidates' int8 models, to be timed on the target device.
CANDIDATES_DIR = "candidates"


def cache_file() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "edge-kit" / COST_CACHE


def candidate_model(spec: BackboneSpec, size: int, n_classes: int) -> Path:
    """Where the int8 model that :func:`measure` timed for this candidate is kept."""
    return cache_file().parent / CANDIDATES_DIR / f"{spec.name}_{size}px_{n_classes}classes_int8.tflite"


def cpu_name() -> str:
    """The processor's model name (``/proc/cpuinfo``), else the platform's machine type."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith(("model name", "hardware")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def measure(spec: BackboneSpec, size: int, n_classes: int, log: Callable[[str], None] = print
            ) -> Dict[str, Optional[float]]:
    """``{"int8_mb", "latency_ms"}`` of ``spec`` at ``size`` px with ``n_classes`` outputs (see the module)."""
    from converter import trace
    from converter.evaluate import evaluation_backend, run_tflite
    from converter.variants import convert_variant
    from trainer.model import build_model

    backend = evaluation_backend()
    key = f"{spec.name}|{size}|{n_classes}|{cpu_name()}|{backend}|p10"
    path = cache_file()
    try:
        known = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(known, dict):
            known = {}
    except (OSError, ValueError):
        known = {}
    kept = candidate_model(spec, size, n_classes)
    if isinstance(known.get(key), dict) and kept.is_file():
        return known[key]
    start = time.perf_counter()
    parts = build_model(n_classes, size=size, weights=None, backbone=spec)
    frozen = trace.freeze(parts.full)
    rng = np.random.default_rng(0)
    calibration = rng.integers(0, 256, (4, size, size, 3), dtype=np.uint8)

    def representative():
        for image in calibration:
            yield [image[None].astype(np.float32)]

    model = convert_variant(frozen.function, "int8", representative, "uint8")
    # Labels and the preprocessing contract packed in, as in every export, so that edge-classify runs it as it is.
    labels = [f"class {i}" for i in range(n_classes)]
    model = add_metadata(model, labels, PreprocessConfig(height=size, width=size), ModelCard(
        name=f"{spec.title} candidate", description=f"{spec.title} at {size} px with random weights, for timing only "
                                                    "(edge-kit's backbone search): its answers mean nothing."))
    photos = rng.integers(0, 256, (40, size, size, 3), dtype=np.uint8)
    times = run_tflite(model, photos, 1, backend)["latency_ms"][1:]  # the first invoke warms up
    result = {"int8_mb": len(model) / 1e6, "latency_ms": float(np.percentile(times, 10)),
              "measured_s": time.perf_counter() - start, "cpu": cpu_name(), "interpreter": backend}
    try:
        atomic_write_bytes(kept, model)
        result["model"] = str(kept)
        known[key] = result
        atomic_write_json(path, known)
    except OSError:
        pass  # a read-only home: measured again next time, nothing else lost
    log(f"  {spec.title}: int8 {result['int8_mb']:.2f} MB, {result['latency_ms']:.2f} ms per photo on {cpu_name()} "
        f"(measured in {result['measured_s']:.0f} s"
        + (f"; kept in {path}; on your device: edge-classify {kept} PHOTO --benchmark)" if "model" in result else ")"))
    return result
