"""On a board (the device extra only), edge-train, edge-convert and edge-kit say in one line which extra to install,
and exit 2 before doing anything. Runs in the device-only environment (scripts/test_device_light.sh)."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = [
    pytest.mark.ci_runs_elsewhere("scripts/test_device_light.sh (.venv-device) and scripts/test_tflite_runtime.sh"),
    pytest.mark.skipif(
        importlib.util.find_spec("tensorflow") is not None,
        reason="needs the device-only environment (.venv-device, scripts/test_device_light.sh); "
               "tests/common/test_requirements.py covers this with TensorFlow installed"),
]

BIN = Path(sys.executable).parent


@pytest.fixture()
def photos(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    for label in ("daisy", "rose"):
        (tmp_path / "photos" / label).mkdir(parents=True)
        for i in range(6):
            Image.fromarray(rng.integers(0, 256, (32, 40, 3), dtype=np.uint8)).save(
                tmp_path / "photos" / label / f"{i}.jpg")
    return tmp_path / "photos"


@pytest.mark.parametrize("command, extra", [("edge-train", "train"), ("edge-convert", "convert"),
                                            ("edge-kit", "convert")])
def test_command_names_the_extra_to_install(command, extra, photos, tmp_path):
    run = tmp_path / "runs" / "x"
    args = {"edge-train": [str(photos), "--out", str(run)], "edge-convert": [str(run)],
            "edge-kit": [str(photos), "--out", str(run)]}[command]
    if command == "edge-convert":
        run.mkdir(parents=True)
        (run / "labels.txt").write_text("daisy\nrose\n")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    proc = subprocess.run([str(BIN / command), *args], capture_output=True, text=True, timeout=120)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"{command}: missing tensorflow")
    assert f'pip install "edge-kit[{extra}]"' in lines[0] and "edge-classify" in lines[0]
    assert "desktop or server" in lines[0]
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written
