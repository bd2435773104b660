#!/usr/bin/env bash
# Fuzzes the pin-policy, HTTP-signature and otpauth:// URI parsers with cargo-fuzz (libFuzzer, AddressSanitizer):
#   scripts/fuzz.sh [seconds per target]      (default 60)
# Targets: fuzz/fuzz_targets/{pin_policy,signed_policy,http_signature,otpauth_uri}.rs. Seeds in
# fuzz/corpus/<target>/ are read, never written: what libFuzzer finds goes to fuzz/work/<target>/
# (git-ignored), crashes to fuzz/artifacts/<target>/. Needs a nightly toolchain and cargo-fuzz;
# both are installed when missing.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"

seconds="${1:-60}"
targets=(pin_policy signed_policy http_signature otpauth_uri)

if ! rustup toolchain list | grep -q '^nightly'; then
    echo "fuzz.sh: installing the nightly toolchain (cargo-fuzz needs -Zsanitizer)" >&2
    rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

root="$PWD"
for target in "${targets[@]}"; do
    work="$root/fuzz/work/$target"
    mkdir -p "$work"
    echo "fuzz.sh: $target for ${seconds}s" >&2
    cargo +nightly fuzz run --fuzz-dir "$root/fuzz" "$target" \
        "$work" "$root/fuzz/corpus/$target" -- \
        -max_total_time="$seconds" \
        -dict="$root/fuzz/dict/$target.dict" \
        -print_final_stats=1
done
