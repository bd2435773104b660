#!/usr/bin/env bash
# The Android library's instrumented tests (android/rukasec/src/androidTest) on a device or an
# emulator, through Gradle: the real AndroidKeyStore, the Keystore signer verified by the core,
# and the JNI path into rustls-platform-verifier with pinned requests to https://www.google.com.
# For a machine with the Android SDK; scripts/test.sh does not call it (the CI machines have no
# SDK: there the glue runs under Robolectric, scripts/test-android.sh).
#
#   scripts/android-emulator-test.sh [--start-emulator AVD] [--no-network] [--help]
#
#   --start-emulator AVD   start the emulator AVD (from `emulator -list-avds`) headless
#                          (-no-window -no-audio -no-boot-anim), wait for sys.boot_completed,
#                          run the tests on it and shut it down afterwards; without it, a device
#                          or emulator must be connected already (`adb devices`; with several,
#                          Gradle runs on each, or set ANDROID_SERIAL to choose one)
#   --no-network           leave out the tests marked @NeedsNetwork (the pinned requests)
#   --help                 print this and exit
#
# Needs: ANDROID_HOME (or ANDROID_SDK_ROOT) with platform-tools (and emulator for
# --start-emulator); cargo with cargo-ndk (`cargo install cargo-ndk`) and the Rust targets
# aarch64-linux-android, armv7-linux-androideabi, x86_64-linux-android; a JDK 17+; and Gradle
# 8.13+: android/gradlew when it exists, else `gradle` on PATH (no wrapper jar is committed: run
# `gradle -p android wrapper --gradle-version 8.14.3` once to make one). AGP installs the
# compileSdk platform and the NDK of android/gradle/libs.versions.toml when their licences
# are accepted (`sdkmanager --licenses`).
# Cargo's target directory is honoured (CARGO_TARGET_DIR; scripts/target-dir.sh): the Rust
# builds Gradle starts use it, and the emulator's log goes to <target>/android-emulator/.
# Exits 0 when every test passed, 1 on a failure or a missing tool, 2 on bad arguments.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"

usage() {
  sed -n '/^#   scripts\/android-emulator-test.sh/,/^#   --help/p' "$0" | sed 's/^# \{0,1\}//'
}

avd=""
network=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --start-emulator)
      [[ $# -ge 2 && -n "$2" && "$2" != --* ]] || { echo "error: --start-emulator needs an AVD name" >&2; usage >&2; exit 2; }
      avd="$2"
      shift 2
      ;;
    --no-network) network=0; shift ;;
    --help | -h) usage; exit 0 ;;
    *) echo "error: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done

fail() {
  echo "error: android-emulator-test: $*" >&2
  exit 1
}

# The SDK.
sdk="${ANDROID_HOME:-${ANDROID_SDK_ROOT:-}}"
[[ -n "$sdk" ]] || fail "set ANDROID_HOME (or ANDROID_SDK_ROOT) to the Android SDK"
[[ -d "$sdk" ]] || fail "the Android SDK directory $sdk does not exist"
export ANDROID_HOME="$sdk"
adb="$sdk/platform-tools/adb"
[[ -x "$adb" ]] || adb="$(command -v adb || true)"
[[ -n "$adb" ]] || fail "adb not found in $sdk/platform-tools or on PATH (sdkmanager 'platform-tools')"

