"""Every figure edge-kit draws, as PNG bytes (matplotlib, Agg backend), and photo thumbnails as JPEG bytes.

Every function takes plain data (lists, dicts: the content of the run folder's JSON files) and returns bytes, so the
same figure goes into the HTML report (inlined as a data URI), beside the Markdown report, and into the run folder
(:func:`write_png`). matplotlib is imported once, lazily (:func:`pyplot`): importing this module stays cheap.
"""
from __future__ import annotations

import atexit
import contextlib
import functools
import io
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence

import numpy as np

from common.atomic import atomic_write_bytes

DPI = 100
COLORS = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860"]
#: Display names of the trainer's phases (``history.json`` keys).
PHASE_NAMES = {"phase1": "head (frozen backbone)", "phase2": "fine-tuning"}


#: matplotlib's warning for a character its font lacks (an emoji in a class name): the character is drawn as a
#: box, which the figure shows plainly; the warning would only add a line of noise per character.
MISSING_GLYPH = r"Glyph \d+ .* missing from font"


@functools.lru_cache(maxsize=None)
def pyplot():
    """``matplotlib.pyplot`` on the non-interactive Agg backend (set up once; lazy: matplotlib is heavy)."""
    _quiet_config_dir()
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _quiet_config_dir() -> None:
    """Give matplotlib a temporary config and cache folder when the home folder cannot hold its own (a read-only
    HOME, a service account), as matplotlib itself would, but without its multi-line warning about it. The user's
    MPLCONFIGDIR is kept."""
    if "MPLCONFIGDIR" in os.environ:
        return
    home = Path(os.environ.get("XDG_CONFIG_HOME") or Path("~/.config").expanduser()) / "matplotlib"
    try:
        home.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=home)  # writable in fact, not only by its permission bits
        probe.close()
        return
    except OSError:
        pass
    folder = tempfile.mkdtemp(prefix="edge-kit-matplotlib-")
    atexit.register(shutil.rmtree, folder, True)
    os.environ["MPLCONFIGDIR"] = folder


@contextlib.contextmanager
def _no_missing_glyph_warnings() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=MISSING_GLYPH, category=UserWarning)
        yield


def _png(fig, tight: bool = True) -> bytes:
    plt = pyplot()
    buf = io.BytesIO()
    with _no_missing_glyph_warnings():
        fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight" if tight else None)
    plt.close(fig)
    return buf.getvalue()


def write_png(blob: bytes, destination: Path) -> Path:
    """Write a figure's bytes to ``destination`` atomically."""
    return atomic_write_bytes(destination, blob)


def training_phases(history: Mapping[str, Sequence[Mapping[str, Any]]]) -> List[Dict[str, Any]]:
    """``history.json``'s phases (``{"phase1": [epoch rows], ...}``) as :func:`training_curves_png` takes them."""
    from common.run_folder import epoch_series

    phases = [{"name": PHASE_NAMES.get(str(k), str(k)), "metrics": epoch_series(rows)} for k, rows in history.items()]
    return [p for p in phases if p["metrics"]]


def dataset_counts_png(counts: Mapping[str, Mapping[str, int]]) -> bytes:
    """Stacked bars: photos per class, one colour per split. ``counts`` = ``{label: {split: n}}``."""
    plt = pyplot()
    labels = list(counts)
    splits = [s for s in ("train", "val", "test") if any(counts[c].get(s) for c in labels)]
    fig, ax = plt.subplots(figsize=(max(4.5, 0.7 * len(labels) + 2), 3.2))
    bottom = np.zeros(len(labels))
    for i, split in enumerate(splits):
        values = np.array([counts[c].get(split, 0) for c in labels], dtype=float)
        ax.bar(labels, values, bottom=bottom, color=COLORS[i % len(COLORS)], label=split)
        bottom += values
    for x, total in enumerate(bottom):
        ax.text(x, total, f"{int(total)}", ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("photos")
    ax.set_title("Photos per class and split", pad=14)
    ax.margins(y=0.1)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    if len(labels) > 6:
        plt.setp(ax.get_xticklabels(), rotation=45, ha="right")
    return _png(fig)


def training_curves_png(phases: Sequence[Mapping[str, Any]]) -> bytes:
    """Loss and accuracy per epoch (train and validation), phases one after another with a divider.

    ``phases``: ``[{"name": str, "metrics": {"loss": [...], "val_loss": [...], "top1": [...], ...}}]``.
    """
    plt = pyplot()
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.4))
    offset = 0
    for p_index, phase in enumerate(phases):
        metrics = phase.get("metrics", {})
        n = max((len(v) for v in metrics.values()), default=0)
        epochs = np.arange(offset + 1, offset + n + 1)
        for ax, key in ((ax_loss, "loss"), (ax_acc, "top1")):
            for prefix, style in (("", "-"), ("val_", "--")):
                values = metrics.get(prefix + key)
                if values:
                    ax.plot(epochs[: len(values)], values, style, color=COLORS[p_index % len(COLORS)],
                            label=f"{phase.get('name', 'phase')} {'validation' if prefix else 'train'}")
            if p_index > 0 and n:
                ax.axvline(offset + 0.5, color="#999999", lw=0.8)
        offset += n
    for ax, title in ((ax_loss, "loss"), (ax_acc, "accuracy")):
        ax.set_xlabel("epoch")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
    return _png(fig)


