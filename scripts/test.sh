#!/usr/bin/env bash
# Every test RukaSec has: Rust (fmt, clippy, cargo test, the keyring wrapper against a headless
# Secret Service, the Redis replay store against a loopback redis-server, cargo check for the
# mobile targets, the core's tests on aarch64 and armv7 under qemu), the API snapshots (api/),
# Kotlin bindings on the host JVM, Swift bindings in a Debian 13 chroot, the Android glue under
# Robolectric on the host JVM, and the table of which
# Kotlin and Swift test reaches each error variant.
# Installs what a fresh machine lacks.
#
#   scripts/test.sh [--skip-vectors]
#
# --skip-vectors   skip the known-answer vector tests when ../shared/vectors is not available
#                  (otherwise they fail, saying where to put the vectors)
# Every suite runs even when an earlier one failed; the exit code is non-zero if any failed.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"

for arg in "$@"; do
  case "$arg" in
    --skip-vectors) export RUKASEC_SKIP_VECTORS=1 ;;
    *) echo "usage: scripts/test.sh [--skip-vectors]" >&2; exit 2 ;;
  esac
done

bash scripts/install-deps.sh

logs="$(bash scripts/target-dir.sh)/test-logs"   # cargo's target directory: CARGO_TARGET_DIR too
mkdir -p "$logs"
summary=()
status=0

# Runs one step, keeps its output in $logs/<name>.log (and shows it), records its verdict.
step() {
  local name="$1"; shift
  echo "==> $name: $*"
  local start=$SECONDS rc=0
  "$@" 2>&1 | tee "$logs/$name.log" || rc=${PIPESTATUS[0]}
  local took=$((SECONDS - start))
  if [[ $rc -eq 0 ]]; then summary+=("$name: ok (${took}s)"); else summary+=("$name: FAILED, exit $rc (${took}s)"); status=1; fi
  return 0
}

step fmt cargo fmt --all -- --check
step clippy cargo clippy --workspace --all-targets --all-features --quiet -- -D warnings
step rust cargo test --workspace --all-features
step keyring bash scripts/test-keyring.sh
step redis bash scripts/test-redis.sh
step mobile bash scripts/check-mobile.sh
step arm bash scripts/test-arm.sh
step bindgen bash scripts/bindgen.sh
step exports bash scripts/check-exports.sh
step api bash scripts/check-api.sh
step rust-api bash scripts/check-rust-api.sh
step changelog bash scripts/check-changelog.sh
RUKASEC_SKIP_BINDGEN=1 step kotlin bash scripts/test-kotlin.sh
RUKASEC_SKIP_BINDGEN=1 step swift bash scripts/test-swift.sh
RUKASEC_SKIP_BINDGEN=1 step android bash scripts/test-android.sh
step errors bash scripts/check-error-reach.sh

# Test counts per suite.
cargo_counts() { awk '/^test result: /{for(i=1;i<=NF;i++){if($(i+1)~/^passed/)p+=$i; if($(i+1)~/^failed/)f+=$i}} END{print p+0, f+0}' "$logs/$1.log" 2>/dev/null || echo 0 0; }
read -r rust_passed rust_failed <<<"$(cargo_counts rust)"
read -r keyring_passed keyring_failed <<<"$(cargo_counts keyring)"
read -r redis_passed redis_failed <<<"$(cargo_counts redis)"
count_line() { sed 's/\x1b\[[0-9;]*m//g' "$logs/$1.log" 2>/dev/null | grep -E "^$1: [0-9]+ passed, [0-9]+ failed" | tail -n 1 || true; }
kotlin_line=$(count_line kotlin); swift_line=$(count_line swift); arm_line=$(count_line arm)
android_line=$(count_line android)
counts() { sed -E 's/^[a-z]+: ([0-9]+) passed, ([0-9]+) failed.*/\1 \2/' <<<"$1"; }
read -r kotlin_passed kotlin_failed <<<"$(counts "${kotlin_line:-x: 0 passed, 0 failed}")"
read -r swift_passed swift_failed <<<"$(counts "${swift_line:-x: 0 passed, 0 failed}")"
read -r arm_passed arm_failed <<<"$(counts "${arm_line:-x: 0 passed, 0 failed}")"
read -r android_passed android_failed <<<"$(counts "${android_line:-x: 0 passed, 0 failed}")"

echo
echo "==> summary"
printf '  %s\n' "${summary[@]}"
echo "  rust: ${rust_passed:-0} passed, ${rust_failed:-0} failed"
echo "  keyring: ${keyring_passed} passed, ${keyring_failed} failed"
echo "  redis: ${redis_passed} passed, ${redis_failed} failed"
echo "  kotlin: ${kotlin_passed} passed, ${kotlin_failed} failed"
echo "  swift: ${swift_passed} passed, ${swift_failed} failed"
echo "  arm: ${arm_passed} passed, ${arm_failed} failed"
echo "  android: ${android_passed} passed, ${android_failed} failed"
total_passed=$(( ${rust_passed:-0} + keyring_passed + redis_passed + kotlin_passed + swift_passed + arm_passed + android_passed ))
total_failed=$(( ${rust_failed:-0} + keyring_failed + redis_failed + kotlin_failed + swift_failed + arm_failed + android_failed ))
if [[ $status -ne 0 && $total_failed -eq 0 ]]; then total_failed=1; fi  # a step failed outside a test
echo "total: ${total_passed} passed, ${total_failed} failed"
exit $status
