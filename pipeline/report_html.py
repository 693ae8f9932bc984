"""The pipeline report as one self-contained HTML page: inline CSS, every image a ``data:`` URI, no script, no link
to anything outside the file (it can be mailed, attached to a CI run, or opened offline)."""
from __future__ import annotations

import base64
import html
from typing import Any, Dict, List, Mapping

from pipeline.report_markdown import HEALTH_ADVICE, backbone_text, mb, num, pct, photo_count, points

CSS = """
body{font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
main{max-width:1180px;margin:0 auto;padding:24px 32px 48px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:34px 0 10px;border-bottom:1px solid #d8dce3;padding-bottom:4px}
h3{font-size:16px;margin:20px 0 8px}.muted{color:#667085;font-size:13px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:18px 0}
.card{background:#fff;border:1px solid #e1e5eb;border-radius:8px;padding:10px 16px;min-width:150px}
.card b{display:block;font-size:22px}.card span{font-size:12px;color:#667085}
table{border-collapse:collapse;background:#fff;font-size:14px;margin:6px 0 12px}
th,td{border:1px solid #e1e5eb;padding:5px 10px;text-align:left}td.n,th.n{text-align:right}
th{background:#eef1f5}tr.ship td{background:#eaf6ec;font-weight:600}
img.fig{max-width:100%;background:#fff;border:1px solid #e1e5eb;border-radius:6px;display:block;margin:8px 0}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(132px,1fr));gap:10px}
figure.photo{margin:0;background:#fff;border:3px solid #2e8b57;border-radius:6px;padding:4px;font-size:12px}
figure.photo.wrong{border-color:#c62828}figure.photo img{width:100%;aspect-ratio:1;object-fit:cover;display:block}
figure.photo figcaption{margin-top:4px;line-height:1.35;overflow-wrap:anywhere}
.wrong .pred{color:#c62828;font-weight:600}.ok .pred{color:#2e7d32}
.neg{color:#c62828}.pos{color:#2e7d32}code{font-size:12px;background:#eef1f5;padding:1px 4px;border-radius:3px}
.problem{background:#fdecea;border:1px solid #e57373;border-radius:6px;padding:4px 14px;margin:16px 0;color:#8e1b1b}
.notice{background:#fff4e0;border:1px solid #f0a030;border-left:6px solid #f0a030;border-radius:6px;padding:4px 14px;
margin:16px 0;color:#7a4a00}
.note{background:#fff8e1;border:1px solid #f3d27a;border-radius:6px;padding:8px 12px;font-size:13px}
.pairs{display:grid;grid-template-columns:repeat(auto-fill,minmax(268px,1fr));gap:10px}
figure.pair{margin:0;background:#fff;border:3px solid #98a2b3;border-radius:6px;padding:4px;font-size:12px}
figure.pair.leak{border-color:#f0a030}figure.pair .two{display:grid;grid-template-columns:1fr 1fr;gap:4px}
figure.pair img{width:100%;aspect-ratio:1;object-fit:cover;display:block}
figure.pair figcaption{margin-top:4px;line-height:1.35;overflow-wrap:anywhere}
.split{display:inline-block;min-width:34px;font-weight:600}.leak .split{color:#b25e00}
"""


def data_uri(blob: bytes, mime: str) -> str:
    """``data:<mime>;base64,...`` for an inline image."""
    return f"data:{mime};base64,{base64.b64encode(blob).decode('ascii')}"


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fig(images: Mapping[str, bytes], name: str, alt: str, fig_id: str) -> str:
    blob = images.get(name)
    if not blob:
        return ""
    return f'<img class="fig" id="{fig_id}" alt="{_e(alt)}" src="{data_uri(blob, "image/png")}">'


def _signed(value: Any) -> str:
    if value is None:
        return "n/a"
    cls = "neg" if value < -1e-9 else ("pos" if value > 1e-9 else "")
    return f'<span class="{cls}">{points(value)}</span>'


