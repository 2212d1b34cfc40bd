#!/usr/bin/env bash
# The generator against the reference server, one core each: echoes per second and both processes'
# CPU time per echoed message (the bar: tcpkali drove uWebSockets.js to ~2.2M echoes/s from one core
# with 50 connections and 64-byte text messages).
#
# usage: bash ci/load_vs_reference.sh [DURATION] [IN_FLIGHT] [CONNECTIONS] [SIZE] [IO]
#   defaults: 10s 128 50 64 io-uring (IO: tokio or io-uring, the generator's driver). The generator runs on CPU 0, the server on CPU 1 (taskset).
#   Run it on an otherwise idle machine; it prints the load average first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
DURATION=${1:-10s}
IN_FLIGHT=${2:-128}
CONNECTIONS=${3:-50}
SIZE=${4:-64}
IO=${5:-io-uring}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
BIN=$CARGO_TARGET_DIR/release

command -v taskset >/dev/null || { echo "load_vs_reference.sh: taskset (util-linux) is needed" >&2; exit 2; }
[ "$(nproc)" -ge 2 ] || { echo "load_vs_reference.sh: needs 2 cores" >&2; exit 2; }
cargo build --release -q -p wsharness -p reference-server

echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
TICKS=$(getconf CLK_TCK)
OUT=$(mktemp -d)
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$OUT"' EXIT

taskset -c 1 "$BIN/reference-server" --listen 127.0.0.1:0 --threads 1 --log off >"$OUT/server.out" &
SERVER=$!
for _ in $(seq 50); do grep -q "ws://" "$OUT/server.out" 2>/dev/null && break; sleep 0.1; done
URL=$(grep -o 'ws://[^ ]*' "$OUT/server.out")

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
server_before=$(cpu_ticks "$SERVER")
children_before=$(python3 -c 'import resource as r; u=r.getrusage(r.RUSAGE_CHILDREN); print(u.ru_utime+u.ru_stime)')

python3 - "$BIN/wsharness" "$URL" "$CONNECTIONS" "$IN_FLIGHT" "$DURATION" "$SIZE" "$OUT" "$IO" <<'PY'
import json, resource, subprocess, sys
wsh, url, conns, inflight, duration, size, out, io = sys.argv[1:]
cmd = ["taskset", "-c", "0", wsh, "load", url, "-c", conns, "--in-flight", inflight, "-d", duration, "--io", io,
       "--warmup", "1s", "--size", size, "--text", "--threads", "1", "--quiet", "--out", out + "/run"]
before = resource.getrusage(resource.RUSAGE_CHILDREN)
p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
after = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
print(p.stdout)
r = json.load(open(out + "/run/report.json"))
total = sum(pt["received"] for pt in r["series"])
json.dump({"gen_cpu_s": cpu, "echoes_total": total, "report": r}, open(out + "/gen.json", "w"))
sys.exit(p.returncode)
PY

server_after=$(cpu_ticks "$SERVER")
python3 - "$OUT/gen.json" "$server_before" "$server_after" "$TICKS" <<'PY'
import json, sys
g = json.load(open(sys.argv[1])); before, after, hz = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
r = g["report"]; s = r["summary"]
server_cpu = (after - before) / hz
total = g["echoes_total"]
gen_ns = g["gen_cpu_s"] * 1e9 / total
srv_ns = server_cpu * 1e9 / total
print(f"echoes/s (measured phase):      {s['throughput_per_s']:,.0f}")
print(f"echoes in the whole run:        {total:,} (errors: {s['errors']})")
print(f"latency p50/p99/max:            {r['latency_us']['p50']} / {r['latency_us']['p99']} / {r['latency_us']['max']} µs")
print(f"generator CPU, whole run:       {g['gen_cpu_s']:.2f} s = {gen_ns:.0f} ns per echo (measured phase alone: {r['generator']['cpu_per_message_ns']:.0f} ns)")
print(f"reference server CPU, same run: {server_cpu:.2f} s = {srv_ns:.0f} ns per echo")
print(f"generator / server CPU per echo: {gen_ns / srv_ns:.2f}")
print(f"one core at the generator's cost per echo: {1e9 / gen_ns:,.0f} echoes/s")
PY
