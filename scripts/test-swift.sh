#!/usr/bin/env bash
# Run the Swift binding tests (tests/swift) against the host-built library, inside the cached
# Debian trixie chroot that has the Swift toolchain (scripts/swift-chroot.sh).
#
#   scripts/test-swift.sh          RUKASEC_SKIP_BINDGEN=1 reuses <target dir>/bindings as they are
#
# Generates the bindings (scripts/bindgen.sh), copies the generated RukaSec.swift into
# tests/swift/Sources/RukaSec/ and turns the ```swift examples of docs/INTEGRATION.md into
# tests/swift/Tests/RukaSecTests/IntegrationExamples.swift (scripts/doc_examples.py; both
# git-ignored, written only when they change), bind-mounts the repo read-only at /rukasec in the
# chroot, mounts /proc, and runs `swift test` there with a clean environment. SwiftPM's build
# directory stays in the chroot (/root/rukasec-swift-build), so nothing but those two ignored
# files lands in the repo. Every mount is undone on every exit path.
#
# Last line of output: `swift: N passed, N failed`. Exits non-zero when swift test failed, a
# test failed, or no test passed. Needs root (mount, chroot).
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
repo="$PWD"

[[ $EUID -eq 0 ]] || { echo "error: test-swift: root is needed for mount and chroot" >&2; exit 1; }
command -v python3 >/dev/null 2>&1 || { echo "error: test-swift: python3 is needed for scripts/doc_examples.py (Debian: apt-get install python3)" >&2; exit 1; }

if [[ "${RUKASEC_SKIP_BINDGEN:-0}" != 1 ]]; then
  scripts/bindgen.sh
fi
bindings="$(bash scripts/target-dir.sh)/bindings"   # cargo's target directory: CARGO_TARGET_DIR too
for f in "$bindings/swift/RukaSec.swift" "$bindings/swift/RukaSecFFI.h" \
         "$bindings/swift/RukaSecFFI.modulemap" "$bindings/lib/librukasec_ffi.so"; do
  [[ -f "$f" ]] || { echo "error: test-swift: $f is missing (run scripts/bindgen.sh)" >&2; exit 1; }
done

# The package compiles the generated code as its RukaSec target. Copy only when it changed, so
# SwiftPM's incremental build keeps the compiled module.
mkdir -p tests/swift/Sources/RukaSec
if ! cmp -s "$bindings/swift/RukaSec.swift" tests/swift/Sources/RukaSec/RukaSec.swift; then
  cp "$bindings/swift/RukaSec.swift" tests/swift/Sources/RukaSec/RukaSec.swift
fi
# The documentation's examples, as tests of the test target (the script rewrites the file only
# when its content changes, for the same reason).
python3 scripts/doc_examples.py swift docs/INTEGRATION.md tests/swift/Tests/RukaSecTests/IntegrationExamples.swift

chroot_dir="$(scripts/swift-chroot.sh)"
[[ -x "$chroot_dir/usr/bin/swift" || -L "$chroot_dir/usr/bin/swift" ]] || { echo "error: test-swift: no swift in $chroot_dir" >&2; exit 1; }

# One run at a time per chroot: the mounts and the build directory are shared.
exec 9>"$chroot_dir.test-swift.lock"
flock -w 600 9 || { echo "error: test-swift: another run holds $chroot_dir.test-swift.lock" >&2; exit 1; }

in_chroot=/rukasec                      # the repo, seen from inside the chroot
scratch=/root/rukasec-swift-build       # SwiftPM's build directory, inside the chroot
tmp=/root/rukasec-swift-tmp             # TMPDIR of this run (swift leaves files there)
mounts=()                               # what this run mounted, in order
log="$(mktemp)"

unmount() {
  local target="$1"
  mountpoint -q "$target" || return 0
  umount "$target" 2>/dev/null || umount -l "$target"
}

