"""Plain progress lines for long steps (feature extraction, epochs): readable in a terminal and in CI logs."""
from __future__ import annotations

import sys
import time
from typing import Optional, TextIO


class Progress:
    """Counts items of one step and prints ``label: done/total (rate/s)`` at most every ``interval`` seconds."""

    def __init__(self, label: str, total: int, unit: str = "photos", enabled: bool = True,
                 interval: float = 2.0, stream: Optional[TextIO] = None) -> None:
        self.label, self.total, self.unit, self.enabled = label, total, unit, enabled
        self.interval = interval
        self.stream = stream or sys.stdout
        self.done = 0
        self.start = time.perf_counter()
        self._last = self.start

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    @property
    def rate(self) -> float:
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    def update(self, n: int) -> None:
        self.done += n
        now = time.perf_counter()
        if self.enabled and now - self._last >= self.interval and self.done < self.total:
            self._last = now
            self._print()

    def finish(self, extra: str = "") -> float:
        """Print the final line; returns the elapsed seconds."""
        if self.enabled:
            self._print(extra)
        return self.elapsed

    def _print(self, extra: str = "") -> None:
        line = f"{self.label}: {self.done}/{self.total} {self.unit} ({self.rate:.1f} {self.unit}/s, {self.elapsed:.1f} s)"
        print(line + (f" {extra}" if extra else ""), file=self.stream, flush=True)


def say(message: str, enabled: bool = True) -> None:
    if enabled:
        print(message, file=sys.stdout, flush=True)
