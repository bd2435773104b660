#!/usr/bin/env bash
# `cargo check` of the FFI crate (and so the core) for the mobile targets the apps ship:
# catches code that only compiles on the host (64-bit assumptions, Linux-only APIs) without an
# Android NDK or Apple SDK. Type-checks only; building and linking for devices needs the real
# toolchains (cargo-ndk, xcodebuild).
#
#   scripts/check-mobile.sh [TARGET...]     default: aarch64-linux-android armv7-linux-androideabi aarch64-apple-ios
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"

targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(aarch64-linux-android armv7-linux-androideabi aarch64-apple-ios)

installed=$(rustup target list --installed)
for target in "${targets[@]}"; do
  grep -qx "$target" <<<"$installed" || rustup target add "$target"
done
# The bundled SQLite is C, compiled by a build script that needs the target's C toolchain (NDK,
# Xcode). Without them, check against a system SQLite that is never linked: type-checking the
# Rust needs no library, and libsqlite3-sys takes SQLITE3_LIB_DIR at its word.
for target in "${targets[@]}"; do
  echo "check-mobile: $target" >&2
  SQLITE3_LIB_DIR=/nonexistent-sqlite-for-cargo-check \
    cargo check --quiet -p rukasec-ffi --no-default-features --target "$target"
done
echo "check-mobile: ok (${targets[*]})" >&2
