"""``convert(run_dir, ConvertConfig) -> ConversionResult``: the converter's library entry point."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Optional

import numpy as np

from converter.calibration import load_calibration_images, representative_dataset
from converter.photos import RunPhotos
from converter.quantization_check import QuantizationCheck
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

    int8 is post-training quantized first; with ``qat=None`` (the default) quantization-aware training runs only when
    that model fails the accuracy gate (:mod:`common.gates`), with ``qat=True`` always, with ``False`` never. Writes
    ``<run>/tflite/model_<variant>.tflite`` (atomically) and ``report.json/.md/.png``. Raises
    :class:`~converter.errors.ConvertError` for unusable inputs and, after every file is written,
    :class:`~converter.errors.AccuracyGateError` when int8 loses more than ``max_accuracy_drop`` points beyond noise.
    """
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from converter import trace

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
    photos = RunPhotos(run, log)

    # Calibration photos first: a bad split fails before any slow work.
    calib = None
    if "int8" in cfg.variants:
        t = time.perf_counter()
        calib = load_calibration_images(photos, run.train, cfg.calibration_size, cfg.seed,
                                        source=str(run.run_dir / rf.SPLITS))
        timings["calibration"] = time.perf_counter() - t
        log(f"calibration: {len(calib)} photos from the training split ({timings['calibration']:.1f} s)")

    t = time.perf_counter()
    model = trace.load_keras_model(run.model_path)
    probe = calib[:4] if calib is not None else _probe_images(run, photos)
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

    backbone = rf.read_backbone(run.run_dir)
    card = ModelCard(
        name=cfg.model_name or f"edge-kit {run.run_dir.name}",
        description=cfg.description or (
            f"Image classifier ({len(run.labels)} classes: {', '.join(run.labels[:10])}"
            f"{', ...' if len(run.labels) > 10 else ''}) trained with edge-kit"
            f"{' on ' + str(backbone['title']) if backbone and backbone.get('title') else ''}."),
        version=cfg.version, author=cfg.author, license=cfg.license,
    )
    writer = _VariantWriter(run, cfg, card, out_dir, calib, timings, log, model_sha256)
    qat_ran = False
    if "int8" in cfg.variants and cfg.qat is True:
        frozen_int8 = _quantization_aware(model, run, photos, frozen, cfg, timings, log)
        qat_ran = True
    else:
        frozen_int8 = frozen
    for variant in cfg.variants:
        writer.write(variant, frozen_int8 if variant == "int8" else frozen)

    # The quantization check: every variant against float32 on the validation photos and augmented training photos
    # (converter/quantization_check.py). It decides whether QAT runs (qat=None) and feeds the gate.
    check = None
    ptq = None
    if "float32" in cfg.variants and (len(cfg.variants) > 1):
        check = QuantizationCheck(run, photos, cfg.check_photos, cfg.seed, out_dir, cfg.num_threads, log)
        with check:
            check.run_all(writer.models)
            if "int8" in cfg.variants and cfg.qat is None:
                limit = _qat_limit(cfg)
                verdict = check.verdict("int8", limit)
                log(f"int8 (post-training): {verdict['text']}")
                if not verdict["passed"]:
                    log("int8 (post-training) is beyond the accuracy gate: quantization-aware training follows")
                    ptq = {"quantization": check.results["int8"], "size_bytes": len(writer.models["int8"])}
                    frozen_int8 = _quantization_aware(model, run, photos, frozen, cfg, timings, log)
                    qat_ran = True
                    writer.write("int8", frozen_int8)
                    check.rerun("int8", writer.models["int8"])
                    log(f"int8 (quantization-aware): {check.verdict('int8', limit)['text']}")
        timings["quantization_check"] = check.seconds

    atomic_write_text(out_dir / LABELS_FILE, "\n".join(run.labels) + "\n")  # beside the .tflite files, as apps expect
    result = ConversionResult(out_dir, writer.files, timings)
    if not cfg.evaluate:
        timings["total"] = time.perf_counter() - t0
        result.report = {"qat": qat_ran, "quantization": check.results if check else {}}
        return result

    t = time.perf_counter()
    report = _evaluate(run, cfg, qat_ran, model, writer.models, photos, log)
    report["calibration_photos"] = 0 if calib is None else int(len(calib))
    if check is not None:
        report["quantization_check_photos"] = check.photo_count
        for name, block in check.results.items():
            report["variants"][name]["quantization"] = block
    if ptq is not None:
        report["int8_post_training"] = ptq
    report["photo_cache"] = {"from_cache": photos.from_cache, "decoded": photos.decoded}
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
    from converter.report import write_report

    result.report_files = write_report(report, out_dir)
    log(f"report: {result.report_files['md']} (evaluation {timings['evaluate']:.1f} s, total {timings['total']:.1f} s)")
    if gate and not gate["passed"]:
        raise AccuracyGateError(gate["message"], gate["drop_points"], gate["limit_points"])
    return result


def _qat_limit(cfg: ConvertConfig) -> float:
    """The gate limit the automatic QAT decision uses."""
    from common import defaults

    for limit in (cfg.qat_limit, cfg.max_accuracy_drop):
        if limit is not None:
            return float(limit)
    return defaults.MAX_ACCURACY_DROP


