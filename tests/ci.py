"""What a test may leave out, and where: under ``CI=true`` (``.ci/run``) every test CI is meant to run must run.

A test that skips for want of something (a tool, root, the reference venv, the registry, the assets) skips with
its reason on a developer's machine; in CI the same skip is a failure with that reason (``tests/conftest.py``), so
a missing dependency never turns into a quietly thinner test run. The exceptions are tests that only one of CI's
environments can run: they are marked ``ci_runs_elsewhere("<the CI step that runs them>")`` and skip in the others.
For a part of a test (a check inside a longer test), :func:`optional_part` applies the same rule.
"""
from __future__ import annotations

import os

import pytest

#: The marker of tests that skip in some CI steps because another step runs them (its argument names that step).
RUNS_ELSEWHERE = "ci_runs_elsewhere"


def in_ci() -> bool:
    """Whether this is a CI run (``CI=true``, as ``.ci/run`` sets it)."""
    return os.environ.get("CI") == "true"


def optional_part(available: bool, reason: str) -> bool:
    """``available``, for a check inside a test that needs something the machine may lack: a developer's run leaves
    the check out; a CI run fails with ``reason`` (CI must run every check)."""
    if not available and in_ci():
        pytest.fail(f"{reason}; CI=true requires it (CI must run every check)", pytrace=False)
    return available


def ci_failure_text(reason: str) -> str:
    """The failure a skip becomes in CI."""
    return (f"skipped under CI=true: {reason}\nCI must run this test: give the CI machine what it needs, or, if "
            f"another CI step runs it, mark it @pytest.mark.{RUNS_ELSEWHERE}(\"<that step>\") (tests/ci.py)")
