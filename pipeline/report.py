"""The pipeline report: gather what every stage wrote into one JSON document, draw its figures, write
``<out>/report.json`` (for scripts), ``<out>/report.md`` + ``<out>/report_files/*.png`` and ``<out>/report.html``
(one self-contained page: every image inlined as a ``data:`` URI, no external resource).

Inputs (all optional except splits.json; a missing one becomes a note in the report, never a crash):
``splits.json``, ``dataset.json``, ``dataset_health.json``, ``history.json``, ``metrics.json`` (trainer),
``tflite/report.json`` (converter), ``classify.json`` (the pipeline's classify stage), ``export.json`` (the export
stage).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from common import figures as figs
from common import gates
from common import run_folder as rf
from common.atomic import atomic_write_bytes, atomic_write_json, atomic_write_text
from common.metrics import SPLIT_ROLES, evaluation_roles
from pipeline.state import PipelineError, write_or_explain

#: Bump when the report's content or layout changes, so the report stage runs again.
REPORT_VERSION = 10
FIGURES_DIR = rf.REPORT_FIGURES_DIR

#: Files in the output folder whose content the report depends on (its stage fingerprint hashes them).
REPORT_INPUTS = (rf.SPLITS, rf.DATASET, rf.DATASET_HEALTH, rf.HISTORY, rf.METRICS, rf.CONVERSION_REPORT, rf.CLASSIFY,
                 rf.EXPORT)
#: Findings of the dataset health check shown with thumbnails (all of them are listed in dataset_health.json).
HEALTH_PAIRS = 12
HEALTH_SUSPECTS = 24

_read_json = rf.read_optional_json


def _current(out: Path, name: str, notes: List[str], stage: str) -> Any:
    """A derived JSON file of the run folder, or None (with a note) when it describes another model.keras than the
    folder's: numbers of an earlier model must not appear as this model's."""
    data = _read_json(out / name)
    problem = rf.stale_problem(out, data, name, f"run the {stage} stage again") if data is not None else None
    if problem:
        notes.append(problem)
        return None
    return data


#: Why the variant table's numbers are validation numbers.
VARIANTS_ROLE_NOTE = ("These photos also chose the variant: the accuracy gate and --export-variant auto compare "
                      "the variants on them.")


# --------------------------------------------------------------------------- gathering the parts' JSON files

def dataset_section(out: Path, notes: List[str]) -> Dict[str, Any]:
    """Counts per class and split (from ``splits.json``), and the skipped files with their reason (``dataset.json``)."""
    splits = rf.read_splits(out)
    if splits is None:
        raise PipelineError(f"{out / rf.SPLITS}: missing or unreadable; run the train stage first.")
    labels = list(splits.labels)
    counts = {label: {"train": 0, "val": 0, "test": 0} for label in labels}
    for split in rf.SPLIT_NAMES:
        for _, index in splits.items(split):
            counts[labels[index]][split] += 1
    info = rf.read_dataset(out)
    skipped: List[Dict[str, str]] = []
    if info is None:
        notes.append(f"{rf.DATASET} not found: skipped files are not listed.")
    else:
        skipped = [{"file": str(e.get("path", "?")), "reason": str(e.get("reason", ""))}
                   for e in info.skipped + info.ignored]
    return {"root": str(splits.root), "labels": labels, "counts": counts,
            "total": sum(sum(c.values()) for c in counts.values()), "skipped": skipped}


def training_section(out: Path, notes: List[str]) -> Dict[str, Any]:
    """The backbone (``config.json``), training phases with their per-epoch metrics (``history.json``) and the
    trainer's summary (``metrics.json``)."""
    history = rf.read_history(out)
    phases: List[Dict[str, Any]] = []
    if history is None:
        notes.append(f"{rf.HISTORY} not found: no training curves.")
    else:
        phases = figs.training_phases(history)
    metrics = _read_json(out / rf.METRICS)
    summary: Dict[str, Any] = {}
    accuracy: List[Dict[str, Any]] = []
    val_trained = False
    if isinstance(metrics, dict):
        val_trained = bool((metrics.get("head") or {}).get("refit_on_validation"))
        roles = evaluation_roles(["val", "test"], val_trained)["roles"]
        for split in ("val", "test"):
            block = metrics.get(split)
            if isinstance(block, dict) and isinstance(block.get("top1"), (int, float)):
                summary[f"{split}_top1"] = float(block["top1"])
                accuracy.append({"split": split, "top1": float(block["top1"]), "count": block.get("count"),
                                 "role": roles[split]})
    evaluation = evaluation_roles([row["split"] for row in accuracy], val_trained) if accuracy else {}
    decisions, search = _decisions(metrics if isinstance(metrics, dict) else {})
    return {"backbone": rf.read_backbone(out), "phases": phases, "summary": summary, "accuracy": accuracy,
            "accuracy_note": evaluation.get("note"), "decisions": decisions, "search": search,
            "epochs": sum(max((len(v) for v in p["metrics"].values()), default=0) for p in phases)}


