#!/usr/bin/env bash
# Prints cargo's target directory, absolute: CARGO_TARGET_DIR, build.target-dir of a cargo
# config, or the workspace's target/. The other scripts ask here instead of assuming target/.
#
#   scripts/target-dir.sh
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"

dir=$(cargo metadata --format-version 1 --no-deps --offline 2>/dev/null \
  | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
[[ -n "$dir" ]] || { echo "error: target-dir: cargo metadata did not name a target directory" >&2; exit 1; }
echo "$dir"
