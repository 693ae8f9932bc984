"""Session fixtures of the runtime checks: the models and photos with edge-classify's answers, computed once, and
each runtime's results on them (MediaPipe Tasks in this process, the Task Library in .venv-reference).

The checks run in .venv-mediapipe (``bash scripts/test_runtimes.sh``). Without one of their environments they are
skipped with one line saying how to make it; in CI (``CI=true``) that is a failure, never a skip.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Dict, Optional, Tuple, TypeVar

import pytest

from tests.runtimes.agreement import (Case, Run, build_cases, device_python, format_table, run_mediapipe,
                                      run_task_library, venv_python)

T = TypeVar("T")
#: The agreement table of each runtime that ran, printed at the end of the session (CI logs show the numbers).
TABLES: Dict[str, str] = {}


def require(value: Optional[T], reason: str) -> T:
    """``value``, or skip with ``reason`` when it is ``None`` (fail instead under ``CI=true``)."""
    if value is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI (CI=true) requires it")
        pytest.skip(reason)
    return value


@pytest.fixture(scope="session")
def runtime_cases(assets_dir: Path, tmp_path_factory) -> Dict[str, Case]:
    """Every exported variant and the ``edge-convert metadata`` models, with edge-classify's scores (~30 s)."""
    device = require(device_python(), "no .venv-device to run edge-classify in (bash scripts/setup.sh)")
    convert = require(venv_python(".venv"), "no .venv to run edge-convert metadata in (bash scripts/setup.sh)")
    return build_cases(assets_dir, tmp_path_factory.mktemp("runtimes"), device, convert)


@pytest.fixture(scope="session", params=["mediapipe", pytest.param("task-library", marks=pytest.mark.reference)])
def runtime(request, tmp_path_factory) -> Tuple[str, Dict[str, Run]]:
    """``(runtime name, {model: Run})``: each runtime's results on every case, computed once (the runtime is
    looked for first, so a missing one skips before the cases are computed)."""
    from tests.reference import SKIP_REASON, reference_python

    name = request.param
    if name == "mediapipe":
        require(importlib.util.find_spec("mediapipe"),
                "mediapipe is not installed here; the runtime checks run in .venv-mediapipe: bash "
                "scripts/mediapipe_venv.sh && bash scripts/test_runtimes.sh")
        cases: Dict[str, Case] = request.getfixturevalue("runtime_cases")
        runs = {model: run_mediapipe(case) for model, case in cases.items()}
    else:
        python = require(reference_python(), SKIP_REASON)
        cases = request.getfixturevalue("runtime_cases")
        runs = run_task_library(python, cases, tmp_path_factory.mktemp("task-library"))
    TABLES[name] = format_table(cases, runs)
    return name, runs


def pytest_terminal_summary(terminalreporter) -> None:
    for name, table in TABLES.items():
        terminalreporter.write_sep("-", f"{name}: same top-1 as edge-classify / largest score difference")
        terminalreporter.write_line(table)