# Rust: cargo-ndk and the three Android targets.
command -v cargo >/dev/null 2>&1 || fail "cargo not found (https://rustup.rs)"
cargo ndk --version >/dev/null 2>&1 || fail "cargo-ndk not found; install it with: cargo install cargo-ndk"
if command -v rustup >/dev/null 2>&1; then
  installed="$(rustup target list --installed)"
  missing_targets=()
  for target in aarch64-linux-android armv7-linux-androideabi x86_64-linux-android; do
    grep -qx "$target" <<<"$installed" || missing_targets+=("$target")
  done
  if [[ ${#missing_targets[@]} -gt 0 ]]; then
    fail "Rust targets missing; install them with: rustup target add ${missing_targets[*]}"
  fi
else
  echo "android-emulator-test: rustup not found; assuming the Android targets are installed" >&2
fi
command -v java >/dev/null 2>&1 || fail "java not found (a JDK 17+)"

# Gradle: the wrapper when there is one.
if [[ -x android/gradlew ]]; then
  gradle=(android/gradlew -p android)
elif command -v gradle >/dev/null 2>&1; then
  gradle=(gradle -p android)
else
  fail "neither android/gradlew nor gradle found; install Gradle 8.13+ (then 'gradle -p android wrapper --gradle-version 8.14.3' makes the wrapper)"
fi

target_dir="$(bash scripts/target-dir.sh)"
export CARGO_TARGET_DIR="$target_dir"

devices() { "$adb" devices | awk 'NR > 1 && $2 == "device" { print $1 }'; }

emulator_pid=""
serial=""
stop_emulator() {
  if [[ -n "$emulator_pid" ]] && kill -0 "$emulator_pid" 2>/dev/null; then
    echo "android-emulator-test: stopping the emulator $serial" >&2
    "$adb" -s "$serial" emu kill >/dev/null 2>&1 || true
    for _ in $(seq 1 30); do kill -0 "$emulator_pid" 2>/dev/null || return 0; sleep 1; done
    kill "$emulator_pid" 2>/dev/null || true
  fi
}

if [[ -n "$avd" ]]; then
  emulator="$sdk/emulator/emulator"
  [[ -x "$emulator" ]] || fail "$emulator not found (sdkmanager 'emulator' and a system image)"
  "$emulator" -list-avds | grep -qx "$avd" || fail "no AVD named $avd (emulator -list-avds; avdmanager create avd ...)"
  # A console port no running emulator uses: its serial is then emulator-<port>.
  port=""
  for candidate in $(seq 5554 2 5584); do
    if ! devices | grep -qx "emulator-$candidate"; then port=$candidate; break; fi
  done
  [[ -n "$port" ]] || fail "no free emulator port between 5554 and 5584"
  serial="emulator-$port"
  log_dir="$target_dir/android-emulator"
  mkdir -p "$log_dir"
  echo "android-emulator-test: starting $avd as $serial (log: $log_dir/emulator.log)" >&2
  "$emulator" -avd "$avd" -port "$port" -no-window -no-audio -no-boot-anim -no-snapshot-save \
    >"$log_dir/emulator.log" 2>&1 &
  emulator_pid=$!
  trap stop_emulator EXIT
  timeout 120 "$adb" -s "$serial" wait-for-device || fail "$serial did not appear within 120 s (see $log_dir/emulator.log)"
  booted=""
  for _ in $(seq 1 300); do
    kill -0 "$emulator_pid" 2>/dev/null || fail "the emulator exited (see $log_dir/emulator.log)"
    booted="$("$adb" -s "$serial" shell getprop sys.boot_completed 2>/dev/null | tr -d '\r')"
    [[ "$booted" == 1 ]] && break
    sleep 1
  done
  [[ "$booted" == 1 ]] || fail "$serial did not finish booting within 300 s"
  # Gradle's connected tests then run on this emulator only.
  export ANDROID_SERIAL="$serial"
  echo "android-emulator-test: $serial booted" >&2
else
  [[ -n "$(devices)" ]] || fail "no device or emulator connected (adb devices); connect one or pass --start-emulator AVD"
fi

gradle_args=(:rukasec-android:connectedDebugAndroidTest)
if [[ $network == 0 ]]; then
  gradle_args+=("-Pandroid.testInstrumentationRunnerArguments.notAnnotation=com.rukapay.rukasec.android.NeedsNetwork")
fi
echo "android-emulator-test: ${gradle[*]} ${gradle_args[*]}" >&2
"${gradle[@]}" "${gradle_args[@]}"
echo "android-emulator-test: passed (reports: android/rukasec/build/reports/androidTests/connected/)" >&2
