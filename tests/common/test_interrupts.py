"""A Ctrl-C that Python swallows (raised inside a finalizer) is not lost: the guard raises it at the next check."""
from __future__ import annotations

import os
import signal
import time
import warnings

import pytest

from common.interrupts import InterruptGuard


@pytest.fixture()
def default_ctrl_c():
    """Python's own Ctrl-C handling for the test (a test runner started in the background inherits SIGINT
    ignored), restored after it."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


class _PressesCtrlCWhileFinalized:
    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # the handler runs here, inside __del__, where Python ignores the KeyboardInterrupt


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_ctrl_c_inside_a_finalizer_is_raised_at_the_next_log_line(default_ctrl_c):
    printed = []
    with InterruptGuard() as guard:
        log = guard.wrap(printed.append)
        log("before")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pytest reports the ignored exception as a warning
            _PressesCtrlCWhileFinalized()  # freed at once: its KeyboardInterrupt is swallowed
        assert guard.fired
        with pytest.raises(KeyboardInterrupt):
            log("after")
    assert printed == ["before"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored on exit


def test_ctrl_c_still_interrupts_at_once_and_nothing_fires_without_it(default_ctrl_c):
    with InterruptGuard() as guard:
        guard.check()
        assert not guard.fired
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
        assert guard.fired


def test_a_process_that_ignores_ctrl_c_keeps_ignoring_it():
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with InterruptGuard() as guard:
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
            guard.check()
            assert not guard.fired
    finally:
        signal.signal(signal.SIGINT, before)
