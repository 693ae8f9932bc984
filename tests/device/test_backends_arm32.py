"""32-bit ARM (32-bit Raspberry Pi OS): with no interpreter installed, edge-classify says in one line what works."""
from __future__ import annotations

import io

import pytest

from device import backends, cli


@pytest.fixture()
def no_interpreter(monkeypatch):
    monkeypatch.delenv("EDGE_KIT_BACKEND", raising=False)
    monkeypatch.setattr(backends, "installed_backends", lambda: [])


def test_armv7_python311_is_told_to_install_tflite_runtime_or_use_64_bit(no_interpreter, monkeypatch, coral_quant):
    monkeypatch.setattr(backends.platform, "machine", lambda: "armv7l")
    monkeypatch.setattr(backends.sys, "version_info", (3, 11, 2, "final", 0))
    err = io.StringIO()
    code = cli.main([str(coral_quant), "photo.jpg"], stdout=io.StringIO(), stderr=err)
    assert code == 2
    lines = err.getvalue().strip().splitlines()
    assert len(lines) == 1
    assert "armv7l" in lines[0] and "Python 3.11" in lines[0]
    assert "`pip install tflite-runtime`" in lines[0] and "64-bit Raspberry Pi OS" in lines[0]


@pytest.mark.parametrize("machine, python", [("armv7l", (3, 13)), ("armv6l", (3, 11))])
def test_arm32_without_any_wheel_is_refused_with_what_is_supported(no_interpreter, monkeypatch, machine, python):
    monkeypatch.setattr(backends.platform, "machine", lambda: machine)
    monkeypatch.setattr(backends.sys, "version_info", python + (0, "final", 0))
    with pytest.raises(backends.ModelError) as info:
        backends.resolve_backend()
    message = str(info.value)
    assert "\n" not in message
    assert f"no TFLite interpreter exists for 32-bit ARM ({machine}) with Python {python[0]}.{python[1]}" in message
    assert "64-bit Raspberry Pi OS" in message and "Python 3.11" in message


def test_other_machines_keep_the_generic_install_hint(no_interpreter, monkeypatch):
    monkeypatch.setattr(backends.platform, "machine", lambda: "aarch64")
    with pytest.raises(backends.ModelError, match=r"no TFLite interpreter is installed\. Install one: `pip install ai-edge-litert`"):
        backends.resolve_backend()
