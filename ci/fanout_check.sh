#!/usr/bin/env bash
# Fan-out at scale, the three acceptance lines of issue 14: one publisher at 10 messages/s to RECEIVERS
# receivers (default 10,000) for DURATION (default 30s) through example-server's shootout broadcast.
#
#   1. against example-server (no delay): 0 missing; the delivery p50/p99/p99.9 and completion p99;
#   2. the same run against example-server --delay 50ms (every message the server sends is held 50 ms
#      first, a broadcast once for all its receivers), interleaved with run 1 ROUNDS times (default 1):
#      the delivery p50 moves by 50 ms within 2 ms, in every round;
#   3. SHARDS (default 4) processes at once (`--shard i/N`) against the undelayed server, merged with
#      `wsharness merge`: every delivery count of the merged report equals the sum of the shards'.
#
# usage: bash ci/fanout_check.sh [RECEIVERS] [DURATION] [SHARDS]   (env: ROUNDS, DELAY=50ms, WARMUP, OUT=dir)
# Prints the figures and PASS/FAIL per line; exits 1 if a line fails. Takes about 2 minutes per round
# plus one more at the defaults (not in .ci/run: it is longer than 3 minutes with ROUNDS=2).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RECEIVERS=${1:-10000}
DURATION=${2:-30s}
SHARDS=${3:-4}
ROUNDS=${ROUNDS:-1}
DELAY=${DELAY:-50ms}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
BIN=$CARGO_TARGET_DIR/release
cargo build --release -q -p wsharness -p example-server

ulimit -n "$(ulimit -Hn)"
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# the shipped scenario with RECEIVERS receivers and DURATION
SCENARIO=$OUT/fanout.toml
# and a warmup long enough for every receiver to connect before the first measured message: 10,000
# handshakes at once overflow the server's accept queue and some wait for a SYN retransmission (handshake
# max 2.0 s measured, so the default 2 s warmup let 84 receivers miss the first message)
WARMUP=${WARMUP:-$((2 + RECEIVERS / 2500))s}
sed -e "s/^connections = 1000\$/connections = $RECEIVERS/" -e "s/^duration = .*/duration = \"$DURATION\"/" \
  -e "s/^warmup = .*/warmup = \"$WARMUP\"/" \
  scenarios/fanout.toml >"$SCENARIO"
grep -q "^connections = $RECEIVERS\$" "$SCENARIO" || { echo "cannot set the receivers in $SCENARIO"; exit 2; }
grep -q "^warmup = \"$WARMUP\"\$" "$SCENARIO" || { echo "cannot set the warmup in $SCENARIO"; exit 2; }

start_server() { # name, extra args... (not in a subshell: its pid must reach PIDS for the cleanup)
  local name=$1; shift
  "$BIN/example-server" --listen 127.0.0.1:0 "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" &
  PIDS+=($!)
  for _ in $(seq 50); do grep -q "ws://" "$OUT/$name.out" 2>/dev/null && break; sleep 0.1; done
}
url_of() { grep -o 'ws://[^ ]*' "$OUT/$1.out" || { echo "example-server ($1) did not start: $OUT/$1.err" >&2; exit 2; }; }
start_server plain
start_server delayed --delay "$DELAY"
PLAIN=$(url_of plain)
DELAYED=$(url_of delayed)
echo "example-server: $PLAIN (no delay), $DELAYED (--delay $DELAY); $RECEIVERS receivers, $DURATION after a $WARMUP warmup, $ROUNDS round(s)"

run() { # out-dir, url, extra args...
  local dir=$1 url=$2; shift 2
  echo "load average $(cut -d' ' -f1-3 /proc/loadavg) before $dir"
  "$BIN/wsharness" load --scenario "$SCENARIO" "$url" --quiet --out "$OUT/$dir" "$@" >"$OUT/$dir.log" 2>&1 \
    || echo "($dir: wsharness exited with $?, see $OUT/$dir.log)"
}
started=$(date +%s)
for r in $(seq "$ROUNDS"); do
  run "plain$r" "$PLAIN"
  run "delayed$r" "$DELAYED"
done
for i in $(seq 0 $((SHARDS - 1))); do
  "$BIN/wsharness" load --scenario "$SCENARIO" "$PLAIN" --shard "$i/$SHARDS" --quiet --out "$OUT/shard$i" \
    >"$OUT/shard$i.log" 2>&1 &
  SHARD_PIDS[i]=$!
