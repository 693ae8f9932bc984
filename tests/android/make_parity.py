"""Generate the parity files the Kotlin core (android-sample/core) is tested against.

Run from the repository root:  ``.venv/bin/python tests/android/make_parity.py``  (``--keep-tiny``: keep the tiny
models already committed and rebuild only missing ones, so the other files change only if ``device/`` does;
``--check``: write nothing, compare what would be written with the committed text files and exit 1 if one differs,
which ``tests/android/test_parity_fixtures.py`` runs)

Written to ``android-sample/core/src/test/resources/parity/`` (committed, never edited by hand):

* ``tiny_probs.tflite``, ``tiny_logits.tflite``: two tiny edge-kit models (a few KB, made here with TensorFlow and
  ``converter.metadata.add_metadata``) with packed labels and ``edge_kit_preprocessing.json``: a non-square
  40x56 input, ``stretch`` crop, black background; one ends in a softmax, the other outputs logits;
* ``tiny_int8_uint8io.tflite``, ``tiny_int8_int8io.tflite``: the export users ship. A tiny model trained here for a
  few epochs on synthetic colour photos (64x64, ``stretch`` crop), frozen and converted by the converter itself
  (``converter.variants.convert_variant``, int8 with uint8 I/O, the default, and with int8 I/O), metadata packed
  by ``converter.metadata.add_metadata``. Their cases are golden PNG photos (decoded identically by every PNG
  decoder), and each case also records the SHA-256 of the input tensor Python fed, so the Kotlin tests check the
  app's whole path (decode, preprocess, int8/uint8 encoding, scores) against Python;
* ``tiny_probs_imagenet.tflite``, ``tiny_int8_int8io_norm.tflite``: two of the tiny models given other metadata by
  ``edge-convert metadata`` (``converter.foreign``, no TensorFlow): ImageNet-style per-channel R,G,B mean/std on
  the float model, and on the int8-input one a per-channel mean that is not the identity of its quantization, so
  the encoding quantizes with the tensor's (non-zero) zero point;
* ``efficientnet_lite0_int8.model.txt`` and its cases: the committed EfficientNet-Lite0 int8 export of the
  cross-CPU parity test (``tests/pi/models/efficientnet_lite0/model_int8.tflite``, read where it is, named
  ``repo:<path>``), on the same golden PNG photos: the app's path for that backbone's model;
* ``<model-id>.model.txt``: what ``device.metadata`` and ``device.Classifier`` read from each model: label count,
  SHA-256 of the labels joined by newlines, first/last label, preprocessing parameters, input encoding, and the
  SHA-256 of the input tensor the encoding makes from golden outputs of the same size;
* ``<model-id>__<image>.case.txt``: for a sanity photo, the SHA-256 of the input tensor Python fed, the raw output
  tensor (hex), its dtype and quantization, and the Python top-5 (index, label, score);
* ``index.txt``: the model and case files.

The reference models and photos are read from ``../shared/assets`` (or ``$EDGE_KIT_ASSETS``); they are not copied.
Lines are ``key<TAB>value...``; scores are Python ``repr`` of the float32 value (exact round trip).
"""
from __future__ import annotations

import difflib
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "android-sample" / "core" / "src" / "test" / "resources" / "parity"
GOLDEN = ROOT / "tests" / "golden"

