#!/usr/bin/env bash
# Fails when a shipped export could crash a Swift app: UniFFI wraps a call to an export that
# returns no `Result` in `try!`, so a Rust panic there (caught and passed on as an error) ends the
# app instead of throwing. Every shipped export must return a `Result` (docs/ARCHITECTURE.md,
# "FFI rules"); only UniFFI's own plumbing (buffers, clone/free of handles), the test exports of
# feature `ffi-testing` (Test* types, ffiTesting* functions, never shipped) and the records'
# `description`/`debugDescription` (UniFFI offers no throwing form of a Swift property; they run
# the redacting `Debug`, which only writes strings and lengths) may use `try!`.
#
#   scripts/check-exports.sh [SWIFT-FILE]    default: <target>/bindings/swift/RukaSec.swift
#
# Run scripts/bindgen.sh first.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"

if [[ $# -gt 1 ]]; then echo "usage: scripts/check-exports.sh [SWIFT-FILE]" >&2; exit 2; fi
swift_file=${1:-"$(bash scripts/target-dir.sh)/bindings/swift/RukaSec.swift"}
if [[ ! -f $swift_file ]]; then
  echo "error: check-exports: $swift_file not found; run scripts/bindgen.sh first" >&2
  exit 1
fi

python3 - "$swift_file" <<'PY'
import re
import sys

path = sys.argv[1]
owner = None        # the top-level type a line belongs to
function = None     # the last function or initializer declared
offenders = []
checked = 0
for number, line in enumerate(open(path, encoding="utf-8"), 1):
    top = re.match(r"^(?:open |public |fileprivate |private )*(?:final )?(?:class|struct|enum|extension|protocol) (\w+)", line)
    if top:
        owner = top.group(1)
    elif re.match(r"^public func ", line):
        owner = None  # a top-level function belongs to no type
    declared = re.search(r"\b(?:func (\w+)|(init)\(|var (\w+): String \{)", line)
    if declared:
        function = declared.group(1) or declared.group(2) or declared.group(3)
    # A call into an export: its result lifted, or its call made, under try!.
    if not re.search(r"try!\s+(?:FfiConverter\w*(?:\.lift)?\(|await\b|rustCall\(\)\s*\{)", line):
        continue
    checked += 1
    if (owner or "").startswith(("Test", "FfiConverterTypeTest")) or (function or "").startswith("ffiTesting"):
        continue
    if function in ("description", "debugDescription"):
        continue
    offenders.append(f"{path}:{number}: {owner}.{function}")
if offenders:
    print("error: check-exports: these exports return no Result, so a Rust panic in them would "
          "crash a Swift app (try!):", file=sys.stderr)
    for offender in offenders:
        print("  " + offender, file=sys.stderr)
    sys.exit(1)
print(f"check-exports: every shipped export throws ({checked} try! call sites: test exports and record descriptions)")
PY
