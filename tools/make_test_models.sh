#!/usr/bin/env bash
# Generate the synthetic ONNX models SmartBin's test suite and benchmarks use.
#
# Usage: tools/make_test_models.sh OUTDIR
#
# Idempotent: a model is regenerated only when it (or its external-data file) is
# missing, or when its stamp in OUTDIR/.stamps no longer matches the sha256 of
# make_resnet.py together with the model's arguments. Models are written one at a time
# (single-threaded NumPy), so this stays gentle on a shared machine; the full set takes
# well under a minute.
#
# Environment: PYTHON (default python3).
set -euo pipefail

if [[ $# -ne 1 || "$1" == -h || "$1" == --help ]]; then
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
    [[ $# -eq 1 ]] && exit 0 || exit 2
fi

out="$1"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
gen="$here/make_resnet.py"
py="${PYTHON:-python3}"
mkdir -p "$out/.stamps"

gen_sha="$("$py" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$gen")"

# name  arguments...
models=(
    "resnet50-v1.5-torch-1000.onnx      --arch resnet50 --variant v1.5 --style torch --classes 1000"
    "resnet50-v1-keras-6.onnx           --arch resnet50 --variant v1 --style keras --classes 6"
    "resnet50-v1.5-torch-40-ext.onnx    --arch resnet50 --variant v1.5 --style torch --classes 40 --seed 1 --external-data"
    "tiny-v1.5-torch-6.onnx             --arch tiny --variant v1.5 --style torch --classes 6"
    "tiny-v1-keras-6.onnx               --arch tiny --variant v1 --style keras --classes 6"
    "tiny-v1.5-torch-foldbn-6.onnx      --arch tiny --variant v1.5 --style torch --classes 6 --fold-bn"
    "tiny-v1.5-keras-6.onnx             --arch tiny --variant v1.5 --style keras --classes 6 --keras-pool gap"
    "tiny-v1-keras-6-opset11.onnx       --arch tiny --variant v1 --style keras --classes 6 --opset 11"
    "tiny-v1.5-torch-6-opset17-dynbatch.onnx --arch tiny --variant v1.5 --style torch --classes 6 --opset 17 --dynamic-batch"
)

made=0 kept=0
start=$SECONDS
for entry in "${models[@]}"; do
    read -r name args <<<"$entry"
    path="$out/$name"
    stamp="$out/.stamps/$name.sha256"
    want="$gen_sha $args"
    complete=1
    [[ -f "$path" ]] || complete=0
    [[ "$args" != *--external-data* || -f "$path.data" ]] || complete=0
    if [[ $complete -eq 1 && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        kept=$((kept + 1))
        continue
    fi
    rm -f "$stamp"
    t0=$SECONDS
    # shellcheck disable=SC2086  # $args is a deliberately split argument list
    "$py" "$gen" $args -q -o "$path"
    printf '%s\n' "$want" >"$stamp"
    echo "made $name ($((SECONDS - t0)) s)"
    made=$((made + 1))
done
echo "$made made, $kept up to date, in $out ($((SECONDS - start)) s)"