REFERENCE_MODELS = [
    "reference-models/google-coral-test_data/mobilenet_v2_1.0_224_quant.tflite",  # uint8, softmax, packed labels
    "reference-models/google-coral-test_data/tf2_mobilenet_v2_1.0_224_ptq.tflite",  # int8, softmax
    "reference-models/tflite-support/mobilenet_v1_0.25_224_1_metadata_1.tflite",  # float32 input [-1, 1]
    "reference-models/tflite-support/mobilenet_v2_1.0_224_quant.tflite",  # no metadata, uint8 logits
]
IMAGES = [
    "sanity-images/coral_cat.bmp",
    "sanity-images/coral_grace_hopper.bmp",
    "sanity-images/coral_parrot.jpg",
    "sanity-images/tflite-support_burger.jpg",
    "sanity-images/tflite-support_sparrow.png",
]
TINY_LABELS = ["daisy", "dandelion", "café ☕ rose"]
INT8_MODELS = {"tiny_int8_uint8io": "uint8", "tiny_int8_int8io": "int8"}
#: Golden photos (lossless PNG) classified with the int8 models: every stored byte is the same on the JVM and Python.
INT8_IMAGES = ["exif_orientation_6_123x77_64.png", "rgba_partial_alpha_301x211_96.png", "zone_plate_701x523_224.png"]
#: Tiny models given other metadata by ``edge-convert metadata``: name -> (source model, mean, std), R,G,B order.
DERIVED_MODELS = {
    # What `edge-convert metadata --mean R,G,B --std R,G,B` writes for a model trained ImageNet-style.
    "tiny_probs_imagenet": ("tiny_probs", [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]),
    # int8 input (zero point -128): the gain is 1 but the offset is not, so pixels are quantized, not shifted.
    "tiny_int8_int8io_norm": ("tiny_int8_int8io", [16.0, 24.0, 32.0], [1.0, 1.0, 1.0]),
}
#: Models of the repository itself (committed elsewhere, read in place): parity id -> path from the repository root.
REPO_MODELS = {"efficientnet_lite0_int8": "tests/pi/models/efficientnet_lite0/model_int8.tflite"}


def assets_dir() -> Path:
    return Path(os.environ.get("EDGE_KIT_ASSETS", ROOT.parent / "shared" / "assets")).resolve()


