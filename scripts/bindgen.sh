#!/usr/bin/env bash
# Build the host library (debug, unstripped: UniFFI reads its metadata) and generate the Kotlin
# and Swift bindings from it with the workspace's own uniffi-bindgen (same uniffi version).
#
#   scripts/bindgen.sh [--release]       features from $RUKASEC_FFI_FEATURES (default: ffi-testing)
#
# Output (git-ignored build output):
#   target/bindings/kotlin/   com/rukapay/rukasec/rukasec.kt
#   target/bindings/swift/    RukaSec.swift, RukaSecFFI.h, RukaSecFFI.modulemap
#   target/bindings/lib/      librukasec_ffi.so (the library the bindings were generated from)
# The library and the bindings are always built with the same feature set.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"

features="${RUKASEC_FFI_FEATURES-ffi-testing}"
feature_args=(--features "cli${features:+,$features}")

echo "bindgen: building rukasec-ffi (features: cli${features:+,$features})" >&2
cargo build --quiet -p rukasec-ffi "${feature_args[@]}" --lib --bin uniffi-bindgen

lib=target/debug/librukasec_ffi.so
[[ -f "$lib" ]] || { echo "error: bindgen: $lib was not built" >&2; exit 1; }

out=target/bindings
# Overwrite in place (no rm -rf): a test suite may be reading the previous output.
mkdir -p "$out/kotlin" "$out/swift" "$out/lib"
cp "$lib" "$out/lib/"

bindgen=target/debug/uniffi-bindgen
"$bindgen" generate --library "$lib" --language kotlin --out-dir "$out/kotlin" --no-format >&2
"$bindgen" generate --library "$lib" --language swift --out-dir "$out/swift" --no-format >&2
echo "bindgen: bindings in $out" >&2
