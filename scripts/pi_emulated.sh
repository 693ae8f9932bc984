#!/usr/bin/env bash
# Prove the Raspberry Pi side on an emulated Raspberry Pi OS: Debian Bookworm (what Raspberry Pi OS Bookworm is
# built on, Python 3.11) for arm64 (64-bit Pi OS) or armhf (32-bit Pi OS, armv7l), run through qemu-user-static.
#
#   bash scripts/pi_emulated.sh              # arm64: build the root file system, install, test, compare with x86-64
#   bash scripts/pi_emulated.sh --arch armhf # 32-bit: tflite-runtime (no LiteRT wheel), numpy/Pillow from Debian
#   bash scripts/pi_emulated.sh --keep       # keep the work folder (root file system, results) for a look inside
#   bash scripts/pi_emulated.sh --arch armhf --tools-only  # only install the tools and enable binfmt_misc (what
#                                            # scripts/test.sh does for both arches before running them side by side)
#
# From nothing it installs qemu-user-static, debootstrap and binfmt-support (apt), enables the binfmt_misc handler,
# runs debootstrap (cached as a tarball in ~/.cache/edge-kit/, keyed by a hash of everything that goes into it), and
# then, inside the chroot, does what docs/install.md tells a Pi user: a venv and `pip install "edge-kit[device]"` (from
# this checkout). It runs the device test suite there, `edge-classify` on the committed parity models, records
# those models' outputs on the fixed photos, and compares them with this machine's (tests/pi/test_cross_cpu.py).
#
# Needs root (chroot, mounts) and binfmt_misc. Without them it says so in one line and exits 0 (skipped), except
# when CI=true, where the check must run: then it fails. Mounts are undone on exit, also on failure.
# Env: EDGE_KIT_ASSETS (shared assets, default ../shared/assets), DEBIAN_MIRROR (default deb.debian.org),
#      EDGE_KIT_CACHE (default ~/.cache/edge-kit), EDGE_KIT_HOST_PYTHON (default .venv-device/bin/python),
#      EDGE_KIT_PI_RESULTS (where the result files are copied, default build/pi-<arch>),
#      EDGE_KIT_PI_JUNIT_DIR (also copy the JUnit files there, as pi-<arch>-*.xml).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

ARCH=arm64
KEEP=0
TOOLS_ONLY=0
while [ $# -gt 0 ]; do
    case "$1" in
        --arch) ARCH=$2; shift 2 ;;
        --keep) KEEP=1; shift ;;
        --tools-only) TOOLS_ONLY=1; shift ;;
        -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "pi_emulated: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
case "$ARCH" in
    arm64) QEMU=aarch64; MACHINE=aarch64 ;;
    armhf) QEMU=arm; MACHINE=armv7l ;;
    *) echo "pi_emulated: --arch must be arm64 or armhf" >&2; exit 2 ;;
esac

SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# What a Raspberry Pi OS Lite image has that the install and the tests use: python3 with venv (its ensurepip brings
# pip), procps (pgrep). Not ca-certificates: configuring it under emulation is slow, and pip gets the host's bundle.
INCLUDE=python3,python3-venv,procps
# 32-bit: numpy and Pillow have no armv7l wheels on PyPI (Raspberry Pi OS gets them from piwheels, which this
# machine cannot reach), so they come from Debian, as `apt install python3-numpy python3-pil` gives a Pi user.
[ "$ARCH" = armhf ] && INCLUDE=$INCLUDE,python3-numpy,python3-pil
ASSETS=${EDGE_KIT_ASSETS:-$REPO/../shared/assets}
CACHE=${EDGE_KIT_CACHE:-$HOME/.cache/edge-kit}
HOST_PY=${EDGE_KIT_HOST_PYTHON:-$REPO/.venv-device/bin/python}
RESULTS=${EDGE_KIT_PI_RESULTS:-$REPO/build/pi-$ARCH}

unavailable() {  # one line; fatal in CI, a skip elsewhere
    if [ "${CI:-}" = true ]; then
        echo "pi_emulated: FAILED: $1 (CI=true: the emulated Raspberry Pi check must run)" >&2; exit 1
    fi
    echo "pi_emulated: SKIPPED: $1"; exit 0
}

t_start=$SECONDS
phase() { echo "== [$((SECONDS - t_start)) s] $*"; }

