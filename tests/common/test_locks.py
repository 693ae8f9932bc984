"""One long command per output folder (common/locks.py): a second one says "in use by process N" at once, the lock
dies with its holder, and a folder made only for the lock is not left behind."""
from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from common.locks import LOCK_FILE, FolderBusyError, folder_lock


def _hold(folder: str, command: str, ready, release) -> None:
    with folder_lock(folder, command):
        ready.set()
        release.wait(60)


class Holder:
    """Another process holding ``folder``'s lock as ``command`` would."""

    def __init__(self, folder: Path, command: str) -> None:
        ctx = multiprocessing.get_context("fork")
        self.ready, self.release = ctx.Event(), ctx.Event()
        self.process = ctx.Process(target=_hold, args=(str(folder), command, self.ready, self.release))

    def __enter__(self) -> "Holder":
        self.process.start()
        assert self.ready.wait(30)
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.process.join(30)


def test_a_second_holder_is_told_who_holds_the_folder(tmp_path):
    with Holder(tmp_path, "edge-train") as other:
        with pytest.raises(FolderBusyError) as info:
            with folder_lock(tmp_path, "edge-kit"):
                pass
    assert str(info.value) == (f"{tmp_path}: in use by process {other.process.pid} (edge-train); wait for it to "
                               "finish, or choose another --out.")
    assert info.value.exit_code == 2
    with folder_lock(tmp_path, "edge-kit"):  # released with its holder
        pass


def test_re_entrant_within_one_process(tmp_path):
    with folder_lock(tmp_path, "edge-kit"):
        with folder_lock(tmp_path, "edge-train"):  # edge-kit calling the trainer
            assert (tmp_path / LOCK_FILE).read_text().startswith(str(__import__("os").getpid()))


def test_a_folder_made_only_for_the_lock_is_removed_with_it(tmp_path):
    new = tmp_path / "runs" / "new"
    with folder_lock(new, "edge-train"):
        assert (new / LOCK_FILE).is_file()
    assert not (tmp_path / "runs").exists()
    with folder_lock(new, "edge-train"):
        (new / "model.keras").write_text("written")
    assert (new / "model.keras").is_file()  # a folder with output stays, lock file and all


def test_edge_train_on_a_folder_another_command_writes(tmp_path, photos_dir, capsys):
    from trainer.cli import main

    out = tmp_path / "run"
    with Holder(out, "edge-kit") as other:
        assert main([str(photos_dir), "--out", str(out), "--weights", "none"]) == 2
    err = capsys.readouterr().err
    assert err == f"edge-train: error: {out}: in use by process {other.process.pid} (edge-kit); wait for it to " \
                  "finish, or choose another --out.\n"


def test_edge_convert_on_a_run_folder_another_command_writes(fake_run, capsys):
    from converter.cli import main

    with Holder(fake_run, "edge-train") as other:
        assert main([str(fake_run)]) == 2
        assert main(["export", str(fake_run), "--variant", "float32", "-o", str(fake_run.parent) + "/"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all(f"in use by process {other.process.pid} (edge-train)" in line for line in err)


def test_a_read_only_folder_is_read_without_the_lock_and_refused_for_writing(tmp_path):
    import subprocess

    from common.paths import OutputLocationError

    folder = tmp_path / "archived-run"
    folder.mkdir()
    (folder / "model.keras").write_text("x")
    if subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True).returncode != 0:
        pytest.skip("needs permission to mount (root)")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], check=True)
        with folder_lock(folder, "edge-convert export", read_only=True):  # e.g. exporting from an archived run
            assert (folder / "model.keras").read_text() == "x"
        with pytest.raises(OutputLocationError, match="read-only"):
            with folder_lock(folder, "edge-convert"):
                pass
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)
