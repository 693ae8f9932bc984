"""One long command at a time per output folder: ``edge-train``, ``edge-convert`` and ``edge-kit`` hold the lock of
the folder they write while they run, and a second command on that folder says at once "in use by process N".

The lock is an ``flock`` on ``<folder>/.edge-kit.lock`` (:data:`LOCK_FILE`): it disappears with its process, even
after ``kill -9``, so there is never a stale lock to clean up. The file holds the holder's process id and command,
for the message. A folder created only to hold the lock (a run that was refused before writing anything) is
removed again when the lock is released, so a refused command leaves nothing behind. Within one process the lock is
re-entrant (``edge-kit`` calls the trainer and converter while holding it). Only the standard library.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Dict, Iterator, List, Optional

from common import exit_codes
from common.errors import EdgeKitError
from common.paths import OutputLocationError, explain_os_error

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock; commands run without the lock
    fcntl = None  # type: ignore[assignment]

#: The lock file of a folder (hidden; never part of a run's outputs).
LOCK_FILE = ".edge-kit.lock"

#: Folders this process holds the lock of -> how many nested holders.
_HELD: Dict[str, int] = {}


class FolderBusyError(EdgeKitError):
    """Another command is writing the folder. Exit status 2: run it again when the other one is done, or choose
    another folder."""

    exit_code = exit_codes.BAD_INPUT


def holder(folder: Path) -> Optional[str]:
    """``"process N (command)"`` of the lock file's last holder, or None when it says nothing (just taken)."""
    try:
        text = (Path(folder) / LOCK_FILE).read_text(encoding="utf-8", errors="replace").split()
    except OSError:
        return None
    if not text or not text[0].isdigit():
        return None
    return f"process {text[0]}" + (f" ({' '.join(text[1:])})" if len(text) > 1 else "")


@contextlib.contextmanager
def folder_lock(folder: "str | os.PathLike[str]", command: str, flag: str = "--out",
                read_only: bool = False) -> Iterator[Path]:
    """Hold the lock of ``folder`` for the block (creating the folder when it does not exist yet).

    ``read_only``: the command only reads ``folder`` (``edge-convert export``): where no lock file can be written
    (a read-only copy of a run folder, which no command can change either) it reads without the lock.

    Raises :class:`FolderBusyError` ("<folder>: in use by process N (edge-kit); wait for it to finish, or choose
    another --out") when another process holds it, and :class:`common.paths.OutputLocationError` naming ``flag``
    when the folder cannot be created or the lock file written (read-only, full). Both exit status 2. Yields the
    folder's path.
    """
    path = Path(os.path.abspath(os.fspath(folder)))
    key = str(path)
    if key in _HELD or fcntl is None:
        _HELD[key] = _HELD.get(key, 0) + 1
        try:
            yield path
        finally:
            _HELD[key] -= 1
            if not _HELD[key]:
                del _HELD[key]
        return
    try:
        created = _make_folder(path)
    except OSError as exc:
        raise OutputLocationError(explain_os_error(exc, path, flag)) from exc
    try:
        fd = _acquire(path, command, flag)
    except OSError as exc:
        _remove_if_unused(path, created)
        if read_only and path.is_dir():
            yield path
            return
        raise OutputLocationError(explain_os_error(exc, path, flag)) from exc
    except BaseException:
        _remove_if_unused(path, created)
        raise
    _HELD[key] = 1
    try:
        yield path
    finally:
        del _HELD[key]
        if created:
            _remove_if_unused(path, created)
        os.close(fd)


def _make_folder(path: Path) -> List[Path]:
    """Create ``path`` and its missing parents; the folders created, innermost first."""
    missing: List[Path] = []
    p = path
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    path.mkdir(parents=True, exist_ok=True)
    return missing


def _acquire(path: Path, command: str, flag: str) -> int:
    lock = path / LOCK_FILE
    for _ in range(3):
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            who = holder(path) or "another process"
            raise FolderBusyError(f"{path}: in use by {who}; wait for it to finish, or choose another {flag}.") \
                from None
        except BaseException:
            os.close(fd)
            raise
        try:
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:  # not a file its last holder removed while this process waited to lock it
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()} {command}\n".encode())
            return fd
        os.close(fd)
    raise FolderBusyError(f"{path}: its lock file keeps being replaced; is another command starting there? Try "
                          f"again, or choose another {flag}.")


def _remove_if_unused(path: Path, created: List[Path]) -> None:
    """Remove the folders created for the lock (innermost first) if they hold nothing but the lock file."""
    if not created:
        return
    with contextlib.suppress(OSError):
        if {p.name for p in path.iterdir()} <= {LOCK_FILE}:
            (path / LOCK_FILE).unlink(missing_ok=True)
            for folder in created:
                folder.rmdir()