def render_html(report: Dict[str, Any], images: Mapping[str, bytes]) -> str:
    """The whole page. ``images``: figure file name -> PNG bytes, ``thumb_<i>.jpg`` -> JPEG of grid photo ``i``."""
    parts: List[str] = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(report['title'])}</title><style>{CSS}</style></head><body><main>",
        f"<h1>{_e(report['title'])}</h1>",
        f'<div class="muted">Generated {_e(report["generated_at"])} · <code>{_e(report["out_dir"])}</code></div>',
    ]
    if report.get("problems"):
        parts.append('<div class="problem" id="problems">' + "".join(f"<p><b>Problem:</b> {_e(m)}</p>"
                                                                     for m in report["problems"]) + "</div>")
    if report.get("notices"):
        parts.append('<div class="notice" id="notices">' + "".join(f"<p><b>Notice:</b> {_e(m)}</p>"
                                                                   for m in report["notices"]) + "</div>")
    parts.append(_cards(report))
    parts += _dataset(report, images)
    parts += _health(report, images)
    parts += _training(report, images)
    parts += _variants(report, images)
    parts += _held_out(report, images)
    if report.get("stage_seconds"):
        parts.append('<h2 id="stages">Pipeline stages</h2><table><tr><th>stage</th><th class="n">seconds</th></tr>')
        parts += [f'<tr><td>{_e(k)}</td><td class="n">{v:.1f}</td></tr>' for k, v in report["stage_seconds"].items()]
        parts.append("</table>")
    if report.get("notes"):
        parts.append('<h2 id="notes">Notes</h2><div class="note"><ul>'
                     + "".join(f"<li>{_e(n)}</li>" for n in report["notes"]) + "</ul></div>")
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"


def _cards(report: Dict[str, Any]) -> str:
    rows = {r["name"]: r for r in report["variants"]["rows"]}
    export = report.get("export") or {}
    held = report.get("held_out") or {}
    shipped = rows.get(export.get("variant") or held.get("variant") or "", {})
    cards = [
        (f"{report['dataset']['total']}", f"photos, {len(report['dataset']['labels'])} classes"),
        (pct(shipped.get("top1")), f"validation top-1 of the {_e(export.get('variant') or held.get('variant') or '?')} "
                                   "model (these photos chose it)"),
        (mb(shipped.get("size_bytes")), "model file"),
        (num(shipped.get("latency_median_ms"), unit=" ms"), "median inference (interpreter)"),
    ]
    test = next((r for r in report["training"].get("accuracy", []) if r.get("split") == "test"), None)
    if test:
        cards.insert(2, (pct(test["top1"]), "test top-1 of the Keras model (photos no decision saw)"))
    if held:
        cards.append((f"{held.get('correct')}/{held.get('photos')}",
                      f"{_e(held.get('role') or 'held-out')} photos right on the device runtime"))
    html_cards = "".join(f'<div class="card"><b>{value}</b><span>{label}</span></div>' for value, label in cards)
    where = ""
    if export.get("destination"):
        where = f'<div class="muted">Shipped to <code>{_e(export["destination"])}</code></div>'
    return f'<div class="cards" id="summary">{html_cards}</div>{where}'


def _dataset(report: Dict[str, Any], images: Mapping[str, bytes]) -> List[str]:
    ds = report["dataset"]
    out = ['<h2 id="dataset">Dataset</h2>',
           f'<p>{ds["total"]} photos in {len(ds["labels"])} classes from <code>{_e(ds["root"])}</code>.</p>',
           '<table><tr><th>class</th><th class="n">train</th><th class="n">val</th><th class="n">test</th></tr>']
    out += [f'<tr><td>{_e(k)}</td><td class="n">{c["train"]}</td><td class="n">{c["val"]}</td>'
            f'<td class="n">{c["test"]}</td></tr>' for k, c in ds["counts"].items()]
    out.append("</table>")
    out.append(_fig(images, "dataset.png", "photos per class and split", "fig-dataset"))
    if ds["skipped"]:
        out.append(f'<h3>Skipped files ({len(ds["skipped"])})</h3><table><tr><th>file</th><th>why</th></tr>')
        out += [f"<tr><td><code>{_e(s['file'])}</code></td><td>{_e(s['reason'])}</td></tr>" for s in ds["skipped"]]
        out.append("</table>")
    else:
        out.append('<p class="muted">No file was skipped.</p>')
    return out


