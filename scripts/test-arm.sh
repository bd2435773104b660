#!/usr/bin/env bash
# The core's tests on the CPUs phones have: cross-compiled for 64-bit and 32-bit ARM Linux with
# Debian's cross toolchains and run under qemu-user. The same instruction sets as Android and iOS
# devices (AES, PMULL and NEON code paths of ring and the RustCrypto crates, 32-bit `usize` on
# armv7), not Android's libc (bionic) or Apple's: what differs there is checked by
# scripts/check-mobile.sh and on devices.
#
#   scripts/test-arm.sh [--skip-vectors] [TARGET...]
#
# TARGET           default: aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf
# --skip-vectors   skip the known-answer vector tests (as scripts/test.sh)
#
# Runs `cargo test -p rukasec-core --lib --tests` per target (doctests and benchmarks are host
# only). The last line is `arm: N passed, M failed`. Honours CARGO_TARGET_DIR.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"

targets=()
for arg in "$@"; do
  case "$arg" in
    --skip-vectors) export RUKASEC_SKIP_VECTORS=1 ;;
    -*) echo "usage: scripts/test-arm.sh [--skip-vectors] [TARGET...]" >&2; exit 2 ;;
    *) targets+=("$arg") ;;
  esac
done
[[ ${#targets[@]} -gt 0 ]] || targets=(aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf)

# target -> cross gcc prefix, qemu binary, Debian packages.
toolchain() {
  case "$1" in
    aarch64-unknown-linux-gnu) echo "aarch64-linux-gnu qemu-aarch64 gcc-aarch64-linux-gnu libc6-dev-arm64-cross" ;;
    armv7-unknown-linux-gnueabihf) echo "arm-linux-gnueabihf qemu-arm gcc-arm-linux-gnueabihf libc6-dev-armhf-cross" ;;
    *) echo "error: test-arm: unsupported target $1 (aarch64-unknown-linux-gnu, armv7-unknown-linux-gnueabihf)" >&2; return 1 ;;
  esac
}

missing=()
for target in "${targets[@]}"; do
  read -r prefix qemu packages <<<"$(toolchain "$target")"
  command -v "$prefix-gcc" >/dev/null 2>&1 || missing+=($packages)
  command -v "$qemu" >/dev/null 2>&1 || missing+=(qemu-user)
done
if [[ ${#missing[@]} -gt 0 ]]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if [[ $EUID -ne 0 ]]; then
    echo "error: test-arm: missing ${missing[*]}; install them (apt-get) or run as root" >&2
    exit 1
  fi
  echo "test-arm: apt-get install ${missing[*]}" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
installed=$(rustup target list --installed)
for target in "${targets[@]}"; do
  grep -qx "$target" <<<"$installed" || rustup target add "$target" >&2
done

passed=0
failed=0
status=0
log="$(bash scripts/target-dir.sh)/test-logs"
mkdir -p "$log"
for target in "${targets[@]}"; do
  read -r prefix qemu _ <<<"$(toolchain "$target")"
  var=${target//-/_}
  upper=${var^^}
  echo "test-arm: $target under $qemu" >&2
  start=$SECONDS
  rc=0
  # The runner is qemu with the cross sysroot; C code (SQLite, ring) is built by the cross gcc.
  # RUKASEC_TEST_RUNNER: tests that spawn their own binary (vault_crash) run it under qemu too.
  env "CARGO_TARGET_${upper}_LINKER=$prefix-gcc" \
      "CARGO_TARGET_${upper}_RUNNER=$qemu -L /usr/$prefix" \
      "RUKASEC_TEST_RUNNER=$qemu -L /usr/$prefix" \
      "CC_$var=$prefix-gcc" "AR_$var=$prefix-ar" \
      cargo test -p rukasec-core --no-fail-fast --lib --tests --target "$target" 2>&1 \
    | tee "$log/arm-$target.log" || rc=${PIPESTATUS[0]}
  read -r p f <<<"$(awk '/^test result: /{for(i=1;i<=NF;i++){if($(i+1)~/^passed/)p+=$i; if($(i+1)~/^failed/)f+=$i}} END{print p+0, f+0}' "$log/arm-$target.log")"
  echo "test-arm: $target: $p passed, $f failed ($((SECONDS - start)) s)" >&2
  passed=$((passed + p))
  failed=$((failed + f))
  [[ $rc -eq 0 ]] || status=1
done
if [[ $status -ne 0 && $failed -eq 0 ]]; then failed=1; fi  # a build failure, not a test
echo "arm: $passed passed, $failed failed"
exit $status
