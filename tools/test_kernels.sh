#!/usr/bin/env bash
# Builds and runs the C kernel twin tests (Tests/ckernels/test_q8.c): natively, then for
# aarch64 under qemu as a Cortex-A72 (Pi 4: NEON only, the dispatcher must not pick sdot)
# and a Cortex-A76 (Pi 5: dot product). Extra arguments go to every test_q8 run
# (e.g. --no-bench, --seed N). Exits non-zero if any run fails. Without the cross
# compiler or qemu the aarch64 runs are skipped with a message, or fail when CI=true.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src=("$root/Tests/ckernels/test_q8.c" "$root"/Sources/CKernels/sb_q8*.c)
inc=(-I"$root/Sources/CKernels/include" -I"$root/Sources/CKernels")
cflags=(-O2 -std=c11 -Wall -Wextra -Werror -fno-strict-aliasing)
build="$(mktemp -d "${TMPDIR:-/tmp}/smartbin-ckernels.XXXXXX")"
trap 'rm -rf "$build"' EXIT

cc="${CC:-}"
if [[ -z "$cc" ]]; then
    if command -v clang >/dev/null; then cc=clang; elif command -v gcc >/dev/null; then cc=gcc; else cc=cc; fi
fi

step() { printf '\n== %s\n' "$*"; }

# The dispatcher's expected choice on this machine, from the kernel's view of the CPU.
expected_native() {
    local flags
    flags="$(grep -m1 -E '^(flags|Features)' /proc/cpuinfo 2>/dev/null || true)"
    case "$(uname -m)" in
        x86_64)
            if grep -qw avx512_vnni <<<"$flags" && grep -qw avx512bw <<<"$flags" && grep -qw avx512vl <<<"$flags"; then
                echo avx512vnni
            elif grep -qw avx_vnni <<<"$flags"; then echo avxvnni
            elif grep -qw avx2 <<<"$flags"; then echo avx2
            else echo ref; fi ;;
        aarch64)
            if grep -qw asimddp <<<"$flags"; then echo dotprod; else echo neon; fi ;;
        *) echo ref ;;
    esac
}

step "native $(uname -m) ($cc)"
"$cc" "${cflags[@]}" "${inc[@]}" "${src[@]}" -o "$build/test_q8" -lm
native_expect="$(expected_native)"
"$build/test_q8" --expect-best "$native_expect" "$@"

if [[ "$(uname -m)" == aarch64 ]]; then
    exit 0   # the native run above was the aarch64 run
fi

cross=aarch64-linux-gnu-gcc
sysroot=/usr/aarch64-linux-gnu
missing=()
command -v "$cross" >/dev/null || missing+=("$cross (apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross)")
command -v qemu-aarch64 >/dev/null || missing+=("qemu-aarch64 (apt-get install qemu-user)")
if ((${#missing[@]})); then
    printf '\nSKIPPED aarch64 runs: missing %s\n' "${missing[*]}"
    if [[ "${CI:-}" == true ]]; then
        echo "CI=true: the aarch64 kernel tests are required" >&2
        exit 1
    fi
    exit 0
fi

step "aarch64 cross build ($cross -static)"
"$cross" "${cflags[@]}" -static "${inc[@]}" "${src[@]}" -o "$build/test_q8_aarch64" -lm
run_a64() { local cpu="$1"; shift; qemu-aarch64 -cpu "$cpu" -L "$sysroot" "$build/test_q8_aarch64" "$@"; }

step "qemu-aarch64 -cpu cortex-a72 (Pi 4): neon, never dotprod"
env -u SMARTBIN_Q8_KERNEL qemu-aarch64 -cpu cortex-a72 -L "$sysroot" "$build/test_q8_aarch64" \
    --quick --expect-best neon --expect-selected neon --expect-unavailable dotprod "$@"

step "qemu-aarch64 -cpu cortex-a76 (Pi 5): dotprod; neon also tested"
env -u SMARTBIN_Q8_KERNEL qemu-aarch64 -cpu cortex-a76 -L "$sysroot" "$build/test_q8_aarch64" \
    --quick --expect-best dotprod --expect-selected dotprod "$@"
SMARTBIN_Q8_KERNEL=neon run_a64 cortex-a76 --dispatch-only --expect-best dotprod --expect-selected neon

step "all kernel tests passed"
