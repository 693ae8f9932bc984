"""Output locations checked in one line before the slow work, user paths resolved once, one exit-code table, and
Ctrl-C landing in a finalizer reported by the command, not as an "Exception ignored" traceback."""
from __future__ import annotations

import errno
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from common import exit_codes, gates
from common.paths import OutputLocationError, check_output_dir, explain_os_error, user_path

REPO = Path(__file__).resolve().parents[2]


def test_a_missing_output_folder_is_checked_without_being_created(tmp_path):
    assert check_output_dir(tmp_path / "a" / "b") == tmp_path / "a" / "b"
    assert list(tmp_path.iterdir()) == []  # neither the folder nor a probe file is left


@pytest.mark.parametrize("where", ["file", "file/below"])
def test_a_file_in_the_way_is_one_line_naming_the_path_and_the_flag(tmp_path, where):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputLocationError) as info:
        check_output_dir(tmp_path / where, "--output-dir")
    message = str(info.value)
    assert "\n" not in message and str(tmp_path / where) in message
    assert "a file is in the way" in message and "--output-dir" in message
    assert info.value.exit_code == exit_codes.BAD_INPUT


def test_a_destination_that_must_exist_is_not_created(tmp_path):
    with pytest.raises(OutputLocationError, match="no such folder.*--to.*mkdir -p"):
        check_output_dir(tmp_path / "typo", "--to", must_exist=True)
    assert not (tmp_path / "typo").exists()


@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "disk is full"), (errno.EROFS, "read-only"),
                                         (errno.EACCES, "permission denied"), (errno.ENOTDIR, "a file is in the way")])
def test_os_errors_are_explained_with_the_flag(code, words):
    message = explain_os_error(OSError(code, os.strerror(code)), Path("/x/y"), "--android-assets")
    assert message.startswith("/x/y: ") and words in message and "--android-assets" in message


def test_user_paths_are_absolute_against_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert user_path("runs/a") == tmp_path / "runs" / "a"
    assert user_path("~/x") == Path(os.path.expanduser("~/x"))


def test_one_exit_code_table_in_code_and_docs():
    assert (exit_codes.OK, exit_codes.FAILED, exit_codes.BAD_INPUT, exit_codes.REFUSED,
            exit_codes.INTERRUPTED) == (0, 1, 2, 3, 130)
    assert gates.EXIT_REFUSED == exit_codes.REFUSED
    table = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    for code, meaning in ((0, "done"), (1, "failed"), (2, "bad usage or input"), (3, "accuracy gate"),
                          (130, "interrupted")):
        assert re.search(rf"\| {code} \| [^\n]*{meaning}", table), f"docs/cli.md's exit-status table lacks {code}"


FINALIZERS = """
import gc, sys
from common.interrupts import InterruptGuard

class Interrupted:
    def __del__(self):  # what TensorFlow's AtomicFunction.__del__ does when Ctrl-C lands in it
        raise KeyboardInterrupt

class Failing:
    def __del__(self):
        raise ValueError("shown as usual")

with InterruptGuard() as guard:
    Interrupted()
    gc.collect()
    print("fired" if guard.fired else "lost", flush=True)
Failing()  # outside the guard, other unraisable errors are printed as before
gc.collect()
"""


def test_ctrl_c_in_a_finalizer_is_remembered_not_printed():
    proc = subprocess.run([sys.executable, "-c", FINALIZERS], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.stdout.strip() == "fired"
    assert "KeyboardInterrupt" not in proc.stderr
    assert "Exception ignored" in proc.stderr and "shown as usual" in proc.stderr
