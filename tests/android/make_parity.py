"""Generate the parity files the Kotlin core (android-sample/core) is tested against.

Run from the repository root:  ``.venv/bin/python tests/android/make_parity.py``

Written to ``android-sample/core/src/test/resources/parity/`` (committed, never edited by hand):

* ``tiny_probs.tflite``, ``tiny_logits.tflite``: two tiny edge-kit models (a few KB, made here with TensorFlow and
  ``converter.metadata.add_metadata``) with packed labels and ``edge_kit_preprocessing.json``: a non-square
  40x56 input, ``stretch`` crop, black background; one ends in a softmax, the other outputs logits;
* ``<model-id>.model.txt``: what ``device.metadata`` and ``device.Classifier`` read from each model: label count,
  SHA-256 of the labels joined by newlines, first/last label, preprocessing parameters, input encoding, and the
  SHA-256 of the input tensor the encoding makes from golden outputs of the same size;
* ``<model-id>__<image>.case.txt``: for a sanity photo, the raw output tensor (hex), its dtype and quantization,
  and the Python top-5 (index, label, score);
* ``index.txt``: the model and case files.

The reference models and photos are read from ``../shared/assets`` (or ``$EDGE_KIT_ASSETS``); they are not copied.
Lines are ``key<TAB>value...``; scores are Python ``repr`` of the float32 value (exact round trip).
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import List

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


def labels_sha(labels: List[str]) -> str:
    return hashlib.sha256("\n".join(labels).encode("utf-8")).hexdigest()


def model_id(path: str) -> str:
    return Path(path).parent.name + "__" + Path(path).stem if "/" in path else Path(path).stem


def write_parity() -> None:
    import numpy as np

    from device import Classifier
    from device.metadata import read_model_info
    from device.postprocess import to_scores
    from device.quantization import tensor_quantization

    assets = assets_dir()
    manifest = json.loads((GOLDEN / "manifest.json").read_text())
    index: List[str] = []
    models = [(m, assets / m) for m in REFERENCE_MODELS] + [
        (f"parity/{n}.tflite", OUT / f"{n}.tflite") for n in ("tiny_probs", "tiny_logits")
    ]
    for rel, path in models:
        mid = model_id(rel) if rel.startswith("reference-models") else Path(rel).stem
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
            + " ".join(str(c) for c in clf.config.background),
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
        (OUT / f"{mid}.model.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        index.append(f"model\t{mid}.model.txt")

        out_detail = clf.interpreter.output_details[0]
        scale, zero_point = tensor_quantization(out_detail)
        images = IMAGES if rel.startswith("reference-models") else IMAGES[:3]
        for image in images:
            tensor = clf.encoding.encode(clf.prepare(assets / image))
            clf.interpreter.raw.set_tensor(clf.interpreter.input_details[0]["index"], tensor)
            clf.interpreter.raw.invoke()
            raw = np.array(clf.interpreter.raw.get_tensor(out_detail["index"]))
            scores = to_scores(raw, scale, zero_point)
            top = clf.rank(scores, top_k=5)
            name = f"{mid}__{Path(image).stem}.case.txt"
            body = [
                f"model\t{mid}.model.txt",
                f"image\t{image}",
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
            (OUT / name).write_text("\n".join(body) + "\n", encoding="utf-8")
            index.append(f"case\t{name}")
            print(f"{name}: {top[0]}")
    (OUT / "index.txt").write_text("\n".join(index) + "\n", encoding="utf-8")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    if "--tiny-models" in sys.argv:
        make_tiny_models()
        return
    if "--keep-tiny" not in sys.argv:
        subprocess.run([sys.executable, __file__, "--tiny-models"], check=True)
    write_parity()


if __name__ == "__main__":
    main()
