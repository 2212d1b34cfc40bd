#!/usr/bin/env bash
# Fuzzes every parser a peer or a user reaches, briefly: ci/fuzz.sh [SECONDS per target, default 20].
# The targets live in reference-server/fuzz/ and harness/fuzz/ (their README.md lists them and how to run long).
# Needs a nightly toolchain: without one this says so and exits 0. Installs cargo-fuzz if it is missing.
# Each target starts from its committed seeds (fuzz/seeds/<target>, read only) and keeps what it finds in
# fuzz/corpus/<target> (git-ignored). A crash, a failed check or a timeout fails the script; the input is
# saved under fuzz/artifacts/<target>/ and the command that replays it is printed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
secs="${1:-20}"
case "$secs" in '' | *[!0-9]*) echo "fuzz: SECONDS must be a whole number, got '$secs'" >&2; exit 2 ;; esac

if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  echo "fuzz: no nightly toolchain, skipped (install one: rustup toolchain install nightly)"
  exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
# cargo fuzz builds into each fuzz crate's own target/ (a shared target dir would mix its flags with others')
unset CARGO_TARGET_DIR

# Safe Rust only in the fuzzed code (no `unsafe`), so AddressSanitizer finds nothing more and halves the speed:
# built without it, with debug assertions and overflow checks (cargo fuzz's default).
for crate in reference-server harness; do
  (
    cd "$crate/fuzz"
    printf '\n== %s/fuzz: build ==\n' "$crate"
    cargo +nightly fuzz build --sanitizer none
    for target in $(cargo +nightly fuzz list); do
      printf '\n== %s/fuzz: %s, %s s ==\n' "$crate" "$target" "$secs"
      mkdir -p "corpus/$target"
      log="$(mktemp)"
      if ! cargo +nightly fuzz run --sanitizer none "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
        tail -n 60 "$log"
        rm -f "$log"
        echo "fuzz: $crate/fuzz target $target failed; the input is in $crate/fuzz/artifacts/$target/" >&2
        exit 1
      fi
      grep -E '^(#[0-9]+[[:space:]]+(INITED|DONE)|stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb))' "$log" || true
      rm -f "$log"
    done
  )
done
echo "fuzz: every target ran ${secs} s without a failure"