class _VariantWriter:
    """Converts, adds metadata, checks and writes each variant (atomically); remembers the bytes."""

    def __init__(self, run, cfg: ConvertConfig, card: ModelCard, out_dir: Path, calib, timings, log,
                 model_sha256: str) -> None:
        self.run, self.cfg, self.card, self.out_dir, self.calib = run, cfg, card, out_dir, calib
        self.model_sha256 = model_sha256
        self.timings, self.log = timings, log
        self.files: Dict[str, Path] = {}
        self.models: Dict[str, bytes] = {}

    def write(self, variant: str, source) -> None:
        from converter.variants import convert_variant

        t = time.perf_counter()
        rep = representative_dataset(self.calib) if variant == "int8" else None
        raw = convert_variant(source.function, variant, rep, self.cfg.int8_io)
        card = self.card
        data = add_metadata(raw, self.run.labels, self.run.preprocessing, ModelCard(
            card.name, f"{card.description} Variant: {VARIANT_DESCRIPTIONS[variant]}.", card.version, card.author,
            card.license))
        data = share_quantization_vectors(data)  # lossless, smaller int8 files (converter/compact.py)
        path = self.out_dir / Path(rf.tflite_model(variant)).name
        verify_metadata(data, self.run.labels, self.run.preprocessing, str(path))
        atomic_write_bytes(path, data)
        rf.record_tflite(path, self.model_sha256)
        self.timings[variant] = self.timings.get(variant, 0.0) + time.perf_counter() - t
        self.files[variant], self.models[variant] = path, data
        self.log(f"{variant}: {path} ({len(data) / 1e6:.2f} MB, {time.perf_counter() - t:.1f} s)")


def _quantization_aware(model, run, photos: RunPhotos, frozen, cfg: ConvertConfig, timings, log):
    """The QAT fine-tune, frozen for the int8 converter."""
    from converter import trace
    from converter.qat import quantization_aware_finetune

    t = time.perf_counter()
    qat_model = quantization_aware_finetune(model, run, photos, cfg, log)
    timings["qat"] = time.perf_counter() - t
    log(f"quantization-aware fine-tune done ({timings['qat']:.1f} s)")
    return trace.FrozenModel(qat_model, trace.freeze(qat_model).function, frozen.input_size, frozen.num_classes)


def _probe_images(run, photos: RunPhotos) -> np.ndarray:
    items = (run.val or run.train)[:4]
    images, _ = photos.load(items)
    if not len(images):
        return np.random.default_rng(0).integers(0, 256, (2,) + run.preprocessing.size + (3,), dtype=np.uint8)
    return images


def _evaluate(run, cfg, qat, model, models, photos: RunPhotos, log) -> Dict[str, Any]:
    """Every variant on the validation photos, streamed in batches: metrics against the labels and the Keras model,
    and the interpreter's invoke times."""
    from converter.errors import ConvertError
    from converter.evaluate import evaluation_backend, latency_summary, run_tflite_batches
    from device.backends import default_num_threads

    if not run.val:
        raise ConvertError(f"{run.run_dir / rf.SPLITS}: the validation split is empty; nothing to evaluate on. "
                           "Re-run edge-train with a validation split, or pass evaluate=False (--no-evaluate).")
    keras_scores, truth = [], []
    for images, labels in photos.batches(run.val, 32):
        keras_scores.append(np.asarray(model(images.astype(np.float32), training=False)))
        truth.append(labels)
    keras_scores = np.concatenate(keras_scores)
    truth = np.concatenate(truth)
    keras_metrics = classification_metrics(keras_scores, truth, run.labels)

    threads = cfg.num_threads or default_num_threads()
    backend = evaluation_backend()
    variants: Dict[str, Any] = {}
    for name, data in models.items():
        out = run_tflite_batches(data, photos.batches(run.val, 32), threads, backend)
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
        "run": str(run.run_dir), "labels": run.labels, "validation_photos": int(len(truth)),
        "keras_top1": keras_metrics["top1"], "keras_per_class": keras_metrics["per_class"],
        "qat": bool(qat), "int8_io": cfg.int8_io, "num_threads": threads, "interpreter": backend,
        "preprocessing": run.preprocessing.to_dict(), "variants": variants,
    }


def _gate(report: Dict[str, Any], cfg: ConvertConfig) -> Optional[Dict[str, Any]]:
    if cfg.max_accuracy_drop is None or "int8" not in report["variants"]:
        return None
    base_name = gates.baseline_name(report)
    drop = gates.drop_points(report, "int8")
    passed = gates.passes(report, "int8", cfg.max_accuracy_drop)
    check = report["variants"]["int8"].get("quantization") or {}
    basis = {k: check.get(k) for k in ("photos", "agreement", "changed", "right_to_wrong", "wrong_to_right",
                                       "noise_points")}
    said = gates.describe(report, "int8")
    if passed:
        message = f"int8 {said} vs {base_name}: within the limit of {cfg.max_accuracy_drop:.2f} points."
    else:
        message = (
            f"int8 {said} vs {base_name}, beyond the limit --max-accuracy-drop {cfg.max_accuracy_drop:.2f} and its "
            f"noise. Try more calibration photos (--calibration-size {max(2 * cfg.calibration_size, 400)}), "
            + (f"more quantization-aware epochs (--qat --qat-epochs {cfg.qat_epochs + 2})" if report.get("qat") else
               "quantization-aware training (--qat)")
            + ", or ship the dynamic/float16 variant. The converted files are complete and kept.")
    return {"passed": passed, "drop_points": drop, "limit_points": cfg.max_accuracy_drop, "baseline": base_name,
            "noise_z": gates.NOISE_Z, "basis": basis, "message": message}
