"""The bad-input table of ``tests/pipeline/bad_inputs.py`` (photo folders and output locations of ``edge-train``,
``edge-convert`` and ``edge-kit``), each row run as a user would: its exit status, its one-line message, no
traceback, and no finished file lost."""
from __future__ import annotations

import contextlib

import pytest

from tests.pipeline import bad_inputs


@pytest.mark.parametrize("case", bad_inputs.CASES, ids=[c.name for c in bad_inputs.CASES])
def test_bad_input_table(case, tmp_path):
    if case.needs == "mount" and not bad_inputs.can_mount():
        pytest.skip("needs root to mount a read-only folder and a full tmpfs")
    world = bad_inputs.build_world(tmp_path / "world", mounts=case.needs == "mount")
    try:
        with bad_inputs.hold_lock(world["converted"]) if case.needs == "busy" else contextlib.nullcontext():
            outcome = bad_inputs.run_case(case, world)
    finally:
        if case.needs == "mount":
            bad_inputs.unmount(world)
    assert not outcome.problems, f"{outcome.problems}\n{outcome.stderr}"
