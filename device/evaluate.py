"""Evaluate any classifier with labels on a folder of labelled photos (``edge-classify MODEL --evaluate FOLDER``).

The folder holds one sub-folder per class, named like the model's labels (matched case-insensitively). Every photo
goes through the same :class:`device.classifier.Classifier` path as classification (the preprocessing contract,
the model's normalisation), and the metrics come from :mod:`common.metrics` (the one implementation edge-kit has):
top-1, top-5, per-class precision and recall, the confusion matrix; plus the worst mistakes and the latency.
numpy, Pillow and an interpreter are enough (the confusion matrix figure is drawn with Pillow).
"""
from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from common.metrics import classification_metrics
from device.errors import ImageError, ModelError
from device.labels import BACKGROUND_LABELS

#: Extensions of the photos looked for in the class folders.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")


def match_class_folders(root: Path, labels: Sequence[str]) -> List[Tuple[int, Path]]:
    """``[(label index, folder)]`` for the class sub-folders of ``root``, matched to ``labels`` case-insensitively.

    A background label (``background``/``???`` first) needs no folder. Folders with no label and labels with no
    folder are listed together in one :class:`ModelError`.
    """
    root = Path(root)
    if not root.is_dir():
        raise ModelError(f"{root}: folder not found. Give a folder with one sub-folder of photos per class.")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise ModelError(f"{root}: no class sub-folders. Put the photos of each class in a sub-folder named like its "
                         f"label (e.g. {root}/daisy/*.jpg).")
    index = {}
    for i, label in enumerate(labels):
        index.setdefault(label.strip().casefold(), i)
    matched, unknown = [], []
    for folder in folders:
        i = index.get(folder.name.strip().casefold())
        (unknown.append(folder.name) if i is None else matched.append((i, folder)))
    found = {i for i, _ in matched}
    skip = {0} if labels and labels[0].strip().lower() in BACKGROUND_LABELS else set()
    missing = [label for i, label in enumerate(labels) if i not in found and i not in skip]
    if unknown or missing:
        parts = []
        if unknown:
            parts.append(f"folders with no label: {', '.join(repr(n) for n in unknown)}")
        if missing:
            shown = ", ".join(repr(n) for n in missing[:20]) + (f" and {len(missing) - 20} more" if len(missing) > 20
                                                               else "")
            parts.append(f"labels with no folder: {shown}")
        raise ModelError(f"{root}: class folders and the model's labels differ ({'; '.join(parts)}). Name one "
                         "sub-folder per label (case does not matter), or give the right labels with --labels.")
    return matched


def list_photos(matched: Sequence[Tuple[int, Path]]) -> List[Tuple[Path, int]]:
    """``[(photo, label index)]`` of every image file in the matched folders (recursive, sorted)."""
    photos = []
    for i, folder in matched:
        photos += [(p, i) for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS]
    return photos


def evaluate_folder(clf: Any, root: Path, worst: int = 10,
                    progress: Optional[Callable[[int, int], None]] = None) -> Dict[str, Any]:
    """Classify every photo under ``root``'s class folders with ``clf`` and measure it.

    Returns the :mod:`common.metrics` vocabulary (``top1``, ``top5``, ``per_class``, ``confusion_matrix``,
    ``labels``, ``count``, ``loss``) plus ``folder``, ``predictions`` (one record per photo: ``file``, ``true``,
    ``true_index``, ``label``, ``index``, ``score``), ``worst_mistakes`` (the ``worst`` wrong answers given with the
    highest score), ``unreadable`` (photos that could not be decoded, skipped) and ``latency_ms`` (per photo:
    ``prepare`` = decode + preprocess, ``invoke`` = the interpreter; mean, median, p90).
    """
    labels = list(clf.labels)
    photos = list_photos(match_class_folders(Path(root), labels))
    if not photos:
        raise ModelError(f"{root}: the class folders hold no photos (looked for {', '.join(IMAGE_EXTENSIONS)}).")
    rows, y_true, unreadable = [], [], []
    prepare_ms, invoke_ms = [], []
    for n, (path, truth) in enumerate(photos, 1):
        t0 = time.perf_counter()
        try:
            pixels = clf.prepare(path)
        except ImageError as exc:
            unreadable.append({"file": str(path), "error": str(exc)})
            continue
        t1 = time.perf_counter()
        scores = np.asarray(clf.scores(pixels), dtype=np.float64)
        t2 = time.perf_counter()
        prepare_ms.append((t1 - t0) * 1000)
        invoke_ms.append((t2 - t1) * 1000)
        rows.append((str(path), scores))
        y_true.append(truth)
        if progress is not None:
            progress(n, len(photos))
    if not rows:
        raise ModelError(f"{root}: none of the {len(photos)} photos could be read.")
    matrix = np.stack([s for _, s in rows])
    result = classification_metrics(matrix, y_true, labels)
    predictions = []
    for (path, scores), truth in zip(rows, y_true):
        best = int(scores.argmax())
        predictions.append({"file": path, "true": labels[truth], "true_index": truth, "label": labels[best],
                            "index": best, "score": round(float(scores[best]), 6)})
    mistakes = sorted((p for p in predictions if p["index"] != p["true_index"]), key=lambda p: -p["score"])
    result.update({
        "folder": str(root),
        "worst_mistakes": [{"file": p["file"], "true": p["true"], "predicted": p["label"], "score": p["score"]}
                           for p in mistakes[:worst]],
        "unreadable": unreadable,
        "latency_ms": {"prepare": _stats(prepare_ms), "invoke": _stats(invoke_ms)},
        "predictions": predictions,
    })
    return result


