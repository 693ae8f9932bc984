"""A recording hook on the one place every photo file is decoded (``device.image_decode._decode``: the trainer's
cache, the converter's calibration, QAT and evaluation photos all go through it), for tests that check WHEN a photo
is read, e.g. that the test photos are read by nothing before the final evaluation."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Iterable, List, Set, Tuple

import pytest

import device.image_decode as image_decode

Event = Tuple[str, str]  #: ("read", resolved path) or ("mark", what happened)


class ReadLog:
    """The decoded files and the caller's marks, in the order they happened (thread-safe)."""

    def __init__(self) -> None:
        self.events: List[Event] = []
        self._lock = threading.Lock()

    def add(self, kind: str, what: str) -> None:
        with self._lock:
            self.events.append((kind, what))

    def mark(self, what: str) -> None:
        """Record that something happened (e.g. an epoch ended) between the reads."""
        self.add("mark", what)

    def read_positions(self, paths: Iterable[Path]) -> List[int]:
        """Positions in :attr:`events` of every read of one of ``paths``."""
        wanted: Set[str] = {str(Path(p).resolve()) for p in paths}
        return [i for i, (kind, what) in enumerate(self.events) if kind == "read" and what in wanted]

    def reads(self) -> List[str]:
        return [what for kind, what in self.events if kind == "read"]

    def mark_positions(self, prefix: str = "") -> List[int]:
        return [i for i, (kind, what) in enumerate(self.events) if kind == "mark" and what.startswith(prefix)]


def record_reads(monkeypatch: pytest.MonkeyPatch) -> ReadLog:
    """Install the hook for the rest of the test; returns the log it fills."""
    log = ReadLog()
    real = image_decode._decode

    def spy(source, *args, **kwargs):
        if isinstance(source, (str, Path)):
            log.add("read", str(Path(source).resolve()))
        return real(source, *args, **kwargs)

    monkeypatch.setattr(image_decode, "_decode", spy)
    return log