def confusion_matrix_png(labels: Sequence[str], matrix: Sequence[Sequence[int]], title: str) -> bytes:
    """Counts with rows = true class, columns = predicted class; cells shaded by the row fraction."""
    plt = pyplot()
    m = np.asarray(matrix, dtype=float)
    rows = m.sum(axis=1, keepdims=True)
    frac = np.divide(m, rows, out=np.zeros_like(m), where=rows > 0)
    size = max(3.5, 0.55 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size + 0.8, size))
    im = ax.imshow(frac, cmap="Blues", vmin=0, vmax=1)
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            ax.text(j, i, f"{int(m[i, j])}", ha="center", va="center", fontsize=8,
                    color="white" if frac[i, j] > 0.6 else "black")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="fraction of the true class")
    return _png(fig)


def variants_png(variants: Sequence[Mapping[str, Any]]) -> bytes:
    """Three bar charts per variant: top-1 accuracy, file size, median latency."""
    plt = pyplot()
    names = [v["name"] for v in variants]
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
    series = [
        ("top-1 accuracy (%)", [100 * (v.get("top1") or 0.0) for v in variants], "{:.1f}"),
        ("file size (MB)", [v.get("size_bytes", 0) / 1e6 for v in variants], "{:.2f}"),
        ("median latency (ms)", [v.get("latency_median_ms") or 0.0 for v in variants], "{:.1f}"),
    ]
    for i, (ax, (title, values, fmt)) in enumerate(zip(axes, series)):
        ax.bar(names, values, color=COLORS[i])
        for x, value in enumerate(values):
            ax.text(x, value, fmt.format(value), ha="center", va="bottom", fontsize=8)
        ax.set_title(title, fontsize=10)
        if i == 0 and values:
            ax.set_ylim(max(0.0, min(values) - 10), 100.5)
        ax.margins(y=0.15)
    return _png(fig)


def backbone_search_png(candidates: Sequence[Mapping[str, Any]], max_latency_ms: Optional[float] = None,
                        max_size_mb: Optional[float] = None) -> bytes:
    """The backbone search: each candidate's cross-validated top-1 against its int8 invoke time (or size when not
    timed), the Pareto front joined, the chosen one ringed, the budget drawn as a line."""
    plt = pyplot()
    timed = all(c.get("latency_ms") is not None for c in candidates)
    xs = [float(c["latency_ms"] if timed else c["int8_mb"]) for c in candidates]
    ys = [100 * float(c.get("cv_top1") or 0.0) for c in candidates]
    fig, ax = plt.subplots(figsize=(6.0, 3.6))
    front = sorted((x, y) for x, y, c in zip(xs, ys, candidates) if c.get("pareto"))
    if len(front) > 1:
        ax.plot([x for x, _ in front], [y for _, y in front], color=COLORS[1], lw=1, ls="--", label="Pareto front")
    for x, y, c in zip(xs, ys, candidates):
        color = COLORS[0] if c.get("within_budget", True) else "#bbbbbb"
        ax.scatter([x], [y], s=40 + 40 * float(c.get("int8_mb") or 0.0), color=color, zorder=3)
        if c.get("chosen"):
            ax.scatter([x], [y], s=260 + 40 * float(c.get("int8_mb") or 0.0), facecolors="none",
                       edgecolors=COLORS[2], linewidths=2, zorder=4, label="chosen")
        ax.annotate(f"{c.get('title')}\n{float(c.get('int8_mb') or 0):.2f} MB", (x, y), textcoords="offset points",
                    xytext=(6, -4), fontsize=7)
    limit = max_latency_ms if timed else max_size_mb
    if limit is not None:
        ax.axvline(limit, color=COLORS[3], lw=1, label="budget")
    ax.set_xlabel("int8 invoke time here, 1 thread (ms)" if timed else "int8 size (MB)")
    ax.set_ylabel("cross-validated top-1 (%)")
    ax.set_title("Backbone search on the training photos", fontsize=10)
    ax.margins(x=0.35, y=0.25)
    ax.set_xlim(left=0)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, markerscale=0.4)
    return _png(fig)


