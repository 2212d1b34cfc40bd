#!/usr/bin/env bash
# Run WebSocket *clients* through a fuzzing server's API with the runners in ci/clients/, and print their totals.
#
# Usage: ci/clients.sh [CLIENT...]
#   CLIENT   python-websockets, node-ws, tokio-tungstenite (default: all three; ci/clients/README.md)
# The server is Autobahn|Testsuite's `wstest -m fuzzingserver` (sections 1-7, 9, 10: 12/13 left out), from
# ../shared/autobahn, on a free 127.0.0.1 port; every client runs against one instance in turn, each bounded by
# CLIENT_BUDGET. `wsharness serve` takes its place once it exists (issue 13).
# Installs what is missing: the Python and Node libraries into the peers' cache (ci/peers/install.sh), the
# tokio-tungstenite runner with cargo (--locked). Prints each client's wall time and its totals.
# Output: target/clients/autobahn/ (index.json in Autobahn's layout, a report per case, wstest.log).
# Env: SHARED_DIR (../shared beside the repo), AUTOBAHN_VENV (~/.cache/wsharness/autobahn-venv),
#      PEERS_CACHE (~/.cache/wsharness), CLIENT_BUDGET (seconds per client, default 900).
# Exit: 0 every client ran to its end (whatever its verdicts), 1 a client could not be installed, started or
# finished within its budget, or no report came out; 2 usage.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEERS_DIR="$ROOT/ci/peers"
CLIENTS_DIR="$ROOT/ci/clients"
SHARED_DIR="${SHARED_DIR:-$ROOT/../shared}"
CACHE="${PEERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wsharness}"
AUTOBAHN_VENV="${AUTOBAHN_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/wsharness/autobahn-venv}"
BUDGET="${CLIENT_BUDGET:-900}"
ALL_CLIENTS=(python-websockets node-ws tokio-tungstenite)
OUT="$ROOT/target/clients/autobahn"

log() { printf '[clients.sh %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
warn() { printf '[clients.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
# shellcheck source=ci/peers/install.sh
source "$PEERS_DIR/install.sh"

CLIENTS=()
for arg in "$@"; do
  case "$arg" in
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    -*) echo "ci/clients.sh: unknown option '$arg' (see --help)" >&2; exit 2 ;;
    *)
      case " ${ALL_CLIENTS[*]} " in
        *" $arg "*) CLIENTS+=("$arg") ;;
        *) echo "ci/clients.sh: unknown client '$arg' (one of: ${ALL_CLIENTS[*]})" >&2; exit 2 ;;
      esac ;;
  esac
done
[ ${#CLIENTS[@]} -gt 0 ] || CLIENTS=("${ALL_CLIENTS[@]}")

RUNNER_MANIFEST="$CLIENTS_DIR/tokio-tungstenite/Cargo.toml"
RUNNER_TARGET="$CLIENTS_DIR/tokio-tungstenite/target"
install_client() {
  case "$1" in
    python-websockets) install_python_websockets ;;
    node-ws) install_node_ws ;;
    tokio-tungstenite)
      log "tokio-tungstenite: cargo build --release --locked (ci/clients/tokio-tungstenite)"
      CARGO_TARGET_DIR="$RUNNER_TARGET" cargo build -q --release --locked --manifest-path "$RUNNER_MANIFEST" ;;
  esac
}

# The command that runs client $1, in the array CMD.
client_command() {
  case "$1" in
    python-websockets) CMD=("$CACHE/python-websockets-venv/bin/python" "$CLIENTS_DIR/python-websockets/runner.py") ;;
    node-ws) CMD=(env "NODE_PATH=$CACHE/node-ws/node_modules" node "$CLIENTS_DIR/node-ws/runner.js") ;;
    tokio-tungstenite) CMD=("$RUNNER_TARGET/release/tokio-tungstenite-autobahn-runner") ;;
  esac
}

# ---------------------------------------------------------------- the fuzzing server

if [ ! -x "$AUTOBAHN_VENV/bin/wstest" ]; then
  log "Autobahn|Testsuite: installing into $AUTOBAHN_VENV"
  AUTOBAHN_VENV="$AUTOBAHN_VENV" bash "$SHARED_DIR/autobahn/install.sh" || { warn "Autobahn install failed"; exit 1; }
fi
for c in "${CLIENTS[@]}"; do
  install_client "$c" || { warn "$c: could not be installed"; exit 1; }
done

PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
rm -rf "$OUT" && mkdir -p "$OUT"
cat >"$OUT/fuzzingserver.json" <<JSON
{"url": "ws://127.0.0.1:$PORT", "outdir": "$OUT", "cases": ["*"], "exclude-cases": ["12.*", "13.*"],
 "exclude-agent-cases": {}, "options": {"failByDrop": false}}
JSON
( cd "$OUT" && exec "$AUTOBAHN_VENV/bin/wstest" -m fuzzingserver -s "$OUT/fuzzingserver.json" --webport 0 ) \
  >"$OUT/wstest.log" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null' EXIT
for _ in $(seq 1 100); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 0.2).close()" 2>/dev/null && break
  kill -0 "$SERVER" 2>/dev/null || { warn "wstest ended at start-up: $(tail -n 5 "$OUT/wstest.log")"; exit 1; }
  sleep 0.2
done
python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 1).close()" 2>/dev/null \
  || { warn "wstest never listened on port $PORT: $(tail -n 5 "$OUT/wstest.log")"; exit 1; }
log "Autobahn fuzzingserver on ws://127.0.0.1:$PORT (pid $SERVER)"

# ---------------------------------------------------------------- the clients

status=0
for c in "${CLIENTS[@]}"; do
  start=$(date +%s.%N)
  client_command "$c"
  timeout -k 5 "$BUDGET" "${CMD[@]}" "ws://127.0.0.1:$PORT" "$c" >"$OUT/$c.log" 2>&1
  rc=$?
  wall=$(python3 -c "import time; print(f'{time.time() - $start:.1f}')")
  if [ "$rc" != 0 ]; then
    warn "$c: runner exit $rc after $wall s (budget $BUDGET s); $(tail -n 3 "$OUT/$c.log")"
    status=1
  else
    log "$c: $wall s"
  fi
done
if [ ! -s "$OUT/index.json" ]; then
  warn "no index.json in $OUT (see $OUT/wstest.log)"
  exit 1
fi
for c in "${CLIENTS[@]}"; do
  python3 -c "import json, sys; sys.exit(0 if json.load(open('$OUT/index.json')).get('$c') else 1)" \
    || { warn "$c: no results in $OUT/index.json"; status=1; }
done
python3 "$SHARED_DIR/autobahn/summarize.py" --totals-only "$OUT"
exit "$status"