def _decisions(metrics: Mapping[str, Any]) -> Tuple[List[str], Optional[Dict[str, Any]]]:
    """What the trainer decided and on how many photos, in sentences (``metrics.json``: the backbone search, the
    cross-validated head, fine-tuning or not), and the search's table."""
    out: List[str] = []
    backbone = metrics.get("backbone") or {}
    search = backbone.get("search") if isinstance(backbone, dict) else None
    if isinstance(search, dict) and search.get("candidates"):
        chosen = next((c for c in search["candidates"] if c.get("chosen")), {})
        out.append(f"Backbone search: {len(search['candidates'])} candidates scored on the training photos in "
                   f"{float(search.get('seconds') or 0):.0f} s; {chosen.get('title')} chosen ({chosen.get('reason')}).")
        kept = [c["model"] for c in search["candidates"] if isinstance(c.get("model"), str)]
        if kept:
            out.append(f"Invoke times are this machine's; on a phone or a Pi they differ. Each candidate's int8 model "
                       f"(random weights, the same speed) is kept in {Path(kept[0]).parent}: time one there with "
                       f"`edge-classify FILE PHOTO --benchmark`.")
    head = metrics.get("head")
    if isinstance(head, dict) and head.get("C") is not None:
        cv = head.get("cv_top1")
        out.append(f"Head: a linear layer whose L2 strength (C {float(head['C']):g}) was chosen by {head.get('folds')}-"
                   "fold cross-validation on the training photos"
                   + (f" (cross-validated top-1 {100 * float(cv):.1f}%)" if isinstance(cv, (int, float)) else "")
                   + (", then refitted on the validation photos too" if head.get("refit_on_validation") else "")
                   + ".")
    selection = metrics.get("selection")
    if isinstance(selection, dict) and selection.get("photos"):
        winner = "the fine-tuned model" if selection.get("keep_fine_tuned") else "the cross-validated head"
        out.append(f"Fine-tuning against the head on {selection['photos']} validation photos: fixed "
                   f"{selection.get('improved')}, broke {selection.get('worsened')} (net {selection.get('net'):+d}); "
                   f"{winner} kept ({selection.get('rule')}).")
    elif "selection" in metrics:
        out.append("Fine-tuning did not run: the head is the model.")
    return out, search if isinstance(search, dict) and search.get("candidates") else None