cleanup() {
  local status=$? i
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    unmount "${mounts[i]}" || { echo "error: test-swift: could not unmount ${mounts[i]}" >&2; status=1; }
  done
  mounts=()
  rm -rf --one-file-system "${chroot_dir:?}$tmp"
  rm -f "$log"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

mount_in() { # mount_in TARGET MOUNT-ARGS...: mount, and remember it for cleanup
  local target="$1"
  shift
  # Left over by a run that was killed before its trap ran (we hold the lock: nobody uses it).
  unmount "$target"
  mount "$@" "$target"
  mounts+=("$target")
}

mkdir -p "$chroot_dir$in_chroot"
rm -rf --one-file-system "${chroot_dir:?}$tmp"
mkdir -p "$chroot_dir$tmp"
mount_in "$chroot_dir/proc" -t proc proc
mount_in "$chroot_dir$in_chroot" --bind "$repo"
mount -o remount,bind,ro "$chroot_dir$in_chroot"
# The bindings may live outside the repo (CARGO_TARGET_DIR): mounted on their own, read-only.
in_chroot_bindings=/rukasec-bindings
mkdir -p "$chroot_dir$in_chroot_bindings"
mount_in "$chroot_dir$in_chroot_bindings" --bind "$bindings"
mount -o remount,bind,ro "$chroot_dir$in_chroot_bindings"

# The shared test vectors (never copied into the repo): $RUKASEC_VECTORS, else ../shared/vectors
# beside the repository, read-only at /rukasec-vectors when present (the tests that read them
# fail with the path they tried when absent).
vectors="${RUKASEC_VECTORS:-$repo/../shared/vectors}"
in_chroot_vectors=/rukasec-vectors
if [[ -d $vectors ]]; then
  mkdir -p "$chroot_dir$in_chroot_vectors"
  mount_in "$chroot_dir$in_chroot_vectors" --bind "$vectors"
  mount -o remount,bind,ro "$chroot_dir$in_chroot_vectors"
fi

lib_dir="$in_chroot_bindings/lib"
# The error variants the tests reach (ErrorReach.swift), copied out for scripts/check-error-reach.sh.
reach_out="$(bash scripts/target-dir.sh)/error-reach/swift.tsv"
mkdir -p "$(dirname "$reach_out")"
rm -f "$reach_out"
modulemap="$in_chroot_bindings/swift/RukaSecFFI.modulemap"

echo "test-swift: swift test in $chroot_dir" >&2
set +e
chroot "$chroot_dir" /usr/bin/env -i \
    PATH=/usr/local/bin:/usr/bin:/bin HOME=/root TMPDIR="$tmp" LANG=C.UTF-8 TERM=dumb \
    RUKASEC_ROOT="$in_chroot" LD_LIBRARY_PATH="$lib_dir" SWIFT_BACKTRACE=symbolicate=fast \
    RUKASEC_REACHED_ERRORS="$tmp/reached-errors.tsv" RUKASEC_VECTORS="$in_chroot_vectors" \
  swift test \
    --package-path "$in_chroot/tests/swift" \
    --scratch-path "$scratch" \
    --disable-swift-testing \
    -Xswiftc -Xcc -Xswiftc "-fmodule-map-file=$modulemap" \
    -Xlinker "-L$lib_dir" \
  2>&1 | tee "$log"
swift_status=${PIPESTATUS[0]}
set -e
if [[ -f "$chroot_dir$tmp/reached-errors.tsv" ]]; then cp "$chroot_dir$tmp/reached-errors.tsv" "$reach_out"; fi

# XCTest prints "Test Case 'Class.test' started|passed|failed|skipped ...". A test that crashes
# the process starts and never ends: count it as failed.
count() { grep -cE "^Test Case '[^']+' $1" "$log" || true; }
started=$(count started)
passed=$(count passed)
failed=$(count failed)
skipped=$(count skipped)
crashed=$((started - passed - failed - skipped))
((crashed > 0)) && failed=$((failed + crashed))

echo "swift: $passed passed, $failed failed"
if ((swift_status != 0 || failed > 0 || passed == 0)); then
  exit 1
fi
