"""Keep freed heap memory for the next photo instead of handing it back to the kernel (glibc only).

Every photo allocates and frees the same few arrays: the decoded pixels, the resize's intermediates, the model
input (each a few hundred KB). glibc's ``malloc`` returns the top of its heap to the kernel as soon as about 1 MB
lies free there, so the next photo grows the heap again and the kernel maps and zeroes it page by page: hundreds
of minor page faults per photo, a large share of a small model's folder throughput (``benchmarks/bench_device.py``;
numbers in docs/benchmarks.md), and more when decoding threads fault in parallel, since they share the process's
memory map.

:func:`keep_heap_pad` asks glibc to keep a pad of freed memory at the top of the heap (``mallopt(M_TOP_PAD)``,
the same knob as the ``MALLOC_TOP_PAD_`` environment variable). The process then holds at most that much more
memory than it uses; nothing else changes. Elsewhere (macOS, Windows, musl) it does nothing.
"""
from __future__ import annotations

import ctypes
import sys
import threading

#: glibc's ``M_TOP_PAD`` parameter number for ``mallopt`` (``malloc.h``).
M_TOP_PAD = -2

#: Default pad: a few photos' worth of intermediates at any model size edge-kit trains, small for a Raspberry Pi.
DEFAULT_PAD_BYTES = 16 * 1024 * 1024

_lock = threading.Lock()
_applied_pad = 0


def keep_heap_pad(pad_bytes: int = DEFAULT_PAD_BYTES) -> bool:
    """Ask the C library to keep ``pad_bytes`` of freed memory at the top of the heap; True when it did.

    Only raises the pad (a smaller request than one already made keeps the larger one), so calling it once per
    batch is cheap. Process-wide, so opt-in: ``edge-classify`` and the worker processes of
    :class:`device.process_pool.ProcessPoolClassifier` call it; a library caller calls it before its own loop of
    :meth:`~device.classifier.Classifier.classify` or :func:`~device.batch.classify_many` calls. Returns False
    where there is no glibc ``mallopt``.
    """
    global _applied_pad
    if pad_bytes < 0:
        raise ValueError(f"pad_bytes must be >= 0, got {pad_bytes}")
    with _lock:
        if pad_bytes <= _applied_pad:
            return True
        mallopt = _glibc_mallopt()
        if mallopt is None or mallopt(M_TOP_PAD, int(min(pad_bytes, 2**31 - 1))) != 1:
            return False
        _applied_pad = pad_bytes
        return True


def _glibc_mallopt():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)  # the C library this process already runs on
        if not hasattr(libc, "gnu_get_libc_version"):  # musl's mallopt is a stub that ignores its argument
            return None
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return None
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return mallopt
