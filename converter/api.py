"""``convert(run_dir, ConvertConfig) -> ConversionResult``: the converter's library entry point."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Optional

import numpy as np

from converter.calibration import load_calibration_images, representative_dataset
from converter.config import VARIANT_DESCRIPTIONS, ConvertConfig
from converter.errors import AccuracyGateError
from converter.compact import share_quantization_vectors
from converter.metadata import LABELS_FILE, ModelCard, add_metadata, verify_metadata
from converter.run_input import load_run
from common import gates
from common import run_folder as rf
from common.atomic import atomic_write_bytes, atomic_write_text
from common.paths import check_output_dir
from common.metrics import classification_metrics, recall_per_class
from device.preprocess import load_and_preprocess


@dataclass
class ConversionResult:
    """What :func:`convert` wrote and measured."""

    output_dir: Path
    files: Dict[str, Path]  #: variant -> .tflite path
    timings: Dict[str, float]  #: step -> seconds ("load", "freeze", "calibration", "qat", "<variant>", "evaluate")
    report: Dict[str, Any] = field(default_factory=dict)
    report_files: Dict[str, Path] = field(default_factory=dict)


def _log(cfg: ConvertConfig, message: str) -> None:
    if cfg.verbose:
        print(message, flush=True)


def convert(run_dir: str | Path, config: Optional[ConvertConfig] = None,
            progress: Optional[Callable[[str], None]] = None) -> ConversionResult:
    """Convert the run folder's model to every variant in ``config``, with metadata, and evaluate them.

    Writes ``<run>/tflite/model_<variant>.tflite`` (atomically) and ``report.json/.md/.png``. Raises
    :class:`~converter.errors.ConvertError` for unusable inputs and, after every file is written,
    :class:`~converter.errors.AccuracyGateError` when int8 loses more than ``max_accuracy_drop`` points.
    """
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from converter import trace
    from converter.evaluate import latency_summary, run_tflite
    from converter.report import write_report
    from converter.variants import convert_variant

    cfg = config or ConvertConfig()
    log = progress or (lambda m: _log(cfg, m))
    timings: Dict[str, float] = {}
    t0 = time.perf_counter()
    run = load_run(run_dir)
    model_sha256 = rf.model_digest(run.run_dir)  # recorded with every file made here (tflite/sources.json, report)
    out_dir = Path(cfg.output_dir) if cfg.output_dir else run.run_dir / rf.TFLITE_DIR
    # Before the minutes of loading and converting: a file in the way, read-only, full -> one line naming it.
    check_output_dir(out_dir, "--out")
    pre = run.preprocessing
    qat = cfg.qat and "int8" in cfg.variants  # QAT only changes the int8 model

    # Calibration photos first: a bad split fails before any slow work.
    calib = None
    if "int8" in cfg.variants:
        t = time.perf_counter()
        calib = load_calibration_images(run.data_root, run.train, pre, cfg.calibration_size, cfg.seed,
                                        source=str(run.run_dir / rf.SPLITS))
        timings["calibration"] = time.perf_counter() - t
        log(f"calibration: {len(calib)} photos from the training split ({timings['calibration']:.1f} s)")

    t = time.perf_counter()
    model = trace.load_keras_model(run.model_path)
    probe = calib[:4] if calib is not None else _probe_images(run, pre)
    trace.check_classifier(model, run.model_path, run.labels, probe)
    if (int(model.input_shape[1]), int(model.input_shape[2])) != pre.size:
        from converter.errors import ConvertError

        raise ConvertError(
            f"{run.model_path}: input size {model.input_shape[1]}x{model.input_shape[2]} differs from the "
            f"preprocessing size {pre.height}x{pre.width} in {run.run_dir / rf.CONFIG}; re-run edge-train."
        )
    frozen = trace.freeze(model)
    timings["load_and_freeze"] = time.perf_counter() - t
    log(f"model loaded and frozen once ({timings['load_and_freeze']:.1f} s)")

    int8_source = frozen
    if qat:
        from converter.qat import quantization_aware_finetune

        t = time.perf_counter()
        qat_model = quantization_aware_finetune(model, run, cfg, log)
        int8_source = trace.FrozenModel(qat_model, trace.freeze(qat_model).function, frozen.input_size,
                                        frozen.num_classes)
        timings["qat"] = time.perf_counter() - t
        log(f"quantization-aware fine-tune done ({timings['qat']:.1f} s)")

    card = ModelCard(
        name=cfg.model_name or f"edge-kit {run.run_dir.name}",
        description=cfg.description or (
            f"Image classifier ({len(run.labels)} classes: {', '.join(run.labels[:10])}"
            f"{', ...' if len(run.labels) > 10 else ''}) trained with edge-kit."),
        version=cfg.version, author=cfg.author, license=cfg.license,
    )
    files: Dict[str, Path] = {}
    models: Dict[str, bytes] = {}
    for variant in cfg.variants:
        t = time.perf_counter()
        source = int8_source if variant == "int8" else frozen
        rep = representative_dataset(calib) if variant == "int8" else None
        raw = convert_variant(source.function, variant, rep, cfg.int8_io)
        data = add_metadata(raw, run.labels, pre, ModelCard(
            card.name, f"{card.description} Variant: {VARIANT_DESCRIPTIONS[variant]}.", card.version, card.author,
            card.license))
        data = share_quantization_vectors(data)  # lossless, smaller int8 files (converter/compact.py)
        path = out_dir / Path(rf.tflite_model(variant)).name
        verify_metadata(data, run.labels, pre, str(path))
        atomic_write_bytes(path, data)
        rf.record_tflite(path, model_sha256)
        timings[variant] = time.perf_counter() - t
        files[variant], models[variant] = path, data
        log(f"{variant}: {path} ({len(data) / 1e6:.2f} MB, {timings[variant]:.1f} s)")

    atomic_write_text(out_dir / LABELS_FILE, "\n".join(run.labels) + "\n")  # beside the .tflite files, as apps expect
    result = ConversionResult(out_dir, files, timings)
    if not cfg.evaluate:
        timings["total"] = time.perf_counter() - t0
        return result

    t = time.perf_counter()
    report = _evaluate(run, cfg, qat, model, models, latency_summary, run_tflite, log)
    report["calibration_photos"] = 0 if calib is None else int(len(calib))
    report[rf.MODEL_DIGEST] = model_sha256
    timings["evaluate"] = time.perf_counter() - t
    for variant in cfg.variants:
        report["variants"][variant]["convert_seconds"] = round(timings[variant], 2)
    gate = _gate(report, cfg)
    if gate:
        report["gate"] = gate
    timings["total"] = time.perf_counter() - t0
    report["timings_seconds"] = {k: round(v, 2) for k, v in timings.items()}
    result.report = report
    result.report_files = write_report(report, out_dir)
    log(f"report: {result.report_files['md']} (evaluation {timings['evaluate']:.1f} s, total {timings['total']:.1f} s)")
    if gate and not gate["passed"]:
        raise AccuracyGateError(gate["message"], gate["drop_points"], gate["limit_points"])
    return result


def _probe_images(run, pre) -> np.ndarray:
    items = (run.val or run.train)[:4]
    if not items:
        return np.random.default_rng(0).integers(0, 256, (2, pre.height, pre.width, 3), dtype=np.uint8)
    return np.stack([load_and_preprocess(run.data_root / rel, pre) for rel, _ in items])


def _evaluate(run, cfg, qat, model, models, latency_summary, run_tflite, log) -> Dict[str, Any]:
    from converter.errors import ConvertError
    from device.backends import default_num_threads

    if not run.val:
        raise ConvertError(f"{run.run_dir / rf.SPLITS}: the validation split is empty; nothing to evaluate on. "
                           "Re-run edge-train with a validation split, or pass evaluate=False (--no-evaluate).")
    images = np.stack([load_and_preprocess(run.data_root / rel, run.preprocessing) for rel, _ in run.val])
    truth = [i for _, i in run.val]
    keras_scores = np.concatenate([
        np.asarray(model(images[i:i + 32].astype(np.float32), training=False)) for i in range(0, len(images), 32)])
    keras_metrics = classification_metrics(keras_scores, truth, run.labels)
    from converter.evaluate import evaluation_backend

    threads = cfg.num_threads or default_num_threads()
    backend = evaluation_backend()
    variants: Dict[str, Any] = {}
    for name, data in models.items():
        out = run_tflite(data, images, threads, backend)
        m = classification_metrics(out["scores"], truth, run.labels, keras_scores)
        m.update(latency_summary(out["latency_ms"]))
        m["size_bytes"] = len(data)
        m["interpreter"] = out["interpreter"]
        variants[name] = m
        log(f"evaluated {name}: top-1 {100 * m['top1']:.1f}%, agreement with Keras "
            f"{100 * m['agreement_with_keras']:.1f}%, median {m['latency_median_ms']:.1f} ms")
    base = variants.get("float32")
    for name, m in variants.items():
        if base is not None:
            mine, theirs = recall_per_class(m), recall_per_class(base)
            m["size_ratio_vs_float32"] = m["size_bytes"] / base["size_bytes"]
            m["top1_change_vs_float32_points"] = 100 * (m["top1"] - base["top1"])
            m["per_class_change_vs_float32"] = {
                label: (None if mine[label] is None else 100 * (mine[label] - theirs[label])) for label in run.labels}
    return {
        "run": str(run.run_dir), "labels": run.labels, "validation_photos": len(run.val),
        "keras_top1": keras_metrics["top1"], "keras_per_class": keras_metrics["per_class"],
        "qat": bool(qat), "int8_io": cfg.int8_io, "num_threads": threads, "interpreter": backend,
        "preprocessing": run.preprocessing.to_dict(), "variants": variants,
    }


def _gate(report: Dict[str, Any], cfg: ConvertConfig) -> Optional[Dict[str, Any]]:
    if cfg.max_accuracy_drop is None or "int8" not in report["variants"]:
        return None
    base_name = gates.baseline_name(report)
    drop = gates.drop_points(report, "int8")
    passed = gates.within_limit("int8", drop, cfg.max_accuracy_drop)
    if passed:
        message = (f"int8 top-1 is {drop:.2f} points below {base_name} (limit {cfg.max_accuracy_drop:.2f}).")
    else:
        message = (
            f"int8 lost {drop:.2f} top-1 points vs {base_name} (limit --max-accuracy-drop "
            f"{cfg.max_accuracy_drop:.2f}). Try more calibration photos (--calibration-size "
            f"{max(2 * cfg.calibration_size, 400)}), "
            + (f"more quantization-aware epochs (--qat --qat-epochs {cfg.qat_epochs + 2})" if report.get("qat") else
               "quantization-aware training (--qat)")
            + ", or ship the dynamic/float16 variant. The converted files are complete and kept.")
    return {"passed": passed, "drop_points": drop, "limit_points": cfg.max_accuracy_drop, "baseline": base_name,
            "message": message}
