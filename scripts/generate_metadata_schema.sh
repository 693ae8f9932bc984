#!/usr/bin/env bash
# Regenerate converter/tflite_metadata_fb/metadata_schema_py_generated.py from metadata_schema.fbs with flatc.
#
#   bash scripts/generate_metadata_schema.sh          # needs flatc (Debian/Ubuntu: apt-get install flatbuffers-compiler)
#
# metadata_schema.fbs is the TFLite metadata schema (Apache-2.0, The TensorFlow Authors), copied unchanged from the
# tflite-support 0.4.4 wheel (tensorflow_lite_support/metadata/metadata_schema.fbs in it, schema version 1.5.0;
# upstream: github.com/tensorflow/tflite-support). The committed bindings were generated with
# flatc 2.0.8 (FLATC_VERSION below); another flatc version prints a warning, and its output must pass the metadata
# tests (tests/converter/test_metadata_writer.py) before it is committed.
set -euo pipefail
cd "$(dirname "$0")/.."
FLATC="${FLATC:-flatc}"
FLATC_VERSION="2.0.8"
DIR=converter/tflite_metadata_fb
SCHEMA_SHA256="2d3386ba124690ba1195bfc1d51ac814843bd675a7c845afab7c001c7891449e"

command -v "$FLATC" >/dev/null || { echo "flatc not found: apt-get install flatbuffers-compiler (or set FLATC=)" >&2; exit 2; }
found="$("$FLATC" --version | awk '{print $NF}')"
[ "$found" = "$FLATC_VERSION" ] || echo "warning: flatc $found, the committed bindings come from flatc $FLATC_VERSION" >&2
echo "$SCHEMA_SHA256  $DIR/metadata_schema.fbs" | sha256sum -c --quiet - \
    || { echo "$DIR/metadata_schema.fbs differs from the tflite-support 0.4.4 schema; update SCHEMA_SHA256 on purpose" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$FLATC" --python --gen-object-api --gen-onefile -o "$tmp" "$DIR/metadata_schema.fbs" 2>"$tmp/flatc.log" \
    || { cat "$tmp/flatc.log" >&2; exit 1; }
{
    echo "# GENERATED FILE - DO NOT EDIT. Regenerate with: bash scripts/generate_metadata_schema.sh"
    echo "# Source: metadata_schema.fbs in this folder (TFLite metadata schema 1.5.0, from tflite-support 0.4.4,"
    echo "# Copyright 2020 The TensorFlow Authors, Apache License 2.0), compiled by flatc $found"
    echo "# (flatc --python --gen-object-api --gen-onefile). Runtime: the flatbuffers PyPI package."
    cat "$tmp/metadata_schema_generated.py"
} > "$DIR/metadata_schema_py_generated.py"
echo "wrote $DIR/metadata_schema_py_generated.py (flatc $found)"
