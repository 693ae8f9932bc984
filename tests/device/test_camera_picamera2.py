"""The Raspberry Pi camera path (``--camera pi`` / ``auto``) with a fake ``picamera2`` module (no Pi needed)."""
from __future__ import annotations

import importlib.machinery
import sys
import types

import numpy as np
import pytest

from device.camera import CameraError, PiCamera2Source, open_camera


class FakePicamera2:
    """Records what edge-kit asks of picamera2; frames are B, G, R in memory as picamera2's "RGB888" is."""

    instances: list = []

    def __init__(self) -> None:
        self.config = None
        self.calls: list = []
        FakePicamera2.instances.append(self)

    def create_preview_configuration(self, main):
        return {"main": dict(main)}

    def configure(self, config) -> None:
        self.config = config

    def start(self) -> None:
        self.calls.append("start")

    def capture_array(self):
        h, w = self.config["main"]["size"][1], self.config["main"]["size"][0]
        frame = np.zeros((h, w, 3), np.uint8)
        frame[..., 0], frame[..., 1], frame[..., 2] = 10, 20, 30  # B, G, R
        return frame

    def stop(self) -> None:
        self.calls.append("stop")

    def close(self) -> None:
        self.calls.append("close")


@pytest.fixture()
def fake_picamera2(monkeypatch):
    module = types.ModuleType("picamera2")
    module.__spec__ = importlib.machinery.ModuleSpec("picamera2", None)
    module.Picamera2 = FakePicamera2
    FakePicamera2.instances.clear()
    monkeypatch.setitem(sys.modules, "picamera2", module)
    return module


def test_pi_camera_frames_arrive_as_rgb_at_the_requested_size(fake_picamera2):
    source = open_camera("pi", width=320, height=240)
    assert isinstance(source, PiCamera2Source)
    cam = FakePicamera2.instances[-1]
    assert cam.config["main"] == {"size": (320, 240), "format": "RGB888"}
    frame = source.read()
    assert frame.shape == (240, 320, 3)  # an RGB view of the BGR buffer: the contract reads it in place, no copy
    assert frame[0, 0].tolist() == [30, 20, 10]  # R, G, B
    source.close()
    assert cam.calls == ["start", "stop", "close"]


def test_auto_picks_the_pi_camera_when_picamera2_is_installed(fake_picamera2):
    assert isinstance(open_camera("auto"), PiCamera2Source)


def test_missing_picamera2_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "picamera2", None)  # import fails as when it is not installed
    with pytest.raises(CameraError, match=r"sudo apt install python3-picamera2.*--system-site-packages"):
        open_camera("pi")