# ---- preflight: root, tools, binfmt_misc --------------------------------------------------------------------
[ "$(id -u)" = 0 ] || unavailable "needs root for debootstrap, chroot and mounts (run as root or with sudo)"
[ -f "$ASSETS/SOURCES.md" ] || unavailable "test assets not found at $ASSETS (set EDGE_KIT_ASSETS)"
[ -x "$HOST_PY" ] || unavailable "$HOST_PY not found (run scripts/setup.sh first, or set EDGE_KIT_HOST_PYTHON)"
need=""
command -v debootstrap >/dev/null 2>&1 || need="$need debootstrap"
[ -x /usr/bin/qemu-$QEMU-static ] || need="$need qemu-user-static"
command -v update-binfmts >/dev/null 2>&1 || need="$need binfmt-support"
if [ -n "$need" ]; then
    command -v apt-get >/dev/null 2>&1 || unavailable "missing$need and no apt-get to install them"
    phase "apt-get install$need"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need \
        >/dev/null || unavailable "apt-get install$need failed"
fi
if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null \
        || unavailable "binfmt_misc is not mounted and cannot be mounted here (a container without privileges?)"
fi
if ! grep -qs '^enabled' /proc/sys/fs/binfmt_misc/qemu-$QEMU; then
    update-binfmts --enable qemu-$QEMU >/dev/null 2>&1 || true
fi
grep -qs '^enabled' /proc/sys/fs/binfmt_misc/qemu-$QEMU \
    || unavailable "cannot enable the binfmt_misc handler qemu-$QEMU (update-binfmts --enable qemu-$QEMU failed)"
grep -qs '^flags: .*F' /proc/sys/fs/binfmt_misc/qemu-$QEMU \
    || unavailable "the qemu-$QEMU binfmt handler lacks the F flag (needed to run inside a chroot)"

if [ "$TOOLS_ONLY" = 1 ]; then phase "tools and the qemu-$QEMU binfmt handler are ready"; exit 0; fi