def variants_section(out: Path, notes: List[str]) -> Dict[str, Any]:
    """The converter's evaluation (``tflite/report.json``): one row per variant and the per-class change table."""
    known = len(notes)
    report = _current(out, rf.CONVERSION_REPORT, notes, "convert")
    if not isinstance(report, dict) or not isinstance(report.get("variants"), dict):
        if len(notes) == known:  # (a report of another model has its own note)
            notes.append("tflite/report.json not found: no variant table (run the convert stage).")
        return {"rows": [], "labels": [], "per_class_change": {}, "keras_top1": None, "validation_photos": None}
    labels = list(report.get("labels", []))
    rows: List[Dict[str, Any]] = []
    change: Dict[str, Dict[str, Optional[float]]] = {}
    for name, v in report["variants"].items():
        rows.append({
            "name": name, "file": rf.tflite_model(name), "size_bytes": v.get("size_bytes"),
            "top1": v.get("top1"), "top5": v.get("top5"), "agreement_with_keras": v.get("agreement_with_keras"),
            "mean_abs_score_diff": v.get("mean_abs_score_diff"), "latency_median_ms": v.get("latency_median_ms"),
            "latency_p90_ms": v.get("latency_p90_ms"), "top1_change_vs_float32_points":
                v.get("top1_change_vs_float32_points"), "per_class": v.get("per_class", {}),
            "quantization": gates.describe(report, name) if v.get("quantization") else None,
        })
        if isinstance(v.get("per_class_change_vs_float32"), dict):
            change[name] = dict(v["per_class_change_vs_float32"])
    gate = report.get("gate") if isinstance(report.get("gate"), dict) else None
    return {"rows": rows, "labels": labels, "per_class_change": change, "keras_top1": report.get("keras_top1"),
            "qat": bool(report.get("qat")), "int8_post_training": (
                gates.describe({"variants": {"int8": report["int8_post_training"]}}, "int8")
                if isinstance(report.get("int8_post_training"), dict) else None),
            "gate": gate.get("message") if gate else None,
            "validation_photos": report.get("validation_photos"), "role": SPLIT_ROLES["val"],
            "role_note": VARIANTS_ROLE_NOTE, "num_threads": report.get("num_threads"),
            "int8_io": report.get("int8_io"), "interpreter": report.get("interpreter", "tensorflow")}


def health_section(out: Path) -> Dict[str, Any]:
    """The dataset health check (``dataset_health.json``): the first duplicate pairs (across splits first) and
    suspect labels, with their totals, and the confused class pairs; ``{}`` when the run folder has no check."""
    data = _read_json(out / rf.DATASET_HEALTH)
    if not isinstance(data, dict):
        return {}
    duplicates = [d for d in data.get("duplicates", []) if isinstance(d, dict)]
    suspects = [s for s in data.get("suspect_labels", []) if isinstance(s, dict)]
    cross: Dict[str, int] = {}
    for d in duplicates:
        splits = list(d.get("splits") or [])
        if len(splits) == 2 and splits[0] != splits[1]:
            cross[f"{splits[0]} and {splits[1]}"] = cross.get(f"{splits[0]} and {splits[1]}", 0) + 1
    summary = str(data.get("summary") or "").removeprefix("dataset health: ")
    return {"summary": summary[:1].upper() + summary[1:], "duplicates": duplicates[:HEALTH_PAIRS],
            "duplicates_total": len(duplicates), "cross_split_pairs": cross,
            "suspect_labels": suspects[:HEALTH_SUSPECTS], "suspects_total": len(suspects),
            "confused_classes": [c for c in data.get("confused_classes", []) if isinstance(c, dict)],
            "scored": data.get("scored"), "file": rf.DATASET_HEALTH}


def health_notice(health: Mapping[str, Any]) -> Optional[str]:
    """The notice at the top of the report when the same photo is in two splits (the held-out numbers are then
    flattered)."""
    cross = health.get("cross_split_pairs") or {}
    if not cross:
        return None
    where = ", ".join(f"{n} pair{'s' if n != 1 else ''} in {splits}" for splits, n in cross.items())
    return (f"The same photo appears in two splits ({where}): the numbers measured on the held-out photos are "
            "flattered. See Dataset health.")


