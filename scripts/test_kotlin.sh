#!/usr/bin/env bash
# Compile the Android sample's plain-Kotlin core (android-sample/core) and its JUnit 4 tests with kotlinc, and run
# them on the JVM. No Gradle, no Android SDK: kotlinc 1.3+ (Debian `kotlin`), JUnit 4 and hamcrest (Debian `junit4`).
#
# The tests read tests/golden/ and the parity files, and the reference models in ../shared/assets (or
# $EDGE_KIT_ASSETS). Exits non-zero on a compile error or a failing test; prints JUnit's summary.
# Usage: scripts/test_kotlin.sh            (KOTLINC, JUNIT_JAR, HAMCREST_JAR override the tools' locations)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
KOTLINC="${KOTLINC:-kotlinc}"
JUNIT_JAR="${JUNIT_JAR:-/usr/share/java/junit4.jar}"
HAMCREST_JAR="${HAMCREST_JAR:-/usr/share/java/hamcrest-core.jar}"
CORE="android-sample/core/src"

for tool in "$KOTLINC" java; do
    command -v "$tool" >/dev/null || { echo "error: $tool not found (apt-get install kotlin default-jdk)" >&2; exit 2; }
done
for jar in "$JUNIT_JAR" "$HAMCREST_JAR"; do
    [ -f "$jar" ] || { echo "error: $jar not found (apt-get install junit4, or set JUNIT_JAR/HAMCREST_JAR)" >&2; exit 2; }
done

BUILD="$(mktemp -d "${TMPDIR:-/tmp}/edge-kit-kotlin.XXXXXX")"
trap 'rm -rf "$BUILD"' EXIT
start=$(date +%s)

echo "== compiling $CORE/main + $CORE/test with $("$KOTLINC" -version 2>&1 | grep -o 'kotlinc-jvm [^ ]*')"
"$KOTLINC" "$CORE/main/kotlin" "$CORE/test/kotlin" -cp "$JUNIT_JAR:$HAMCREST_JAR" -include-runtime \
    -d "$BUILD/core-tests.jar" 2>&1 | grep -v -e "^OpenJDK 64-Bit Server VM warning" -e "^warning: unable to find kotlin-stdlib" || true
[ -f "$BUILD/core-tests.jar" ] || { echo "error: compilation failed" >&2; exit 1; }
compiled=$(date +%s)

# Every *Test.kt under the test sources is a test class of package dev.edgekit.core.
CLASSES=$(find "$CORE/test/kotlin" -name '*Test.kt' -printf '%f\n' | sed 's/\.kt$//' | sort | sed 's/^/dev.edgekit.core./')
echo "== running: $(echo $CLASSES | tr ' ' ',')"
set +e
java -Dedgekit.repo="$ROOT" -cp "$BUILD/core-tests.jar:$JUNIT_JAR:$HAMCREST_JAR" org.junit.runner.JUnitCore $CLASSES
status=$?
set -e
end=$(date +%s)
echo "== compile $((compiled - start)) s, tests $((end - compiled)) s; exit status $status"
exit $status
