#!/usr/bin/env bash
# Scale on one machine: one wsharness process holds CONNECTIONS WebSocket connections (default 50,000)
# for DURATION (default 60s) against reference servers, with a ping on every connection every 10 s and a
# light open-loop message rate, and must finish with no error.
#
# usage: bash ci/load_scale.sh [CONNECTIONS] [DURATION] [SERVERS] [RAMP_UP]
#   defaults: 50000 60s 3 25s. Not part of `cargo test` (it takes about two minutes).
#
# Why several servers and io_uring: the file-descriptor limit here is a hard 20,000 per process and
# an unprivileged process cannot raise it. The reference servers (a separate program) hold at most
# that many sockets each, so the connections are spread over SERVERS of them (connection i goes to
# URL i mod SERVERS). The generator raises its own soft limit to the hard one and, needing more
# sockets than that, parks each connection in an io_uring fixed-file table after its handshake
# (`--io auto` picks this). Connections are also spread over the loopback source addresses
# 127.0.0.1-3, bound before connect (connect picks the port: one port range per source address and
# server). Prints the memory per connection of the generator (resident growth over the connections)
# and of each server (peak resident memory over that before the run, per connection it was sent).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
CONNECTIONS=${1:-50000}
DURATION=${2:-60s}
SERVERS=${3:-3}
RAMP=${4:-25s}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
BIN=$CARGO_TARGET_DIR/release
cargo build --release -q -p wsharness -p reference-server

ulimit -n "$(ulimit -Hn)"
echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg); fd limit $(ulimit -n)"
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

URLS=()
for i in $(seq "$SERVERS"); do
  "$BIN/reference-server" --listen 127.0.0.1:0 --threads 1 --log warn >"$OUT/server$i.out" 2>"$OUT/server$i.err" &
  PIDS+=($!)
  for _ in $(seq 50); do grep -q "ws://" "$OUT/server$i.out" 2>/dev/null && break; sleep 0.1; done
  URLS+=("$(grep -o 'ws://[^ ]*' "$OUT/server$i.out")")
done
# resident memory of each server before the run (kB), for its memory per connection after it
kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
RSS0=()
for p in "${PIDS[@]}"; do RSS0+=("$(kb "$p" VmRSS)"); done
echo "servers: ${URLS[*]}"

RATE=$((CONNECTIONS / 10))
# the kernel's TCP sockets and their buffer pages (whole network namespace, both ends of every
# connection; not in any process's resident memory), every 2 s through the run
SOCKSTAT=$OUT/sockstat
( while :; do awk '/^TCP:/ { print $3, $NF }' /proc/net/sockstat >>"$SOCKSTAT"; sleep 2; done ) &
PIDS+=($!)
started=$(date +%s.%N)
set +e
"$BIN/wsharness" load "${URLS[@]}" -c "$CONNECTIONS" --ramp-up "$RAMP" -d "$DURATION" \
  --ping-interval 10s --rate "$RATE" --in-flight 4 --timeout 20s --max-handshakes 256 \
  --source-addrs 127.0.0.1,127.0.0.2,127.0.0.3 \
  --threshold errors==0 --threshold "connections==$CONNECTIONS" --quiet --out "$OUT/run"
code=$?
set -e
ended=$(date +%s.%N)
for i in $(seq "$SERVERS"); do
  if [ -s "$OUT/server$i.err" ]; then echo "server $i said:"; tail -3 "$OUT/server$i.err"; fi
done
# servers: peak resident memory (VmHWM) over the resident memory before the run, per connection
# it was sent (connection i goes to server i mod SERVERS)
for i in $(seq "$SERVERS"); do
  p=${PIDS[$((i - 1))]}
  conns=$(( CONNECTIONS / SERVERS + (i <= CONNECTIONS % SERVERS ? 1 : 0) ))
  hwm=$(kb "$p" VmHWM)
  echo "server $i memory: $((RSS0[i - 1] / 1024)) MB -> peak $((hwm / 1024)) MB, $(( (hwm - RSS0[i - 1]) * 1024 / (conns > 0 ? conns : 1) )) bytes per connection ($conns connections)"
done
awk -v page="$(getconf PAGESIZE)" 'NR == 1 { m0 = $2 } $2 > m { m = $2; u = $1 }
  END { printf "kernel TCP memory: %d MB at most (%d MB before the run; %d TCP sockets then, both ends)\n", m * page / 1e6, m0 * page / 1e6, u }' "$SOCKSTAT"
python3 - "$OUT/run/report.json" "$started" "$ended" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); s = r["summary"]; g = r["generator"]
print(f"connections opened: {s['connections']:,} (at most {s['connections_peak']:,} at once, {s['connections_failed']} failed, "
      f"{s.get('connections_not_tried', 0)} never tried)")
print(f"errors: {s['errors']} {r['errors']['by_detail'] or ''}")
print(f"messages: {s['messages_sent']:,} sent, {s['messages_received']:,} echoed; pings: {r['ping_latency_us']['count']:,} "
      f"(p99 {r['ping_latency_us']['p99']} µs); handshake p99 {r['handshake_latency_us']['p99']} µs")
print(f"generator: io {g['io']}, fd limit {g['fd_limit']}, sources {g['source_addrs']}")
print(f"generator memory: {g['rss_start_bytes']/1e6:.1f} MB -> {g['rss_peak_bytes']/1e6:.1f} MB, "
      f"{g['memory_per_connection_bytes']} bytes per connection")
print(f"wall time: {float(sys.argv[3]) - float(sys.argv[2]):.1f} s (report duration {r['duration_ms']/1e3:.1f} s)")
PY
echo "report: $OUT/run/report.json"
exit $code
