"""Session fixtures: one small genuine run folder (96 px MobileNetV2 alpha 0.35) converted once to every variant."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def run_folder(tmp_path_factory, flowers_dir: Path, alpha035_weights: Path) -> Path:
    from tests.converter.runfolder_factory import build_run_folder

    return build_run_folder(tmp_path_factory.mktemp("run") / "flowers96", flowers_dir, alpha035_weights,
                            size=96, train_per_class=24, val_per_class=10, epochs=8)


@pytest.fixture(scope="session")
def converted(run_folder: Path):
    """Every variant of ``run_folder``, converted and evaluated once (~30 s)."""
    from converter import ConvertConfig, convert

    return convert(run_folder, ConvertConfig(calibration_size=60, max_accuracy_drop=None, qat=False, verbose=False))
