"""scripts/setup.sh refuses an unsupported Python in one line before creating anything, and a failed install leaves
no half-made environment."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _copy_of_setup(tmp_path: Path, pyproject: str = "") -> Path:
    """A folder laid out like the repository, holding only scripts/setup.sh (and a pyproject.toml if given)."""
    root = tmp_path / "repo"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "setup.sh", root / "scripts" / "setup.sh")
    if pyproject:
        (root / "pyproject.toml").write_text(pyproject)
    return root


def _run(root: Path, python: str) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "PYTHON": python, "EDGE_KIT_NO_APT": "1", "HOME": str(root.parent)}
    return subprocess.run(["bash", str(root / "scripts" / "setup.sh")], capture_output=True, text=True, env=env,
                          timeout=600)


def _fake_python(tmp_path: Path, version: str) -> str:
    fake = tmp_path / f"python{version}"
    fake.write_text(f"#!/bin/sh\necho {version}\n")
    fake.chmod(0o755)
    return str(fake)


@pytest.mark.parametrize("version", ["3.9", "3.14", "2.7"])
def test_unsupported_python_stops_with_one_line_and_creates_nothing(tmp_path, version):
    root = _copy_of_setup(tmp_path)
    done = _run(root, _fake_python(tmp_path, version))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"is Python {version}" in lines[0] and "3.10, 3.11, 3.12, 3.13" in lines[0], lines
    assert "PYTHON=" in lines[0]  # how to point it at another Python
    assert sorted(p.name for p in root.iterdir()) == ["scripts"]


def test_missing_python_is_one_line(tmp_path):
    root = _copy_of_setup(tmp_path)
    done = _run(root, str(tmp_path / "no-such-python"))
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert "not found" in done.stderr and sorted(p.name for p in root.iterdir()) == ["scripts"]


@pytest.mark.slow
def test_failed_install_leaves_no_environment(tmp_path):
    """A dependency that cannot be installed: setup fails and .venv is not left half-made."""
    root = _copy_of_setup(tmp_path, pyproject=(
        '[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "broken"\nversion = "0"\n'
        'dependencies = ["edge-kit-test-no-such-distribution==0.0.1"]\n'
        '[project.optional-dependencies]\ntrain = []\nconvert = []\ndevice = []\ndev = []\n'
        '[tool.setuptools]\npy-modules = []\n'))
    done = _run(root, sys.executable)
    assert done.returncode != 0
    assert "installing into .venv failed" in done.stderr
    assert not (root / ".venv").exists() and not (root / ".venv-device").exists()
    assert not list(root.glob(".venv*"))
