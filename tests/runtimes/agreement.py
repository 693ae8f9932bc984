"""edge-kit models in the classifier runtimes apps use, MediaPipe Tasks and the TFLite Task Library, against
edge-classify.

Most apps do not call the interpreter themselves: they load a classifier through MediaPipe Tasks' ImageClassifier
(the same C++ on Android, iOS, web and Python) or, in older apps, the TFLite Task Library; both read the labels,
the normalisation and the quantization from the model's metadata. For every exported variant and for models
written by ``edge-convert metadata``, each runtime classifies the parity photos three ways, and every result is
compared with edge-classify's on the same photo:

* ``same_pixels``: the runtime gets edge-kit's preprocessed pixels (the contract's output, already the model's
  size, so the runtime's own resize leaves them as they are): an app that prepares images with the edge-kit
  contract (``device/preprocess.py``, the Android core). The scores must be edge-classify's.
* ``whole_photo``: the runtime gets the photo file, decodes it and resizes the whole photo its own way (no centre
  crop, another filter): what an app gets by default. The agreement is measured.
* ``centre_crop``: the same with the runtime's region of interest set to the contract's centre crop (MediaPipe's
  ``region_of_interest``, the Task Library's ``bounding_box``). The agreement is measured.

MediaPipe runs in this process (this module runs in .venv-mediapipe, ``bash scripts/mediapipe_venv.sh``);
edge-classify runs in .venv-device, the Task Library in .venv-reference (tflite-support 0.4.4), ``edge-convert
metadata`` in .venv, each in a subprocess with this repository's code.

    .venv-mediapipe/bin/python -m tests.runtimes.agreement     # prints the tables quoted in docs/runtimes.md
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
if str(REPO_ROOT) not in sys.path:  # runnable as ``python tests/runtimes/agreement.py`` too
    sys.path.insert(0, str(REPO_ROOT))

from device.metadata import read_model_info  # noqa: E402
from device.preprocess import PreprocessConfig, load_and_preprocess  # noqa: E402
from device.resize import crop_box  # noqa: E402
from tests.pi.parity import MODELS_DIR as PI_MODELS  # noqa: E402
from tests.pi.parity import parity_photos  # noqa: E402

TASK_LIBRARY_CLI = HERE / "task_library_cli.py"
MODES = ("same_pixels", "whole_photo", "centre_crop")
RUNTIMES = ("mediapipe", "task-library")

#: Every variant edge-kit exports, of one flowers model: ``tests/pi/models`` (``tests/pi/make_models.py``) and its
#: int8 export with int8 input and output (``tests/runtimes/make_models.py``).
EXPORTS: Dict[str, Path] = {
    "float32": PI_MODELS / "model_float32.tflite",
    "float16": PI_MODELS / "model_float16.tflite",
    "dynamic": PI_MODELS / "model_dynamic.tflite",
    "int8": PI_MODELS / "model_int8.tflite",
    "int8_int8io": HERE / "models" / "model_int8_int8io.tflite",
}

#: The Teachable Machine export in the shared assets (a model edge-kit did not make; no metadata of its own).
TEACHABLE_MACHINE = Path("foreign-models") / "teachable-machine-fruit"
#: Models written here by ``edge-convert metadata`` from it: name -> (file, options).
METADATA_MODELS: Dict[str, Tuple[str, List[str]]] = {
    # Teachable Machine's own normalisation, x / 127.5 - 1: one mean and std.
    "tm_scalar": ("model_unquant.tflite", ["--mean", "127.5", "--std", "127.5"]),
    # ImageNet-style R,G,B values (a model trained with them would take these): three means and stds.
    "tm_per_channel": ("model_unquant.tflite", ["--mean", "123.675,116.28,103.53", "--std", "58.395,57.12,57.375"]),
    # The quantized export: uint8 input, the normalisation follows from its quantization.
    "tm_quant": ("model.tflite", []),
}

#: Models whose output is quantized (uint8 or int8 scores in steps of 1/256).
QUANTIZED_OUTPUT = ("int8", "int8_int8io", "tm_quant")

#: What each runtime refuses to load, with the text its error contains (docs/runtimes.md says so). Both take
#: uint8 or float32 image input only (not the int8-I/O export); MediaPipe Tasks takes one mean and std only;
#: tflite-support 0.4.4 (2023) predates the FULLY_CONNECTED version TensorFlow 2.21 writes into the dynamic-range
#: export.
NOT_TAKEN: Dict[str, Dict[str, str]] = {
    "mediapipe": {"int8_int8io": "Requested one of these types: uint8/float32, got INT8",
                  "tm_per_channel": "Per-channel image normalization is not available"},
    "task-library": {"dynamic": "'FULLY_CONNECTED' version '12'",
                     "int8_int8io": "Requested one of these types: kTfLiteUint8/kTfLiteFloat32, got INT8"},
}

#: Least fraction of photos with edge-classify's top-1 when the runtime resizes the photo its own way (measured
#: values, with a margin, in docs/runtimes.md); a broken normalisation or channel order falls far below.
AGREEMENT_FLOOR = {"whole_photo": 0.70, "centre_crop": 0.85}


def same_pixels_tolerance(name: str) -> float:
    """Largest score difference from edge-classify with the same pixels: float outputs differ by rounding only (the
    JSON scores have 6 decimals); quantized outputs by one step (1/256), where another TFLite build's kernels round
    an accumulator the other way."""
    return 1 / 256 + 1e-6 if name in QUANTIZED_OUTPUT else 1e-4


@dataclass
class Case:
    """One model and the photos it classifies, with what edge-kit makes of them."""

    name: str
    model: Path
    photos: List[Path]
    #: Index of each photo's folder among ``labels`` (for the accuracies in the docs).
    truth: List[int]
    #: The labels as edge-classify reads them.
    labels: List[str]
    #: edge-classify's scores, photos x classes.
    reference: np.ndarray
    #: The preprocessing contract's output for each photo (photos x H x W x 3 uint8).
    prepared: np.ndarray
    #: The contract's centre crop of each photo, ``(x, y, width, height)`` in its pixels.
    boxes: List[Tuple[int, int, int, int]]


@dataclass
class Run:
    """One runtime's results for a :class:`Case`: the labels it reports by class index and its scores per mode,
    or the error it refused the model with."""

    labels: List[str] = field(default_factory=list)
    scores: Dict[str, np.ndarray] = field(default_factory=dict)
    error: Optional[str] = None


@dataclass(frozen=True)
class Stats:
    """A mode's agreement with edge-classify: photos, same top-1, the largest score difference, the widest
    edge-classify top-two margin among the photos whose top-1 changed, and both accuracies."""

    photos: int
    same_top1: int
    max_diff: float
    widest_flip_margin: float
    accuracy: float
    edge_classify_accuracy: float


def venv_python(name: str) -> Optional[Path]:
    """``<repo>/<name>/bin/python`` when it exists, else ``None``."""
    path = REPO_ROOT / name / "bin" / "python"
    return path if path.is_file() else None


def device_python() -> Optional[Path]:
    """The interpreter of the light device venv (``$EDGE_KIT_DEVICE_VENV``, default .venv-device): edge-classify."""
    venv = Path(os.environ.get("EDGE_KIT_DEVICE_VENV", REPO_ROOT / ".venv-device"))
    path = (venv if venv.is_absolute() else REPO_ROOT / venv) / "bin" / "python"
    return path if path.is_file() else None


def _run(command: Sequence[str], what: str, pythonpath: str = str(REPO_ROOT)) -> str:
    """stdout of ``command`` (with this repository's code on PYTHONPATH); one clear error when it fails."""
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": pythonpath, "TF_CPP_MIN_LOG_LEVEL": "2"})
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout


def write_metadata_models(convert_python: Path, assets: Path, out_dir: Path) -> Dict[str, Path]:
    """The :data:`METADATA_MODELS`, written by ``edge-convert metadata`` (run with ``convert_python``)."""
    source = assets / TEACHABLE_MACHINE
    out = {}
    for name, (model, options) in METADATA_MODELS.items():
        out[name] = out_dir / f"{name}.tflite"
        _run([convert_python, "-m", "converter", "metadata", source / model, "--labels", source / "labels.txt",
              *options, "-o", out[name]], f"edge-convert metadata {model} {' '.join(options)}")
    return out


def edge_classify(python: Path, model: Path, photos: Sequence[Path]) -> Tuple[List[str], np.ndarray]:
    """edge-classify's labels and scores (photos x classes) for ``photos``, run as a user runs it."""
    lines = _run([python, "-m", "device", model, *photos, "--format", "jsonl", "--top-k", "1000"],
                 f"edge-classify {model.name}").splitlines()
    records = {r["file"]: r for r in map(json.loads, lines)}
    first = records[str(photos[0])]["predictions"]
    labels = [p["label"] for p in sorted(first, key=lambda p: p["index"])]
    scores = np.zeros((len(photos), len(labels)))
    for i, photo in enumerate(photos):
        record = records[str(photo)]
        if record["error"]:
            raise RuntimeError(f"edge-classify {model.name}: {photo}: {record['error']}")
        for p in record["predictions"]:
            scores[i, p["index"]] = p["score"]
    return labels, scores


def centre_crop_box(photo: Path, config: PreprocessConfig) -> Tuple[int, int, int, int]:
    """The contract's crop of ``photo`` (the photos here are stored upright: no EXIF rotation)."""
    with Image.open(photo) as image:
        width, height = image.size
    return crop_box(width, height, config.width, config.height, config.crop)


def model_config(model: Path) -> PreprocessConfig:
    """The preprocessing contract packed in an edge-kit model (every model here has one)."""
    packed = read_model_info(model.read_bytes(), source=str(model)).preprocessing
    if packed is None:
        raise ValueError(f"{model}: no edge_kit_preprocessing.json packed in it")
    return PreprocessConfig.from_dict(packed)


def build_cases(assets: Path, work_dir: Path, device: Path, convert: Path) -> Dict[str, Case]:
    """Every exported variant on the flowers parity photos and the ``edge-convert metadata`` models on the
    Teachable Machine photos, with edge-classify's scores (``device``: its Python) and edge-kit's pixels."""
    flowers = parity_photos(assets)
    fruit = sorted(p for p in (assets / TEACHABLE_MACHINE / "photos").glob("*/*") if p.is_file())
    models = [(name, path, flowers) for name, path in EXPORTS.items()]
    models += [(name, path, fruit) for name, path in write_metadata_models(convert, assets, work_dir).items()]
    prepared: Dict[Tuple[PreprocessConfig, Tuple[Path, ...]], np.ndarray] = {}
    cases = {}
    for name, path, photos in models:
        config = model_config(path)
        key = (config, tuple(photos))
        if key not in prepared:
            prepared[key] = np.stack([load_and_preprocess(p, config) for p in photos])
        labels, reference = edge_classify(device, path, photos)
        folder_index = {label.lower(): i for i, label in enumerate(labels)}
        cases[name] = Case(name, path, list(photos), [folder_index[p.parent.name.lower()] for p in photos], labels,
                           reference, prepared[key], [centre_crop_box(p, config) for p in photos])
    return cases


def _scores(result, count: int) -> List[float]:
    out = [0.0] * count
    for category in result.classifications[0].categories:
        out[category.index] = float(category.score)
    return out


def run_mediapipe(case: Case) -> Run:
    """MediaPipe Tasks' ImageClassifier on ``case``, as an app calls it (all categories, default options)."""
    # Lazy: mediapipe exists only in .venv-mediapipe; the rest of this module (tables, the Task Library) does not
    # need it.
    import mediapipe as mp
    from mediapipe.tasks.python import vision
    from mediapipe.tasks.python.components.containers.rect import RectF
    from mediapipe.tasks.python.core.base_options import BaseOptions

    options = vision.ImageClassifierOptions(base_options=BaseOptions(model_asset_path=str(case.model)),
                                            max_results=-1)
    try:
        classifier = vision.ImageClassifier.create_from_options(options)
    except Exception as exc:  # the runtime's refusal is the result
        return Run(error=f"{type(exc).__name__}: {exc}")
    with classifier:
        first = classifier.classify(mp.Image(image_format=mp.ImageFormat.SRGB, data=case.prepared[0]))
        categories = sorted(first.classifications[0].categories, key=lambda c: c.index)
        count = len(categories)
        same, whole, crop = [], [], []
        for pixels, photo, (x, y, w, h) in zip(case.prepared, case.photos, case.boxes):
            same.append(_scores(classifier.classify(mp.Image(image_format=mp.ImageFormat.SRGB, data=pixels)), count))
            image = mp.Image.create_from_file(str(photo))
            whole.append(_scores(classifier.classify(image), count))
            roi = RectF(left=x / image.width, top=y / image.height, right=(x + w) / image.width,
                        bottom=(y + h) / image.height)
            crop.append(_scores(classifier.classify(image, vision.ImageProcessingOptions(region_of_interest=roi)),
                                count))
    return Run([c.category_name for c in categories],
               {"same_pixels": np.array(same), "whole_photo": np.array(whole), "centre_crop": np.array(crop)})


def run_task_library(python: Path, cases: Dict[str, Case], work_dir: Path) -> Dict[str, Run]:
    """The TFLite Task Library's ImageClassifier (tflite-support 0.4.4, run with ``python``) on every case."""
    spec = {}
    for name, case in cases.items():
        npy = work_dir / f"{name}.prepared.npy"
        np.save(npy, case.prepared)
        spec[name] = {"model": str(case.model), "prepared": str(npy), "photos": [str(p) for p in case.photos],
                      "boxes": [list(map(int, b)) for b in case.boxes]}
    (work_dir / "task_library.json").write_text(json.dumps(spec))
    out = json.loads(_run([python, TASK_LIBRARY_CLI, work_dir / "task_library.json"], "the Task Library",
                          pythonpath=""))
    return {name: Run(r.get("labels", []), {m: np.array(s) for m, s in r.get("scores", {}).items()}, r.get("error"))
            for name, r in out.items()}


def compare(case: Case, scores: np.ndarray) -> Stats:
    """How far ``scores`` (one mode of a runtime) are from edge-classify's on ``case``."""
    ref = case.reference
    flipped = ref.argmax(1) != scores.argmax(1)
    top2 = np.sort(ref, 1)[:, -2:]
    margins = (top2[:, 1] - top2[:, 0])[flipped]
    truth = np.array(case.truth)
    return Stats(photos=len(ref), same_top1=int((~flipped).sum()), max_diff=float(np.abs(ref - scores).max()),
                 widest_flip_margin=float(margins.max()) if flipped.any() else 0.0,
                 accuracy=float((scores.argmax(1) == truth).mean()),
                 edge_classify_accuracy=float((ref.argmax(1) == truth).mean()))


def format_table(cases: Dict[str, Case], runs: Dict[str, Run]) -> str:
    """One line per model: same top-1 as edge-classify (and largest score difference) per mode, and accuracies."""
    lines = [f"{'model':<15} {'same pixels':>20} {'whole photo':>20} {'centre crop':>20}   accuracy: edge-classify,"
             " whole photo, centre crop"]
    for name, case in cases.items():
        run = runs[name]
        if run.error:
            lines.append(f"{name:<15} not taken: {run.error.splitlines()[0][:120]}")
            continue
        stats = {m: compare(case, run.scores[m]) for m in MODES}
        cells = [f"{s.same_top1:>4}/{s.photos:<4}{s.max_diff:>11.6f}" for s in stats.values()]
        lines.append(f"{name:<15} {cells[0]:>20} {cells[1]:>20} {cells[2]:>20}   "
                     f"{stats['same_pixels'].edge_classify_accuracy:.3f}, {stats['whole_photo'].accuracy:.3f}, "
                     f"{stats['centre_crop'].accuracy:.3f}")
    return "\n".join(lines)


def main() -> int:
    from tests.conftest import find_assets_dir
    from tests.reference import reference_python

    device, convert, reference = device_python(), venv_python(".venv"), reference_python()
    if device is None or convert is None:
        print("needs .venv and .venv-device: bash scripts/setup.sh", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        cases = build_cases(find_assets_dir(), Path(tmp), device, convert)
        t1 = time.perf_counter()
        print(f"edge-classify and edge-kit's pixels: {t1 - t0:.1f} s")
        import mediapipe

        runs = {name: run_mediapipe(case) for name, case in cases.items()}
        t2 = time.perf_counter()
        print(f"\nMediaPipe Tasks {mediapipe.__version__} ({t2 - t1:.1f} s): same top-1 as edge-classify / largest "
              "score difference\n" + format_table(cases, runs))
        if reference is None:
            print("\nTask Library: no .venv-reference (bash scripts/reference_venv.sh)")
            return 0
        runs = run_task_library(reference, cases, Path(tmp))
        print(f"\nTFLite Task Library (tflite-support 0.4.4, {time.perf_counter() - t2:.1f} s)\n"
              + format_table(cases, runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
