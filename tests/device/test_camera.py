"""The live frame loop, driven by a fake frame source (no camera needed)."""
from __future__ import annotations

import numpy as np

from device.camera import IterableSource, format_live, run_live
from device.preprocess import decode_image


class Clock:
    """A fake clock advancing 50 ms per call pair (20 FPS)."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        self.t += 0.025
        return self.t


def test_frame_loop_classifies_each_frame_and_reports_fps(coral_classifier, sanity_dir):
    frames = [decode_image(sanity_dir / "coral_parrot.jpg"), decode_image(sanity_dir / "coral_bird.bmp")] * 3
    seen = []
    closed = []
    source = IterableSource(frames)
    source.close = lambda: closed.append(True)  # type: ignore[method-assign]
    count = run_live(coral_classifier, source, lambda r, f: seen.append(r), top_k=1, clock=Clock())
    assert count == 6 and closed == [True]
    assert [r.predictions[0][0] for r in seen[:2]] == ["macaw", "chickadee"]
    assert seen[-1].fps == np.float64(seen[-1].fps) and 15 < seen[-1].fps < 25
    line = format_live(seen[0])
    assert "macaw" in line and "FPS" in line and "%" in line


def test_frame_loop_stops_after_max_frames(coral_classifier):
    frames = (np.full((480, 640, 3), 128, np.uint8) for _ in range(100))
    assert run_live(coral_classifier, IterableSource(frames), lambda r, f: None, max_frames=3) == 3