def _stats(values: Sequence[float]) -> Dict[str, float]:
    v = np.asarray(values, dtype=np.float64)
    return {"mean": round(float(v.mean()), 3), "median": round(float(np.median(v)), 3),
            "p90": round(float(np.percentile(v, 90)), 3)}


def format_report(result: Dict[str, Any]) -> List[str]:
    """The evaluation as text: accuracy, latency, per-class precision/recall, the confusion matrix (classes that
    have photos or were predicted), the worst mistakes."""
    labels = result["labels"]
    cm = np.asarray(result["confusion_matrix"])
    lines = [f"{result['folder']}: {result['count']} photos, top-1 {result['top1']:.1%}"
             + (f", top-5 {result['top5']:.1%}" if "top5" in result else "")]
    lat = result["latency_ms"]
    lines.append(f"latency per photo: invoke {lat['invoke']['median']:.1f} ms median (p90 {lat['invoke']['p90']:.1f}),"
                 f" decode+preprocess {lat['prepare']['median']:.1f} ms median")
    shown = [i for i in range(len(labels)) if cm[i].sum() or cm[:, i].sum()]
    width = max(len(labels[i]) for i in shown)
    lines += ["", f"{'class':<{width}}  precision  recall  photos"]
    for i in shown:
        entry = result["per_class"][labels[i]]
        lines.append(f"{labels[i]:<{width}}  {_pct(entry['precision']):>9}  {_pct(entry['recall']):>6}  "
                     f"{entry['support']:>6}")
    cell = max(5, max(len(str(int(v))) for v in cm.flat) + 1)
    lines += ["", "confusion matrix (rows: true class, columns: predicted; columns numbered as the rows)"]
    lines.append(" " * (width + 5) + "".join(f"{n:>{cell}}" for n in range(1, len(shown) + 1)))
    for n, i in enumerate(shown, 1):
        lines.append(f"{n:>3}  {labels[i]:<{width}}" + "".join(f"{int(cm[i, j]):>{cell}}" for j in shown))
    if result["worst_mistakes"]:
        lines += ["", "worst mistakes (most confident wrong answers)"]
        for m in result["worst_mistakes"]:
            lines.append(f"  {m['file']}: {m['true']} -> {m['predicted']} ({m['score']:.2f})")
    if result["unreadable"]:
        lines += ["", f"{len(result['unreadable'])} photos could not be read (skipped):"]
        lines += [f"  {u['file']}: {u['error']}" for u in result["unreadable"]]
    return lines


def _pct(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.1%}"


def confusion_matrix_png(labels: Sequence[str], matrix: Sequence[Sequence[int]], title: str) -> bytes:
    """The confusion matrix as PNG bytes, drawn with Pillow (the device environment has no matplotlib): counts in
    cells shaded by the row fraction, labels on both axes (rows: true class, columns: predicted)."""

    m = np.asarray(matrix, dtype=float)
    rows = m.sum(axis=1, keepdims=True)
    frac = np.divide(m, rows, out=np.zeros_like(m), where=rows > 0)
    font = ImageFont.load_default()
    n = len(labels)
    cell = 34
    text_w = max(int(font.getlength(str(label))) for label in labels) + 12 if n else 40
    left, top = text_w + 8, text_w + 40
    axes = "predicted (columns); true (rows)"
    width = max(left + n * cell + 20, int(font.getlength(title)) + 16, left + int(font.getlength(axes)) + 8)
    height = top + n * cell + 20
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.text((8, 8), title, fill="black", font=font)
    draw.text((left, 24), axes, fill="black", font=font)
    column_labels = Image.new("RGB", (text_w, n * cell), "white")  # drawn sideways, then rotated
    column_draw = ImageDraw.Draw(column_labels)
    for i, label in enumerate(labels):
        draw.text((8, top + i * cell + cell // 2 - 6), str(label), fill="black", font=font)
        column_draw.text((4, i * cell + cell // 2 - 6), str(label), fill="black", font=font)
        for j in range(n):
            shade = int(255 - 200 * frac[i, j])
            box = (left + j * cell, top + i * cell, left + (j + 1) * cell - 1, top + (i + 1) * cell - 1)
            draw.rectangle(box, fill=(shade, shade, 255), outline=(200, 200, 200))
            draw.text((box[0] + 6, box[1] + cell // 2 - 6), str(int(m[i, j])),
                      fill="white" if frac[i, j] > 0.6 else "black", font=font)
    image.paste(column_labels.rotate(90, expand=True), (left, top - text_w - 4))
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()
