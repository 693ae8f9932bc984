"""Shared helpers of the pipeline tests: a synthetic (but format-true) run folder, headless Chromium, file checks."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

REPO = Path(__file__).resolve().parents[2]
WEIGHTS_NAME = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5"


def make_tiny_dataset(flowers: Path, dest: Path, classes: Sequence[str] = ("daisy", "rose", "tulip"),
                      per_class: int = 8) -> Path:
    """Copy the first ``per_class`` photos of each class into ``dest`` (a tmp folder; never into the repo)."""
    for label in classes:
        (dest / label).mkdir(parents=True, exist_ok=True)
        for photo in sorted((flowers / label).iterdir())[:per_class]:
            shutil.copy(photo, dest / label / photo.name)
    return dest


def write_synthetic_run(out: Path, flowers: Path, labels: Sequence[str] = ("daisy", "rose", "tulip"),
                        per_class_val: int = 4) -> Path:
    """Files in the formats the trainer, the converter and the classify stage write, with real photos as the
    held-out set (so thumbnails are real), and made-up numbers. For report tests that must not train anything."""
    out.mkdir(parents=True, exist_ok=True)
    train, val = [], []
    for i, label in enumerate(labels):
        photos = sorted(p.name for p in (flowers / label).iterdir())
        train += [[f"{label}/{n}", i] for n in photos[:6]]
        val += [[f"{label}/{n}", i] for n in photos[6:6 + per_class_val]]
    (out / "splits.json").write_text(json.dumps({"root": str(flowers), "labels": list(labels), "train": train,
                                                 "val": val, "test": []}))
    (out / "labels.txt").write_text("".join(f"{x}\n" for x in labels))
    (out / "config.json").write_text(json.dumps({"preprocessing": {"contract": "edge-kit-preprocess", "version": 1,
                                                                   "height": 96, "width": 96, "crop": "center"}}))
    (out / "dataset.json").write_text(json.dumps({
        "skipped": [{"path": "rose/broken.jpg", "reason": "truncated JPEG"}],
        "ignored": [{"path": "notes.txt", "reason": "not inside a class folder"}]}))
    epochs = [{"epoch": e + 1, "loss": 1.2 - 0.1 * e, "top1": 0.5 + 0.05 * e, "val_loss": 1.3 - 0.08 * e,
               "val_top1": 0.45 + 0.05 * e} for e in range(6)]
    (out / "history.json").write_text(json.dumps({"phase1": epochs, "phase2": epochs[:3], "timings": {"x_s": 1.0}}))
    (out / "metrics.json").write_text(json.dumps({"val_top1": 0.8, "val": {"top1": 0.8}}))
    variants = {}
    for k, (name, top1) in enumerate((("float32", 0.9), ("float16", 0.9), ("dynamic", 0.85), ("int8", 0.8))):
        variants[name] = {"size_bytes": 1_600_000 // (k + 1), "top1": top1, "agreement_with_keras": 1 - 0.05 * k,
                          "latency_median_ms": 5.0 - k, "latency_p90_ms": 6.0 - k, "mean_abs_score_diff": 0.01 * k,
                          "top1_change_vs_float32_points": 100 * (top1 - 0.9),
                          "per_class": {x: {"precision": top1, "recall": top1, "support": per_class_val}
                                        for x in labels},
                          "per_class_change_vs_float32": {x: 100 * (top1 - 0.9) * (j % 2) for j, x in
                                                          enumerate(labels)}}
    (out / "tflite").mkdir(exist_ok=True)
    (out / "tflite" / "report.json").write_text(json.dumps({"labels": list(labels), "variants": variants,
                                                            "keras_top1": 0.9, "validation_photos": len(val),
                                                            "num_threads": 2}))
    photos = []
    confusion = [[0] * len(labels) for _ in labels]
    for n, (rel, truth) in enumerate(val):
        predicted = labels[(truth + (n % 3 == 0)) % len(labels)]
        confusion[truth][labels.index(predicted)] += 1
        photos.append({"file": rel, "true": labels[truth], "predicted": predicted, "score": 0.5 + 0.04 * n,
                       "correct": predicted == labels[truth], "top": []})
    correct = sum(p["correct"] for p in photos)
    (out / "classify.json").write_text(json.dumps({
        "model": str(out / "tflite" / "model_int8.tflite"), "variant": "int8", "split": "val", "labels": list(labels),
        "data_root": str(flowers), "photos": photos, "top1": correct / len(photos), "correct": correct,
        "confusion": confusion, "unreadable": [], "seconds": 1.0, "ms_per_photo": 12.0}))
    return out


# ------------------------------------------------------------------------------------------- headless Chromium

PROBE = ('<script>window.addEventListener("load",()=>{const r=[...document.images].map(i=>i.complete&&'
         'i.naturalWidth>0?i.naturalWidth:0);document.body.setAttribute("data-img-widths",r.join(","));'
         'document.body.setAttribute("data-page-height",String(document.documentElement.scrollHeight));});</script>')


def chromium() -> Optional[str]:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def _chrome_cmd(profile: Path) -> List[str]:
    cmd = [chromium(), "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}"]
    if os.geteuid() == 0:
        cmd.insert(2, "--no-sandbox")
    return cmd


def render(html: Path, workdir: Path, height: int = 4000) -> Dict[str, object]:
    """Load ``html`` in headless Chromium: the natural width of every ``<img>`` after load (0 = broken), the page
    height, and a full-width screenshot PNG path."""
    probe = workdir / "probe.html"
    text = html.read_text(encoding="utf-8")
    probe.write_text(text.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = subprocess.run(_chrome_cmd(workdir / "profile1") + ["--virtual-time-budget=10000", "--dump-dom",
                                                               probe.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    m = re.search(r'data-img-widths="([^"]*)"', dom)
    widths = [int(x) for x in m.group(1).split(",") if x] if m else None
    h = re.search(r'data-page-height="(\d+)"', dom)
    shot = workdir / "screenshot.png"
    subprocess.run(_chrome_cmd(workdir / "profile2") + [f"--screenshot={shot}", f"--window-size=1280,{height}",
                                                        html.as_uri()],
                   capture_output=True, timeout=120)
    return {"widths": widths, "page_height": int(h.group(1)) if h else None, "screenshot": shot, "dom": dom}


# ------------------------------------------------------------------------------------------- output checks

def check_outputs_complete(out: Path) -> List[str]:
    """Every JSON parses, every PNG/JPEG decodes, every .tflite is a whole flatbuffer (the interpreter loads it),
    and every file the state vouches for has the content hash it recorded. Returns the problems found."""
    from PIL import Image

    from pipeline.state import PipelineState, file_digest

    problems: List[str] = []
    for path in sorted(out.rglob("*")):
        if not path.is_file() or "checkpoint" in path.relative_to(out).parts or path.name.startswith("."):
            continue
        try:
            if path.suffix == ".json":
                json.loads(path.read_text(encoding="utf-8"))
            elif path.suffix in (".png", ".jpg"):
                with Image.open(path) as im:
                    im.load()
            elif path.suffix == ".tflite":
                import tensorflow as tf

                tf.lite.Interpreter(model_path=str(path)).allocate_tensors()
            elif path.suffix == ".html":
                if not path.read_text(encoding="utf-8").rstrip().endswith("</html>"):
                    problems.append(f"{path}: truncated HTML")
        except Exception as exc:  # noqa: BLE001 - any failure to read is what we look for
            problems.append(f"{path}: {type(exc).__name__}: {exc}")
    state = PipelineState(out)
    problems += state.warnings
    for stage, rec in state.stages.items():
        for rel, digest in rec.outputs.items():
            p = state.resolve(rel)
            if not p.is_file():
                problems.append(f"{stage}: recorded output {p} missing")
            elif file_digest(p) != digest:
                problems.append(f"{stage}: recorded output {p} changed after the record")
    return problems


def edge_kit_cmd(*args: str) -> List[str]:
    return [sys.executable, "-m", "pipeline.cli", *args]


def env_for(home: Optional[Path] = None) -> Dict[str, str]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    if home is not None:
        env["HOME"] = str(home)
    return env
