"""The live frame loop, driven by a fake frame source (no camera needed)."""
from __future__ import annotations

import numpy as np
import pytest

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
    assert [r.fps for r in seen] == pytest.approx([20.0] * 6)  # 50 ms from one frame's result to the next
    assert [r.seconds for r in seen] == pytest.approx([0.025] * 6)  # the classify call between two clock reads
    line = format_live(seen[0])
    assert "macaw" in line and "FPS" in line and "%" in line


class ScriptedClock:
    """A fake clock returning the given readings in turn."""

    def __init__(self, readings) -> None:
        self.readings = iter(readings)

    def __call__(self) -> float:
        return next(self.readings)


def test_fps_is_a_moving_average_of_the_frame_rate():
    """FPS = 1/dt for the first frame, then 0.9 * previous + 0.1 / dt (by hand: frames 0.1 s, 0.1 s, then 0.5 s
    apart give 10, 10, then 0.9 * 10 + 0.1 * 2 = 9.2)."""

    class Instant:
        def classify(self, frame, top_k, threshold):
            return [("x", 1.0)]

    seen = []
    frames = [np.zeros((2, 2, 3), np.uint8)] * 3
    clock = ScriptedClock([0.0, 0.05, 0.1, 0.15, 0.2, 0.6, 0.7])  # start, then (before, after) each classify
    assert run_live(Instant(), IterableSource(frames), lambda r, f: seen.append(r), clock=clock) == 3
    assert [r.fps for r in seen] == pytest.approx([10.0, 10.0, 9.2])
    assert [r.seconds for r in seen] == pytest.approx([0.05, 0.05, 0.1])


def test_frame_loop_stops_after_max_frames(coral_classifier):
    frames = (np.full((480, 640, 3), 128, np.uint8) for _ in range(100))
    assert run_live(coral_classifier, IterableSource(frames), lambda r, f: None, max_frames=3) == 3


def test_opencv_source_reuses_one_buffer_and_hands_over_rgb_views(monkeypatch):
    """The webcam loop neither allocates nor copies frames: OpenCV decodes into the previous frame's buffer and the
    loop gets an RGB view of that BGR buffer (what the preprocessing reads in place)."""
    import importlib

    from device import camera

    bgr = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    given = []

    class Capture:
        def __init__(self, device):
            self.frames = 2

        def isOpened(self):
            return True

        def set(self, *args):
            pass

        def read(self, image=None):
            given.append(image)
            if self.frames == 0:
                return False, None
            self.frames -= 1
            if image is None:
                image = np.empty_like(bgr)
            image[...] = bgr  # what cv2.VideoCapture.read(image) does when the size matches
            return True, image

        def release(self):
            pass

    fake = type("cv2", (), {"VideoCapture": Capture, "CAP_PROP_FRAME_WIDTH": 3, "CAP_PROP_FRAME_HEIGHT": 4})
    real_import = importlib.import_module
    monkeypatch.setattr(camera.importlib, "import_module", lambda name: fake if name == "cv2" else real_import(name))
    source = camera.OpenCVSource(0)
    first, second = source.read(), source.read()
    assert np.array_equal(first, bgr[:, :, ::-1]) and np.array_equal(second, bgr[:, :, ::-1])
    assert given[0] is None and given[1] is not None and np.shares_memory(first, second)
    assert source.read() is None
