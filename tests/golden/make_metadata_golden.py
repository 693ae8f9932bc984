"""Generate the metadata golden files: tiny classifiers with metadata written by edge-kit's writer, and what
tflite-support 0.4.4 (the reference of the TFLite metadata format) reads from them.

Run from the repository root (needs .venv with TensorFlow and .venv-reference, see scripts/reference_venv.sh):

    .venv/bin/python tests/golden/make_metadata_golden.py

Writes ``tests/golden/metadata/`` (committed, never edited by hand), for every variant edge-kit writes (float32,
float16, dynamic, int8 with uint8 I/O, int8 with int8 I/O):

* ``tiny_<variant>.tflite``: a tiny classifier (a few KB, random weights, 24x32 input, 3 labels, one of them
  non-ASCII) with metadata from ``converter.metadata.add_metadata``;
* ``tiny_<variant>.displayer.json``: tflite-support's ``MetadataDisplayer`` output for it: the metadata JSON,
  the packed file names, and the packed files' text.

Before writing, it checks that tflite-support's own image-classifier writer gives the very same bytes for the same
model and texts (zip dates aside). tests/device/test_metadata_golden.py (Python) and MetadataGoldenTest.kt
(Android core) check their readers against these files.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "tests" / "golden" / "metadata"


def main() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from converter.compact import append_packed_files, split_packed_files
    from converter.metadata import add_metadata
    from tests.converter.tiny_models import CONFIG, LABELS, golden_card as card_for, raw_variants
    from tests.reference import display, reference_python, write_edge_kit_metadata_with_tflite_support

    if reference_python() is None:
        sys.exit("no .venv-reference: run bash scripts/reference_venv.sh first")
    OUT.mkdir(parents=True, exist_ok=True)
    models = {}
    for variant, raw in raw_variants().items():
        card = card_for(variant)
        ours = add_metadata(raw, LABELS, CONFIG, card)
        theirs = write_edge_kit_metadata_with_tflite_support(raw, LABELS, CONFIG, card)
        flatbuffer, packed = split_packed_files(theirs)
        if append_packed_files(flatbuffer, packed) != ours:
            sys.exit(f"{variant}: edge-kit's writer and tflite-support's differ; not writing golden files")
        models[f"tiny_{variant}"] = ours
    for name, shown in display(models).items():
        (OUT / f"{name}.tflite").write_bytes(models[name])
        shown["files"] = {k: v.decode("utf-8") for k, v in shown["files"].items()}
        (OUT / f"{name}.displayer.json").write_text(json.dumps(shown, indent=1, ensure_ascii=False) + "\n",
                                                    encoding="utf-8")
        print(f"wrote {name}.tflite ({len(models[name])} bytes) and {name}.displayer.json")


if __name__ == "__main__":
    main()
