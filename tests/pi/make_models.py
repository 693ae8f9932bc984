"""Build the small models of the cross-CPU parity test: one genuine edge-kit export of every variant.

    .venv/bin/python tests/pi/make_models.py            # writes tests/pi/models/model_<variant>.tflite

The run folder is the converter tests' small real one (``tests/converter/runfolder_factory.py``: MobileNetV2
alpha 0.35 with the local ImageNet weights, a 5-class head fitted briefly on the flowers photos), converted with
``converter.convert`` exactly as ``edge-convert`` does (metadata included, int8 with uint8 input and output).
The files are committed so that the emulated Raspberry Pi run (``scripts/pi_emulated.sh``) needs no TensorFlow and
no conversion; re-run this script only when the converter's output format changes, then re-run that script.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO))

from converter import ConvertConfig, convert  # noqa: E402  (after the sys.path line: runnable as a script)
from tests.conftest import ALPHA035_WEIGHTS, find_assets_dir  # noqa: E402
from tests.converter.runfolder_factory import build_run_folder  # noqa: E402

#: Input size of the parity models: the trainer's default, so the int8 kernels see the shapes a real export has.
SIZE = 224


def build_parity_run(run_dir: Path) -> Path:
    """The run folder the parity models are converted from (imports TensorFlow; a few minutes)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    assets = find_assets_dir()
    return build_run_folder(run_dir, assets / "datasets" / "flowers", assets / "weights" / ALPHA035_WEIGHTS,
                            size=SIZE, train_per_class=20, val_per_class=10, epochs=3, seed=0)


def main() -> int:
    out = HERE / "models"
    with tempfile.TemporaryDirectory() as tmp:
        run = build_parity_run(Path(tmp) / "run")
        result = convert(run, ConvertConfig(evaluate=False, verbose=True, model_name="edge-kit parity flowers"))
        out.mkdir(exist_ok=True)
        for variant, path in result.files.items():
            shutil.copyfile(path, out / path.name)
            print(f"{out / path.name}: {path.stat().st_size} bytes")
        shutil.copyfile(run / "labels.txt", out / "labels.txt")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
