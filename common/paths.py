"""Paths the user gives: resolved once, at the command line, and output locations checked before the slow work.

Every command resolves the paths of its command line with :func:`user_path` (against the user's working folder)
before anything else runs, so a child process started in another folder (the pipeline starts the device runtime in
the repository) or a library that changes folder sees the same files.

:func:`check_output_dir` finds, in a fraction of a second, what would otherwise fail after minutes of training or
model loading: a file where the folder should be (or above it), a read-only file system, a full disk, a folder
without write permission, and a destination folder that does not exist when the command must not create it.
:func:`explain_os_error` turns the same failures met later (the disk fills up while writing) into one line. Both
name the path, the option it came from and the fix; neither leaves anything behind.
"""
from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Optional, Union

from common import exit_codes
from common.errors import EdgeKitError

PathLike = Union[str, "os.PathLike[str]"]

#: The name of the probe file written (and removed at once) to check that a folder takes new files.
PROBE_NAME = ".edge-kit-write-test"


class OutputLocationError(EdgeKitError):
    """An output location cannot be used (a file in the way, read-only, full, not permitted, missing). One line
    naming the path and the fix; exit status 2 (a bad location given by the user)."""

    exit_code = exit_codes.BAD_INPUT


def user_path(path: PathLike) -> Path:
    """``path`` (``~`` expanded) as an absolute path against the current working folder; symlinks kept."""
    return Path(os.path.abspath(os.path.expanduser(os.fspath(path))))


def explain_os_error(exc: OSError, path: PathLike, flag: str = "--out", after: str = "") -> str:
    """One line for a failed write of ``path``: what happened, and the fix (naming the option ``flag``).

    ``after``: appended to the disk-full message (e.g. what a re-run continues with).
    """
    path = Path(path)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return (f"{path}: the disk is full ({exc.strerror or 'no space left'}); free some space or choose a folder on "
                f"another disk ({flag}){after}")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"{path}: permission denied; choose a folder you can write to ({flag}) or fix its permissions."
    if exc.errno == errno.EROFS:
        return f"{path}: the file system is read-only; choose a folder on a writable disk ({flag})."
    if exc.errno == errno.ENAMETOOLONG:
        return (f"{path}: a folder or file name in it is longer than the file system allows (usually 255 bytes); "
                f"choose a shorter {flag}.")
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return f"{path}: a file is in the way of a folder that is needed; move the file or choose another {flag}."
    if exc.errno == errno.EISDIR:
        return f"{path}: is a folder, but a file is to be written there; choose another {flag}."
    return f"{path}: cannot write ({exc.strerror or exc}); check the folder or choose another {flag}."


def check_output_dir(path: PathLike, flag: str = "--out", must_exist: bool = False) -> Path:
    """Check that the folder ``path`` can take new files; return it resolved (:func:`user_path`).

    Nothing is created: when ``path`` does not exist yet, its nearest existing parent is checked instead (the
    command creates the folder later, after validating its inputs). ``must_exist``: a missing ``path`` is an error
    (for destinations a typo must not create, e.g. ``--out`` of a later stage). Raises
    :class:`OutputLocationError` naming ``path``, ``flag`` and the fix.
    """
    folder = user_path(path)
    _check_name_lengths(folder, flag)
    existing = folder
    try:
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
    except OSError as exc:  # a path the file system refuses to even look up
        raise OutputLocationError(explain_os_error(exc, folder, flag)) from exc
    if existing.exists() and not existing.is_dir():
        where = "it is a file" if existing == folder else f"{existing} is a file"
        raise OutputLocationError(f"{folder}: a file is in the way ({where}, not a folder); move it or choose "
                                  f"another {flag}.")
    if must_exist and existing != folder:
        raise OutputLocationError(f"{folder}: no such folder; check the spelling of {flag}, or create the folder "
                                  f"first (mkdir -p {folder}).")
    probe_folder(existing, folder, flag)
    return folder


def _check_name_lengths(folder: Path, flag: str) -> None:
    """Refuse a path with a component longer than its file system allows (``PC_NAME_MAX`` of the nearest existing
    folder; 255 bytes where it cannot be asked), before anything looks it up."""
    base = Path(folder.anchor or "/")  # the deepest existing folder so far
    below = False  # past it: the rest does not exist yet
    for part in folder.parts[1:]:
        try:
            limit = os.pathconf(base, "PC_NAME_MAX")
        except (OSError, ValueError):
            limit = 255
        size = len(os.fsencode(part))
        if size > limit:
            raise OutputLocationError(f"{folder}: the name {part[:24]}... is {size} bytes, longer than the file system "
                                      f"allows ({limit}); choose a shorter {flag}.")
        if not below and (base / part).is_dir():
            base = base / part
        else:
            below = True


def probe_folder(existing: Path, named: Optional[Path] = None, flag: str = "--out") -> None:
    """Write and remove a small file in ``existing`` (an existing folder): an :class:`OutputLocationError` naming
    ``named`` (default ``existing``) when it cannot take one (read-only, full, not permitted)."""
    named = named or existing
    probe = existing / f"{PROBE_NAME}.{os.getpid()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, b"edge-kit write test\n" * 64)  # a few blocks: a disk with no room left refuses them
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise OutputLocationError(explain_os_error(exc, named, flag)) from exc
    finally:
        try:
            probe.unlink()
        except OSError:
            pass
