#!/usr/bin/env bash
# Run wsharness and Autobahn|Testsuite against real WebSocket servers ("peers") on loopback, and compare.
#
# Usage: ci/peers.sh [--no-autobahn] [PEER...]
#   PEER           node-ws, python-websockets, php-seed-000, php-seed-001 (default: all four; ci/peers/README.md)
#   --no-autobahn  run only wsharness (no comparison)
# For each peer: install it if needed (into ~/.cache/wsharness/, apt-get for node, python3-venv and php-cli),
# start it on a free 127.0.0.1 port under a supervisor that restarts it if it crashes, wait until it accepts
# connections, run `wsharness conformance URL` (target/peers/PEER/wsharness/report.json), then Autobahn|Testsuite
# sections 1-7, 9, 10 on a fresh instance (target/peers/PEER/autobahn/index.json), stop it, and compare the two
# with ci/compare_autobahn.py (target/peers/PEER/compare.{txt,json}).
# Cases that found the peer down (it crashed on an earlier case) run again on a fresh instance, so every case is
# judged against a running server (ci/peers/merge.py). PHP peers are single processes that crash or stall on some
# cases: wsharness runs them in 8 shards, each one case at a time against its own instance (PHP_SHARDS), so a
# crash costs only the case that caused it. PHP peers: the seeds reassemble large messages in
# quadratic time, so Autobahn 9.1.3-9.1.6, 9.2.3-9.2.6 and 9.3-9.6 (1-16 MiB messages) and our cases mapped to
# them are left out; each Autobahn run is bounded by `timeout` (AUTOBAHN_BUDGET).
# Env: SHARED_DIR (default ../shared beside the repo), AUTOBAHN_VENV (default ~/.cache/wsharness/autobahn-venv),
#      PEERS_CACHE (default ~/.cache/wsharness), AUTOBAHN_BUDGET (seconds per peer, default 1200),
#      WSHARNESS_TIMEOUT (seconds per wsharness run, default 900), PHP_SHARDS (default 8).
# Exit: 0 every step ran for every peer (whatever the verdicts: buggy peers are the point), 1 a peer could not be
# installed or started or a tool wrote no report, 2 usage.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEERS_DIR="$ROOT/ci/peers"
SHARED_DIR="${SHARED_DIR:-$ROOT/../shared}"
CACHE="${PEERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wsharness}"
export AUTOBAHN_VENV="${AUTOBAHN_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/wsharness/autobahn-venv}"
AUTOBAHN_BUDGET="${AUTOBAHN_BUDGET:-1200}"
WSHARNESS_TIMEOUT="${WSHARNESS_TIMEOUT:-900}"
ALL_PEERS=(node-ws python-websockets php-seed-000 php-seed-001)
# Autobahn cases the PHP seeds cannot finish in any sensible time (1-16 MiB messages, quadratic reassembly)
PHP_AUTOBAHN_EXCLUDE="9.1.3,9.1.4,9.1.5,9.1.6,9.2.3,9.2.4,9.2.5,9.2.6,9.3.*,9.4.*,9.5.*,9.6.*"
MAX_PASSES=20

NO_AUTOBAHN=0; PEERS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-autobahn) NO_AUTOBAHN=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    -*) echo "ci/peers.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *)
      case " ${ALL_PEERS[*]} " in
        *" $1 "*) PEERS+=("$1") ;;
        *) echo "ci/peers.sh: unknown peer '$1' (one of: ${ALL_PEERS[*]})" >&2; exit 2 ;;
      esac ;;
  esac
  shift
