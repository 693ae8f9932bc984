"""Live classification of a camera stream: frame sources and a testable frame loop.

A *frame source* is any object with ``read() -> H x W x 3 uint8 RGB array or None`` (``None``: stream ended) and
``close()``. The array may be a view (a BGR frame seen through ``[:, :, ::-1]``) of a buffer the next ``read``
overwrites: the loop never copies a frame, and the preprocessing reads the crop in place. Two real ones are provided, each importing its library only when opened:

* :class:`PiCamera2Source`: the Raspberry Pi camera through ``picamera2`` (Raspberry Pi OS: ``sudo apt install
  python3-picamera2``; create the venv with ``--system-site-packages`` to see it);
* :class:`OpenCVSource`: a USB webcam through OpenCV (``pip install opencv-python-headless``).

:func:`run_live` is the loop: read a frame, classify it, report ``LiveResult`` (predictions, FPS) to a callback.
Tests drive it with :class:`IterableSource` over synthetic frames.
"""
from __future__ import annotations

import importlib
import importlib.util
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, List, Optional, Protocol, Tuple

import numpy as np

from common.errors import EdgeKitError


class CameraError(EdgeKitError, RuntimeError):
    """A camera cannot be opened or stopped delivering frames."""


class FrameSource(Protocol):
    def read(self) -> Optional[np.ndarray]:
        """The next frame as ``H x W x 3`` uint8 RGB, or ``None`` when the stream has ended."""

    def close(self) -> None:
        """Release the camera."""


class IterableSource:
    """Frames from any iterable of RGB arrays (tests, video files decoded elsewhere)."""

    def __init__(self, frames: Iterable[np.ndarray]) -> None:
        self._frames: Iterator[np.ndarray] = iter(frames)

    def read(self) -> Optional[np.ndarray]:
        return next(self._frames, None)

    def close(self) -> None:
        pass


class OpenCVSource:
    """A USB webcam (or video file path) through OpenCV. OpenCV decodes every frame into the same BGR buffer;
    :meth:`read` returns an RGB view of it (no copy), valid until the next :meth:`read`."""

    def __init__(self, device: "int | str" = 0, width: Optional[int] = None, height: Optional[int] = None) -> None:
        try:
            self._cv2 = importlib.import_module("cv2")
        except ImportError as exc:
            raise CameraError(
                "OpenCV is not installed; install it for USB webcams: pip install opencv-python-headless"
            ) from exc
        self._cap = self._cv2.VideoCapture(device)
        if not self._cap.isOpened():
            raise CameraError(f"camera {device!r}: cannot open it (is it plugged in, and not used by another app?)")
        if width:
            self._cap.set(self._cv2.CAP_PROP_FRAME_WIDTH, width)
        if height:
            self._cap.set(self._cv2.CAP_PROP_FRAME_HEIGHT, height)
        self._buffer: Optional[np.ndarray] = None  # reused by cap.read while the frame size stays the same

    def read(self) -> Optional[np.ndarray]:
        ok, frame = self._cap.read(self._buffer)
        if not ok or frame is None:
            return None
        self._buffer = frame
        return frame[:, :, ::-1]

    def close(self) -> None:
        self._cap.release()


class PiCamera2Source:
    """The Raspberry Pi camera through picamera2 (640x480 preview stream by default); frames are RGB views of the
    array picamera2 returns (no further copy)."""

    def __init__(self, width: int = 640, height: int = 480) -> None:
        try:
            picamera2 = importlib.import_module("picamera2")
        except ImportError as exc:
            raise CameraError(
                "picamera2 is not installed: on Raspberry Pi OS run `sudo apt install python3-picamera2` and create "
                "the virtual environment with --system-site-packages"
            ) from exc
        self._cam = picamera2.Picamera2()
        # picamera2's "RGB888" is stored B, G, R in memory: read() swaps it to RGB.
        config = self._cam.create_preview_configuration(main={"size": (width, height), "format": "RGB888"})
        self._cam.configure(config)
        self._cam.start()

    def read(self) -> Optional[np.ndarray]:
        frame = self._cam.capture_array()
        return frame[:, :, 2::-1] if frame is not None else None

    def close(self) -> None:
        self._cam.stop()
        self._cam.close()


def open_camera(spec: str = "auto", width: int = 640, height: int = 480) -> FrameSource:
    """Open a camera: ``"auto"`` (Pi camera when picamera2 is installed, else USB webcam 0), ``"pi"``, a webcam
    index (``"0"``, ``"1"``) or a device/video path (``"/dev/video2"``)."""
    if spec == "pi":
        return PiCamera2Source(width, height)
    if spec == "auto":
        if importlib.util.find_spec("picamera2") is not None:
            return PiCamera2Source(width, height)
        return OpenCVSource(0, width, height)
    return OpenCVSource(int(spec) if spec.isdigit() else spec, width, height)


@dataclass
class LiveResult:
    """One classified frame."""

    frame_index: int
    predictions: List[Tuple[str, float]]
    fps: float  #: frames per second, smoothed over the recent frames (includes camera wait)
    seconds: float  #: time to classify this frame (preprocess + invoke + postprocess)


def run_live(
    classifier,
    source: FrameSource,
    on_result: Callable[[LiveResult, np.ndarray], None],
    top_k: int = 1,
    threshold: Optional[float] = None,
    max_frames: Optional[int] = None,
    clock: Callable[[], float] = time.perf_counter,
) -> int:
    """Classify frames from ``source`` until it ends, ``max_frames`` are done, or Ctrl-C; returns the frame count.

    ``on_result(result, frame)`` is called for every frame (print it, draw it). FPS is an exponential moving
    average (factor 0.1) of the per-frame rate. The source is closed at the end.
    """
    count = 0
    fps = 0.0
    last = clock()
    try:
        while max_frames is None or count < max_frames:
            frame = source.read()
            if frame is None:
                break
            start = clock()
            predictions = classifier.classify(frame, top_k=top_k, threshold=threshold)
            now = clock()
            dt = max(now - last, 1e-9)
            last = now
            fps = 1.0 / dt if count == 0 else 0.9 * fps + 0.1 / dt
            on_result(LiveResult(count, predictions, fps, now - start), frame)
            count += 1
    except KeyboardInterrupt:
        pass
    finally:
        source.close()
    return count


def format_live(result: LiveResult) -> str:
    """One status line: ``label  87.5%  | 14.2 FPS``."""
    if result.predictions:
        label, score = result.predictions[0]
        text = f"{label[:40]:<40} {score * 100:5.1f}%"
    else:
        text = f"{'(below threshold)':<40} {'':6}"
    return f"{text} | {result.fps:5.1f} FPS | {result.seconds * 1000:6.1f} ms/frame"
