#!/usr/bin/env bash
# Set up everything edge-kit needs, from a machine that has only Python (3.10-3.13), pip and git.
#
#   bash scripts/setup.sh                          # with the machine's python3
#   PYTHON=python3.12 bash scripts/setup.sh        # with another Python (a path works too)
#
# Creates:
#   .venv          training, conversion and the device runtime (TensorFlow 2.21, tf-keras, numpy 2), EfficientNet-Lite0's
#                  ImageNet weights
#   .venv-device   what a Raspberry Pi gets: the `device` extra only (numpy 2, Pillow, ai-edge-litert), no TensorFlow
# Re-running is cheap: existing environments are updated, not rebuilt. An environment made with another Python
# version is rebuilt (the old one is put back if that fails). An unsupported Python stops everything before anything
# is created; a failed install leaves no half-made environment behind.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
SUPPORTED="3.10 3.11 3.12 3.13"  # keep in step with requires-python in pyproject.toml

# --- 1. The Python: checked before anything is created --------------------------------------------------------------
# One line on stderr, exit 2: what is wrong and how to get a supported Python.
refuse() {
    echo "error: $1; edge-kit supports Python ${SUPPORTED// /, }. Nothing was created. Get one (Ubuntu 24.04 and" \
         "Debian 13 ship 3.12 and 3.13; macOS: brew install python@3.12; anywhere: pyenv install 3.12 or uv python" \
         "install 3.12) and run: PYTHON=python3.12 bash scripts/setup.sh" >&2
    exit 2
}
command -v "$PYTHON" >/dev/null 2>&1 || refuse "Python '$PYTHON' not found"
version=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) || refuse "'$PYTHON' did not run"
case " $SUPPORTED " in
    *" $version "*) ;;
    *) refuse "$PYTHON is Python $version" ;;
esac
if ! "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    echo "error: $PYTHON ($version) cannot create virtual environments; on Debian/Ubuntu: apt-get install" \
         "python$version-venv. Nothing was created." >&2
    exit 2
fi
echo "== Python $version ($(command -v "$PYTHON"))"

# --- 2. System packages: kotlin + junit4 for the Android core's unit tests, chromium to render and check the HTML
# report, libusb for tflite-support 0.4.4's native module (the metadata reference tests' .venv-reference). Only the
# tests need them; skipped when unavailable (not root, no apt).
# EDGE_KIT_NO_APT=1 skips this step.
APT_PACKAGES="kotlin junit4 chromium libusb-1.0-0"
if [ "${EDGE_KIT_NO_APT:-0}" = 1 ]; then
    :
elif command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo -n"
    missing=""
    for p in $APT_PACKAGES; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
    if [ -n "$missing" ]; then
        echo "== apt-get install$missing"
        if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
                --no-install-recommends $missing >/dev/null; }; then
            echo "warning: could not install$missing (needed only by the Kotlin, report and metadata reference tests)" >&2
        fi
    fi
else
    echo "warning: no apt-get; install $APT_PACKAGES yourself (needed only by the Kotlin, report and metadata reference tests)" >&2
fi

# --- 3. Virtual environments -----------------------------------------------------------------------------------------
# make_venv DIR PIP-ARGS...: create DIR with $PYTHON (or update it when it has the same Python version) and install.
# A new environment that fails to install is removed; a replaced one (other Python version) is put back.
make_venv() {
    local dir=$1; shift
    local backup="" created=0
    if [ -x "$dir/bin/python" ]; then
        local have
        have=$("$dir/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || echo broken)
        if [ "$have" != "$version" ]; then
            echo "   $dir has Python $have; rebuilding it with $version"
            backup="$dir.previous-$$"
            mv "$dir" "$backup"
        fi
    elif [ -e "$dir" ]; then
        echo "error: $dir exists but is not a virtual environment; move it away and re-run" >&2
        return 2
    fi
    if [ ! -x "$dir/bin/python" ]; then
        "$PYTHON" -m venv "$dir" && created=1 || { rm -rf "$dir"; [ -z "$backup" ] || mv "$backup" "$dir"; return 1; }
    fi
    if "$dir/bin/python" -m pip install -q --upgrade pip && "$dir/bin/python" -m pip install -q "$@"; then
        [ -z "$backup" ] || rm -rf "$backup"
        return 0
    fi
    echo "error: installing into $dir failed (see pip's message above)" >&2
    if [ "$created" = 1 ]; then
        rm -rf "$dir"
        [ -z "$backup" ] || { mv "$backup" "$dir"; echo "   the previous $dir is back in place" >&2; }
    fi
    return 1
}

echo "== .venv (train, convert, device, dev, efficientnet)"
make_venv .venv -e ".[train,convert,device,dev,efficientnet]"

echo "== .venv-device (device extra only, numpy 2, no TensorFlow)"
make_venv .venv-device -e ".[device]" "numpy>=2" "pytest>=7.4"
echo "setup done"
