"""The base class of every error edge-kit raises on purpose (each part derives its own errors from it).

Every message names the offending file or option and says what to do about it; callers show ``str(error)`` as is
and exit with :attr:`EdgeKitError.exit_code` (the table is in ``common/exit_codes.py``).
"""
from __future__ import annotations

from typing import Optional

from common import exit_codes


class EdgeKitError(Exception):
    """Base class of every error edge-kit raises on purpose.

    ``exit_code``: the command's exit status for it; bad usage or input (2) unless a subclass or the ``exit_code``
    argument says otherwise (a failed stage is 1).
    """

    exit_code: int = exit_codes.BAD_INPUT

    def __init__(self, *args: object, exit_code: Optional[int] = None) -> None:
        super().__init__(*args)
        if exit_code is not None:
            self.exit_code = exit_code


class EdgeKitWarning(UserWarning):
    """Base class of the warnings edge-kit issues on purpose (e.g. photos skipped while training). The commands show
    them as one line, ``<command>: warning: <message>`` (:func:`common.console.show_warnings_plainly`)."""