def rank_worst_first(photos: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Mistakes first, most confident mistake first; then correct ones, least confident first."""
    return sorted(photos, key=lambda p: (bool(p.get("correct")),
                                         (p.get("score") or 0.0) if p.get("correct") else -(p.get("score") or 0.0),
                                         p.get("file", "")))


def held_out_section(out: Path, notes: List[str], grid: int) -> Tuple[Dict[str, Any], List[Dict[str, Any]]]:
    """The device runtime's answers on held-out photos (``classify.json``), worst mistakes first."""
    known = len(notes)
    data = _current(out, rf.CLASSIFY, notes, "classify")
    if not isinstance(data, dict):
        if len(notes) == known:  # (answers of another model have their own note)
            notes.append("classify.json not found: no held-out photo grid (run the classify stage).")
        return {}, []
    ranked = rank_worst_first(list(data.get("photos", [])))
    section = {k: data.get(k) for k in ("model", "variant", "split", "labels", "top1", "correct", "confusion",
                                        "unreadable", "ms_per_photo", "data_root")}
    section["role"] = SPLIT_ROLES.get(str(data.get("split")), str(data.get("split")))
    section["photos"] = len(data.get("photos", []))
    section["mistakes"] = sum(not p.get("correct") for p in ranked)
    section["grid"] = ranked[:grid]
    return section, ranked[:grid]


# --------------------------------------------------------------------------- building and writing

def build_report(out: Path, stage_times: Optional[Mapping[str, float]] = None, grid: int = 36,
                 title: Optional[str] = None, problems: Sequence[str] = (),
                 export_choice: Optional[Mapping[str, Any]] = None) -> Tuple[Dict[str, Any], Dict[str, bytes]]:
    """Gather the report's data and draw its figures. Returns ``(report dict, {figure file name: bytes})``.

    ``problems``: what went wrong in this pipeline run (e.g. the export refused by the accuracy gate), shown first.
    ``export_choice``: :meth:`ExportChoice.to_json` of the variant used (``--export-variant auto``'s pick and its
    reason); when auto passed over int8, its reason becomes a notice shown right after the problems.
    """
    notes: List[str] = []
    data: Dict[str, Any] = {"title": title or f"edge-kit report: {out.name}", "report_version": REPORT_VERSION,
                            "generated_at": time.strftime("%Y-%m-%d %H:%M:%S"), "out_dir": str(out),
                            rf.MODEL_DIGEST: rf.model_digest(out)}
    data["dataset"] = dataset_section(out, notes)
    data["health"] = health_section(out)
    data["training"] = training_section(out, notes)
    data["variants"] = variants_section(out, notes)
    held, grid_photos = held_out_section(out, notes, grid)
    data["held_out"] = held
    export = _current(out, rf.EXPORT, notes, "export")
    data["export"] = export if isinstance(export, dict) else None
    data["stage_seconds"] = {k: round(float(v), 2) for k, v in (stage_times or {}).items()}
    data["notes"] = notes
    data["problems"] = list(problems)
    data["export_choice"] = dict(export_choice) if export_choice else None
    data["notices"] = [str(export_choice["reason"])] if export_choice and export_choice.get("fallback") else []
    leak = health_notice(data["health"])
    if leak:
        data["notices"].append(leak)

    images: Dict[str, bytes] = {}
    data["figures"] = {}

    def add(key: str, name: str, blob: bytes) -> None:
        images[name] = blob
        data["figures"][key] = f"{FIGURES_DIR}/{name}"

    add("dataset", "dataset.png", figs.dataset_counts_png(data["dataset"]["counts"]))
    search = data["training"].get("search")
    if search:
        add("backbone_search", "backbone_search.png", figs.backbone_search_png(
            search["candidates"], search.get("max_latency_ms"), search.get("max_size_mb")))
    if data["training"]["phases"]:
        add("training_curves", "training_curves.png", figs.training_curves_png(data["training"]["phases"]))
    if held.get("confusion"):
        add("confusion_matrix", "confusion_matrix.png", figs.confusion_matrix_png(
            held["labels"], held["confusion"],
            f"{held.get('variant')} model, device runtime, {held.get('photos')} {held.get('role')} photos"))
    rows = data["variants"]["rows"]
    if rows:
        add("variants", "variants.png", figs.variants_png(rows))
    change = data["variants"]["per_class_change"]
    if change:
        names = [r["name"] for r in rows if r["name"] in change]
        add("per_class_change", "per_class_change.png",
            figs.per_class_change_png(data["variants"]["labels"], names, change))
    thumbs: List[bytes] = []
    root = Path(held.get("data_root") or data["dataset"].get("root") or ".")
    contract = rf.read_preprocessing(out)
    crop = contract.crop if contract is not None else "center"
    for photo in grid_photos:
        try:
            thumbs.append(figs.thumbnail_jpeg(root / photo["file"], crop=crop))
        except (OSError, ValueError) as exc:
            notes.append(f"{root / photo['file']}: no thumbnail ({exc})")
            thumbs.append(b"")
    if grid_photos:
        usable = [(p, t) for p, t in zip(grid_photos, thumbs) if t]
        add("held_out_grid", "held_out_grid.png",
            figs.contact_sheet_png([p for p, _ in usable], [t for _, t in usable]))
    data["held_out_thumbnails"] = len([t for t in thumbs if t])
    images.update(health_thumbnails(data["health"], Path(data["dataset"].get("root") or "."), crop, notes))
    return data, {**images, **{f"thumb_{i}.jpg": t for i, t in enumerate(thumbs) if t}}


def health_thumbnails(health: Mapping[str, Any], root: Path, crop: str, notes: List[str]) -> Dict[str, bytes]:
    """JPEG thumbnails of the health section's photos: ``thumb_dup_<i>_a.jpg`` / ``_b.jpg`` for pair ``i`` and
    ``thumb_suspect_<i>.jpg`` (inside the HTML page only, like the held-out grid's)."""
    wanted: List[Tuple[str, str]] = []
    for i, pair in enumerate(health.get("duplicates", [])):
        wanted += [(f"thumb_dup_{i}_a.jpg", str(pair.get("a"))), (f"thumb_dup_{i}_b.jpg", str(pair.get("b")))]
    wanted += [(f"thumb_suspect_{i}.jpg", str(s.get("file"))) for i, s in enumerate(health.get("suspect_labels", []))]
    out: Dict[str, bytes] = {}
    for name, rel in wanted:
        try:
            out[name] = figs.thumbnail_jpeg(root / rel, crop=crop)
        except (OSError, ValueError) as exc:
            notes.append(f"{root / rel}: no thumbnail ({exc})")
    return out


def write_report(out: Path, stage_times: Optional[Mapping[str, float]] = None, grid: int = 36,
                 title: Optional[str] = None, problems: Sequence[str] = (),
                 export_choice: Optional[Mapping[str, Any]] = None) -> Dict[str, Path]:
    """Build the report and write ``report.json``, ``report.md`` (+ ``report_files/*.png``) and ``report.html``.

    Every file is written atomically; the figures first, then the Markdown and JSON that refer to them, the HTML
    page last. Returns ``{"html", "md", "json"}`` paths.
    """
    from pipeline.report_html import render_html
    from pipeline.report_markdown import render_markdown

    out = Path(out)
    data, images = build_report(out, stage_times, grid, title, problems, export_choice)
    files = {kind: out / name for kind, name in rf.PIPELINE_REPORT_FILES.items()}
    for name, blob in images.items():
        if name.startswith("thumb_"):
            continue  # thumbnails live inside the HTML page only
        path = out / FIGURES_DIR / name
        write_or_explain(lambda p=path, b=blob: atomic_write_bytes(p, b), path)
    write_or_explain(lambda: atomic_write_text(files["md"], render_markdown(data)), files["md"])
    write_or_explain(lambda: atomic_write_json(files["json"], data), files["json"])
    html = render_html(data, images)
    write_or_explain(lambda: atomic_write_text(files["html"], html), files["html"])
    return files


def figure_files(out: Path) -> List[Path]:
    """The figure PNGs the last report wrote (its outputs besides report.html/md/json)."""
    data = _read_json(out / rf.PIPELINE_REPORT_FILES["json"])
    if not isinstance(data, dict):
        return []
    return [out / rel for rel in data.get("figures", {}).values()]
