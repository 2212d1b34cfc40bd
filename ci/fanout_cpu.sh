#!/usr/bin/env bash
# CPU per fan-out delivery, server and generator apart: one example-server, one `wsharness load --scenario
# scenarios/fanout.toml` with RECEIVERS receivers (default 3,000) for DURATION (default 15s); CPU time of each
# process from /proc/PID/stat (the server's over the run, the generator's whole life) over the deliveries.
# Env: SERVER_ENV / GEN_ENV (e.g. TOKIO_WORKER_THREADS=1) are set for the server / the generator;
# SERVER_ARGS are added to the server's command line (e.g. "--delay 50ms").
#
# usage: bash ci/fanout_cpu.sh [RECEIVERS] [DURATION]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RECEIVERS=${1:-3000}
DURATION=${2:-15s}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
BIN=$CARGO_TARGET_DIR/release
cargo build --release -q -p wsharness -p example-server
ulimit -n "$(ulimit -Hn)"
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
sed -e "s/^connections = 1000\$/connections = $RECEIVERS/" -e "s/^duration = .*/duration = \"$DURATION\"/" \
  scenarios/fanout.toml >"$OUT/fanout.toml"
env ${SERVER_ENV:-_=1} "$BIN/example-server" --listen 127.0.0.1:0 ${SERVER_ARGS:-} >"$OUT/server.out" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q "ws://" "$OUT/server.out" 2>/dev/null && break; sleep 0.1; done
URL=$(grep -o 'ws://[^ ]*' "$OUT/server.out")
tck=$(getconf CLK_TCK)
cpu() { awk -v t="$tck" '{ print ($14 + $15) / t }' "/proc/$1/stat"; }
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
env ${GEN_ENV:-_=1} "$BIN/wsharness" load --scenario "$OUT/fanout.toml" "$URL" --quiet --out "$OUT/run" >"$OUT/run.log" 2>&1 &
GEN=$!
s0=$(cpu "$SERVER"); s1=$s0; g1=0
while kill -0 "$GEN" 2>/dev/null; do
  s1=$(cpu "$SERVER"); g1=$(cpu "$GEN" 2>/dev/null || echo "$g1"); sleep 0.2
done
wait "$GEN" || true
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$OUT/run/report.json" "$s0" "$s1" "$g1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))["scenario"]["deliveries"][0]
s, g, n = float(sys.argv[3]) - float(sys.argv[2]), float(sys.argv[4]), d["received"]
print(f"deliveries {n:,} ({d['messages']} messages, {d['reached_all']} reached every receiver, missing {d['missing']}); "
      f"p50 {d['latency_us']['p50'] / 1e3:.2f} ms, p99 {d['latency_us']['p99'] / 1e3:.2f} ms")
print(f"server CPU {s:.2f} s = {s / max(n, 1) * 1e6:.2f} us per delivery; "
      f"generator CPU {g:.2f} s (whole run, connecting included) = {g / max(n, 1) * 1e6:.2f} us per delivery")
PY
