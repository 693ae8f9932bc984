"""Build the one model of the runtime checks that tests/pi/models lacks: the int8 export with int8 input and output.

    .venv/bin/python tests/runtimes/make_models.py     # writes tests/runtimes/models/model_int8_int8io.tflite

The run folder is the parity models' (``tests/pi/make_models.py``: MobileNetV2 alpha 0.35, a 5-class flowers head),
converted by ``converter.convert`` as ``edge-convert --int8-io int8`` does (metadata included). Committed, so the
runtime checks need no TensorFlow and no conversion; re-run only when the converter's output format changes.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from converter import ConvertConfig, convert  # noqa: E402  (after the sys.path line: runnable as a script)
from tests.pi.make_models import build_parity_run  # noqa: E402

#: Where the model goes, and its file name.
OUT = HERE / "models" / "model_int8_int8io.tflite"


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        run = build_parity_run(Path(tmp) / "run")
        result = convert(run, ConvertConfig(variants=("int8",), int8_io="int8", evaluate=False, verbose=True,
                                            output_dir=str(Path(tmp) / "tflite"),
                                            model_name="edge-kit parity flowers (int8 input and output)"))
        OUT.parent.mkdir(exist_ok=True)
        shutil.copyfile(result.files["int8"], OUT)
        print(f"{OUT}: {OUT.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
