"""Terminal output that never crashes on the terminal's encoding.

A label, a photo's file name or a path with characters the terminal's encoding lacks (``PYTHONIOENCODING=ascii``, a
Latin-1 console) would raise ``UnicodeEncodeError`` in the middle of a run; every command calls
:func:`never_crash_on_encoding` first, and such characters are written as backslash escapes instead.
"""
from __future__ import annotations

import sys
import warnings
from typing import Any, Optional, TextIO

from common.errors import EdgeKitWarning


def never_crash_on_encoding(*streams: TextIO) -> None:
    """Make ``streams`` (default: stdout and stderr) write characters their encoding lacks as backslash escapes."""
    for stream in streams or (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure") and getattr(stream, "errors", None) == "strict":
            try:
                stream.reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # a closed or detached stream: nothing to protect
                pass


def show_warnings_plainly(prog: str) -> None:
    """Show edge-kit's own warnings (:class:`common.errors.EdgeKitWarning`) as ``<prog>: warning: <message>``
    instead of Python's ``file.py:145: SkippedFilesWarning:`` and a line of source code; other warnings as usual.
    Commands call it once, at start (it replaces ``warnings.showwarning`` for the process)."""
    original = warnings.showwarning

    def show(message: Any, category: type, filename: str, lineno: int, file: Optional[TextIO] = None,
             line: Optional[str] = None) -> None:
        if issubclass(category, EdgeKitWarning):
            print(f"{prog}: warning: {message}", file=file or sys.stderr, flush=True)
        else:
            original(message, category, filename, lineno, file, line)

    warnings.showwarning = show
