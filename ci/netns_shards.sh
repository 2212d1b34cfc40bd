#!/usr/bin/env bash
# Many hosts on one machine: the reference server and three load-generator shards, each in its own network
# namespace (its own "host", linked by veth pairs to a bridge), the shards run as separate processes and their
# reports merged with `wsharness merge`; the merge must add up exactly (connections, messages, histogram counts).
# Then the latency figures are checked against a known delay: rounds that add DELAY_MS each way must move the
# merged p50 by 2 x DELAY_MS within 5%. With a netem-capable kernel (sch_netem) the delay is netem's on every
# link; without, a relay in the server's namespace (ci/delay_relay.py) holds every byte DELAY_MS each way, and
# the baseline is a round through the same relay with no delay, so only the delay differs.
#
# Usage: ci/netns_shards.sh [DELAY_MS]      (default 50). Needs root and iproute2 (`ip`, `tc`); exit 0 checked,
# 1 a check failed, 2 cannot run here (not root, no iproute2, no network namespaces).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DELAY_MS="${1:-50}"
SHARDS=3
CONNS=60
OUT="$(mktemp -d)"
TAG="wsh$$"
say() { echo "netns_shards: $*"; }

[ "$(id -u)" = 0 ] || { say "needs root (network namespaces)"; exit 2; }
if ! command -v ip >/dev/null || ! command -v tc >/dev/null; then
  apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null 2>&1
fi
command -v ip >/dev/null || { say "needs iproute2"; exit 2; }
cargo build -q --release --locked -p wsharness -p reference-server --manifest-path "$ROOT/Cargo.toml" || exit 1
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"

cleanup() {
  if [ -n "${SERVER:-}" ]; then kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; fi
  for i in $(seq 1 $((SHARDS + 1))); do ip link del "$TAG-h$i" 2>/dev/null; done
  for ns in srv $(seq 1 $SHARDS); do ip netns del "$TAG-$ns" 2>/dev/null; done
  ip link del "$TAG-br" 2>/dev/null
  rm -rf "$OUT"
}
trap cleanup EXIT

# the hosts: a bridge in the root namespace, one veth pair per namespace, 10.99.0.0/24
ip link add "$TAG-br" type bridge || { say "cannot create a bridge"; exit 2; }
ip link set "$TAG-br" up
i=1
for ns in srv $(seq 1 $SHARDS); do
  ip netns add "$TAG-$ns" || { say "cannot create network namespaces"; exit 2; }
  ip link add "$TAG-h$i" type veth peer name "$TAG-n$i"
  ip link set "$TAG-n$i" netns "$TAG-$ns"
  ip link set "$TAG-h$i" master "$TAG-br" up
  ip -n "$TAG-$ns" addr add "10.99.0.$i/24" dev "$TAG-n$i"
  ip -n "$TAG-$ns" link set "$TAG-n$i" up
  ip -n "$TAG-$ns" link set lo up
  i=$((i + 1))
done
SERVER_IP=10.99.0.1

ip netns exec "$TAG-srv" "$BIN/reference-server" --listen "$SERVER_IP:9001" --log warn >"$OUT/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 50); do grep -q "ws://" "$OUT/server.log" && break; sleep 0.1; done
grep -q "ws://" "$OUT/server.log" || { say "the server did not start: $(cat "$OUT/server.log")"; exit 1; }

# one round: every shard in its own namespace at once, then the merge; prints the merged p50 (µs)
round() {
  local name="$1" url="${2:-ws://$SERVER_IP:9001/}" rate="${3:-3000}" pids=() shard
  for shard in $(seq 0 $((SHARDS - 1))); do
    ip netns exec "$TAG-$((shard + 1))" "$BIN/wsharness" load "$url" -c "$CONNS" --rate "$rate" -d 3s \
      --shard "$shard/$SHARDS" --quiet --out "$OUT/$name-$shard" >"$OUT/$name-$shard.log" 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || { say "a shard failed: $(tail -3 "$OUT"/"$name"-*.log)"; return 1; }; done
  "$BIN/wsharness" merge "$OUT/$name"-*/report.json --out "$OUT/$name-merged.json" >/dev/null || return 1
  python3 - "$OUT" "$name" "$SHARDS" "$CONNS" <<'PY'
import json, sys
out, name, shards, conns = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
parts = [json.load(open(f"{out}/{name}-{i}/report.json")) for i in range(shards)]
m = json.load(open(f"{out}/{name}-merged.json"))
total = lambda key: sum(p["summary"][key] for p in parts)
for key in ("messages_sent", "messages_received", "errors", "connections"):
    assert m["summary"][key] == total(key), f"{key}: merged {m['summary'][key]}, sum {total(key)}"
assert m["summary"]["connections"] == conns, f"{m['summary']['connections']} connections opened of {conns}"
assert m["summary"]["errors"] == 0, m["errors"]
assert m["latency_us"]["count"] == sum(p["latency_us"]["count"] for p in parts), "histogram counts"
assert m["settings"]["rate_per_s"] == sum(p["settings"]["rate_per_s"] for p in parts), "rates"
print(m["latency_us"]["p50"])
PY
}

base=$(round base) || exit 1
say "3 shards in 3 namespaces against a server in a fourth: the merge adds up exactly (p50 ${base} µs)"
# prints whether the p50 moved by 2 x DELAY_MS within 5% (exit 1 if not)
check_moved() {
  python3 - "$1" "$2" "$DELAY_MS" "$3" <<'PY'
import sys
base, delayed, d, how = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
moved, want = delayed - base, 2 * d * 1000
ok = abs(moved - want) <= 0.05 * want
print(f"netns_shards: {how} {d} ms each way moved the p50 by {moved} µs ({base} -> {delayed}; expected {want} µs +-5%): {'ok' if ok else 'FAILED'}")
sys.exit(0 if ok else 1)
PY
}

if ip netns exec "$TAG-srv" tc qdisc add dev "$TAG-n1" root netem delay "${DELAY_MS}ms" 2>/dev/null; then
  # the server's link delays what it sends; the shards' links what they send: D each way
  for s in $(seq 2 $((SHARDS + 1))); do ip netns exec "$TAG-$((s - 1))" tc qdisc add dev "$TAG-n$s" root netem delay "${DELAY_MS}ms"; done
  delayed=$(round delayed) || exit 1
  check_moved "$base" "$delayed" netem || exit 1
else
  say "this kernel has no netem (sch_netem): the delay is a relay's (ci/delay_relay.py) in the server's namespace"
  relay_round() {
    ip netns exec "$TAG-srv" python3 "$ROOT/ci/delay_relay.py" --listen "$SERVER_IP:9002" --to "$SERVER_IP:9001" \
      --delay-ms "$2" >"$OUT/relay-$1.log" 2>&1 &
    RELAY=$!
    for _ in $(seq 50); do grep -q "listening" "$OUT/relay-$1.log" && break; sleep 0.1; done
    # a tenth of the rate: the relay is one Python process, and must not be what queues
    round "$1" "ws://$SERVER_IP:9002/" 300; local rc=$?
    kill "$RELAY" 2>/dev/null; wait "$RELAY" 2>/dev/null
    return $rc
  }
  relayed=$(relay_round relayed 0) || exit 1
  delayed=$(relay_round delayed "$DELAY_MS") || exit 1
  check_moved "$relayed" "$delayed" "a relay's delay of" || exit 1
fi
