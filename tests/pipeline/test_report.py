"""The report: self-contained HTML (checked in headless Chromium), Markdown with its figures, JSON for scripts."""
from __future__ import annotations

import base64
import io
import json
import re

import pytest
from PIL import Image

from pipeline.report import build_report, rank_worst_first
from pipeline.report import write_report
from tests.pipeline.helpers import chromium, render, write_synthetic_run


@pytest.fixture()
def report_dir(tmp_path, photos_dir):
    out = write_synthetic_run(tmp_path / "run", photos_dir)
    (out / "export.json").write_text(json.dumps({"variant": "int8", "destination": "/app/assets/model.tflite"}))
    files = write_report(out, {"train": 12.0, "convert": 30.5, "classify": 1.2, "export": 0.1}, grid=9)
    return out, files


def _data_uris(html: str):
    return re.findall(r'src="data:(image/(?:png|jpeg));base64,([A-Za-z0-9+/=]+)"', html)


def test_html_is_self_contained_and_every_image_decodes(report_dir):
    out, files = report_dir
    html = files["html"].read_text(encoding="utf-8")
    # no external resource of any kind: every src/href is a data URI or an in-page anchor
    for attr in re.findall(r'\b(?:src|href)="([^"]*)"', html):
        assert attr.startswith(("data:", "#")), attr
    assert "<link" not in html and "@import" not in html and "url(" not in html
    images = _data_uris(html)
    assert len(re.findall(r"<img\b", html)) == len(images)
    # 5 figures (dataset, curves, confusion, variants, per-class change) + 9 thumbnails
    assert len(images) == 14
    for mime, blob in images:
        with Image.open(io.BytesIO(base64.b64decode(blob))) as im:
            im.load()
            assert im.format == {"image/png": "PNG", "image/jpeg": "JPEG"}[mime]
            assert im.width > 50 and im.height > 50


def test_html_has_each_section_with_the_numbers(report_dir):
    _, files = report_dir
    html = files["html"].read_text(encoding="utf-8")
    for anchor in ('id="dataset"', 'id="training"', 'id="variants"', 'id="variant-table"', 'id="per-class-table"',
                   'id="held-out"', 'id="photo-grid"', 'id="fig-curves"', 'id="fig-confusion"'):
        assert anchor in html
    assert "rose/broken.jpg" in html and "truncated JPEG" in html  # skipped files and why
    assert "notes.txt" in html  # files outside class folders
    assert "int8 (shipped)" in html and "/app/assets/model.tflite" in html
    assert "80.0%" in html and "-10.0" in html  # int8 top-1 and its change vs float32
    assert "head (frozen backbone)" in html and "fine-tuning" in html


def test_grid_is_worst_mistakes_first(report_dir):
    out, _ = report_dir
    data = json.loads((out / "report.json").read_text())
    grid = data["held_out"]["grid"]
    assert len(grid) == 9
    wrong = [p for p in grid if not p["correct"]]
    assert wrong and grid[: len(wrong)] == wrong  # mistakes first
    assert [p["score"] for p in wrong] == sorted((p["score"] for p in wrong), reverse=True)
    right = grid[len(wrong):]
    assert [p["score"] for p in right] == sorted(p["score"] for p in right)


def test_rank_worst_first_orders_confident_mistakes_first():
    photos = [{"file": "a", "correct": True, "score": 0.9}, {"file": "b", "correct": False, "score": 0.6},
              {"file": "c", "correct": False, "score": 0.95}, {"file": "d", "correct": True, "score": 0.4}]
    assert [p["file"] for p in rank_worst_first(photos)] == ["c", "b", "d", "a"]


def test_markdown_and_json_carry_the_same_figures(report_dir):
    out, files = report_dir
    md = files["md"].read_text(encoding="utf-8")
    data = json.loads(files["json"].read_text())
    assert set(data["figures"]) == {"dataset", "training_curves", "confusion_matrix", "variants", "per_class_change",
                                    "held_out_grid"}
    for rel in data["figures"].values():
        assert f"]({rel})" in md
        with Image.open(out / rel) as im:
            assert im.format == "PNG"
    assert "| int8 | 0.40 MB | 80.0% | -10.0 |" in md
    assert data["dataset"]["counts"]["rose"] == {"train": 6, "val": 4, "test": 0}
    assert data["dataset"]["skipped"][0] == {"file": "rose/broken.jpg", "reason": "truncated JPEG"}
    assert data["variants"]["rows"][3]["name"] == "int8"
    assert data["stage_seconds"]["convert"] == 30.5


def test_missing_parts_become_notes_not_crashes(tmp_path, photos_dir):
    out = write_synthetic_run(tmp_path / "run", photos_dir)
    for name in ("history.json", "classify.json", "tflite/report.json", "dataset.json"):
        (out / name).unlink()
    files = write_report(out)
    data = json.loads(files["json"].read_text())
    assert len(data["notes"]) == 4
    html = files["html"].read_text()
    assert "classify.json not found" in html and "Not run." in html