def per_class_change_png(labels: Sequence[str], variants: Sequence[str],
                         change: Mapping[str, Mapping[str, Optional[float]]]) -> bytes:
    """Heat map of per-class top-1 change vs float32 (percentage points); red = lost accuracy."""
    plt = pyplot()
    m = np.array([[np.nan if change.get(v, {}).get(c) is None else change[v][c] for v in variants] for c in labels],
                 dtype=float)
    limit = max(1.0, float(np.nanmax(np.abs(m))) if np.isfinite(m).any() else 1.0)
    fig, ax = plt.subplots(figsize=(max(4.0, 1.1 * len(variants) + 2.5), max(2.5, 0.4 * len(labels) + 1.2)))
    im = ax.imshow(m, cmap="RdBu", vmin=-limit, vmax=limit, aspect="auto")
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            strong = not np.isnan(m[i, j]) and abs(m[i, j]) > 0.6 * limit
            ax.text(j, i, "n/a" if np.isnan(m[i, j]) else f"{m[i, j]:+.1f}", ha="center", va="center", fontsize=8,
                    color="white" if strong else "black")
    ax.set_xticks(range(len(variants)), variants, fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_title("per-class top-1 change vs float32 (points)", fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return _png(fig)


def thumbnail_jpeg(path: Path, crop: str = "center", size: int = 112, quality: int = 80) -> bytes:
    """The photo as the model saw it (the preprocessing contract's crop), ``size`` px square, as JPEG bytes."""
    from PIL import Image

    from device.preprocess import PreprocessConfig, load_and_preprocess

    pixels = load_and_preprocess(path, PreprocessConfig(height=size, width=size, crop=crop))
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def contact_sheet_png(photos: Sequence[Mapping[str, Any]], thumbs: Sequence[bytes], columns: int = 6,
                      size: int = 112) -> bytes:
    """A grid of thumbnails with "true / predicted score" captions (red frame = mistake), for the Markdown report."""
    from PIL import Image, ImageDraw

    rows = max(1, (len(thumbs) + columns - 1) // columns)
    cell_w, cell_h = size + 16, size + 40
    sheet = Image.new("RGB", (columns * cell_w, rows * cell_h), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (photo, data) in enumerate(zip(photos, thumbs)):
        x, y = (i % columns) * cell_w + 8, (i // columns) * cell_h + 6
        with Image.open(io.BytesIO(data)) as im:
            sheet.paste(im.convert("RGB").resize((size, size)), (x, y))
        colour = (30, 140, 60) if photo.get("correct") else (200, 40, 40)
        draw.rectangle([x - 3, y - 3, x + size + 2, y + size + 2], outline=colour, width=3)
        draw.text((x, y + size + 4), f"true: {photo.get('true')}"[:22], fill=(0, 0, 0))
        draw.text((x, y + size + 18), f"pred: {photo.get('predicted')} {100 * (photo.get('score') or 0):.0f}%"[:22],
                  fill=colour)
    buf = io.BytesIO()
    sheet.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def variant_accuracy_size_png(report: Mapping[str, Any]) -> bytes:
    """The conversion report's chart: top-1 accuracy and file size per variant (``tflite/report.png``)."""
    plt = pyplot()
    names = list(report["variants"])
    acc = [100 * (report["variants"][n].get("top1") or 0.0) for n in names]
    size = [report["variants"][n]["size_bytes"] / 1e6 for n in names]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax1.bar(names, acc, color="#4c72b0")
    ax1.set_ylabel("top-1 accuracy (%)")
    ax1.set_ylim(max(0.0, min(acc + [100]) - 10), 100)
    for i, a in enumerate(acc):
        ax1.text(i, a, f"{a:.1f}", ha="center", va="bottom", fontsize=8)
    ax2.bar(names, size, color="#dd8452")
    ax2.set_ylabel("file size (MB)")
    for i, s in enumerate(size):
        ax2.text(i, s, f"{s:.2f}", ha="center", va="bottom", fontsize=8)
    fig.suptitle(f"{report['run']}: accuracy and size per variant")
    with _no_missing_glyph_warnings():  # laying out draws the text
        fig.tight_layout()
    return _png(fig, tight=False)
