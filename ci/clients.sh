#!/usr/bin/env bash
# Run WebSocket *clients* through a fuzzing server's API with the runners in ci/clients/, and print their totals.
#
# Usage: ci/clients.sh [--server autobahn|wsharness|both] [--sections all|1-10] [CLIENT...]
#   CLIENT   python-websockets, node-ws, tokio-tungstenite (default: all three; ci/clients/README.md)
#   --server autobahn: Autobahn|Testsuite's `wstest -m fuzzingserver`, from ../shared/autobahn;
#            wsharness: `wsharness serve` (release build) with every case that tests clients;
#            both (the default): each client against Autobahn, then against wsharness, timed one after the other,
#            then the agreement of the verdicts on the mapped cases and the ratio of the wall times
#            (ci/clients/agreement.py).
#   --sections all (the default): every case, permessage-deflate's 12.x/13.x (Autobahn) and rfc7692/ (ours)
#            included; 1-10: both servers without them (Autobahn's sections 1-7, 9, 10, the time to compare with).
# Each server runs on a free 127.0.0.1 port; every client runs against one instance in turn, each bounded by
# CLIENT_BUDGET.
# Installs what is missing: the Python and Node libraries into the peers' cache (ci/peers/install.sh), the
# tokio-tungstenite runner with cargo (--locked), wsharness with cargo (--release --locked). Prints each client's
# wall time and its totals.
# Output: target/clients/autobahn/ and target/clients/wsharness/ (index.json in Autobahn's layout, a report per
# case, the server's log; wsharness also writes report.json, report.html and junit.xml per client).
# Env: SHARED_DIR (../shared beside the repo), AUTOBAHN_VENV (~/.cache/wsharness/autobahn-venv),
#      PEERS_CACHE (~/.cache/wsharness), CLIENT_BUDGET (seconds per client, default 900),
#      AUTOBAHN_JOBS (cases each runner runs at once against Autobahn; default 1, as every published Autobahn
#      runner does), WSHARNESS_JOBS (the same against wsharness serve, and serve's --jobs; default 8 per core:
#      most cases spend their time waiting on the client, so more at once than cores keeps both busy).
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
CORES="$(nproc 2>/dev/null || echo 1)"
AUTOBAHN_JOBS="${AUTOBAHN_JOBS:-1}"
WSHARNESS_JOBS="${WSHARNESS_JOBS:-$((8 * CORES))}"
ALL_CLIENTS=(python-websockets node-ws tokio-tungstenite)
SERVERS=both
SECTIONS=all

log() { printf '[clients.sh %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
warn() { printf '[clients.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
# shellcheck source=ci/peers/install.sh
source "$PEERS_DIR/install.sh"

CLIENTS=()
while [ $# -gt 0 ]; do
  arg="$1"; shift
  case "$arg" in
    --server)
      SERVERS="${1:-}"; shift || true
      case "$SERVERS" in autobahn|wsharness|both) ;; *) echo "ci/clients.sh: --server takes autobahn, wsharness or both" >&2; exit 2 ;; esac ;;
    --sections)
      SECTIONS="${1:-}"; shift || true
      case "$SECTIONS" in all|1-10) ;; *) echo "ci/clients.sh: --sections takes all or 1-10" >&2; exit 2 ;; esac ;;
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

# ---------------------------------------------------------------- the fuzzing servers

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Waits until something listens on port $1, while process $2 lives; $3 names its log.
await_listen() {
  for _ in $(seq 1 150); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $1), 0.2).close()" 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || { warn "the server ended at start-up: $(tail -n 5 "$3")"; return 1; }
    sleep 0.2
  done
  warn "nothing listened on port $1: $(tail -n 5 "$3")"
  return 1
}

# Runs every client against ws://127.0.0.1:$1, writing logs into $2, $4 cases at once (the runners' JOBS);
# records wall times in WALL[server:client].
declare -A WALL
run_clients() {
  local port="$1" out="$2" server="$3" jobs="$4" c rc start wall
  for c in "${CLIENTS[@]}"; do
    start=$(date +%s.%N)
    client_command "$c"
    JOBS="$jobs" timeout -k 5 "$BUDGET" "${CMD[@]}" "ws://127.0.0.1:$port" "$c" >"$out/$c.log" 2>&1
    rc=$?
    wall=$(python3 -c "import time; print(f'{time.time() - $start:.1f}')")
    WALL["$server:$c"]="$wall"
    if [ "$rc" != 0 ]; then
      warn "$server, $c: runner exit $rc after $wall s (budget $BUDGET s); $(tail -n 3 "$out/$c.log")"
      status=1
    else
      log "$server, $c: $wall s ($jobs at once)"
    fi
  done
}

