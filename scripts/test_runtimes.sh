#!/usr/bin/env bash
# Run the runtime checks (tests/runtimes): edge-kit's exports and `edge-convert metadata` models through MediaPipe
# Tasks' ImageClassifier (in .venv-mediapipe, where this pytest runs) and the TFLite Task Library's (tflite-support
# 0.4.4 in .venv-reference), against edge-classify (.venv-device). Installs nothing: bash scripts/mediapipe_venv.sh
# and bash scripts/reference_venv.sh make the venvs (scripts/test.sh does). Without .venv-mediapipe this says so and
# exits 0, except in CI (CI=true), where it is a failure.
# Usage: scripts/test_runtimes.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-mediapipe
if [ ! -x "$VENV/bin/python" ]; then
    if [ "${CI:-}" = true ]; then
        echo "error: no $VENV (bash scripts/mediapipe_venv.sh failed?); CI requires the MediaPipe Tasks checks" >&2
        exit 1
    fi
    echo "skipped: no $VENV for the MediaPipe Tasks / Task Library checks (make it: bash scripts/mediapipe_venv.sh)"
    exit 0
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
exec "$VENV/bin/python" -m pytest tests/runtimes -q "$@"