done
for p in "${SHARD_PIDS[@]}"; do wait "$p" || echo "(a shard exited with $?)"; done
SHARD_REPORTS=()
for i in $(seq 0 $((SHARDS - 1))); do SHARD_REPORTS+=("$OUT/shard$i/report.json"); done
"$BIN/wsharness" merge "${SHARD_REPORTS[@]}" --out "$OUT/merged.json" >"$OUT/merge.log" 2>&1 \
  || echo "(merge exited with $?, see $OUT/merge.log)"
echo "runs took $(( $(date +%s) - started )) s"

python3 - "$OUT" "$ROUNDS" "$SHARDS" "$RECEIVERS" "$DELAY" <<'PY'
import json, os, sys
out, rounds, shards, receivers, delay = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
delay_ms = float(delay.removesuffix("ms"))

def load(path):
    try:
        with open(os.path.join(out, path)) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        print(f"  cannot read {path}: {e}")
        return None

def delivery(r):
    return r["scenario"]["deliveries"][0] if r else None

def ms(us):
    return f"{us / 1e3:.1f} ms"

failed = False
def verdict(ok, line):
    global failed
    failed |= not ok
    print(f"{'PASS' if ok else 'FAIL'}  {line}")

def describe(name, r):
    d = delivery(r)
    if d is None:
        return
    s, lat, comp = r["summary"], d["latency_us"], d["completion_us"]
    sched = s.get("schedule") or {}
    print(f"  {name}: {d['received']:,} deliveries of {d['messages']} messages ({d['reached_all']} reached every "
          f"receiver), missing {d['missing']}, duplicates {d['duplicates']}, out of order {d['out_of_order']}; "
          f"delivery p50 {ms(lat['p50'])} p99 {ms(lat['p99'])} p99.9 {ms(lat['p999'])}; completion p99 {ms(comp['p99'])}; "
          f"publisher sent {sched.get('sent', '?')} of {sched.get('planned', '?')} planned; "
          f"connections {s['connections']:,} (failed {s['connections_failed']})")

plain = [load(f"plain{r}/report.json") for r in range(1, rounds + 1)]
delayed = [load(f"delayed{r}/report.json") for r in range(1, rounds + 1)]
for r in range(rounds):
    describe(f"round {r + 1}, no delay", plain[r])
    describe(f"round {r + 1}, --delay {delay}", delayed[r])

# 1. every receiver got every message
ok1 = all(d is not None and d["missing"] == 0 and d["duplicates"] == 0 and d["reached_all"] == d["messages"] > 0
          and d["received"] == d["messages"] * receivers for d in map(delivery, plain))
verdict(ok1, f"{receivers:,} receivers, no delay: 0 missing, every message reached every receiver "
             f"(delivery p50/p99/p99.9 and completion p99 above)")

# 2. the server's delay moves the p50 by that much, within 2 ms
moves = []
for p, d in zip(map(delivery, plain), map(delivery, delayed)):
    if p is not None and d is not None:
        moves.append((d["latency_us"]["p50"] - p["latency_us"]["p50"]) / 1e3)
ok2 = len(moves) == rounds and all(abs(m - delay_ms) <= 2.0 for m in moves)
verdict(ok2, f"--delay {delay} moves the delivery p50 by " + ", ".join(f"{m:+.1f} ms" for m in moves)
             + f" (wanted {delay_ms:+.0f} ms within 2 ms)")

# 3. shards merge to their sum
parts = [delivery(load(f"shard{i}/report.json")) for i in range(shards)]
merged = delivery(load("merged.json"))
keys = ["received", "untimed", "duplicates", "out_of_order", "missing"]
ok3 = merged is not None and all(p is not None for p in parts)
if ok3:
    sums = {k: sum(p[k] for p in parts) for k in keys}
    sums["timed"] = sum(p["latency_us"]["count"] for p in parts)
    got = {k: merged[k] for k in keys}
    got["timed"] = merged["latency_us"]["count"]
    ok3 = got == sums
    print(f"  shards: {', '.join(str(p['received']) for p in parts)} deliveries; sum {sums}; merged {got}")
verdict(ok3, f"{shards} shards merge to counts identical to their sum")
sys.exit(1 if failed else 0)
PY
