"""The pipeline's "classify" stage: run the shipped ``.tflite`` on held-out photos with the *device* runtime.

The photos go through ``python -m device MODEL PHOTOS... --json`` in a child process: exactly the code path a user
runs on a board (LiteRT / tflite-runtime, no TensorFlow in that process; TensorFlow and the standalone interpreter in
one process can fail to load a model). The answers are compared with the true labels from ``splits.json``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from common import exit_codes
from common import run_folder as rf
from common.paths import user_path
from pipeline.state import PipelineError


def held_out_photos(run_dir: Path, limit: Optional[int] = None) -> Tuple[str, Path, List[str], List[Tuple[str, int]]]:
    """``(split name, data root, labels, [(relative path, label index)])`` of the photos never trained on.

    The test split when the run has one, else the validation split. ``limit`` keeps an evenly spread,
    class-balanced subset (round-robin over classes, in ``splits.json`` order) so the answer is the same every run.
    """
    splits_path = run_dir / rf.SPLITS
    splits = rf.read_splits(run_dir)
    if splits is None:
        raise PipelineError(f"{splits_path}: cannot read the held-out photos (missing or not a split file); run the "
                            "train stage first (edge-kit DATA --out OUT --stage train).", exit_code=exit_codes.BAD_INPUT)
    labels, root = list(splits.labels), splits.root
    name, items = splits.held_out()
    if not items:
        raise PipelineError(f"{splits_path}: no held-out photos (empty 'val' and 'test'); train with a validation "
                            "split (--val-split 0.2).")
    if limit is not None and len(items) > limit:
        by_class: Dict[int, List[Tuple[str, int]]] = {}
        for item in items:
            by_class.setdefault(item[1], []).append(item)
        queues = [by_class[k] for k in sorted(by_class)]
        picked: List[Tuple[str, int]] = []
        while len(picked) < limit:
            for q in queues:
                if q and len(picked) < limit:
                    picked.append(q.pop(0))
        items = picked
    return name, root, labels, items


def run_device_cli(model: Path, photos: Sequence[Path], top_k: int = 3, timeout: float = 600.0,
                   python: Optional[str] = None) -> Tuple[List[Dict[str, Any]], str]:
    """Run ``python -m device MODEL PHOTOS --json --top-k K`` and return its JSON lines and its stderr.

    Raises :class:`PipelineError` when the runtime cannot load the model (exit status 2) or produces no output.
    A photo the runtime cannot read comes back as ``{"file": ..., "error": ...}`` (exit status 1, not an error here).
    """
    # Absolute paths: the child runs in the repository (so ``-m device`` is found), not in the caller's folder.
    cmd = [python or sys.executable, "-m", "device", str(user_path(model)), *[str(user_path(p)) for p in photos],
           "--json", "--top-k", str(top_k)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                              cwd=str(Path(__file__).resolve().parent.parent))
    except subprocess.TimeoutExpired as exc:
        raise PipelineError(f"{model}: the device runtime did not finish classifying {len(photos)} photos within "
                            f"{timeout:.0f} s") from exc
    if proc.returncode not in (0, 1):
        raise PipelineError(f"{model}: the device runtime (python -m device) failed with exit status "
                            f"{proc.returncode}: {proc.stderr.strip()[-600:]}")
    results = []
    for line in proc.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            results.append(json.loads(line))
    if len(results) != len(photos):
        raise PipelineError(f"{model}: the device runtime answered for {len(results)} of {len(photos)} photos: "
                            f"{proc.stderr.strip()[-600:]}")
    return results, proc.stderr


def classify_held_out(run_dir: Path, model: Path, variant: str, limit: Optional[int] = 200,
                      top_k: int = 3) -> Dict[str, Any]:
    """Classify the held-out photos with ``model`` through the device runtime; returns the ``classify.json`` data.

    ``{"model", "variant", "split", "labels", "photos": [{"file", "true", "predicted", "score", "correct", "top"}],
    "top1", "confusion": [[...]], "unreadable", "seconds", "ms_per_photo"}`` (confusion rows = true class).
    """
    split, root, labels, items = held_out_photos(run_dir, limit)
    if not model.is_file():
        raise PipelineError(f"{model}: not found; run the convert stage first (edge-kit DATA --out OUT --stage "
                            f"convert --variants {variant}).", exit_code=exit_codes.BAD_INPUT)
    start = time.perf_counter()
    answers, _ = run_device_cli(model, [root / rel for rel, _ in items], top_k=top_k)
    seconds = time.perf_counter() - start
    index = {label: i for i, label in enumerate(labels)}
    confusion = [[0] * len(labels) for _ in labels]
    photos: List[Dict[str, Any]] = []
    unreadable: List[Dict[str, str]] = []
    for (rel, truth), answer in zip(items, answers):
        if answer.get("error") is not None:  # every record has the field; None when the photo was read
            unreadable.append({"file": rel, "reason": str(answer["error"])})
            continue
        preds = answer.get("predictions") or []
        predicted = preds[0]["label"] if preds else None
        score = float(preds[0]["score"]) if preds else 0.0
        if predicted in index:
            confusion[truth][index[predicted]] += 1
        photos.append({"file": rel, "true": labels[truth], "predicted": predicted, "score": score,
                       "correct": predicted == labels[truth], "top": preds})
    correct = sum(p["correct"] for p in photos)
    return {
        "model": str(model), "variant": variant, "split": split, "data_root": str(root), "labels": labels,
        "photos": photos, "top1": (correct / len(photos)) if photos else None, "correct": correct,
        "confusion": confusion, "unreadable": unreadable, "seconds": round(seconds, 3),
        "ms_per_photo": round(1000 * seconds / max(1, len(items)), 2),
    }
