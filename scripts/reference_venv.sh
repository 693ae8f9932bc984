#!/usr/bin/env bash
# Create .venv-reference: tflite-support 0.4.4, the REFERENCE implementation of the TFLite metadata format.
#
#   bash scripts/reference_venv.sh            # uses $REFERENCE_PYTHON, else python3.11 / pyenv's 3.11
#
# Used only by the tests marked `reference` (tests/converter/test_metadata_reference.py): they run
# tflite-support's MetadataDisplayer in this venv, in a subprocess, over models written by edge-kit's own metadata
# writer, and by scripts/make_metadata_fixtures.py to record its output once. No user install needs it.
# tflite-support 0.4.4 (its last release) has wheels for CPython 3.7-3.11 on x86-64 (Linux, macOS, Windows) only,
# built against numpy 1 and protobuf 3, hence the pins below; nothing else goes into this venv.
# Re-running is cheap: an existing venv that already imports tflite-support is left as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-reference

if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import tensorflow_lite_support.metadata.python.metadata" 2>/dev/null; then
    echo "$VENV: tflite-support already installed"
    exit 0
fi
PY="${REFERENCE_PYTHON:-}"
if [ -z "$PY" ]; then
    for candidate in python3.11 "$HOME"/.pyenv/versions/3.11*/bin/python; do
        if command -v "$candidate" >/dev/null 2>&1; then PY="$candidate"; break; fi
    done
fi
if [ -z "$PY" ] || ! "$PY" -c 'import sys, platform; sys.exit(sys.version_info[:2] != (3, 11) or platform.machine() not in ("x86_64", "AMD64"))' 2>/dev/null; then
    echo "scripts/reference_venv.sh: needs CPython 3.11 on x86-64 (tflite-support 0.4.4 has no other wheels); set REFERENCE_PYTHON=/path/to/python3.11" >&2
    exit 2
fi
rm -rf "$VENV"
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q "tflite-support==0.4.4" "numpy<2" "protobuf>=3.20,<4"
if ! "$VENV/bin/python" -c "from tensorflow_lite_support.metadata.python import metadata; print('$VENV ready: tflite-support 0.4.4')"; then
    echo "scripts/reference_venv.sh: tflite-support 0.4.4 is installed but does not import (above); its native module" \
        "needs libusb-1.0.so.0: apt-get install libusb-1.0-0 (scripts/setup.sh does), then re-run" >&2
    exit 1
fi
