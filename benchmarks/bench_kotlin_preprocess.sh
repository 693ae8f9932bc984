#!/usr/bin/env bash
# Time the Kotlin core's preprocessing of a 640x480 frame on the JVM, the resize filters of contract versions 1-3 interleaved
# (android-sample/core/src/test/kotlin/dev/edgekit/core/PreprocessBenchmark.kt). Needs kotlinc and java.
# Usage: benchmarks/bench_kotlin_preprocess.sh [ROUNDS] [CALLS_PER_ROUND]
set -euo pipefail
cd "$(dirname "$0")/.."
CORE="android-sample/core/src"
BUILD="$(mktemp -d "${TMPDIR:-/tmp}/edge-kit-kotlin-bench.XXXXXX")"
trap 'rm -rf "$BUILD"' EXIT
"${KOTLINC:-kotlinc}" "$CORE/main/kotlin" "$CORE/test/kotlin/dev/edgekit/core/PreprocessBenchmark.kt" -include-runtime \
    -d "$BUILD/bench.jar" 2>&1 | grep -v -e "^OpenJDK 64-Bit Server VM warning" -e "^warning:" || true
java -cp "$BUILD/bench.jar" dev.edgekit.core.PreprocessBenchmarkKt "$@"
