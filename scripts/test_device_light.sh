#!/usr/bin/env bash
# Run the device tests in the light environment (numpy 2, Pillow, ai-edge-litert; no TensorFlow).
# Installs nothing: the venv .venv-device is created by the CI script (or by hand:
#   python -m venv .venv-device && .venv-device/bin/pip install -e '.[device]' pytest).
# Usage: scripts/test_device_light.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${EDGE_KIT_DEVICE_VENV:-.venv-device}"
if [ ! -x "$VENV/bin/python" ]; then
    echo "error: $VENV/bin/python not found; create the light venv first (see the comment in $0)" >&2
    exit 2
fi
if "$VENV/bin/python" -c "import tensorflow" 2>/dev/null; then
    echo "error: TensorFlow is installed in $VENV; the light environment must not have it" >&2
    exit 2
fi
exec "$VENV/bin/python" -m pytest tests/device -q "$@"
