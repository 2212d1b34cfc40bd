#!/usr/bin/env bash
# The generator against the reference server, one core each: echoes per second and both processes'
# CPU time per echoed message (the bar: tcpkali drove uWebSockets.js to ~2.2M echoes/s from one core
# with 50 connections and 64-byte text messages). The generator must cost less per echo than the
# server it loads; the script exits 1 when the median ratio of its rounds is 1 or more.
#
# usage: bash ci/load_vs_reference.sh [DURATION] [IN_FLIGHT] [CONNECTIONS] [SIZE] [IO]
#   defaults: 10s 128 50 64 io-uring (IO: tokio or io-uring, the generator's driver). The generator runs on CPU 0,
#   the server on CPU 1 (taskset). Env: ROUNDS (3), SERVER (a command that starts another echo server
#   and prints its ws:// URL, e.g. "node ci/peers/node-ws/echo.js 0"; default the reference server).
#   Run it on an otherwise idle machine; it prints the load average first. The work is in ci/load_cpu.py.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
BIN=$CARGO_TARGET_DIR/release

command -v taskset >/dev/null || { echo "load_vs_reference.sh: taskset (util-linux) is needed" >&2; exit 2; }
[ "$(nproc)" -ge 2 ] || { echo "load_vs_reference.sh: needs 2 cores" >&2; exit 2; }
cargo build --release -q -p wsharness -p reference-server

server=()
[ -n "${SERVER:-}" ] && server=(--server "$SERVER")
exec python3 ci/load_cpu.py --wsharness "$BIN/wsharness" --reference-server "$BIN/reference-server" "${server[@]}" \
  --rounds "${ROUNDS:-3}" --gate -d "${1:-10s}" --in-flight "${2:-128}" -c "${3:-50}" --size "${4:-64}" --io "${5:-io-uring}"
