#!/usr/bin/env bash
# Check that the PHP peers are their seeds plus exactly the changes in seed.patch: re-extract each
# file from ../shared/seeds (the line ranges below), apply the patch, and compare with the files here.
# Usage: ci/peers/verify-seeds.sh     Env: SHARED_DIR (default: ../shared beside the repository)
# Exit: 0 identical, 1 a file differs, 2 the seeds or `patch` are missing.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SHARED_DIR="${SHARED_DIR:-$HERE/../../../shared}"
command -v patch >/dev/null || { echo "verify-seeds.sh: 'patch' is missing (apt-get install -y patch)" >&2; exit 2; }
TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"' EXIT
status=0
# peer directory, seed file prefix, then FILE:FIRST-LAST for each file taken from the seed
check() {
  local dir="$1" seed matches
  matches=("$SHARED_DIR"/seeds/"$2"_*.txt)
  seed="${matches[0]}"
  [ -f "$seed" ] || { echo "verify-seeds.sh: seed $2 not found in $SHARED_DIR/seeds" >&2; exit 2; }
  shift 2
  mkdir -p "$TMP/$dir"
  for spec in "$@"; do
    local range="${spec#*:}"
    sed -n "${range%-*},${range#*-}p" "$seed" > "$TMP/$dir/${spec%%:*}"
  done
  (cd "$TMP/$dir" && patch -s -p1 < "$HERE/$dir/seed.patch")
  for spec in "$@"; do
    if cmp -s "$TMP/$dir/${spec%%:*}" "$HERE/$dir/${spec%%:*}"; then
      echo "ok   $dir/${spec%%:*} = seed $(basename "$seed") lines ${spec#*:} + seed.patch"
    else
      echo "DIFF $dir/${spec%%:*} is not seed $(basename "$seed") lines ${spec#*:} + seed.patch" >&2; status=1
    fi
  done
}
check php-seed-000 000 ws.class.php:13-606 server.php:610-646
check php-seed-001 001 server.php:357-612
exit "$status"
