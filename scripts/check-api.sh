#!/usr/bin/env bash
# Fails when the public Kotlin or Swift API changed without its checked-in snapshot: api/kotlin.api
# and api/swift.api hold every declaration an app can call (scripts/api_surface.py: no UniFFI
# plumbing, no ffi-testing exports, no bodies or docs). A change of the public surface updates
# the snapshot in the same commit (--update) and adds a CHANGELOG.md entry. It also fails when a
# declaration of ours reaches Kotlin or Swift without the doc comment its Rust item carries (the
# docs an IDE shows; Rust's `missing_docs` lint keeps the Rust side complete).
#
#   scripts/check-api.sh [--update]
#
# --update   rewrite the snapshots from the generated bindings instead of comparing
# Run scripts/bindgen.sh first.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"

update=0
for arg in "$@"; do
  case "$arg" in
    --update) update=1 ;;
    *) echo "usage: scripts/check-api.sh [--update]" >&2; exit 2 ;;
  esac
done

bindings="$(bash scripts/target-dir.sh)/bindings"
kotlin="$bindings/kotlin/com/rukapay/rukasec/rukasec.kt"
swift="$bindings/swift/RukaSec.swift"
for file in "$kotlin" "$swift"; do
  if [[ ! -f $file ]]; then
    echo "error: check-api: $file not found; run scripts/bindgen.sh first" >&2
    exit 1
  fi
done

scratch=$(mktemp -d "${TMPDIR:-/tmp}/rukasec-api.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
python3 scripts/api_surface.py kotlin "$kotlin" >"$scratch/kotlin.api"
python3 scripts/api_surface.py swift "$swift" >"$scratch/swift.api"

if [[ $update -eq 1 ]]; then
  mkdir -p api
  cp "$scratch/kotlin.api" "$scratch/swift.api" api/
  echo "check-api: api/kotlin.api ($(wc -l <api/kotlin.api) lines) and api/swift.api ($(wc -l <api/swift.api) lines) updated; add a CHANGELOG.md entry"
  exit 0
fi

status=0
for language in kotlin swift; do
  file=$kotlin; [[ $language == swift ]] && file=$swift
  python3 scripts/api_surface.py --undocumented "$language" "$file" >"$scratch/$language.undocumented"
  if [[ -s $scratch/$language.undocumented ]]; then
    echo "error: check-api: $language declarations without a doc comment (document the Rust item):" >&2
    sed 's/^/  /' "$scratch/$language.undocumented" >&2
    status=1
  fi
done
for language in kotlin swift; do
  if ! diff -u "api/$language.api" "$scratch/$language.api" >"$scratch/$language.diff"; then
    echo "error: check-api: the public $language API changed (- snapshot, + generated):" >&2
    cat "$scratch/$language.diff" >&2
    status=1
  fi
done
if [[ $status -ne 0 ]]; then
  echo "error: check-api: if the change is intended, run scripts/check-api.sh --update, commit" \
       "api/ with it and add a CHANGELOG.md entry" >&2
  exit 1
fi
echo "check-api: the Kotlin ($(wc -l <api/kotlin.api)) and Swift ($(wc -l <api/swift.api)) declarations match api/, each with its doc comment"