def _img(images: Mapping[str, bytes], name: str, alt: str) -> str:
    blob = images.get(name)
    if not blob:
        return '<div class="muted">(no thumbnail)</div>'
    return f'<img alt="{_e(alt)}" title="{_e(alt)}" src="{data_uri(blob, "image/jpeg")}">'


def _health(report: Dict[str, Any], images: Mapping[str, bytes]) -> List[str]:
    health = report.get("health") or {}
    out = ['<h2 id="health">Dataset health</h2>']
    if not health:
        return out + ['<p class="muted">This run folder has no dataset health check (it was trained before the '
                      'check existed): train again, or run <code>edge-train PHOTOS --check-only -o FOLDER</code>.</p>']
    out.append(f"<p><b>{_e(health.get('summary') or '')}</b></p>")
    out.append(f'<div class="note" id="health-act">{_e(HEALTH_ADVICE)}</div>')
    dups = health.get("duplicates", [])
    if dups:
        more = health["duplicates_total"] - len(dups)
        out.append(f"<h3>The same photo twice ({health['duplicates_total']} pair"
                   f"{'s' if health['duplicates_total'] != 1 else ''})</h3>"
                   '<p class="muted">Orange: the two copies are in different splits (a leak: the held-out photo was '
                   "seen in training or chose the model). Similarity of the model's features, and of the pixels."
                   + (f" {more} more in <code>{_e(health['file'])}</code>." if more > 0 else "") + "</p>")
        out.append('<div class="pairs" id="health-duplicates">')
        for i, d in enumerate(dups):
            splits = list(d.get("splits") or ["?", "?"])
            leak = " leak" if splits[0] != splits[1] else ""
            pix = d.get("pixel_similarity")
            out.append(f'<figure class="pair{leak}"><div class="two">{_img(images, f"thumb_dup_{i}_a.jpg", d["a"])}'
                       f'{_img(images, f"thumb_dup_{i}_b.jpg", d["b"])}</div><figcaption>'
                       f'<span class="split">{_e(splits[0])}</span> <code>{_e(d["a"])}</code><br>'
                       f'<span class="split">{_e(splits[1])}</span> <code>{_e(d["b"])}</code><br>'
                       f'similarity {num(d.get("similarity"), "{:.3f}")}'
                       + (f", pixels {num(pix, '{:.2f}')}" if pix is not None else "") + "</figcaption></figure>")
        out.append("</div>")
    suspects = health.get("suspect_labels", [])
    if suspects:
        more = health["suspects_total"] - len(suspects)
        out.append(f"<h3>Photos that may be mislabelled ({health['suspects_total']})</h3>"
                   '<p class="muted">Training photos to which a head that never saw them gives their own class a low '
                   "probability while it is confident of another; most suspect first."
                   + (f" {more} more in <code>{_e(health['file'])}</code>." if more > 0 else "") + "</p>")
        out.append('<div class="grid" id="health-suspects">')
        for i, sus in enumerate(suspects):
            out.append(f'<figure class="photo wrong">{_img(images, f"thumb_suspect_{i}.jpg", sus["file"])}'
                       f'<figcaption>labelled <b>{_e(sus["label"])}</b> ({pct(sus.get("label_probability"))})<br>'
                       f'<span class="pred">looks like {_e(sus["suggested"])} '
                       f'{pct(sus.get("suggested_probability"))}</span><br><code>{_e(sus["file"])}</code>'
                       "</figcaption></figure>")
        out.append("</div>")
    confused = health.get("confused_classes", [])
    if confused:
        out.append(f"<h3>Classes that look alike</h3><p class=\"muted\">How often the cross-validated head mixed "
                   f"up two classes on the {_e(health.get('scored'))} training photos. More photos of these classes "
                   "(or a larger model) help most.</p>")
        out.append('<table id="health-confused"><tr><th>classes</th><th class="n">mixed up</th>'
                   '<th class="n">rate</th><th class="n">first as second</th><th class="n">second as first</th></tr>')
        out += [f'<tr><td>{_e(c["classes"][0])} / {_e(c["classes"][1])}</td><td class="n">{c["count"]}</td>'
                f'<td class="n">{pct(c.get("rate"))}</td><td class="n">{c.get("a_as_b")}</td>'
                f'<td class="n">{c.get("b_as_a")}</td></tr>' for c in confused]
        out.append("</table>")
    return out


