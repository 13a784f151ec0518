#!/usr/bin/env bash
# Make a small PKI for MQTT over TLS: a CA, a broker certificate for localhost/127.0.0.1 (plus
# BROKER_NAMES, e.g. "DNS:mqtt.example.org"), and one client certificate per name given, with
# CN = that name (a bin id, `dashboard`, `operator`). EC P-256 keys, private keys mode 600.
#
# Usage: tools/make_certs.sh OUTDIR [CLIENT_CN...]
#   OUTDIR/ca.{crt,key}, OUTDIR/broker.{crt,key}, OUTDIR/<cn>.{crt,key}
# An existing OUTDIR/ca.key is reused, so clients can be added later.
# Environment: CA_NAME (CA subject CN, default "SmartBin fleet CA"), DAYS (default 825).
set -euo pipefail

if [[ $# -lt 1 || "$1" == -h || "$1" == --help ]]; then
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
    [[ $# -ge 1 ]] && exit 0 || exit 2
fi

out="$1"; shift
days="${DAYS:-825}"
mkdir -p "$out"
umask 077
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

if [[ ! -f "$out/ca.key" ]]; then
    key "$out/ca.key"
    openssl req -x509 -new -key "$out/ca.key" -out "$out/ca.crt" -days "$days" \
        -subj "/CN=${CA_NAME:-SmartBin fleet CA}" -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign"
fi

sign() {  # name subject extensions
    key "$out/$1.key"
    openssl req -new -key "$out/$1.key" -out "$out/$1.csr" -subj "$2"
    printf '%s\n' "$3" > "$out/$1.ext"
    openssl x509 -req -in "$out/$1.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial \
        -out "$out/$1.crt" -days "$days" -extfile "$out/$1.ext" 2>/dev/null
    rm -f "$out/$1.csr" "$out/$1.ext"
}

if [[ ! -f "$out/broker.crt" ]]; then
    sign broker "/CN=localhost" "subjectAltName=DNS:localhost,IP:127.0.0.1${BROKER_NAMES:+,$BROKER_NAMES}
extendedKeyUsage=serverAuth"
fi
for cn in "$@"; do
    [[ "$cn" =~ ^[A-Za-z0-9_.-]+$ ]] || { echo "make_certs: '$cn' is not a valid bin id / CN" >&2; exit 2; }
    sign "$cn" "/CN=$cn" "extendedKeyUsage=clientAuth"
done
chmod 644 "$out"/*.crt
echo "certificates in $out: ca broker $*"
