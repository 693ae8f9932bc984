"""The conversion report of ``edge-convert``: ``tflite/report.json``, ``report.md`` and ``report.png`` (accuracy and
size per variant). The one-command pipeline's report (``report.html``) is :mod:`pipeline.report`."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

from common import figures
from common import run_folder as rf
from common.atomic import atomic_write_json, atomic_write_text


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def render_markdown(report: Dict[str, Any]) -> str:
    """A human-readable summary of ``report`` (the JSON structure written by :func:`write_report`)."""
    variants = report["variants"]
    has_top5 = any("top5" in v for v in variants.values())
    lines = [
        f"# edge-kit conversion report: {report['run']}",
        "",
        f"Validation photos: {report['validation_photos']} · Keras top-1: {_pct(report.get('keras_top1'))} · "
        f"calibration photos: {report.get('calibration_photos', 0)} · QAT: {'yes' if report.get('qat') else 'no'} · "
        f"interpreter: {report.get('interpreter', 'tensorflow')}, {report.get('num_threads')} threads",
        "",
        "| variant | size | x float32 | top-1 | " + ("top-5 | " if has_top5 else "")
        + "agreement with Keras | mean abs score diff | latency median | p90 | convert |",
        "|---|---|---|---|" + ("---|" if has_top5 else "") + "---|---|---|---|---|",
    ]
    for name, v in variants.items():
        lines.append(
            f"| {name} | {v['size_bytes'] / 1e6:.2f} MB | {v.get('size_ratio_vs_float32', float('nan')):.2f} | "
            f"{_pct(v.get('top1'))} | " + (f"{_pct(v.get('top5'))} | " if has_top5 else "")
            + f"{_pct(v.get('agreement_with_keras'))} | {v.get('mean_abs_score_diff', float('nan')):.4f} | "
            f"{v.get('latency_median_ms', float('nan')):.1f} ms | {v.get('latency_p90_ms', float('nan')):.1f} ms | "
            f"{v['convert_seconds']:.1f} s |"
        )
    labels = report["labels"]
    if variants and all("per_class" in v for v in variants.values()):
        lines += ["", "## Per-class accuracy (change vs float32 in points)", "",
                  "| class | " + " | ".join(variants) + " |", "|---|" + "---|" * len(variants)]
        for label in labels:
            cells = []
            for v in variants.values():
                acc = (v["per_class"].get(label) or {}).get("recall")
                delta = v.get("per_class_change_vs_float32", {}).get(label)
                cells.append(_pct(acc) + (f" ({delta:+.1f})" if delta is not None else ""))
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    gate = report.get("gate")
    if gate:
        lines += ["", f"## Accuracy gate: {'PASSED' if gate['passed'] else 'FAILED'}", "", gate["message"]]
    return "\n".join(lines) + "\n"


def write_chart(report: Dict[str, Any], path: Path) -> None:
    """Bar charts of top-1 accuracy and file size per variant, saved atomically as PNG."""
    figures.write_png(figures.variant_accuracy_size_png(report), path)


def write_report(report: Dict[str, Any], folder: Path) -> Dict[str, Path]:
    """Write ``report.json``, ``report.md`` and ``report.png`` into ``folder``; returns their paths."""
    paths = {kind: folder / name for kind, name in rf.CONVERSION_REPORT_FILES.items()}
    atomic_write_json(paths["json"], report)
    atomic_write_text(paths["md"], render_markdown(report))
    write_chart(report, paths["png"])
    return paths
