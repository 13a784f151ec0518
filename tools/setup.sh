#!/usr/bin/env bash
# Installs what SmartBin needs to build, test and run its demo on Debian 12, idempotently:
# the C libraries' -dev packages, mosquitto, the aarch64 cross toolchain and qemu-user (for the
# NEON kernel tests), shellcheck and systemd (systemd-analyze: the deploy/ checks), Chromium
# (the dashboard's headless browser test), and the Python packages the reference checks use
# (numpy, onnx, onnxruntime). Does nothing that is already done; safe to run before every build.
#
# Environment: PYTHON (default python3). Needs root (or sudo) only when something is missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py="${PYTHON:-python3}"

apt_packages=(
    pkg-config libopenblas-dev libjpeg62-turbo-dev libgpiod-dev libv4l-dev libmosquitto-dev
    mosquitto mosquitto-clients openssl
    chromium
    gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
    python3 python3-pip
    shellcheck systemd
)

as_root() {
    if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

missing=()
for p in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup: installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    # The tests start their own brokers on free loopback ports, whatever the package starts.
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v swift >/dev/null 2>&1; then
    echo "setup: error: the Swift toolchain (6.1 or newer) is not on PATH; install it first" >&2
    exit 1
fi

if ! "$py" -c 'import numpy, onnx, onnxruntime' 2>/dev/null; then
    echo "setup: installing Python packages from tools/requirements.txt"
    if ! "$py" -m pip install -q -r "$here/requirements.txt" 2>/tmp/smartbin-pip.log; then
        # Debian's own python3 refuses global installs (PEP 668) unless told otherwise.
        "$py" -m pip install -q --break-system-packages -r "$here/requirements.txt"
    fi
    "$py" -c 'import numpy, onnx, onnxruntime' || { echo "setup: error: Python packages did not install" >&2; exit 1; }
fi
echo "setup: ok"
