#!/usr/bin/env bash
# Instructions per unit of hot-path work, counted by valgrind's callgrind: a number that does not move with
# other work on the machine (criterion's timings do), so a change to the frame codec or the load generator's
# per-message path shows up here exactly. Each workload (reference-server/examples/instructions.rs,
# harness/examples/load_instructions.rs) runs N times and 0 times; the difference over N is the count per
# iteration, set-up excluded.
#
# Usage: ci/instructions.sh [N] [BEFORE]   (default 20 iterations each)
#   BEFORE: this script's output saved from an earlier build (same toolchain): each line then also shows the
#   change against it, and the exit is 3 if any workload grew by more than 2%.
# Needs valgrind. Exit: 0 counted, 1 valgrind or the build failed, 3 a regression against BEFORE.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${1:-20}"
BEFORE="${2:-}"
[ -z "$BEFORE" ] || [ -r "$BEFORE" ] || { echo "instructions.sh: cannot read $BEFORE" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "instructions.sh: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
cargo build -q --release --locked -p reference-server --example instructions --manifest-path "$ROOT/Cargo.toml"
cargo build -q --release --locked -p wsharness --example load_instructions --manifest-path "$ROOT/Cargo.toml"
EXAMPLES="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples"

# Ir collected by callgrind for one run of an example
count() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 | awk '/Collected :/ { print $NF }'
}

printf '%-22s %16s  %s\n' workload "instructions" "per"
# workload:example:unit:units per iteration
for w in echo-text-64B:instructions:frame:1000 echo-binary-16KiB:instructions:frame:1000 \
         header-64bit:instructions:parse:1 mask-64KiB:instructions:byte:65536 \
         deflate-text-16KiB:instructions:message:64 load-batch-64x64B:load_instructions:message:64; do
  IFS=: read -r name example unit per <<<"$w"
  base=$(count "$EXAMPLES/$example" "$name" 0)
  full=$(count "$EXAMPLES/$example" "$name" "$N")
  [ -n "$base" ] && [ -n "$full" ] || { echo "instructions.sh: $example $name did not run under callgrind" >&2; exit 1; }
  now=$(python3 -c "print(f'{($full - $base) / ($N * $per):.2f}')")
  was=$([ -n "$BEFORE" ] && awk -v w="$name" '$1 == w { print $2 }' "$BEFORE" || true)
  if [ -n "$was" ]; then
    change=$(python3 -c "print(f'{($now - $was) / $was * 100:+.2f}%')")
    printf '%-22s %16s  %-8s %s\n' "$name" "$now" "$unit" "$change (was $was)"
    python3 -c "import sys; sys.exit(0 if $now <= $was * 1.02 else 1)" || regressed=1
  else
    printf '%-22s %16s  %s\n' "$name" "$now" "$unit"
  fi
done
exit $(( ${regressed:-0} ? 3 : 0 ))
