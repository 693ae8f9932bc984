"""Ctrl-C that is never lost.

Python turns Ctrl-C into ``KeyboardInterrupt`` in whatever code the main thread runs at that moment. When that code
is a finalizer (``__del__``: TensorFlow frees traced functions that way during garbage collection, several times
per conversion), Python prints "Exception ignored in ..." and carries on: the user pressed Ctrl-C and the
conversion keeps running to the end. Seen in edge-kit's interruption test: a Ctrl-C between two variants of
``edge-kit``'s convert stage was swallowed by ``AtomicFunction.__del__``.

:class:`InterruptGuard` remembers that Ctrl-C was pressed. The long-running commands call :meth:`~InterruptGuard.check`
at their progress points (every log line through :meth:`~InterruptGuard.wrap`, every training epoch), which raises
``KeyboardInterrupt`` again, so a swallowed Ctrl-C stops the work at the next progress line at the latest. While
active it also keeps Python from printing the swallowed ``KeyboardInterrupt`` as an "Exception ignored in ..."
traceback (``sys.unraisablehook``): the command reports the interruption in one line of its own.

    >>> with InterruptGuard() as guard:
    ...     run(log=guard.wrap(print))   # Ctrl-C: KeyboardInterrupt now, or at the next log line
"""
from __future__ import annotations

import signal
import sys
import threading
from typing import Any, Callable, Optional


class InterruptGuard:
    """While active (``with``), Ctrl-C raises ``KeyboardInterrupt`` as usual and is also remembered."""

    def __init__(self) -> None:
        self._fired = False
        self._previous: Any = None
        self._installed = False
        self._previous_hook: Any = None

    @property
    def fired(self) -> bool:
        """Whether Ctrl-C was pressed while the guard was active."""
        return self._fired

    def check(self) -> None:
        """Raise ``KeyboardInterrupt`` if Ctrl-C was pressed (whether or not its first ``KeyboardInterrupt`` got
        lost in a finalizer)."""
        if self._fired:
            raise KeyboardInterrupt

    def wrap(self, log: Callable[[str], None]) -> Callable[[str], None]:
        """``log``, with :meth:`check` before every message."""

        def guarded(message: str) -> None:
            self.check()
            log(message)

        return guarded

    def _handler(self, signum: int, frame: Any) -> None:
        self._fired = True
        raise KeyboardInterrupt

    def _unraisable(self, unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt):  # Ctrl-C landed in a finalizer: remembered, not shown
            self._fired = True
            return
        self._previous_hook(unraisable)

    def __enter__(self) -> "InterruptGuard":
        self._previous_hook = sys.unraisablehook
        sys.unraisablehook = self._unraisable
        # Signal handlers belong to the main thread; and a process started with Ctrl-C ignored (a background job,
        # a supervisor's child) keeps ignoring it, as Python itself does.
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is not signal.SIG_IGN):
            self._previous = signal.signal(signal.SIGINT, self._handler)
            self._installed = True
        return self

    def __exit__(self, *exc: Optional[Any]) -> None:
        if sys.unraisablehook == self._unraisable:
            sys.unraisablehook = self._previous_hook
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False
