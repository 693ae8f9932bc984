#!/usr/bin/env bash
# Create .venv-mediapipe: MediaPipe Tasks (the `mediapipe` package), the classifier runtime most Android, iOS and web
# apps load models with, for the runtime checks in tests/runtimes (their pytest runs in this venv).
#
#   bash scripts/mediapipe_venv.sh          # uses $MEDIAPIPE_PYTHON, else $PYTHON (setup.sh's), else python3
#
# mediapipe 1.2.3 is one wheel per platform for every Python 3 ("py3-none": Linux x86-64 and aarch64 with glibc
# 2.28+, macOS 11+ arm64, Windows x86-64); its dependencies (opencv-contrib-python, matplotlib, sounddevice, absl-py
# ~=2.3) conflict with the training stack, so it never goes into .venv. Also installed: numpy and Pillow (edge-kit's
# own preprocessing runs in the tests, from the repository via PYTHONPATH) and pytest. No user install needs it.
# Re-running is cheap: an existing venv that already imports this mediapipe version is left as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-mediapipe
MEDIAPIPE=1.2.3  # the version the checks and docs/runtimes.md's numbers were made with

ready() { "$VENV/bin/python" -c "import mediapipe, numpy, PIL, pytest; assert mediapipe.__version__ == '$MEDIAPIPE'" 2>/dev/null; }
if [ -x "$VENV/bin/python" ] && ready; then
    echo "$VENV: mediapipe $MEDIAPIPE already installed"
    exit 0
fi
PY="${MEDIAPIPE_PYTHON:-${PYTHON:-python3}}"
if ! "$PY" -c 'import sys, venv, ensurepip; sys.exit(not (3, 9) <= sys.version_info[:2] <= (3, 14))' 2>/dev/null; then
    echo "scripts/mediapipe_venv.sh: '$PY' is not a Python 3.9-3.14 that can make virtual environments (mediapipe" \
        "$MEDIAPIPE needs one); set MEDIAPIPE_PYTHON=/path/to/python3.12" >&2
    exit 2
fi
rm -rf "$VENV"
"$PY" -m venv "$VENV"
if ! { "$VENV/bin/python" -m pip install -q --upgrade pip &&
       "$VENV/bin/python" -m pip install -q "mediapipe==$MEDIAPIPE" numpy Pillow pytest; }; then
    rm -rf "$VENV"
    echo "scripts/mediapipe_venv.sh: pip could not install mediapipe==$MEDIAPIPE (above); it has wheels only for Linux" \
        "x86-64/aarch64 (glibc 2.28+), macOS 11+ arm64 and Windows x86-64, from PyPI (a network or proxy problem" \
        "shows above too)" >&2
    exit 1
fi
if ! ready; then
    echo "scripts/mediapipe_venv.sh: mediapipe $MEDIAPIPE is installed in $VENV but does not import (above)" >&2
    exit 1
fi
echo "$VENV ready: mediapipe $MEDIAPIPE ($("$VENV/bin/python" -c 'import platform; print("Python", platform.python_version())'))"
