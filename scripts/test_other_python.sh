#!/usr/bin/env bash
# Check a second Python version: a full environment (.venv-py<version>) made as setup.sh makes .venv, then the device
# tests and the tiny end-to-end run (train -> convert -> classify -> report) with it.
# Usage: scripts/test_other_python.sh PYTHON [JUNIT-FOLDER]     e.g. scripts/test_other_python.sh python3.13
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=$1
results=${2:-}
if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "error: second Python '$PYTHON' not found" >&2; exit 2
fi
version=$("$PYTHON" -c 'import sys; print("%d%d" % sys.version_info[:2])')
VENV=".venv-py$version"
echo "== $VENV (train, convert, device, dev) with $("$PYTHON" --version)"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV" || { rm -rf "$VENV"; exit 1; }
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -e ".[train,convert,device,dev]"
xml() { [ -z "$results" ] || echo "--junitxml=$results/py$version-$1.xml"; }
status=0
"$VENV/bin/python" -m pytest tests/device -q $(xml device) || status=1
# The console scripts the end-to-end test starts are this venv's, through sys.executable.
"$VENV/bin/python" -m pytest tests -q -k "test_photos_to_app_asset_and_report" $(xml e2e) || status=1
exit $status
