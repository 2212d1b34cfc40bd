#!/usr/bin/env bash
# Times our whole conformance run and Autobahn|Testsuite's sections 1-7, 9, 10 against the same server, one after
# the other, and prints the ratio (issue 16: at least 10x). The server is Node `ws` (ci/peers/node-ws/echo.js),
# a fresh process for each tool, on a free loopback port, started and accepting before either tool's clock starts
# (Node takes about 0.3 s to start). Ours: wsharness's whole run against it, from its start to its exit (writing
# the reports included); Autobahn's: wstest's run alone (install check and summary excluded).
#
# Usage: ci/suite_vs_autobahn.sh [--bufferutil] [ROUNDS]     (default 1; each round times both)
#   --bufferutil: Node `ws` with its optional native addon bufferutil (ci/peers/node-ws-bufferutil), which ws
#   uses to mask and unmask when it is installed. Our run is bound by the server's own CPU time (Node is one
#   thread; it spends about 1.6 s of CPU on our cases without the addon, 1.3 s with it), Autobahn's by its own.
# Installs what is missing (Node `ws` into the peers' cache, Autobahn into its venv, wsharness release build).
# Env: SHARED_DIR, AUTOBAHN_VENV, PEERS_CACHE as ci/peers.sh. Exit: 0 measured (whatever the ratio), 1 a tool
# could not run.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEERS_DIR="$ROOT/ci/peers"
CACHE="${PEERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wsharness}"
PEER=node-ws
[ "${1:-}" = --bufferutil ] && { PEER=node-ws-bufferutil; shift; }
ROUNDS="${1:-1}"
OUT="$ROOT/target/suite-vs-autobahn"
log() { echo "suite_vs_autobahn: $*" >&2; }
warn() { echo "suite_vs_autobahn: $*" >&2; }
# shellcheck source=ci/peers/install.sh
source "$PEERS_DIR/install.sh"
install_node_ws "$PEER" || { echo "suite_vs_autobahn: cannot install Node ws ($PEER)" >&2; exit 1; }
# Autobahn installed before the clock starts; its time is wstest's own wall time (wall_seconds.txt)
SHARED_DIR="${SHARED_DIR:-$ROOT/../shared}"
export AUTOBAHN_VENV="${AUTOBAHN_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/wsharness/autobahn-venv}"
bash "$SHARED_DIR/autobahn/install.sh" >/dev/null || { echo "suite_vs_autobahn: cannot install Autobahn" >&2; exit 1; }
cargo build -q --release --locked -p wsharness --manifest-path "$ROOT/Cargo.toml" || exit 1
WSHARNESS="${CARGO_TARGET_DIR:-$ROOT/target}/release/wsharness"
SERVER=(env "NODE_PATH=$CACHE/$PEER/node_modules" node "$PEERS_DIR/node-ws/echo.js")
now() { date +%s.%N; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
mkdir -p "$OUT"
# cases at once: eight per core (the default is four, gentle with fragile servers; Node ws takes more)
JOBS=$((8 * $(nproc 2>/dev/null || echo 1)))
# a fresh server on a free port, accepting connections: sets $port and $server
start_server() {
  port=$(free_port)
  "${SERVER[@]}" "$port" >"$OUT/node-ws.log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2).close()" 2>/dev/null && return 0
    sleep 0.1
  done
  warn "the server did not start: $(tail -n 3 "$OUT/node-ws.log")"; return 1
}
stop_server() { kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; }

for round in $(seq 1 "$ROUNDS"); do
  # ours: every case of the library, against a fresh server
  start_server || exit 1
  start=$(now)
  "$WSHARNESS" conformance "ws://127.0.0.1:$port/" --jobs "$JOBS" --quiet --out "$OUT/wsharness" >"$OUT/wsharness.log" 2>&1
  rc=$?
  ours=$(python3 -c "print(f'{$(now) - $start:.2f}')")
  stop_server
  [ "$rc" -le 1 ] || { echo "suite_vs_autobahn: wsharness exited $rc: $(tail -n 3 "$OUT/wsharness.log")" >&2; exit 1; }
  cases=$(python3 -c "import json; print(len(json.load(open('$OUT/wsharness/report.json'))['cases']))")

  # Autobahn: the same server, sections 1-7, 9, 10 (ci/autobahn.sh --url, no gate)
  start_server || exit 1
  bash "$ROOT/ci/autobahn.sh" --url "ws://127.0.0.1:$port" --out "$OUT/autobahn" --no-gate >"$OUT/autobahn.log" 2>&1
  rc=$?
  theirs=$(cat "$OUT/autobahn/wall_seconds.txt" 2>/dev/null || echo 0)
  stop_server
  [ "$rc" = 0 ] || { echo "suite_vs_autobahn: ci/autobahn.sh exited $rc: $(tail -n 3 "$OUT/autobahn.log")" >&2; exit 1; }
  python3 -c "print(f'round $round: wsharness {$ours:.2f} s ($cases cases, --jobs $JOBS), Autobahn 1-7, 9, 10 {$theirs:.2f} s: {$theirs / $ours:.1f}x')"
done
