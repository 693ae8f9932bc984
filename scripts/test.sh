#!/usr/bin/env bash
# Set up (scripts/setup.sh) and run every test of edge-kit:
#   1. device tests in .venv, in a process of their own (the device runtime never shares a process with TensorFlow)
#   2. trainer, converter and pipeline tests in .venv (slow end-to-end ones included; -m "not slow" to skip them)
#   3. device tests again in .venv-device: numpy 2, ai-edge-litert, no TensorFlow (what a Raspberry Pi has)
#   4. the Android sample's plain-Kotlin core: compiled with kotlinc and run with JUnit against the golden files
#   4b. the runtimes apps load models with: every export and `edge-convert metadata` models through MediaPipe Tasks
#      (.venv-mediapipe) and the TFLite Task Library (.venv-reference), against edge-classify (tests/runtimes)
#   5. only when EDGE_KIT_OTHER_PYTHON names a second Python (CI does): the device tests and a tiny
#      train -> convert -> classify run with that Python (scripts/test_other_python.sh)
#   6. only when EDGE_KIT_TFLITE_RUNTIME_PYTHON names a Python <= 3.11 (CI does): the device tests with the older
#      interpreter, tflite-runtime 2.14 on numpy 1.26 (scripts/test_tflite_runtime.sh)
#   7. an emulated 64-bit Raspberry Pi OS (scripts/pi_emulated.sh): pip install "edge-kit[device]", the device tests,
#      edge-classify, and the cross-CPU parity promise (tests/pi); needs root and binfmt_misc. It runs in CI
#      (CI=true) or with EDGE_KIT_PI=1 (it takes a while: it builds a Debian arm64 root file system the first time)
#   8. the same on an emulated 32-bit Raspberry Pi OS (armhf, armv7l: tflite-runtime, Debian's numpy and Pillow),
#      under the same conditions as step 7, and at the same time as step 7 (each is one emulated process at a time)
# The Python is setup.sh's: PYTHON=python3.12 bash scripts/test.sh tests with 3.12.
# Usage: bash scripts/test.sh [--no-setup] [extra pytest args for step 2]
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--no-setup" ]; then shift; else bash scripts/setup.sh || exit 1; fi
# tflite-support 0.4.4, the metadata format's reference, in its own Python 3.11 venv (tests marked `reference`; they
# skip without it, except in CI).
bash scripts/reference_venv.sh || echo "warning: no .venv-reference; the tflite-support reference tests will skip" >&2
# MediaPipe Tasks (mediapipe 1.2.3) in its own venv: the runtime checks (step 4b) run there (skipped without it,
# except in CI).
bash scripts/mediapipe_venv.sh || echo "warning: no .venv-mediapipe; the MediaPipe Tasks checks will skip" >&2
export TF_CPP_MIN_LOG_LEVEL=2 PYTHONDONTWRITEBYTECODE=1
results=$(mktemp -d)
status=0
step() {  # step NAME COMMAND...: run, remember the exit code
    local name=$1; shift
    echo; echo "=================== $name"
    local t0=$SECONDS
    "$@"; local rc=$?
    echo "=================== $name: exit $rc in $((SECONDS - t0)) s"
    [ $rc -eq 0 ] || status=1
}
step "device tests (.venv)" .venv/bin/python -m pytest tests/device -q --junitxml="$results/device.xml"
step "trainer, converter, pipeline tests" .venv/bin/python -m pytest tests -q --ignore=tests/device --ignore=tests/pi \
    --ignore=tests/runtimes \
    --junitxml="$results/main.xml" "$@"
step "device tests (.venv-device, numpy 2, no TensorFlow)" bash scripts/test_device_light.sh \
    --junitxml="$results/light.xml"
