"""Build the small models of the cross-CPU parity test: genuine edge-kit exports.

    .venv/bin/python tests/pi/make_models.py             # tests/pi/models/model_<variant>.tflite (MobileNetV2 0.35)
    .venv/bin/python tests/pi/make_models.py --backbone efficientnet_lite0 --variants int8
                                                         # tests/pi/models/efficientnet_lite0/model_int8.tflite

The run folder is the converter tests' small real one (``tests/converter/runfolder_factory.py``: the backbone with
its local ImageNet weights, a 5-class head fitted briefly on the flowers photos), converted with
``converter.convert`` exactly as ``edge-convert`` does (metadata included, int8 with uint8 input and output).
The files are committed so that the emulated Raspberry Pi run (``scripts/pi_emulated.sh``) needs no TensorFlow and
no conversion; re-run this script only when the converter's output format changes, then re-run that script.
Only the int8 export of EfficientNet-Lite0 is committed: the kernels it adds to the check are int8 ones, and its
float exports would make the repository several times larger for little more.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Optional, Sequence

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO))

from converter import ConvertConfig, convert  # noqa: E402  (after the sys.path line: runnable as a script)
from converter.config import VARIANTS  # noqa: E402
from tests.conftest import ALPHA035_WEIGHTS, find_assets_dir  # noqa: E402
from tests.converter.runfolder_factory import build_run_folder  # noqa: E402

#: Input size of the parity models: the trainer's default, so the int8 kernels see the shapes a real export has.
SIZE = 224
#: The backbone of the models directly in tests/pi/models; every other one gets a folder of its own.
DEFAULT_BACKBONE = "mobilenet_v2_0.35"


def weights_for(backbone: str, assets: Path) -> Path:
    """The local ImageNet weights of ``backbone``: the shared MobileNetV2 file, or EfficientNet-Lite0's package."""
    if backbone == DEFAULT_BACKBONE:
        return assets / "weights" / ALPHA035_WEIGHTS
    if backbone == "efficientnet_lite0":
        from trainer.efficientnet_lite import imagenet_weights_file

        return imagenet_weights_file()
    raise SystemExit(f"no local weights known for {backbone}")


def build_parity_run(run_dir: Path, backbone: str = DEFAULT_BACKBONE) -> Path:
    """The run folder the parity models are converted from (imports TensorFlow; a few minutes)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    assets = find_assets_dir()
    return build_run_folder(run_dir, assets / "datasets" / "flowers", weights_for(backbone, assets), size=SIZE,
                            train_per_class=20, val_per_class=10, epochs=3, seed=0, backbone=backbone)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backbone", default=DEFAULT_BACKBONE)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args(argv)
    out = HERE / "models" if args.backbone == DEFAULT_BACKBONE else HERE / "models" / args.backbone
    with tempfile.TemporaryDirectory() as tmp:
        run = build_parity_run(Path(tmp) / "run", args.backbone)
        result = convert(run, ConvertConfig(variants=tuple(args.variants.split(",")), evaluate=False, verbose=True,
                                            model_name="edge-kit parity flowers"))
        out.mkdir(exist_ok=True)
        for variant, path in result.files.items():
            shutil.copyfile(path, out / path.name)
            print(f"{out / path.name}: {path.stat().st_size} bytes")
        shutil.copyfile(run / "labels.txt", out / "labels.txt")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