def _training(report: Dict[str, Any], images: Mapping[str, bytes]) -> List[str]:
    tr = report["training"]
    out = ['<h2 id="training">Training</h2>']
    if tr.get("backbone"):
        out.append(f'<p id="backbone">Backbone: {_e(backbone_text(tr["backbone"]))}.</p>')
    if tr.get("search"):
        rows = "".join(
            f'<tr{" class=ship" if c.get("chosen") else ""}><td>{_e(c["title"])}</td>'
            f'<td class="n">{pct(c.get("cv_top1"))}</td><td class="n">{num(c.get("int8_mb"), unit=" MB")}</td>'
            f'<td class="n">{num(c.get("latency_ms"), unit=" ms")}</td>'
            f'<td>{"yes" if c.get("within_budget") else "no"}</td><td>{"chosen" if c.get("chosen") else ""}</td></tr>'
            for c in tr["search"]["candidates"])
        out.append('<table id="backbone-search"><tr><th>candidate</th><th class="n">cross-validated top-1</th>'
                   '<th class="n">int8 size</th><th class="n">invoke time here</th><th>within budget</th><th></th>'
                   f"</tr>{rows}</table>")
        out.append(_fig(images, "backbone_search.png", "backbone search: accuracy against speed", "fig-search"))
    if tr.get("decisions"):
        out.append('<ul id="decisions">' + "".join(f"<li>{_e(d)}</li>" for d in tr["decisions"]) + "</ul>")
    if tr["phases"]:
        out.append(f"<p>{tr['epochs']} epochs in {len(tr['phases'])} phase(s): "
                   + ", ".join(_e(p["name"]) for p in tr["phases"]) + ".</p>")
    if tr.get("accuracy"):
        items = [f"<li>Keras model top-1 on {photo_count(row)}{_e(row['role'])} photos: {pct(row['top1'])}</li>"
                 for row in tr["accuracy"]]
        if tr.get("accuracy_note"):
            items.append(f"<li>{_e(tr['accuracy_note'])}</li>")
        out.append('<ul id="accuracy-roles">' + "".join(items) + "</ul>")
    out.append(_fig(images, "training_curves.png", "training curves: loss and accuracy per epoch", "fig-curves"))
    return out


