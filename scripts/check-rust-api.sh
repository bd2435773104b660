#!/usr/bin/env bash
# Fails when the public Rust API of rukasec-core (the crate servers link for the request
# verifier, and the CLI and the FFI crate build on) changed without its checked-in snapshot:
# api/rust-core.api holds every public item reachable from the crate root, with all features,
# as scripts/rust_api_surface.py renders it from rustdoc's JSON output (paths, kinds,
# signatures, trait impls; no auto-trait or blanket impls, no docs). A change of the public
# surface updates the snapshot in the same commit (--update) and adds a CHANGELOG.md entry.
# The snapshot is of the x86_64 Linux build (the `keyring` feature's per-OS constructors differ
# on macOS); run it there, as CI does.
#
#   scripts/check-rust-api.sh [--update]
#
# --update   rewrite the snapshot from the current source instead of comparing
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"

# rustdoc's JSON output is unstable (-Z unstable-options), so this step, and only this step,
# builds with a nightly, pinned by date so that the JSON format (FORMAT_VERSION in
# scripts/rust_api_surface.py) and the rendered paths do not move under us. This is the one
# place the name is written; scripts/install-deps.sh reads it from this line and installs it.
# nightly-2026-05-20 is rustc 1.97.0-nightly (e50aa6fba 2026-05-19): a nightly's dated name is
# the day it was published, the day after its commit.
toolchain=nightly-2026-05-20

update=0
for arg in "$@"; do
  case "$arg" in
    --update) update=1 ;;
    *) echo "usage: scripts/check-rust-api.sh [--update]" >&2; exit 2 ;;
  esac
done

if ! rustup run "$toolchain" rustdoc --version >/dev/null 2>&1; then
  echo "error: check-rust-api: toolchain $toolchain is not installed; run scripts/install-deps.sh" \
       "(or: rustup toolchain install $toolchain --profile minimal)" >&2
  exit 1
fi

# A target directory of its own under cargo's: the nightly build never waits for the stable
# build's lock nor replaces its artifacts.
target="$(bash scripts/target-dir.sh)/rustdoc-json"
json="$target/doc/rukasec_core.json"
rm -f "$json"
cargo "+$toolchain" rustdoc --quiet --locked -p rukasec-core --all-features --lib \
  --target-dir "$target" -- -Z unstable-options --output-format json
if [[ ! -f $json ]]; then
  echo "error: check-rust-api: rustdoc wrote no $json" >&2
  exit 1
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/rukasec-rust-api.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
python3 scripts/rust_api_surface.py "$json" >"$scratch/rust-core.api"

if [[ $update -eq 1 ]]; then
  mkdir -p api
  cp "$scratch/rust-core.api" api/rust-core.api
  echo "check-rust-api: api/rust-core.api ($(wc -l <api/rust-core.api) lines) updated; add a CHANGELOG.md entry"
  exit 0
fi

if [[ ! -f api/rust-core.api ]]; then
  echo "error: check-rust-api: api/rust-core.api is missing; run scripts/check-rust-api.sh --update" >&2
  exit 1
fi
if ! diff -u api/rust-core.api "$scratch/rust-core.api" >"$scratch/rust-core.diff"; then
  echo "error: check-rust-api: the public Rust API of rukasec-core changed (- snapshot, + source):" >&2
  cat "$scratch/rust-core.diff" >&2
  echo "error: check-rust-api: if the change is intended, run scripts/check-rust-api.sh --update," \
       "commit api/ with it and add a CHANGELOG.md entry" >&2
  exit 1
fi
echo "check-rust-api: the public Rust API of rukasec-core ($(wc -l <api/rust-core.api) lines) matches api/rust-core.api"