@pytest.mark.skipif(chromium() is None, reason="needs chromium (apt install chromium)")
def test_report_renders_in_headless_chromium(report_dir, tmp_path):
    _, files = report_dir
    result = render(files["html"], tmp_path)
    widths = result["widths"]
    assert widths is not None, "the page did not finish loading: " + result["dom"][:300]
    assert len(widths) == 14 and all(w > 0 for w in widths), f"broken images (width 0): {widths}"
    assert result["page_height"] > 2000  # every section laid out
    shot = result["screenshot"]
    with Image.open(shot) as im:
        im = im.convert("RGB")
        assert im.size == (1280, 4000)
        colours = im.resize((64, 250)).getcolors(64 * 250)
        assert colours is not None and len(colours) > 200, "the screenshot looks blank"


def test_report_labels_selection_photos_and_test_photos(tmp_path, photos_dir):
    # Validation only: the numbers are labelled as selection numbers and the report says so plainly.
    out = write_synthetic_run(tmp_path / "val_only", photos_dir)
    files = write_report(out, grid=0)
    md, html = files["md"].read_text(encoding="utf-8"), files["html"].read_text(encoding="utf-8")
    for text in (md, html):
        assert "validation (used for selection) photos: 80.0%" in text
        assert "These are validation numbers" in text and "test (never used" not in text
        # the variant table and the device check say where their numbers come from
        assert "12 validation (used for selection) photos. " in text.replace(";", ".")
        assert "also chose the variant" in text
        assert "classified 12 validation (used for selection) photos" in text
    assert "**Validation numbers only:** These are validation numbers" in md
    # With a test split: both rows, each with its role, and no validation-only warning.
    out = write_synthetic_run(tmp_path / "with_test", photos_dir)
    (out / "metrics.json").write_text(json.dumps({"val_top1": 0.8, "val": {"top1": 0.8, "count": 12},
                                                  "test": {"top1": 0.7, "count": 10}}))
    files = write_report(out, grid=0)
    md = files["md"].read_text(encoding="utf-8")
    assert "top-1 on 12 validation (used for selection) photos: 80.0%" in md
    assert "top-1 on 10 test (never used for any decision) photos: 70.0%" in md
    assert "These are validation numbers" not in md
    assert "**Test top-1** (Keras model, 10 test (never used for any decision) photos): 70.0%." in md
    html = files["html"].read_text(encoding="utf-8")
    assert "<b>70.0%</b><span>test top-1 of the Keras model (photos no decision saw)</span>" in html
    data = json.loads(files["json"].read_text(encoding="utf-8"))
    assert [row["split"] for row in data["training"]["accuracy"]] == ["val", "test"]


def test_report_names_the_backbone(tmp_path, photos_dir):
    out = write_synthetic_run(tmp_path / "lite0", photos_dir)
    config = json.loads((out / "config.json").read_text())
    config["model"] = {"backbone": "efficientnet_lite0", "title": "EfficientNet-Lite0", "family": "efficientnet_lite"}
    (out / "config.json").write_text(json.dumps(config))
    files = write_report(out, grid=0)
    for kind in ("md", "html"):
        assert "Backbone: EfficientNet-Lite0 (efficientnet_lite0), 96x96 px input." in files[kind].read_text()
    # a run trained before config.json named its backbone was MobileNetV2 at its alpha
    del config["model"]
    (out / "config.json").write_text(json.dumps({**config, "alpha": 1.0}))
    files = write_report(out, grid=0)
    assert "Backbone: MobileNetV2 1.0 (mobilenet_v2_1.0), 96x96 px input." in files["md"].read_text()


def test_numbers_of_an_earlier_model_are_not_reported_as_this_ones(tmp_path, photos_dir):
    """After a retrain (or a model.keras copied in), the conversion report, the device answers and the export record
    describe the earlier model: the report says so instead of showing them."""
    import json

    from common import run_folder as rf

    out = write_synthetic_run(tmp_path / "run", photos_dir)
    (out / rf.MODEL).write_bytes(b"the model the files below were made from")
    for name in (rf.CONVERSION_REPORT, rf.CLASSIFY):
        (out / name).write_text(json.dumps(rf.with_model_digest(json.loads((out / name).read_text()), out)))
    data, _ = build_report(out)
    assert data["variants"]["rows"] and data["held_out"]["photos"] > 0 and data[rf.MODEL_DIGEST]
    (out / rf.MODEL).write_bytes(b"a model trained since")
    data, _ = build_report(out)
    assert data["variants"]["rows"] == [] and data["held_out"] == {}
    notes = " ".join(data["notes"])
    assert "tflite/report.json: was made from another model.keras" in notes and "run the convert stage" in notes
    assert "classify.json: was made from another model.keras" in notes and "run the classify stage" in notes
    assert "not found" not in notes