def _variants(report: Dict[str, Any], images: Mapping[str, bytes]) -> List[str]:
    var = report["variants"]
    export = (report.get("export") or {}).get("variant")
    out = ['<h2 id="variants">Variants</h2>']
    if not var["rows"]:
        return out + ['<p class="muted">Not converted yet.</p>']
    out.append(f"<p>Every variant evaluated with the TensorFlow Lite interpreter ({_e(var.get('interpreter'))}, "
               f"{var.get('num_threads')} threads) on {var.get('validation_photos')} "
               f"{_e(var.get('role') or 'validation')} photos. Keras model top-1: {pct(var.get('keras_top1'))}. "
               f"{_e(var.get('role_note') or '')}</p>")
    out.append('<table id="variant-table"><tr><th>variant</th><th class="n">size</th><th class="n">top-1</th>'
               '<th class="n">vs float32 (points)</th><th class="n">agreement with Keras</th>'
               '<th class="n">latency median</th><th class="n">p90</th></tr>')
    for r in var["rows"]:
        ship = ' class="ship"' if r["name"] == export else ""
        out.append(f'<tr{ship}><td>{_e(r["name"])}{" (shipped)" if ship else ""}</td>'
                   f'<td class="n">{mb(r["size_bytes"])}</td><td class="n">{pct(r["top1"])}</td>'
                   f'<td class="n">{_signed(r.get("top1_change_vs_float32_points"))}</td>'
                   f'<td class="n">{pct(r["agreement_with_keras"])}</td>'
                   f'<td class="n">{num(r["latency_median_ms"], unit=" ms")}</td>'
                   f'<td class="n">{num(r["latency_p90_ms"], unit=" ms")}</td></tr>')
    out.append("</table>")
    checks = [f"<li>{_e(r['name'])}: {_e(r['quantization'])}</li>" for r in var["rows"] if r.get("quantization")]
    if var.get("int8_post_training"):
        checks.append(f"<li>int8 after training alone {_e(var['int8_post_training'])}: beyond the gate, so the int8 "
                      "model was made with quantization-aware training</li>")
    if checks:
        out.append('<p>Quantization check against float32 (the accuracy gate\'s photos):</p><ul id="quantization">'
                   + "".join(checks) + "</ul>")
    out.append(_fig(images, "variants.png", "accuracy, size and latency per variant", "fig-variants"))
    if var["per_class_change"]:
        names = list(var["per_class_change"])
        out.append('<h3>Per-class accuracy change after quantization (points vs float32)</h3>')
        out.append('<table id="per-class-table"><tr><th>class</th>'
                   + "".join(f'<th class="n">{_e(n)}</th>' for n in names) + "</tr>")
        for label in var["labels"]:
            out.append(f"<tr><td>{_e(label)}</td>" + "".join(
                f'<td class="n">{_signed(var["per_class_change"][n].get(label))}</td>' for n in names) + "</tr>")
        out.append("</table>")
        out.append(_fig(images, "per_class_change.png", "per-class top-1 change vs float32", "fig-per-class"))
    return out


def _held_out(report: Dict[str, Any], images: Mapping[str, bytes]) -> List[str]:
    held = report.get("held_out") or {}
    out = ['<h2 id="held-out">Held-out photos on the device runtime</h2>']
    if not held:
        return out + ['<p class="muted">Not run.</p>']
    out.append(f"<p><code>{_e(held['model'])}</code> classified {held['photos']} "
               f"{_e(held.get('role') or held['split'])} photos through <code>python -m device</code> (the runtime a board runs): top-1 "
               f"{pct(held.get('top1'))}, {held['mistakes']} mistake(s), {held.get('ms_per_photo')} ms per photo "
               "including decoding and preprocessing.</p>")
    out.append(_fig(images, "confusion_matrix.png", "confusion matrix of the shipped model", "fig-confusion"))
    grid = held.get("grid", [])
    out.append(f"<h3>{len(grid)} photos, worst mistakes first</h3>"
               '<p class="muted">Red: wrong (most confident first); green: right (least confident first). '
               "Each thumbnail is the crop the model saw.</p>")
    out.append('<div class="grid" id="photo-grid">')
    for i, p in enumerate(grid):
        blob = images.get(f"thumb_{i}.jpg")
        if not blob:
            continue
        cls = "ok" if p.get("correct") else "wrong"
        out.append(f'<figure class="photo {cls}"><img alt="{_e(p["file"])}" title="{_e(p["file"])}" '
                   f'src="{data_uri(blob, "image/jpeg")}"><figcaption>true: <b>{_e(p["true"])}</b><br>'
                   f'<span class="pred">predicted: {_e(p["predicted"])} {pct(p.get("score"))}</span>'
                   "</figcaption></figure>")
    out.append("</div>")
    if held.get("unreadable"):
        out.append("<h3>Photos the runtime could not read</h3><ul>"
                   + "".join(f"<li><code>{_e(u['file'])}</code>: {_e(u['reason'])}</li>" for u in held["unreadable"])
                   + "</ul>")
    return out
