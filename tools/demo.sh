#!/usr/bin/env bash
# The demo behind `make demo`: a local MQTT broker, a subscriber printing what the fleet would
# see, and the simulated bin classifying the sample photos with ResNet50 and routing them.
#
# The model is a seeded RANDOM-weight ResNet50 (no trained weights ship with SmartBin), so the
# labels it predicts are arbitrary; everything else — decode, preprocessing, the forward pass,
# the state machine, the flap, the MQTT events — is the real thing. See README "Models".
#
# Environment: DEMO_ITEMS (default 8), DEMO_MODEL, DEMO_IMAGES, DEMO_PORT (default 1883),
# SMARTBIN_BINARY (default .build/release/smartbin).
set -euo pipefail
cd "$(dirname "$0")/.."

bin="${SMARTBIN_BINARY:-.build/release/smartbin}"
model="${DEMO_MODEL:-out/models/resnet50-v1-keras-6.onnx}"
items="${DEMO_ITEMS:-8}"
port="${DEMO_PORT:-1883}"
workdir="$(mktemp -d)"
broker_pid="" sub_pid=""

cleanup() {
    # Every process the demo started, by its own pid. The subscriber's is mosquitto_sub's (see
    # below); its sed sees the end of its input and exits with it.
    local pid
    for pid in "$sub_pid" "$broker_pid"; do
        if [[ -n "$pid" ]]; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$workdir"
}
trap cleanup EXIT
# Background jobs of a script ignore SIGINT, so Ctrl-C must reach them through cleanup.
trap 'exit 130' INT
trap 'exit 143' TERM

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if port_open "$port"; then
    echo "demo: using the MQTT broker already listening on 127.0.0.1:$port"
else
    cat >"$workdir/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
persistence false
CONF
    [[ $(id -u) -eq 0 ]] && echo "user root" >>"$workdir/mosquitto.conf"
    mosquitto -c "$workdir/mosquitto.conf" >"$workdir/broker.log" 2>&1 &
    broker_pid=$!
    for _ in $(seq 50); do port_open "$port" && break; sleep 0.1; done
    port_open "$port" || { echo "demo: error: mosquitto did not start on 127.0.0.1:$port" >&2; cat "$workdir/broker.log" >&2; exit 1; }
    echo "demo: started mosquitto on 127.0.0.1:$port (pid $broker_pid)"
fi

echo "demo: subscriber on smartbin/# — every line below prefixed 'mqtt>' is what the fleet sees"
# A process substitution, not a pipe: `$!` after `a | b &` is b's pid, and killing sed would
# leave mosquitto_sub running after the demo.
mosquitto_sub -h 127.0.0.1 -p "$port" -t 'smartbin/#' -v -q 1 > >(sed -u 's/^/mqtt> /') &
sub_pid=$!
sleep 0.3

args=(simulate --broker "127.0.0.1:$port" --model "$model" --items "$items" --rate 2 --data-dir "$workdir/data")
[[ -n "${DEMO_IMAGES:-}" ]] && args+=(--images "$DEMO_IMAGES")
echo "demo: $bin ${args[*]}"
"$bin" "${args[@]}"
sleep 0.5
echo "demo: done — $items items routed and acknowledged by the broker"