# Checks that $1/index.json has results for every client.
check_index() {
  local out="$1" c
  if [ ! -s "$out/index.json" ]; then
    warn "no index.json in $out"
    status=1
    return
  fi
  for c in "${CLIENTS[@]}"; do
    python3 -c "import json, sys; sys.exit(0 if json.load(open('$out/index.json')).get('$c') else 1)" \
      || { warn "$c: no results in $out/index.json"; status=1; }
  done
}

for c in "${CLIENTS[@]}"; do
  install_client "$c" || { warn "$c: could not be installed"; exit 1; }
done
status=0
SERVER=""
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null' EXIT

AB_OUT="$ROOT/target/clients/autobahn"
if [ "$SERVERS" != wsharness ]; then
  if [ ! -x "$AUTOBAHN_VENV/bin/wstest" ]; then
    log "Autobahn|Testsuite: installing into $AUTOBAHN_VENV"
    AUTOBAHN_VENV="$AUTOBAHN_VENV" bash "$SHARED_DIR/autobahn/install.sh" || { warn "Autobahn install failed"; exit 1; }
  fi
  PORT="$(free_port)"
  rm -rf "$AB_OUT" && mkdir -p "$AB_OUT"
  EXCLUDE='[]'; [ "$SECTIONS" = 1-10 ] && EXCLUDE='["12.*", "13.*"]'
  cat >"$AB_OUT/fuzzingserver.json" <<JSON
{"url": "ws://127.0.0.1:$PORT", "outdir": "$AB_OUT", "cases": ["*"], "exclude-cases": $EXCLUDE,
 "exclude-agent-cases": {}, "options": {"failByDrop": false}}
JSON
  ( cd "$AB_OUT" && exec "$AUTOBAHN_VENV/bin/wstest" -m fuzzingserver -s "$AB_OUT/fuzzingserver.json" --webport 0 ) \
    >"$AB_OUT/wstest.log" 2>&1 &
  SERVER=$!
  await_listen "$PORT" "$SERVER" "$AB_OUT/wstest.log" || exit 1
  log "Autobahn fuzzingserver on ws://127.0.0.1:$PORT (pid $SERVER)"
  run_clients "$PORT" "$AB_OUT" autobahn "$AUTOBAHN_JOBS"
  kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; SERVER=""
  check_index "$AB_OUT"
  python3 "$SHARED_DIR/autobahn/summarize.py" --totals-only "$AB_OUT"
fi

WS_OUT="$ROOT/target/clients/wsharness"
if [ "$SERVERS" != autobahn ]; then
  if [ -z "${WSHARNESS:-}" ]; then
    log "wsharness: cargo build --release --locked -p wsharness"
    cargo build -q --release --locked -p wsharness --manifest-path "$ROOT/Cargo.toml" || { warn "cannot build wsharness"; exit 1; }
    WSHARNESS="${CARGO_TARGET_DIR:-$ROOT/target}/release/wsharness"
  fi
  PORT="$(free_port)"
  rm -rf "$WS_OUT" && mkdir -p "$WS_OUT"
  FILTER=(); [ "$SECTIONS" = 1-10 ] && FILTER=(--filter '!rfc7692/*')
  "$WSHARNESS" serve --port "$PORT" --out "$WS_OUT" --jobs "$WSHARNESS_JOBS" "${FILTER[@]}" -q >"$WS_OUT/serve.log" 2>&1 &
  SERVER=$!
  await_listen "$PORT" "$SERVER" "$WS_OUT/serve.log" || exit 1
  log "wsharness serve on ws://127.0.0.1:$PORT (pid $SERVER)"
  run_clients "$PORT" "$WS_OUT" wsharness "$WSHARNESS_JOBS"
  # Ctrl-C stops serve and writes every client's reports; its exit code is the verdicts', not ours
  kill -INT "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; SERVER=""
  check_index "$WS_OUT"
  grep -E "cases against|^total" "$WS_OUT/serve.log" || true
fi

if [ "$SERVERS" = both ] && [ -s "$AB_OUT/index.json" ] && [ -s "$WS_OUT/index.json" ]; then
  TIMES=()
  for c in "${CLIENTS[@]}"; do
    [ -n "${WALL[autobahn:$c]:-}" ] && [ -n "${WALL[wsharness:$c]:-}" ] && TIMES+=("$c=${WALL[autobahn:$c]}:${WALL[wsharness:$c]}")
  done
  python3 "$CLIENTS_DIR/agreement.py" "$AB_OUT/index.json" "$WS_OUT/index.json" \
    --jobs "$AUTOBAHN_JOBS:$WSHARNESS_JOBS" --times "${TIMES[@]}"
fi
exit "$status"
