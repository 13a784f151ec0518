#!/usr/bin/env bash
# Build the libFuzzer targets (Swift `--sanitize fuzzer --sanitize address`, release, into
# .build-fuzz) and run each for SECONDS (default 60), one after the other.
#
# Usage: tools/fuzz.sh [SECONDS] [TARGET...]     targets: jpeg onnx compiled config command outbox
#
# Seeds come from Fuzz/corpus/<target>; new interesting inputs go to .build-fuzz/corpus/<target>
# (copy good ones into Fuzz/corpus to keep them). A crash leaves .build-fuzz/artifacts/<target>-crash-*
# and the script exits 1: reproduce with the printed command, fix, and add the file to
# Fuzz/regressions/<target>/ so `make test` replays it (FuzzRegressionTests).
# Environment: SWIFT (default swift), FUZZ_JOBS_RSS_MB (default 2048).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds="${1:-60}"
[[ $# -gt 0 ]] && shift
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=(jpeg onnx compiled config command outbox)
swift="${SWIFT:-swift}"
build=.build-fuzz
mkdir -p "$build/artifacts"

# `--sanitize fuzzer --sanitize address` reaches swiftc as two `-sanitize=` options, and swiftc keeps
# only the last: Swift code would get AddressSanitizer but no coverage counters, and libFuzzer would
# be blind to every Swift branch (only C/C++ edges). `-Xswiftc -sanitize=fuzzer,address` comes last
# and names both; the `--sanitize` options still set up clang and the link.
for target in "${targets[@]}"; do
    SMARTBIN_FUZZ=1 "$swift" build -c release --scratch-path "$build" --sanitize fuzzer --sanitize address \
        -Xswiftc -sanitize=fuzzer,address --product "fuzz-$target" 2>&1 | grep -E "error|warning: unre|Compiling|Build" | grep -v "^\[" || true
    [[ -x "$build/release/fuzz-$target" ]] || { echo "fuzz: fuzz-$target did not build" >&2; exit 2; }
done

failed=0
for target in "${targets[@]}"; do
    mkdir -p "$build/corpus/$target"
    log="$build/fuzz-$target.log"
    echo "fuzz: $target for ${seconds}s"
    extra=()
    asan="${ASAN_OPTIONS:-}"
    # TOMLKit 0.6 never frees its tables (TOMLTable has no deinit; the parse error buffer is never
    # deallocated): ~0.8 KB per parse, once per start in the firmware. LeakSanitizer would stop
    # every config run on its first input, so leaks are not checked for that target.
    [[ "$target" == config ]] && extra=(-detect_leaks=0) && asan="detect_leaks=0${asan:+:$asan}"
    set +e
    ASAN_OPTIONS="$asan" "$build/release/fuzz-$target" "$build/corpus/$target" "Fuzz/corpus/$target" ${extra[@]+"${extra[@]}"} \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb="${FUZZ_RSS_MB:-2048}" \
        -artifact_prefix="$build/artifacts/$target-" -print_final_stats=1 > "$log" 2>&1
    status=$?
    set -e
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo "?")
    corpus=$(ls "$build/corpus/$target" | wc -l)
    if [[ $status -ne 0 ]]; then
        failed=1
        artifact=$(grep -o "Test unit written to .*" "$log" | sed 's/Test unit written to //' | tail -1)
        echo "fuzz: $target FAILED after $runs runs: ${artifact:-see $log}"
        grep -E "ERROR|Fatal error|SUMMARY" "$log" | head -5
        echo "  reproduce: $build/release/fuzz-$target ${artifact:-<artifact>}"
    else
        echo "fuzz: $target ok: $runs runs, coverage $cov edges, $corpus new corpus files"
    fi
done
exit $failed
