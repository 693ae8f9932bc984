"""Where edge-kit installs: the extras resolve for every platform we promise, with wheels only, and carry none of
the pins that used to lock the training stack to one platform (tflite-support, numpy<2, protobuf 3.20)."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())

#: (uv target triple, Python version, extras): docs/install.md's platform table, "resolves" cells included.
TARGETS = [
    ("aarch64-apple-darwin", "3.12", "train,convert,device"),  # Apple-Silicon Mac
    ("aarch64-manylinux_2_36", "3.11", "train,convert,device"),  # Raspberry Pi OS Bookworm 64-bit, Debian 12 arm64
    ("aarch64-manylinux_2_36", "3.12", "train,convert,device"),  # Ubuntu 24.04 arm64
    ("x86_64-manylinux_2_28", "3.10", "train,convert,device"),  # Ubuntu 22.04
    ("x86_64-manylinux_2_28", "3.13", "train,convert,device"),  # Debian 13
    ("aarch64-manylinux_2_36", "3.11", "device"),  # the board alone
]


def _requirements(extra: str) -> List[str]:
    return PYPROJECT["project"]["optional-dependencies"][extra]


def test_no_extra_pins_the_old_stack():
    """No extra a user installs brings tflite-support, numpy<2 or protobuf 3.20 (each blocks Python 3.12+, aarch64
    or Apple Silicon, or clashes with current packages)."""
    for extra, reqs in PYPROJECT["project"]["optional-dependencies"].items():
        for req in reqs + PYPROJECT["project"]["dependencies"]:
            name = re.split(r"[<>=!~;\[ ]", req, maxsplit=1)[0].lower()
            assert name not in ("tflite-support", "tflite_support"), (extra, req)
            assert not (name == "numpy" and "<2" in req.replace(" ", "")), (extra, req)
            assert not (name == "protobuf" and "3.20" in req), (extra, req)


def test_requires_python_matches_setup_script():
    """pyproject's requires-python and scripts/setup.sh's gate name the same versions."""
    spec = PYPROJECT["project"]["requires-python"]
    setup = (REPO / "scripts" / "setup.sh").read_text()
    supported = re.search(r'^SUPPORTED="([0-9. ]+)"', setup, re.M).group(1).split()
    assert spec == f">={supported[0]},<3.{int(supported[-1].split('.')[1]) + 1}", (spec, supported)


def _uv() -> str:
    found = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    if not Path(found).exists():
        pytest.skip("uv not installed (pip install -e '.[dev]')")
    return found


@pytest.mark.registry
@pytest.mark.parametrize("platform,python,extras", TARGETS, ids=[f"{t[0]}-py{t[1]}-{t[2]}" for t in TARGETS])
def test_extras_resolve_with_wheels_only(platform, python, extras, tmp_path):
    """What `pip install "edge-kit[...]"` needs exists as wheels for that platform and Python: nothing to compile."""
    cmd = [_uv(), "pip", "compile", str(REPO / "pyproject.toml"), "--python-platform", platform,
           "--python-version", python, "--only-binary", ":all:", "--no-header", "--quiet",
           "-o", str(tmp_path / "resolved.txt")]
    for extra in extras.split(","):
        cmd += ["--extra", extra]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    if done.returncode != 0 and re.search(r"(?i)(connect|dns|network|timed out|offline)", done.stderr):
        pytest.skip(f"package registry unreachable: {done.stderr.strip().splitlines()[-1]}")
    assert done.returncode == 0, done.stderr[-3000:]
    pins: Dict[str, str] = dict(re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+)", (tmp_path / "resolved.txt").read_text(),
                                           re.M))
    pins = {k.lower().replace("_", "-"): v for k, v in pins.items()}
    assert "ai-edge-litert" in pins and int(pins["numpy"].split(".")[0]) >= 2, pins
    assert "tflite-support" not in pins
    if "train" in extras:
        assert pins["tensorflow"].startswith("2.21.") and pins["tf-keras"].startswith("2.21."), pins
        assert "tensorflow-model-optimization" in pins and "flatbuffers" in pins
    else:
        assert "tensorflow" not in pins, "the device extra must not pull TensorFlow"
