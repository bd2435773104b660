#!/usr/bin/env bash
# The error-variant reach table (scripts/error_reach.py): each variant of each exported error
# enum and the Kotlin and Swift tests that reached it. Fails when one is unreached.
#
#   scripts/check-error-reach.sh
#
# Reads what the last scripts/test-kotlin.sh and scripts/test-swift.sh recorded in
# <target dir>/error-reach/ (cargo's target directory: CARGO_TARGET_DIR too); run them first.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
[[ $# -eq 0 ]] || { echo "usage: scripts/check-error-reach.sh" >&2; exit 2; }
reach="$(bash scripts/target-dir.sh)/error-reach"
python3 scripts/error_reach.py bindings/src "$reach/kotlin.tsv" "$reach/swift.tsv"