def make_tiny_models() -> None:
    """Build the two tiny models (runs in its own process: TensorFlow must not share it with LiteRT)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import tensorflow as tf
    import tf_keras as keras

    from converter.metadata import ModelCard, add_metadata
    from device.preprocess import PreprocessConfig

    config = PreprocessConfig(height=40, width=56, crop="stretch", background=(0, 0, 0))
    for name, activation in (("tiny_probs", "softmax"), ("tiny_logits", None)):
        keras.utils.set_random_seed(5)
        model = keras.Sequential([
            keras.layers.Input((40, 56, 3)),
            keras.layers.Rescaling(1 / 127.5, offset=-1),
            keras.layers.Conv2D(4, 3, strides=2, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(len(TINY_LABELS), activation=activation,
                               kernel_initializer=keras.initializers.RandomNormal(stddev=2.0, seed=3)),
        ])
        data = tf.lite.TFLiteConverter.from_keras_model(model).convert()
        card = ModelCard(name=name, description="edge-kit parity test model (random weights)")
        (OUT / f"{name}.tflite").write_bytes(add_metadata(data, TINY_LABELS, config, card))
        print(f"wrote {name}.tflite ({len(data)} bytes before metadata)", np.__name__ and "")


def synthetic_photos(n: int, seed: int):
    """``n`` 64x64 photos of three colour classes (red-, green-, blue-dominant with noise) and their labels."""
    import numpy as np

    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    photos = rng.integers(0, 120, (n, 64, 64, 3)).astype(np.float32)
    for i, c in enumerate(labels):
        photos[i, :, :, c] += rng.integers(80, 136)
    return photos, labels


def make_int8_models() -> None:
    """Train a tiny classifier and convert it with the converter to the int8 exports (own process: TensorFlow)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tf_keras as keras

    from converter.calibration import representative_dataset
    from converter.metadata import ModelCard, add_metadata
    from converter.trace import freeze
    from converter.variants import convert_variant
    from device.preprocess import PreprocessConfig

    keras.utils.set_random_seed(11)
    photos, labels = synthetic_photos(96, 1)
    model = keras.Sequential([
        keras.layers.Input((64, 64, 3)),
        keras.layers.Rescaling(1 / 127.5, offset=-1),
        keras.layers.Conv2D(6, 3, strides=2, activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(len(TINY_LABELS), activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(photos, labels, epochs=8, batch_size=16, verbose=0)
    print(f"tiny int8 source model: training accuracy {history.history['accuracy'][-1]:.2f}")
    frozen = freeze(model)
    calibration = representative_dataset(synthetic_photos(24, 2)[0])
    config = PreprocessConfig(height=64, width=64, crop="stretch")
    for name, io in INT8_MODELS.items():
        data = convert_variant(frozen.function, "int8", calibration, int8_io=io)
        card = ModelCard(name=name, description=f"edge-kit parity test model (int8, {io} input/output)")
        (OUT / f"{name}.tflite").write_bytes(add_metadata(data, TINY_LABELS, config, card))
        print(f"wrote {name}.tflite ({len(data)} bytes before metadata)")


def make_derived_models() -> None:
    """Write the :data:`DERIVED_MODELS` from the tiny models, as ``edge-convert metadata`` does (no TensorFlow)."""
    from converter.foreign import write_classifier_metadata
    from device.metadata import read_model_info

    for name, (source, mean, std) in DERIVED_MODELS.items():
        crop = read_model_info(OUT / f"{source}.tflite").preprocessing["crop"]
        write_classifier_metadata(OUT / f"{source}.tflite", out=OUT / f"{name}.tflite", mean=mean, std=std, crop=crop,
                                  name=name)
        print(f"wrote {name}.tflite ({source} with mean {mean} std {std})")


def labels_sha(labels: List[str]) -> str:
    return hashlib.sha256("\n".join(labels).encode("utf-8")).hexdigest()


def model_id(path: str) -> str:
    return Path(path).parent.name + "__" + Path(path).stem if "/" in path else Path(path).stem


def render_parity(replay: Optional[Callable[[str, Any], Any]] = None) -> Dict[str, str]:
    """Every parity text file (``{name: text}``) from the models in ``OUT`` and the assets, made in memory: what
    :func:`write_parity` writes and :func:`check_parity` compares with the committed files.

    ``replay(case file name, raw output)`` may hand back another raw output to record (and to rank) instead of the
    interpreter's: :func:`check_parity` gives back the committed one where the two differ only by the interpreter's
    rounding on another CPU.
    """
    import numpy as np

    from device import Classifier
    from device.metadata import read_model_info
    from device.postprocess import to_scores
    from device.quantization import tensor_quantization

    assets = assets_dir()
    manifest = json.loads((GOLDEN / "manifest.json").read_text())
    index: List[str] = []
    files: Dict[str, str] = {}
    models = [(m, assets / m) for m in REFERENCE_MODELS] + [
        (f"parity/{n}.tflite", OUT / f"{n}.tflite")
        for n in ("tiny_probs", "tiny_logits", *INT8_MODELS, *DERIVED_MODELS)
    ] + [(f"repo:{rel}", ROOT / rel) for rel in REPO_MODELS.values()]
    ids = {f"repo:{rel}": mid for mid, rel in REPO_MODELS.items()}
    for rel, path in models:
        mid = ids.get(rel) or (model_id(rel) if rel.startswith("reference-models") else Path(rel).stem)
        clf = Classifier.from_file(path)
        info = read_model_info(path)
        height, width = clf.input_size
        in_detail = clf.interpreter.input_details[0]
        in_quant = tensor_quantization(in_detail)
        lines = [
            f"model\t{rel}",
            f"labels_source\t{'packed' if info.labels else 'beside:' + str(Path(rel).with_name('labels.txt'))}",
            f"labels_count\t{len(clf.labels)}",
            f"labels_sha256\t{labels_sha(clf.labels)}",
            f"labels_first\t{clf.labels[0]}",
            f"labels_last\t{clf.labels[-1]}",
            f"background_index\t{clf.background_index if clf.background_index is not None else -1}",
            f"preprocessing\t{json.dumps(info.preprocessing, sort_keys=True) if info.preprocessing else 'none'}",
            f"config\t{clf.config.height}\t{clf.config.width}\t{clf.config.crop}\t"
            + " ".join(str(c) for c in clf.config.background) + f"\t{clf.config.resize}",
            f"encoding\t{clf.encoding.dtype.name}\t{clf.encoding.mode}\t{clf.encoding.offset}",
            "input\t{}\t{}\t{!r}\t{}".format(
                np.dtype(in_detail["dtype"]).name, " ".join(str(int(d)) for d in in_detail["shape"]), *in_quant
            ),
        ]
        meta_in = info.metadata.inputs[0] if info.metadata and info.metadata.inputs else None
        if meta_in is not None and meta_in.mean is not None:
            lines.append(f"norm\t{' '.join(repr(v) for v in meta_in.mean)}\t{' '.join(repr(v) for v in meta_in.std)}")
        for case in manifest["cases"]:
            cfg = case["config"]
            if (cfg["height"], cfg["width"]) == (height, width):
                pixels = np.frombuffer((GOLDEN / case["expected"]).read_bytes(), np.uint8).reshape(height, width, 3)
                encoded = np.ascontiguousarray(clf.encoding.encode(pixels))
                lines.append(f"input_sha256\t{case['expected']}\t{hashlib.sha256(encoded.tobytes()).hexdigest()}")
        files[f"{mid}.model.txt"] = "\n".join(lines) + "\n"
        index.append(f"model\t{mid}.model.txt")

        out_detail = clf.interpreter.output_details[0]
        scale, zero_point = tensor_quantization(out_detail)
        images = IMAGES if rel.startswith("reference-models") else IMAGES[:3]
        if mid in INT8_MODELS or mid in REPO_MODELS or DERIVED_MODELS.get(mid, ("",))[0] in INT8_MODELS:
            images = [f"golden:{name}" for name in INT8_IMAGES]
        for image in images:
            path = GOLDEN / image[len("golden:"):] if image.startswith("golden:") else assets / image
            tensor = np.ascontiguousarray(clf.encoding.encode(clf.prepare(path)))
            clf.interpreter.raw.set_tensor(clf.interpreter.input_details[0]["index"], tensor)
            clf.interpreter.raw.invoke()
            raw = np.array(clf.interpreter.raw.get_tensor(out_detail["index"]))
            name = f"{mid}__{Path(image.replace('golden:', '')).stem}.case.txt"
            if replay is not None:
                raw = replay(name, raw)
            scores = to_scores(raw, scale, zero_point)
            top = clf.rank(scores, top_k=5)
            body = [
                f"model\t{mid}.model.txt",
                f"image\t{image}",
                f"input_tensor_sha256\t{hashlib.sha256(tensor.tobytes()).hexdigest()}",
                f"dtype\t{raw.dtype.name}",
                f"shape\t{' '.join(str(d) for d in raw.shape)}",
                f"quantization\t{scale!r}\t{zero_point}",
                f"raw\t{raw.astype(raw.dtype.newbyteorder('<')).tobytes().hex()}",
            ]
            used = set()
            for label, score in top:  # the index of each result (ImageNet has duplicate label names)
                i = next(j for j, lab in enumerate(clf.labels)
                         if lab == label and j not in used and float(scores.reshape(-1)[j]) == score)
                used.add(i)
                body.append(f"top\t{i}\t{label}\t{score!r}")
            files[name] = "\n".join(body) + "\n"
            index.append(f"case\t{name}")
    files["index.txt"] = "\n".join(index) + "\n"
    return files


def write_parity() -> None:
    """Write every file of :func:`render_parity` into ``OUT``."""
    for name, text in render_parity().items():
        (OUT / name).write_text(text, encoding="utf-8")
        print(f"wrote {name}")


def committed_raw(name: str) -> Optional[Any]:
    """The raw output tensor recorded in the committed case file ``name`` (``None`` when there is none)."""
    import numpy as np

    path = OUT / name
    if not path.is_file():
        return None
    fields = dict(line.split("\t", 1) for line in path.read_text(encoding="utf-8").splitlines() if "\t" in line)
    try:
        shape = tuple(int(d) for d in fields["shape"].split())
        dtype = np.dtype(fields["dtype"]).newbyteorder("<")
        return np.frombuffer(bytes.fromhex(fields["raw"]), dtype).astype(dtype.newbyteorder("=")).reshape(shape)
    except (KeyError, ValueError, TypeError):
        return None


def same_up_to_cpu_rounding(fresh: Any, recorded: Any) -> bool:
    """Whether two raw outputs of one model and input differ only as interpreters on different CPUs make them
    differ: float scores in their last bits (``rtol`` 1e-4), quantized ones by at most one step."""
    import numpy as np

    if recorded is None or fresh.dtype != recorded.dtype or fresh.shape != recorded.shape:
        return False
    if fresh.dtype.kind == "f":
        return bool(np.allclose(fresh, recorded, rtol=1e-4, atol=1e-7))
    return bool(np.abs(fresh.astype(np.int64) - recorded.astype(np.int64)).max(initial=0) <= 1)


def check_parity() -> List[str]:
    """How the committed parity files differ from what :func:`render_parity` makes now (one line each; empty when
    they are current): a changed, missing or extra text file. The models (``*.tflite``) are the inputs.

    Everything Python computes is compared exactly: the labels, configuration, encodings and input tensors, and the
    scores and top-5 it derives from the recorded raw output. The raw output itself is the interpreter's, whose
    float rounding depends on the CPU: where it is :func:`same_up_to_cpu_rounding`, the committed one is replayed.
    """
    def replay(name: str, raw: Any) -> Any:
        recorded = committed_raw(name)
        return recorded if same_up_to_cpu_rounding(raw, recorded) else raw

    return compare(render_parity(replay), OUT)


def compare(made: Dict[str, str], folder: Path) -> List[str]:
    """The text files of ``folder`` that differ from ``made`` (changed, missing, or made by nothing), one line
    each with the first differing lines."""
    committed = {p.name for p in folder.iterdir() if p.is_file() and p.suffix != ".tflite"}
    problems = [f"{name}: not committed (run tests/android/make_parity.py --keep-tiny)"
                for name in sorted(set(made) - committed)]
    problems += [f"{name}: committed, but make_parity.py makes no such file (stale: remove it)"
                 for name in sorted(committed - set(made))]
    for name in sorted(set(made) & committed):
        text = (folder / name).read_text(encoding="utf-8")
        if text != made[name]:
            diff = list(difflib.unified_diff(text.splitlines(), made[name].splitlines(), "committed", "made now",
                                             n=0, lineterm=""))
            shown = [line if len(line) < 200 else line[:200] + "..." for line in diff[2:12]]
            problems.append(f"{name}: differs from what make_parity.py makes now:\n  " + "\n  ".join(shown))
    return problems


def main() -> None:
    if "--check" in sys.argv:
        problems = check_parity()
        for line in problems:
            print(line)
        print(f"{len(problems)} parity files out of date" if problems else "every parity file is current")
        sys.exit(1 if problems else 0)
    OUT.mkdir(parents=True, exist_ok=True)
    if "--tiny-models" in sys.argv:
        make_tiny_models()
        return
    if "--int8-models" in sys.argv:
        make_int8_models()
        return
    # --keep-tiny: keep the tiny models already written (rebuild only missing ones).
    keep = "--keep-tiny" in sys.argv
    if not (keep and all((OUT / f"{n}.tflite").exists() for n in ("tiny_probs", "tiny_logits"))):
        subprocess.run([sys.executable, __file__, "--tiny-models"], check=True)
    if not (keep and all((OUT / f"{n}.tflite").exists() for n in INT8_MODELS)):
        subprocess.run([sys.executable, __file__, "--int8-models"], check=True)
    make_derived_models()
    write_parity()


if __name__ == "__main__":
    main()
