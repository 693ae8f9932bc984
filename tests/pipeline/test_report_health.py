"""The report's dataset health section: duplicate pairs side by side, suspects with their label and the class the
model prefers, the confused classes, how to act; a notice when a photo is in two splits; rendered in Chromium."""
from __future__ import annotations

import base64
import io
import json
import re

import pytest
from PIL import Image

from common import run_folder as rf
from pipeline.report import write_report
from tests.pipeline.helpers import chromium, render, write_synthetic_run

HEALTH = {
    "version": 1,
    "summary": "dataset health: 1 photo appears in both train and val; 1 near-duplicate pair within a split; "
               "3 photos may be mislabelled",
    "labels": ["daisy", "rose", "tulip"],
    "photos": {"train": 18, "val": 12}, "scored": 18, "temperature": 0.8,
    "duplicates": [
        {"a": "daisy/daisy_00.jpg", "b": "daisy/daisy_07.jpg", "similarity": 0.991, "pixel_similarity": 0.97,
         "splits": ["train", "val"], "labels": ["daisy", "daisy"], "cross_split": True},
        {"a": "rose/rose_01.jpg", "b": "rose/rose_02.jpg", "similarity": 0.95, "pixel_similarity": 0.81,
         "splits": ["train", "train"], "labels": ["rose", "rose"], "cross_split": False},
    ],
    "suspect_labels": [
        {"file": f"{label}/{label}_0{i}.jpg", "label": label, "suggested": other, "score": 0.99 - i / 100,
         "label_probability": 0.01 + i / 100, "suggested_probability": 0.97}
        for i, (label, other) in enumerate((("tulip", "rose"), ("rose", "daisy"), ("daisy", "tulip")), start=3)
    ],
    "confused_classes": [{"classes": ["rose", "tulip"], "count": 4, "rate": 0.2, "a_as_b": 3, "b_as_a": 1}],
    "settings": {}, "seconds": 0.5,
}


@pytest.fixture()
def health_report(tmp_path, photos_dir):
    out = write_synthetic_run(tmp_path / "run", photos_dir)
    (out / rf.DATASET_HEALTH).write_text(json.dumps(HEALTH), encoding="utf-8")
    return out, write_report(out, grid=0)


def _section(html: str) -> str:
    return html[html.index('<h2 id="health">'):html.index('<h2 id="training">')]


def test_the_section_shows_pairs_suspects_and_confused_classes_with_thumbnails(health_report):
    out, files = health_report
    section = _section(files["html"].read_text(encoding="utf-8"))
    assert "1 photo appears in both train and val; 1 near-duplicate pair within a split" in section
    pairs = re.findall(r'<figure class="pair( leak)?">(.*?)</figure>', section, re.S)
    assert [bool(leak) for leak, _ in pairs] == [True, False]  # the cross-split pair first, marked as a leak
    assert "daisy/daisy_00.jpg" in pairs[0][1] and "daisy/daisy_07.jpg" in pairs[0][1]
    suspects = re.findall(r'<figure class="photo wrong">(.*?)</figure>', section, re.S)
    assert len(suspects) == 3
    assert "labelled <b>tulip</b>" in suspects[0] and "looks like rose 97.0%" in suspects[0]
    assert 'id="health-confused"' in section and "rose / tulip" in section
    assert "move it to the folder of its class" in section and "Nothing was moved or relabelled" in section
    # every thumbnail is a real JPEG of the photo: two per pair, one per suspect
    blobs = re.findall(r'src="data:image/jpeg;base64,([A-Za-z0-9+/=]+)"', section)
    assert len(blobs) == 2 * 2 + 3
    for blob in blobs:
        with Image.open(io.BytesIO(base64.b64decode(blob))) as im:
            assert im.format == "JPEG" and im.size == (112, 112)


def test_a_photo_in_two_splits_is_a_notice_at_the_top(health_report):
    out, files = health_report
    html = files["html"].read_text(encoding="utf-8")
    notices = html[html.index('id="notices"'):html.index('id="summary"')]
    assert "appears in two splits (1 pair in train and val)" in notices and "flattered" in notices
    md = files["md"].read_text(encoding="utf-8")
    assert "> **Notice:** The same photo appears in two splits" in md
    assert "## Dataset health" in md and "| train | `daisy/daisy_00.jpg` | val | `daisy/daisy_07.jpg` |" in md
    assert "| `tulip/tulip_03.jpg` | tulip (4.0%) | rose (97.0%) | 0.960 |" in md
    data = json.loads(files["json"].read_text(encoding="utf-8"))
    assert data["health"]["duplicates_total"] == 2 and data["health"]["suspects_total"] == 3


def test_without_a_check_the_section_says_how_to_get_one(tmp_path, photos_dir):
    out = write_synthetic_run(tmp_path / "run", photos_dir)
    files = write_report(out, grid=0)
    section = _section(files["html"].read_text(encoding="utf-8"))
    assert "no dataset health check" in section and "--check-only" in section
    assert 'id="notices"' not in files["html"].read_text(encoding="utf-8")


def test_the_health_file_is_an_input_of_the_report_stage():
    from pipeline.report import REPORT_INPUTS

    assert rf.DATASET_HEALTH in REPORT_INPUTS  # a new check makes the report stage run again


@pytest.mark.skipif(chromium() is None, reason="needs chromium (apt install chromium)")
def test_the_section_renders_in_headless_chromium(health_report, tmp_path):
    _, files = health_report
    result = render(files["html"], tmp_path)
    widths = result["widths"]
    assert widths is not None, "the page did not finish loading: " + result["dom"][:300]
    images = len(re.findall(r"<img\b", files["html"].read_text(encoding="utf-8")))
    assert len(widths) == images and all(w > 0 for w in widths), f"broken images (width 0): {widths}"
    assert widths.count(112) == 7  # the section's thumbnails (the report has no held-out grid here)
