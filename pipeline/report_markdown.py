"""The pipeline report as Markdown (``<out>/report.md``), figures referenced from ``report_files/``."""
from __future__ import annotations

from typing import Any, Dict, List, Optional


#: What the report tells the user to do about the dataset health check's findings.
HEALTH_ADVICE = ("Nothing was moved or relabelled: you decide. The same photo twice: delete one copy (photos that are "
                 "the same picture belong in one split). A photo that may be mislabelled: look at it, move it to the "
                 "folder of its class, or delete it if it belongs to none. Then run the same command again: it "
                 "trains on the corrected folder and checks it again.")


def photo_count(row: Dict[str, Any]) -> str:
    """``"N "`` for a metrics row with a photo count, ``""`` without one."""
    return f"{row['count']} " if isinstance(row.get("count"), int) else ""


def pct(value: Optional[float]) -> str:
    """``0.9312`` -> ``"93.1%"``; ``None`` -> ``"n/a"``."""
    return "n/a" if value is None else f"{100 * value:.1f}%"


def num(value: Optional[float], fmt: str = "{:.1f}", unit: str = "") -> str:
    return "n/a" if value is None else fmt.format(value) + unit


def mb(size: Optional[int]) -> str:
    return "n/a" if size is None else f"{size / 1e6:.2f} MB"


def points(value: Optional[float]) -> str:
    return "n/a" if value is None else f"{value:+.1f}"


def backbone_text(backbone: Dict[str, Any]) -> str:
    """``EfficientNet-Lite0 (efficientnet_lite0), 224x224 px input``."""
    size = backbone.get("input_size")
    return (f"{backbone.get('title')} ({backbone.get('backbone')})"
            + (f", {size[0]}x{size[1]} px input" if size else ""))


