#!/usr/bin/env bash
# Set up everything edge-kit needs, from a machine that has only Python 3.11, pip and git.
#
#   bash scripts/setup.sh            # system packages (apt, when root or with sudo) + both virtual environments
#
# Creates:
#   .venv          training, conversion and the device runtime (TensorFlow 2.19, tf-keras, tflite-support, numpy 1.26)
#   .venv-device   what a Raspberry Pi gets: the `device` extra only (numpy 2, Pillow, ai-edge-litert), no TensorFlow
# Re-running is cheap: existing environments are updated, not rebuilt.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"

# System packages: libusb for tflite-support's metadata writers; kotlin + junit4 for the Android core's unit tests;
# chromium to render and check the HTML report. Skipped when unavailable (not root, no apt).
APT_PACKAGES="libusb-1.0-0 kotlin junit4 chromium"
if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo -n"
    missing=""
    for p in $APT_PACKAGES; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
    if [ -n "$missing" ]; then
        echo "== apt-get install$missing"
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
    fi
else
    echo "warning: no apt-get; install $APT_PACKAGES yourself (only needed for metadata writing and tests)" >&2
fi

echo "== .venv (train, convert, device, dev)"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[convert,device,dev]"

echo "== .venv-device (device extra only, numpy 2, no TensorFlow)"
[ -x .venv-device/bin/python ] || "$PYTHON" -m venv .venv-device
.venv-device/bin/python -m pip install -q --upgrade pip
.venv-device/bin/python -m pip install -q -e ".[device]" "numpy>=2" pytest
echo "setup done"