# ---- work folder and cleanup --------------------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/edge-kit-pi-$ARCH.XXXXXX")
ROOT=$WORK/root
mkdir -p "$ROOT"
cleanup() {
    local rc=$?
    # Undo every mount below the root file system, deepest first; lazily if a process still holds one.
    if [ -d "$ROOT" ]; then
        for m in $(awk -v r="$ROOT" '$2 == r || index($2, r "/") == 1 {print $2}' /proc/self/mounts | sort -r); do
            umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || echo "pi_emulated: could not unmount $m" >&2
        done
    fi
    if [ "$KEEP" = 1 ]; then echo "pi_emulated: kept $WORK"; else rm -rf "$WORK"; fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- root file system (cached tarball keyed by its inputs) --------------------------------------------------
ROOTFS_RECIPE="v1 $ARCH $SUITE minbase $INCLUDE $MIRROR"
KEY=$(printf '%s' "$ROOTFS_RECIPE" | sha256sum | cut -c1-16)
TARBALL=$CACHE/pi-rootfs-$ARCH-$KEY.tar
if [ -f "$TARBALL" ]; then
    phase "root file system from cache $TARBALL"
    tar -xf "$TARBALL" -C "$ROOT"
else
    phase "debootstrap --arch=$ARCH --variant=minbase $SUITE ($MIRROR)"
    t=$SECONDS
    if ! debootstrap --arch="$ARCH" --variant=minbase --include="$INCLUDE" "$SUITE" "$ROOT" "$MIRROR" \
        >"$WORK/debootstrap.log" 2>&1; then
        tail -20 "$WORK/debootstrap.log" >&2
        [ -f "$ROOT/debootstrap/debootstrap.log" ] && tail -20 "$ROOT/debootstrap/debootstrap.log" >&2
        echo "pi_emulated: debootstrap failed (log above)" >&2; exit 1
    fi
    rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/*
    echo "   debootstrap: $((SECONDS - t)) s"
    mkdir -p "$CACHE"
    tar -cf "$TARBALL.tmp.$$" -C "$ROOT" . && mv "$TARBALL.tmp.$$" "$TARBALL" \
        || { rm -f "$TARBALL.tmp.$$"; echo "pi_emulated: warning: could not cache the root file system" >&2; }
fi

# ---- network the way the host has it: resolver, CA bundle, pip index settings --------------------------------
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
[ -f /etc/hosts ] && cp -L /etc/hosts "$ROOT/etc/hosts"
HOST_CA=""
for f in "${PIP_CERT:-}" "${REQUESTS_CA_BUNDLE:-}" "${SSL_CERT_FILE:-}" /etc/ssl/certs/ca-certificates.crt; do
    if [ -n "$f" ] && [ -f "$f" ]; then HOST_CA=$f; break; fi
done
PIP_CONF=$ROOT/etc/pip.conf
echo "[global]" >"$PIP_CONF"
if [ -n "$HOST_CA" ]; then
    mkdir -p "$ROOT/etc/ssl/certs"
    cp -L "$HOST_CA" "$ROOT/etc/ssl/certs/host-ca-bundle.crt"
    echo "cert = /etc/ssl/certs/host-ca-bundle.crt" >>"$PIP_CONF"
fi
# The host's pip settings (files and PIP_* variables) that make sense for another CPU: network indexes, trusted
# hosts, timeouts, proxies. Local folders and file:// indexes hold this machine's wheels only: left out.
"$HOST_PY" - "$PIP_CONF" <<'PY'
import os, subprocess, sys
keys = {"index-url", "extra-index-url", "trusted-host", "timeout", "default-timeout", "retries", "proxy"}
found = {}
try:
    out = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True).stdout
except OSError:
    out = ""
for line in out.splitlines():
    name, _, value = line.partition("=")
    key = name.split(".", 1)[-1]
    if key in keys:
        found[key] = value.strip().strip("'\"")
for key in keys:
    env = os.environ.get("PIP_" + key.upper().replace("-", "_"))
    if env:
        found[key] = env
lines = []
for key, value in sorted(found.items()):
    kept = " ".join(v for v in value.split() if not v.startswith(("file:", "/")))
    if kept:
        lines.append(f"{'timeout' if key == 'default-timeout' else key} = {kept}")
with open(sys.argv[1], "a") as f:
    f.write("".join(l + "\n" for l in lines))
PY
echo "   pip.conf in the chroot: $(grep -v '^\[' "$PIP_CONF" | cut -d= -f1 | tr -d ' ' | paste -sd, -)"

# ---- the checkout, the assets, /proc, /dev, /sys ------------------------------------------------------------
mkdir -p "$ROOT/src" "$ROOT/check" "$ROOT/assets" "$ROOT/out"
if git -C "$REPO" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd "$REPO" && git ls-files -co --exclude-standard -z | xargs -0 -r tar -cf - --no-recursion) | tar -xf - -C "$ROOT/src"
else
    tar -cf - -C "$REPO" --exclude='./.venv*' --exclude=./build --exclude=./.git . | tar -xf - -C "$ROOT/src"
fi
# The tests run from a folder without the package sources, so they test the installed edge-kit.
cp -r "$ROOT/src/tests" "$ROOT/src/pyproject.toml" "$ROOT/check/"
mount -t proc proc "$ROOT/proc"
# No /sys: the host's (x86-64) CPU description there makes LiteRT's CPU detection crash under emulation.
mount --rbind /dev "$ROOT/dev" && mount --make-rslave "$ROOT/dev"
mount --bind "$ASSETS" "$ROOT/assets" && mount -o remount,bind,ro "$ROOT/assets"

in_pi() {  # run a shell command inside the emulated Pi OS, with a clean environment
    chroot "$ROOT" /usr/bin/env -i PATH=/opt/edge-kit/bin:/usr/local/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8 \
        EDGE_KIT_ASSETS=/assets PYTHONDONTWRITEBYTECODE=1 /bin/sh -c "$1"
}
uname_m=$(in_pi 'uname -m')
[ "$uname_m" = "$MACHINE" ] || { echo "pi_emulated: the chroot says uname -m = $uname_m, expected $MACHINE" >&2; exit 1; }
phase "emulated $(in_pi '. /etc/os-release; echo $PRETTY_NAME'), $uname_m, $(in_pi 'python3 --version')"

# ---- install as docs/install.md tells a Pi user ----------------------------------------------------------------
# The edge-kit wheel is built here (pure Python, the same file on every CPU), as PyPI would serve it; building it
# under emulation would only add minutes. --no-compile: byte-compiling numpy under emulation is slow too.
phase "edge-kit wheel (host), then python3 -m venv /opt/edge-kit && pip install \"edge-kit[device]\" pytest"
mkdir -p "$ROOT/wheels"
(cd "$ROOT/src" && "$HOST_PY" -m pip wheel -q --no-deps . -w "$ROOT/wheels" >"$WORK/wheel.log" 2>&1) \
    || { tail -20 "$WORK/wheel.log" >&2; echo "pi_emulated: building the edge-kit wheel failed" >&2; exit 1; }
rm -rf "$ROOT/src/build" "$ROOT/src"/*.egg-info
WHEEL=$(basename "$(ls "$ROOT"/wheels/edge_kit-*.whl)")
t=$SECONDS
VENV_OPTS=""
[ "$ARCH" = armhf ] && VENV_OPTS="--system-site-packages"  # Debian's numpy and Pillow (see INCLUDE)
in_pi "python3 -m venv $VENV_OPTS /opt/edge-kit && pip install -q --progress-bar off --no-compile \
    '/wheels/$WHEEL[device]' pytest"
T_PIP=$((SECONDS - t))
in_pi "pip list 2>/dev/null | grep -i -E '^(edge-kit|ai-edge-litert|tflite-runtime|numpy|pillow|pytest) '" | sed 's/^/   /'
echo "   pip install: $T_PIP s"

# ---- the device test suite, edge-classify, the parity record ------------------------------------------------
phase "device tests under emulation"
t=$SECONDS
status=0
# Left out under emulation (they run natively in the other steps): the benchmark's thread sweep and the process
# pool's tests, which time or spawn worker processes; under qemu they measure the emulator and take minutes. Also
# the two slowest checks of command-line behaviour, not of the CPU (a float model's normalisation warning: a
# Teachable Machine float model evaluated twice over 60 photos; --benchmark's output formats): 4-6 minutes under
# qemu, seconds natively. Float models still run here, in the parity record below.
EMULATION_SKIP="not test_benchmark_prints_stages_and_thread_sweep and not test_process_pool \
and not test_float_model_warns_without_normalisation_and_mean_std_fix_it and not test_benchmark_honours_format"
in_pi "cd /check && python -m pytest tests/device -q -p no:cacheprovider --durations=8 -k '$EMULATION_SKIP' \
    --junitxml=/out/device-$ARCH.xml" || status=1
T_TESTS=$((SECONDS - t))
echo "   device tests: $T_TESTS s"

phase "edge-classify on the committed int8 parity model"
in_pi "edge-classify /check/tests/pi/models/model_int8.tflite /assets/sanity-images/coral_sunflower.bmp \
    /assets/datasets/flowers/tulip -k 2 > /out/classify.txt" || status=1
head -4 "$ROOT/out/classify.txt" | sed 's/^/   /'
echo "   ... $(wc -l <"$ROOT/out/classify.txt") lines"

phase "parity record ($MACHINE) and comparison with this machine ($(uname -m))"
in_pi "cd /check && python tests/pi/parity.py record --out /out/parity-$ARCH.json" || status=1
mkdir -p "$RESULTS"
cp "$ROOT"/out/* "$RESULTS/" 2>/dev/null || true
if [ -f "$RESULTS/parity-$ARCH.json" ]; then
    export EDGE_KIT_ASSETS="$ASSETS"
    "$HOST_PY" tests/pi/parity.py record --out "$RESULTS/parity-host.json" && \
        "$HOST_PY" tests/pi/parity.py compare "$RESULTS/parity-host.json" "$RESULTS/parity-$ARCH.json" | sed 's/^/   /'
    EDGE_KIT_PARITY_RECORD="$RESULTS/parity-$ARCH.json" \
        "$HOST_PY" -m pytest tests/pi -q -p no:cacheprovider --junitxml="$RESULTS/cross-cpu.xml" || status=1
else
    status=1
fi
if [ -n "${EDGE_KIT_PI_JUNIT_DIR:-}" ]; then  # for scripts/test.sh's summary
    for f in "$RESULTS"/*.xml; do [ -f "$f" ] && cp "$f" "$EDGE_KIT_PI_JUNIT_DIR/pi-$ARCH-$(basename "$f")"; done
fi
phase "done: pip install $T_PIP s, device tests $T_TESTS s; results in $RESULTS (exit $status)"
exit $status
