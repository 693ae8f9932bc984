#!/usr/bin/env bash
# The older interpreter, tflite-runtime 2.14 (its last release: wheels for CPython <= 3.11, built for numpy 1.x), as
# the edge-kit[device-tflite-runtime] extra installs it: a venv .venv-tflite-runtime with that extra, numpy 1.26 and
# ai-edge-litert (to compare the two), then the device tests.
# Usage: scripts/test_tflite_runtime.sh PYTHON [extra pytest args]      (PYTHON: 3.10 or 3.11)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=$1; shift
VENV=.venv-tflite-runtime
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV" || { rm -rf "$VENV"; exit 1; }
    "$VENV/bin/python" -m pip install -q --upgrade pip || { rm -rf "$VENV"; exit 1; }
fi
"$VENV/bin/python" -m pip install -q -e ".[device-tflite-runtime]" "numpy<2" "ai-edge-litert>=2.0" "pytest>=7.4"
EDGE_KIT_DEVICE_VENV=$VENV exec bash scripts/test_device_light.sh "$@"
