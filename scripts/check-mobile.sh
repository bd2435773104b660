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
#
# ring (rustls's crypto provider) is C and assembly too, also compiled by its build script.
# Debian's clang builds it for these targets without an NDK or SDK when told to be freestanding
# (ring's core needs no libc headers with RING_CORE_NOSTDLIBINC). For Apple targets cc-rs wants
# SDKROOT set, and ring includes the SDK's TargetConditionals.h, which a stub stands in for.
# Good for type-checking and staticlibs, not for shipping.
fake_sdk="${TMPDIR:-/tmp}/rukasec-no-sdk"
mkdir -p "$fake_sdk/usr/include"
cat >"$fake_sdk/usr/include/TargetConditionals.h" <<'EOF_TC'
/* Stand-in for the Apple SDK header, for scripts/check-mobile.sh only (iOS device targets). */
#define TARGET_OS_MAC 1
#define TARGET_OS_OSX 0
#define TARGET_OS_IPHONE 1
#define TARGET_OS_IOS 1
#define TARGET_OS_SIMULATOR 0
EOF_TC
for target in "${targets[@]}"; do
  echo "check-mobile: $target" >&2
  var=${target//-/_}
  cflags="--target=$target -ffreestanding -nostdlibinc -DRING_CORE_NOSTDLIBINC=1"
  [[ $target != *-apple-* ]] || cflags+=" -isystem $fake_sdk/usr/include"
  env "CC_$var=clang" "AR_$var=llvm-ar" "CFLAGS_$var=$cflags" \
    SDKROOT="$fake_sdk" \
    SQLITE3_LIB_DIR=/nonexistent-sqlite-for-cargo-check \
    cargo check --quiet -p rukasec-ffi --no-default-features --target "$target"
done
echo "check-mobile: ok (${targets[*]})" >&2
