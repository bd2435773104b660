#!/usr/bin/env bash
# Build the host library (unstripped: UniFFI reads its metadata) and generate the Kotlin and
# Swift bindings from it with the workspace's own uniffi-bindgen (same uniffi version).
#
#   scripts/bindgen.sh [--release]       features from $RUKASEC_FFI_FEATURES (default: ffi-testing)
#
# --release   build the release profile (opt-level and LTO as shipped) with stripping turned
#             off for this build (CARGO_PROFILE_RELEASE_STRIP=none), and generate from it;
#             without it the debug profile is used.
#
# Output (git-ignored build output), in cargo's target directory (scripts/target-dir.sh, so
# CARGO_TARGET_DIR is honoured):
#   <target>/bindings/kotlin/   com/rukapay/rukasec/rukasec.kt
#   <target>/bindings/swift/    RukaSec.swift, RukaSecFFI.h, RukaSecFFI.modulemap
#   <target>/bindings/lib/      librukasec_ffi.so (the library the bindings were generated from)
# The library and the bindings are always built with the same feature set and profile.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"

profile=debug
profile_args=()
for arg in "$@"; do
  case "$arg" in
    --release) profile=release; profile_args=(--release) ;;
    *) echo "usage: scripts/bindgen.sh [--release]" >&2; exit 2 ;;
  esac
done
# The shipped profile strips symbols, and a stripped library has no UniFFI metadata.
[[ $profile == debug ]] || export CARGO_PROFILE_RELEASE_STRIP=none

features="${RUKASEC_FFI_FEATURES-ffi-testing}"
feature_args=(--features "cli${features:+,$features}")
target_dir="$(bash scripts/target-dir.sh)"

echo "bindgen: building rukasec-ffi ($profile, features: cli${features:+,$features})" >&2
cargo build --quiet -p rukasec-ffi "${profile_args[@]}" "${feature_args[@]}" --lib --bin uniffi-bindgen

lib="$target_dir/$profile/librukasec_ffi.so"
[[ -f "$lib" ]] || { echo "error: bindgen: $lib was not built" >&2; exit 1; }

out="$target_dir/bindings"
stage="$out.staging.$$"
rm -rf "$stage"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/kotlin" "$stage/swift" "$stage/lib"
cp "$lib" "$stage/lib/"
bindgen="$target_dir/$profile/uniffi-bindgen"
"$bindgen" generate --library "$lib" --language kotlin --out-dir "$stage/kotlin" --no-format >&2
"$bindgen" generate --library "$lib" --language swift --out-dir "$stage/swift" --no-format >&2

# Move each file into place with rename(2): a process that has the old library mapped keeps the
# old inode (overwriting it in place crashes a running JVM with SIGBUS).
(cd "$stage" && find . -type f) | while read -r file; do
  mkdir -p "$(dirname "$out/$file")"
  mv -f "$stage/$file" "$out/$file"
done
echo "bindgen: bindings in $out ($profile)" >&2
