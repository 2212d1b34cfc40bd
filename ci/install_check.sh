#!/usr/bin/env bash
# Installs wsharness as a new user would (`cargo install --locked --path harness`, README "Install") into a
# temporary root, then runs the installed binary from an empty folder: `--version`, one section of the conformance
# suite against the embedded reference server (the case library must be inside the binary), the completions and the
# man page. Fails when any of that fails or when the binary is 15 MB or more.
#
# Usage: ci/install_check.sh      Env: CARGO_TARGET_DIR (reused, so an earlier release build is not redone)
# Exit: 0 installed and ran, 1 otherwise.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MAX_BYTES=$((15 * 1024 * 1024))
prefix="$(mktemp -d)"
trap 'rm -rf "$prefix"' EXIT

cargo install --quiet --locked --path "$ROOT/harness" --root "$prefix" --target-dir "${CARGO_TARGET_DIR:-$ROOT/target}"
bin="$prefix/bin/wsharness"
size=$(stat -c %s "$bin")
echo "installed: $bin, $size bytes"
if [ "$size" -ge "$MAX_BYTES" ]; then
  echo "install_check: the installed binary is $size bytes, over $MAX_BYTES (is the release profile stripping debug info?)" >&2
  exit 1
fi

mkdir "$prefix/empty" && cd "$prefix/empty"
"$bin" --version
"$bin" conformance --quiet --filter 'rfc6455/5.2/*' --out reports
for f in report.json report.html junit.xml; do
  [ -s "reports/$f" ] || { echo "install_check: no reports/$f after the run" >&2; exit 1; }
done
"$bin" completions bash | grep -q '_wsharness()' || { echo "install_check: no bash completion function" >&2; exit 1; }
"$bin" man | grep -q '^\.TH wsharness 1' || { echo "install_check: the man page has no .TH line" >&2; exit 1; }
echo "install_check: installed, ran from an empty folder, completions and man page printed"