if [ -f scripts/test_kotlin.sh ]; then
    kotlin_junit() {  # JUnit prints "OK (N tests)" or "Tests run: N,  Failures: M"; keep "<passed> <failed>"
        bash scripts/test_kotlin.sh 2>&1 | tee "$results/kotlin.log"; local rc=${PIPESTATUS[0]}
        .venv/bin/python - "$results/kotlin.log" "$results/kotlin.txt" "$rc" <<'PY'
import re, sys
log = open(sys.argv[1], errors="replace").read()
ok = re.findall(r"^OK \((\d+) tests?\)", log, re.M)
bad = re.findall(r"^Tests run: (\d+),\s+Failures: (\d+)", log, re.M)
passed, failed = (int(ok[-1]), 0) if ok else ((int(bad[-1][0]) - int(bad[-1][1]), int(bad[-1][1])) if bad else (0, 1))
if sys.argv[3] != "0" and failed == 0:
    failed = 1  # compile error or crash: count it
open(sys.argv[2], "w").write(f"{passed} {failed}\n")
PY
        return "$rc"
    }
    step "Android core (Kotlin, JUnit)" kotlin_junit
fi
runtimes() {  # a run that writes no JUnit file (no venv in CI, a crash) still counts as a failure
    bash scripts/test_runtimes.sh --junitxml="$results/runtimes.xml"; local rc=$?
    [ $rc -eq 0 ] || [ -f "$results/runtimes.xml" ] || echo "0 1" > "$results/runtimes.txt"
    return $rc
}
step "runtimes apps use: MediaPipe Tasks (.venv-mediapipe), TFLite Task Library (.venv-reference)" runtimes
if [ -n "${EDGE_KIT_OTHER_PYTHON:-}" ]; then
    step "device tests + tiny train/convert/classify with $EDGE_KIT_OTHER_PYTHON" \
        bash scripts/test_other_python.sh "$EDGE_KIT_OTHER_PYTHON" "$results"
fi
if [ -n "${EDGE_KIT_TFLITE_RUNTIME_PYTHON:-}" ]; then
    step "device tests with tflite-runtime 2.14 (numpy 1.26, $EDGE_KIT_TFLITE_RUNTIME_PYTHON)" \
        bash scripts/test_tflite_runtime.sh "$EDGE_KIT_TFLITE_RUNTIME_PYTHON" --junitxml="$results/tflite-runtime.xml"
fi

# ---- 7, 8. emulated Raspberry Pi OS (arm64, armhf) ------------------------------------------------------------
if [ "${CI:-}" = true ] || [ "${EDGE_KIT_PI:-0}" = 1 ]; then
    # Both arches side by side: each spends most of its time in one emulated process (debootstrap's second stage,
    # pytest under qemu), so two of them fill the machine's cores and take the wall time of the slower one. The tools
    # (apt) and binfmt handlers are set up first, one arch after the other (apt cannot run twice at once).
    pi_both() {
        local arch rc=0 pids=() logs=()
        for arch in arm64 armhf; do
            bash scripts/pi_emulated.sh --arch "$arch" --tools-only || return 1
        done
        for arch in arm64 armhf; do
            EDGE_KIT_PI_JUNIT_DIR="$results" bash scripts/pi_emulated.sh --arch "$arch" >"$results/pi-$arch.log" 2>&1 &
            pids+=($!); logs+=("$results/pi-$arch.log")
        done
        for i in 0 1; do
            local r=0; wait "${pids[$i]}" || r=$?
            echo "--- emulated Raspberry Pi OS $([ "$i" = 0 ] && echo "arm64" || echo "armhf (32-bit)"): exit $r"
            cat "${logs[$i]}"
            [ "$r" -eq 0 ] || rc=1
        done
        return $rc
    }
    step "emulated Raspberry Pi OS arm64 and armhf side by side (install, device tests, cross-CPU parity)" pi_both
else
    echo; echo "=================== emulated Raspberry Pi OS: not run (EDGE_KIT_PI=1 runs it; CI always does)"
fi
echo
.venv/bin/python scripts/summarize_tests.py "$results" || status=1
rm -rf "$results"
exit $status
