"""Atomic file writes: a crash or Ctrl-C never leaves a half-written file behind.

Everything is first written to a temporary file in the destination folder, flushed to disk, then moved over the
destination with :func:`os.replace` (atomic on POSIX and Windows). Readers see the old file or the new one, never a
truncated mix.
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator, Union

PathLike = Union[str, "os.PathLike[str]"]


@contextlib.contextmanager
def atomic_path(destination: PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``destination``; move it into place only if the block succeeds.

    Use it for writers that insist on a file name (Keras ``model.save``, matplotlib ``savefig``). ``suffix`` keeps
    the extension those writers look at (e.g. ``".keras"``, ``".png"``). On any error the temporary file is removed
    and ``destination`` is left as it was.
    """
    dest = Path(destination)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=suffix or ".tmp", dir=dest.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; outputs get the usual permissions
    try:
        yield tmp
        _fsync_file(tmp)
        os.replace(tmp, dest)
        fsync_dir(dest.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            if tmp.is_dir():
                import shutil

                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.unlink()
        raise


def atomic_write_bytes(destination: PathLike, data: bytes) -> Path:
    """Write ``data`` to ``destination`` atomically and return the destination path."""
    with atomic_path(destination) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
    return Path(destination)


def atomic_write_text(destination: PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``destination`` atomically."""
    return atomic_write_bytes(destination, text.encode("utf-8"))


def atomic_write_json(destination: PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON (UTF-8, trailing newline) to ``destination`` atomically."""
    return atomic_write_text(destination, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_file(path: Path) -> None:
    if path.is_file():
        with open(path, "rb+") as f:
            os.fsync(f.fileno())


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (renames into it) to disk, where the platform allows."""
    with contextlib.suppress(OSError):  # not supported on every platform / filesystem
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