def render_markdown(report: Dict[str, Any]) -> str:
    """The report dict (see :func:`pipeline.report.build_report`) as a Markdown document."""
    figs = report.get("figures", {})
    lines: List[str] = [f"# {report['title']}", "", f"Generated {report['generated_at']} in `{report['out_dir']}`.", ""]

    def figure(key: str, alt: str) -> None:
        if key in figs:
            lines.extend([f"![{alt}]({figs[key]})", ""])

    lines += [f"> **Problem:** {m}" for m in report.get("problems", [])] + ([""] if report.get("problems") else [])
    lines += [f"> **Notice:** {m}" for m in report.get("notices", [])] + ([""] if report.get("notices") else [])
    lines += summary_lines(report)
    ds = report["dataset"]
    lines += ["## Dataset", "", f"{ds['total']} photos in {len(ds['labels'])} classes from `{ds['root']}`.", "",
              "| class | train | val | test |", "|---|---:|---:|---:|"]
    for label, c in ds["counts"].items():
        lines.append(f"| {label} | {c['train']} | {c['val']} | {c['test']} |")
    lines.append("")
    figure("dataset", "photos per class")
    if ds["skipped"]:
        lines += [f"Skipped files ({len(ds['skipped'])}):", "", "| file | why |", "|---|---|"]
        lines += [f"| `{s['file']}` | {s['reason']} |" for s in ds["skipped"]]
        lines.append("")
    else:
        lines += ["No file was skipped.", ""]

    lines += health_lines(report.get("health") or {})

    tr = report["training"]
    lines += ["## Training", ""]
    if tr.get("backbone"):
        lines += [f"Backbone: {backbone_text(tr['backbone'])}.", ""]
    if tr.get("search"):
        lines += ["| candidate | cross-validated top-1 | int8 size | invoke time here | within budget | chosen |",
                  "|---|---:|---:|---:|---|---|"]
        for c in tr["search"]["candidates"]:
            lines.append(f"| {c['title']} | {pct(c.get('cv_top1'))} | {num(c.get('int8_mb'), unit=' MB')} | "
                         f"{num(c.get('latency_ms'), unit=' ms')} | {'yes' if c.get('within_budget') else 'no'} | "
                         f"{'**yes**' if c.get('chosen') else ''} |")
        lines.append("")
        figure("backbone_search", "backbone search")
    lines += [f"- {sentence}" for sentence in tr.get("decisions", [])] + ([""] if tr.get("decisions") else [])
    if tr["phases"]:
        lines += [f"{tr['epochs']} epochs in {len(tr['phases'])} phase(s): "
                  + ", ".join(p["name"] for p in tr["phases"]) + ".", ""]
    for row in tr.get("accuracy", []):
        lines.append(f"- Keras model top-1 on {photo_count(row)}{row['role']} photos: {pct(row['top1'])}")
    if tr.get("accuracy"):
        lines += ([f"- {tr['accuracy_note']}"] if tr.get("accuracy_note") else []) + [""]
    figure("training_curves", "training curves")

    var = report["variants"]
    lines += ["## Variants", ""]
    if var["rows"]:
        lines += [f"Evaluated with the TensorFlow Lite interpreter ({var.get('interpreter')}) on "
                  f"{var.get('validation_photos')} {var.get('role') or 'validation'} "
                  f"photos; Keras model top-1 {pct(var.get('keras_top1'))}. {var.get('role_note') or ''}".rstrip(),
                  "",
                  "| variant | size | top-1 | vs float32 | agreement with Keras | latency median | p90 |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for r in var["rows"]:
            lines.append(f"| {r['name']} | {mb(r['size_bytes'])} | {pct(r['top1'])} | "
                         f"{points(r.get('top1_change_vs_float32_points'))} | {pct(r['agreement_with_keras'])} | "
                         f"{num(r['latency_median_ms'], unit=' ms')} | {num(r['latency_p90_ms'], unit=' ms')} |")
        lines.append("")
        checks = [f"- {r['name']}: {r['quantization']}" for r in var["rows"] if r.get("quantization")]
        if checks:
            lines += ["Quantization check against float32 (the accuracy gate's photos, common/gates.py):", ""] + checks
            if var.get("int8_post_training"):
                lines.append(f"- int8 after training alone {var['int8_post_training']}: beyond the gate, so the int8 "
                             "model was made with quantization-aware training")
            lines.append("")
        figure("variants", "accuracy, size and latency per variant")
    if var["per_class_change"]:
        names = list(var["per_class_change"])
        lines += ["### Per-class accuracy change after quantization (points vs float32)", "",
                  "| class | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
        for label in var["labels"]:
            lines.append(f"| {label} | " + " | ".join(points(var["per_class_change"][n].get(label)) for n in names)
                         + " |")
        lines.append("")
        figure("per_class_change", "per-class change")

    held = report.get("held_out") or {}
    lines += ["## Held-out photos on the device runtime", ""]
    if held:
        lines += [f"`{held['model']}` ({held['variant']}) classified {held['photos']} "
                  f"{held.get('role') or held['split']} photos with `python -m device`: top-1 {pct(held.get('top1'))}, {held['mistakes']} mistakes, "
                  f"{held.get('ms_per_photo')} ms per photo (decode + preprocess + inference).", ""]
        figure("confusion_matrix", "confusion matrix")
        figure("held_out_grid", "held-out photos, worst mistakes first")
        lines += ["| photo | true | predicted | score |", "|---|---|---|---:|"]
        for p in held.get("grid", []):
            mark = "" if p.get("correct") else " **wrong**"
            lines.append(f"| `{p['file']}` | {p['true']} | {p['predicted']}{mark} | {pct(p.get('score'))} |")
        lines.append("")
    else:
        lines += ["Not run.", ""]

    if report.get("notes"):
        lines += ["## Notes", ""] + [f"- {n}" for n in report["notes"]] + [""]
    return "\n".join(lines)


def health_lines(health: Dict[str, Any]) -> List[str]:
    """The dataset health section: duplicate pairs, suspect labels and confused classes as tables."""
    lines = ["## Dataset health", ""]
    if not health:
        return lines + ["This run folder has no dataset health check (it was trained before the check existed).", ""]
    lines += [f"**{health.get('summary')}**", "", HEALTH_ADVICE, ""]
    if health.get("duplicates"):
        lines += [f"The same photo twice ({health['duplicates_total']} pairs, first {len(health['duplicates'])}; "
                  "different splits first):", "", "| split | photo | split | photo | similarity | pixels |",
                  "|---|---|---|---|---:|---:|"]
        for d in health["duplicates"]:
            a, b = (list(d.get("splits") or ["?", "?"]) + ["?", "?"])[:2]
            lines.append(f"| {a} | `{d['a']}` | {b} | `{d['b']}` | {num(d.get('similarity'), '{:.3f}')} | "
                         f"{num(d.get('pixel_similarity'), '{:.2f}')} |")
        lines.append("")
    if health.get("suspect_labels"):
        lines += [f"Photos that may be mislabelled ({health['suspects_total']}, first "
                  f"{len(health['suspect_labels'])}; most suspect first):", "",
                  "| photo | labelled | looks like | score |", "|---|---|---|---:|"]
        lines += [f"| `{x['file']}` | {x['label']} ({pct(x.get('label_probability'))}) | {x['suggested']} "
                  f"({pct(x.get('suggested_probability'))}) | {num(x.get('score'), '{:.3f}')} |"
                  for x in health["suspect_labels"]]
        lines.append("")
    if health.get("confused_classes"):
        lines += ["Classes that look alike (out-of-fold predictions of the training photos):", "",
                  "| classes | mixed up | rate |", "|---|---:|---:|"]
        lines += [f"| {c['classes'][0]} / {c['classes'][1]} | {c['count']} | {pct(c.get('rate'))} |"
                  for c in health["confused_classes"]]
        lines.append("")
    return lines


def summary_lines(report: Dict[str, Any]) -> List[str]:
    """The short summary at the top: shipped model, its accuracy on the device runtime, where it went, stage times."""
    lines: List[str] = []
    held = report.get("held_out") or {}
    export = report.get("export")
    rows = {r["name"]: r for r in report["variants"]["rows"]}
    if export:
        row = rows.get(export.get("variant"), {})
        lines.append(f"**Shipped:** `{export.get('variant')}` model ({mb(row.get('size_bytes'))}, validation top-1 "
                     f"{pct(row.get('top1'))}) copied to `{export.get('destination')}`.")
    test = next((r for r in report["training"].get("accuracy", []) if r.get("split") == "test"), None)
    if test:
        lines.append(f"**Test top-1** (Keras model, {photo_count(test)}{test['role']} photos): {pct(test['top1'])}.")
    elif report["training"].get("accuracy_note"):
        lines.append(f"**Validation numbers only:** {report['training']['accuracy_note']}")
    if held:
        lines.append(f"**Device runtime check:** {held.get('correct')}/{held.get('photos')} "
                     f"{held.get('role') or 'held-out'} photos correct ({pct(held.get('top1'))}) with "
                     f"`{held.get('variant')}`.")
    if report.get("stage_seconds"):
        lines.append("**Stage times:** " + ", ".join(f"{k} {v:.1f} s" for k, v in report["stage_seconds"].items())
                     + ".")
    return ["- " + line for line in lines] + [""] if lines else []
