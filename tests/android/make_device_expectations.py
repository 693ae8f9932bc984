"""Write the Python results the Android instrumented test compares the app against.

Run from the repository root after putting a model in the app (``edge-convert export <run>``):

    .venv/bin/python tests/android/make_device_expectations.py [--model PATH] [--out PATH]

For every golden photo of ``tests/golden/`` stored as 8-bit RGB/RGBA PNG (decoded identically by Pillow and
Android's BitmapFactory; EXIF orientation included), ``device.Classifier`` classifies it with the model and the
top-5 ``(index, label, score)`` are written, one photo a line, to
``android-sample/app/src/androidTest/assets/expected_python.tsv``, headed by the model's SHA-256 so the test refuses
expectations made for another model. The test reads the golden photos straight from ``tests/golden`` (an extra
androidTest assets folder in app/build.gradle.kts).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
GOLDEN = ROOT / "tests" / "golden"
DEFAULT_MODEL = ROOT / "android-sample" / "app" / "src" / "main" / "assets" / "model.tflite"
DEFAULT_OUT = ROOT / "android-sample" / "app" / "src" / "androidTest" / "assets" / "expected_python.tsv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="the app's model (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write (default: %(default)s)")
    args = parser.parse_args()
    if not args.model.is_file():
        sys.exit(f"error: {args.model} not found; export a model first: edge-convert export <run folder>")

    import numpy as np
    from PIL import Image

    from device import Classifier

    clf = Classifier.from_file(args.model)
    manifest = json.loads((GOLDEN / "manifest.json").read_text())
    lines = [f"model_sha256\t{hashlib.sha256(args.model.read_bytes()).hexdigest()}"]
    for case in manifest["cases"]:
        source = GOLDEN / case["source"]
        with Image.open(source) as image:
            if source.suffix != ".png" or image.mode not in ("RGB", "RGBA"):
                continue  # palettes, grayscale, 16-bit, JPEG: decoders may legitimately differ
        scores = clf.scores(clf.prepare(source)).reshape(-1)
        order = [int(i) for i in np.lexsort((np.arange(scores.size), -scores))]
        skip = clf.background_index
        top = [i for i in order if i != skip][:5]
        fields = [case["source"]] + [f"{i}:{clf.labels[i]}:{float(scores[i])!r}" for i in top]
        lines.append("\t".join(fields))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({len(lines) - 1} photos)")


if __name__ == "__main__":
    main()
