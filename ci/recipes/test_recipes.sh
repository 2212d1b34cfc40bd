#!/usr/bin/env bash
# Tests the CI recipes in ci/recipes/ on this machine (ci/recipes/test_recipes.py says how): builds wsharness and
# the reference server (release), installs PyYAML when missing, runs both recipes' shell steps.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
cargo build --quiet --release --locked -p wsharness -p reference-server --manifest-path "$ROOT/Cargo.toml"
if ! python3 -c 'import yaml' 2>/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-yaml
fi
python3 "$ROOT/ci/recipes/test_recipes.py" "$TARGET/release" "$TARGET/release/reference-server"
