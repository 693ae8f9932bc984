#!/usr/bin/env bash
# Mutation check of the core rules (crop box rounding, ranking ties and threshold, the auto score type, quantize
# rounding, labels files, per-class metrics): each rule broken on purpose, one at a time, in a scratch copy of the
# working tree, must fail a test. The table and the details are in scripts/mutants.py; your files are never changed.
# Usage: bash scripts/mutants.sh [--kotlin] [--only TEXT] [--list]        (PYTHON overrides .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-.venv/bin/python}" scripts/mutants.py "$@"
