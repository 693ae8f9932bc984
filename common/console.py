"""Terminal output that never crashes on the terminal's encoding.

A label, a photo's file name or a path with characters the terminal's encoding lacks (``PYTHONIOENCODING=ascii``, a
Latin-1 console) would raise ``UnicodeEncodeError`` in the middle of a run; every command calls
:func:`never_crash_on_encoding` first, and such characters are written as backslash escapes instead.
"""
from __future__ import annotations

import sys
from typing import TextIO


def never_crash_on_encoding(*streams: TextIO) -> None:
    """Make ``streams`` (default: stdout and stderr) write characters their encoding lacks as backslash escapes."""
    for stream in streams or (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure") and getattr(stream, "errors", None) == "strict":
            try:
                stream.reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # a closed or detached stream: nothing to protect
                pass