done
[ ${#PEERS[@]} -gt 0 ] || PEERS=("${ALL_PEERS[@]}")
OUT_ROOT="$ROOT/target/peers"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/wsharness"
AB="$SHARED_DIR/autobahn"

log() { printf '[peers.sh %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
warn() { printf '[peers.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ---------------------------------------------------------------- installing

# shellcheck source=ci/peers/install.sh
source "$PEERS_DIR/install.sh"

# ---------------------------------------------------------------- running a peer

PEER_PGIDS=(); PORT=""; URL=""

# A free port outside the kernel's ephemeral range: a port from that range may be the source port of one of the
# harness's own connections by the time the peer binds it ("Address already in use").
free_port() {
  python3 - <<'PY'
import random, socket
try:
    low, high = map(int, open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
except (OSError, ValueError):
    low, high = 32768, 60999
ports = list(range(10000, low)) if low - 10000 >= 1000 else list(range(high + 1, 65536))
random.shuffle(ports)
for port in ports[:200]:
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
else:
    raise SystemExit("peers.sh: no free port found")
PY
}

# peer_command PEER PORT: sets PEER_CWD and PEER_CMD
peer_command() {
  PEER_CWD="$PEERS_DIR/$1"
  case "$1" in
    node-ws) PEER_CMD=(env "NODE_PATH=$CACHE/node-ws/node_modules" node echo.js "$2") ;;
    python-websockets) PEER_CMD=("$CACHE/python-websockets-venv/bin/python" echo.py "$2") ;;
    # the seed's server.php loads './ws.class.php': it runs from its own folder
    php-seed-*) PEER_CMD=(php server.php "$2") ;;
  esac
}

# start_peer PEER LOG: a supervisor in its own process group restarts the peer whenever it exits
# (as systemd's Restart=always would); every exit is logged. Adds the group to PEER_PGIDS; sets PORT and URL.
start_peer() {
  PORT="$(free_port)" || return 1
  URL="ws://127.0.0.1:$PORT/"
  peer_command "$1" "$PORT"
  echo "== $(date +%T) start: ${PEER_CMD[*]} (in $PEER_CWD)" >>"$2"
  # shellcheck disable=SC2016  # the supervisor's script expands its own variables
  (cd "$PEER_CWD" && exec setsid bash -c '
    n=0
    while :; do
      "$@"; rc=$?; n=$((n + 1))
      echo "peers.sh: peer exited with status $rc at $(date +%T.%N | cut -c1-12); restart $n" >&2
      [ "$n" -lt 500 ] || exit 1
      sleep 0.05
    done' supervise "${PEER_CMD[@]}") >>"$2" 2>&1 &
  local pid=$!
  PEER_PGIDS+=("$pid")
  # bounded wait: the peer accepts TCP connections on its port
  for _ in $(seq 150); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then return 0; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  warn "$1 did not accept connections on 127.0.0.1:$PORT within 15 s; its log ($2):"
  tail -n 20 "$2" >&2
  return 1
}

# stop_peers: every instance started by start_peer (its whole process group)
stop_peers() {
  [ ${#PEER_PGIDS[@]} -gt 0 ] || return 0
  sleep 0.3  # lets a supervisor log an exit (a crash) that has just happened
  local g
  for g in "${PEER_PGIDS[@]}"; do kill -TERM -- "-$g" 2>/dev/null; done
  for _ in $(seq 30); do
    local alive=0
    for g in "${PEER_PGIDS[@]}"; do kill -0 -- "-$g" 2>/dev/null && alive=1; done
    [ "$alive" = 1 ] || break
    sleep 0.1
  done
  for g in "${PEER_PGIDS[@]}"; do kill -KILL -- "-$g" 2>/dev/null; wait "$g" 2>/dev/null; done
  PEER_PGIDS=()
}
trap stop_peers EXIT
trap 'stop_peers; exit 130' INT TERM

# ---------------------------------------------------------------- wsharness

build_wsharness() {
  local attempt
  for attempt in 1 2 3; do
    log "cargo build --release -p wsharness"
    if cargo build --release --quiet -p wsharness --manifest-path "$ROOT/Cargo.toml"; then return 0; fi
    [ "$attempt" = 3 ] || { warn "build failed (case files or code mid-edit?); retrying in 60 s"; sleep 60; }
  done
  return 1
}

# run_wsharness PEER OUT: rounds in OUT/round-R/shard-K, merged into OUT/report.json.
# Library peers: one instance, every case, the harness's own concurrency.
# PHP peers (single-process servers that crash or stall on some cases): the cases are split into PHP_SHARDS shards,
# each run one case at a time (--jobs 1) against its own instance, so that a crash or a stall costs only the case
# that caused it, not the cases that happened to run beside it; the shards run at the same time.
run_wsharness() {
  local peer="$1" out="$2" shards=1 jobs=() round=1 tries=0 reports=() ids
  rm -rf "$out"; mkdir -p "$out"
  "$BIN" cases list --json >"$out/cases.json" || { warn "$peer: wsharness cases list failed"; return 1; }
  ids="$out/ids-round-1.txt"
  if [[ "$peer" == php-seed-* ]]; then
    shards="${PHP_SHARDS:-8}"; jobs=(--jobs 1)
    python3 "$PEERS_DIR/merge.py" exclude-ours "$out/cases.json" "$PHP_AUTOBAHN_EXCLUDE" >"$out/excluded.txt"
    python3 -c 'import json, sys; print("\n".join(c["id"] for c in json.load(open(sys.argv[1]))))' "$out/cases.json" \
      | grep -vxF -f "$out/excluded.txt" >"$ids"
    log "$peer: leaving out $(wc -l <"$out/excluded.txt") of our cases mapped to Autobahn $PHP_AUTOBAHN_EXCLUDE"
  fi
  while [ "$round" -le "$MAX_PASSES" ]; do
    local dir="$out/round-$round" pids=() k
    mkdir -p "$dir"
    if [ -s "$ids" ]; then
      awk -v n="$shards" -v d="$dir" '{ print > (d "/shard-" ((NR - 1) % n + 1) ".ids") }' "$ids"
    else
      : >"$dir/shard-1.ids"  # no list: every case
    fi
    local n_shards
    n_shards=$(find "$dir" -name 'shard-*.ids' | wc -l)
    for k in $(seq "$n_shards"); do
      local filters=() id
      while read -r id; do filters+=(--filter "$id"); done <"$dir/shard-$k.ids"
      start_peer "$peer" "$OUT_ROOT/$peer/peer.log" || { stop_peers; return 1; }
      timeout -s INT -k 15 "$WSHARNESS_TIMEOUT" "$BIN" conformance "$URL" --out "$dir/shard-$k" --quiet \
        "${jobs[@]}" "${filters[@]}" >"$dir/shard-$k.txt" 2>"$dir/shard-$k.err" &
      pids+=($!)
    done
    log "$peer: wsharness conformance, round $round: $n_shards instance(s)${jobs:+, one case at a time each}"
    local broken=0
    for k in $(seq "$n_shards"); do
      wait "${pids[$((k - 1))]}"; local rc=$?
      if [ "$rc" = 2 ] && grep -qE '\.toml:[0-9]+' "$dir/shard-$k.err"; then broken=1; fi
      [ "$rc" = 124 ] && warn "$peer: wsharness hit the ${WSHARNESS_TIMEOUT}s bound; its report is incomplete"
    done
    stop_peers
    if [ "$broken" = 1 ] && [ "$tries" -lt 3 ]; then
      tries=$((tries + 1))
      warn "$peer: a case file is broken (being edited?): $(cat "$dir"/shard-*.err | grep -m1 -E '\.toml:[0-9]+'); rebuilding in 60 s"
      rm -rf "$dir"; sleep 60; build_wsharness || return 1
      continue
    fi
    for k in $(seq "$n_shards"); do
      if [ ! -s "$dir/shard-$k/report.json" ]; then
        warn "$peer: wsharness wrote no report for $dir/shard-$k:"; cat "$dir/shard-$k.err" >&2; return 1
      fi
      reports+=("$dir/shard-$k/report.json")
    done
    ids="$out/ids-round-$((round + 1)).txt"
    for k in $(seq "$n_shards"); do python3 "$PEERS_DIR/merge.py" refused "$dir/shard-$k/report.json"; done >"$ids"
    [ -s "$ids" ] || break
    log "$peer: $(wc -l <"$ids") cases found the peer down (it had just crashed): running them again"
    round=$((round + 1))
  done
  python3 "$PEERS_DIR/merge.py" wsharness "$out/report.json" --order "$out/cases.json" "${reports[@]}" || return 1
  python3 "$PEERS_DIR/merge.py" summary "$out/report.json" | sed 's/^/    /'
}

# ---------------------------------------------------------------- Autobahn

# run_autobahn PEER OUT: passes in OUT/pass-N, merged into OUT/index.json
run_autobahn() {
  local peer="$1" out="$2" excl="" pass=1 rc done_ids="" deadline=$((SECONDS + AUTOBAHN_BUDGET)) remaining
  rm -rf "$out"; mkdir -p "$out"
  [[ "$peer" == php-seed-* ]] && excl="$PHP_AUTOBAHN_EXCLUDE"
  while [ "$pass" -le "$MAX_PASSES" ]; do
    remaining=$((deadline - SECONDS))
    [ "$remaining" -gt 10 ] || { warn "$peer: Autobahn budget (${AUTOBAHN_BUDGET}s) used up"; break; }
    start_peer "$peer" "$OUT_ROOT/$peer/peer.log" || { stop_peers; return 1; }
    local ex="$excl"
    [ -n "$done_ids" ] && ex="${ex:+$ex,}$done_ids"
    log "$peer: Autobahn|Testsuite 1-7, 9, 10 against $URL (pass $pass, bound ${remaining}s${excl:+, excluding $excl})"
    bash "$AB/autobahn.sh" --quiet --agent "$peer" --timeout "$remaining" ${ex:+--exclude "$ex"} \
      "$URL" "$out/pass-$pass" >"$out/pass-$pass.txt" 2>&1
    rc=$?
    stop_peers
    done_ids="$(python3 "$PEERS_DIR/merge.py" autobahn "$out" "$out"/pass-[0-9]*/)" || return 1
    if [ "$rc" = 124 ]; then
      warn "$peer: Autobahn pass $pass hit its ${remaining}s bound and wrote no report: its cases are not compared"
      break
    fi
    if [ -f "$out/pass-$pass/index.json" ]; then
      python3 "$AB/summarize.py" --totals-only "$out/pass-$pass/index.json" | sed "s/^/    pass $pass: /"
    fi
    grep -q '^Connection to .* failed' "$out/pass-$pass/wstest.log" 2>/dev/null || break
    log "$peer: the peer was down when Autobahn connected (it had crashed); running the rest on a fresh instance"
    pass=$((pass + 1))
  done
  [ -s "$out/index.json" ] || { warn "$peer: Autobahn produced no report; see $out/pass-*/wstest.log"; return 1; }
}

# ---------------------------------------------------------------- main

STARTED=$SECONDS
build_wsharness || { warn "cannot build wsharness"; exit 1; }
if [ "$NO_AUTOBAHN" = 0 ]; then
  [ -f "$AB/autobahn.sh" ] || { warn "$AB/autobahn.sh not found (set SHARED_DIR)"; exit 1; }
  bash "$AB/install.sh" >/dev/null || { warn "installing Autobahn|Testsuite failed"; exit 1; }
fi
STATUS=0; SUMMARY=()
for peer in "${PEERS[@]}"; do
  t0=$SECONDS
  dir="$OUT_ROOT/$peer"
  rm -rf "$dir"; mkdir -p "$dir"
  log "== $peer"
  if ! install_peer "$peer"; then
    warn "$peer: install failed"; STATUS=1; SUMMARY+=("$peer: install failed"); continue
  fi
  if ! run_wsharness "$peer" "$dir/wsharness"; then
    STATUS=1; SUMMARY+=("$peer: wsharness did not run"); continue
  fi
  t1=$SECONDS
  line="$peer: wsharness $((t1 - t0)) s"
  if [ "$NO_AUTOBAHN" = 0 ]; then
    if run_autobahn "$peer" "$dir/autobahn"; then
      line+=", Autobahn $((SECONDS - t1)) s"
      python3 "$ROOT/ci/compare_autobahn.py" "$dir/wsharness/report.json" "$dir/autobahn/index.json" \
        --json "$dir/compare.json" | tee "$dir/compare.txt"
      [ "${PIPESTATUS[0]}" = 0 ] || STATUS=1
      line+="; $(head -n 1 "$dir/compare.txt" | sed "s/^$peer: //")"
    else
      STATUS=1; line+=", Autobahn did not run"
    fi
  fi
  restarts=$(grep -c '^peers.sh: peer exited' "$dir/peer.log" 2>/dev/null)
  line+="; peer restarted after a crash ${restarts:-0} time(s)"
  SUMMARY+=("$line")
done
echo
echo "== ci/peers.sh summary (reports in target/peers/PEER/)"
printf '  %s\n' "${SUMMARY[@]}"
echo "  wall time $((SECONDS - STARTED)) s"
exit "$STATUS"
