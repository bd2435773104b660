#!/usr/bin/env bash
# The Android glue (android/rukasec) compiled and tested on the host JVM: Robolectric 4.17 on
# Android 15 (API 35), offline, with the generated Kotlin bindings and the host librukasec_ffi.so
# (JNA). No Android SDK is needed; what only a device can show is listed in android/README.md.
#
#   scripts/test-android.sh          RUKASEC_SKIP_BINDGEN=1 to reuse the bindings as they are
#
# 1. Generates the bindings (scripts/bindgen.sh) into <target dir>/bindings (cargo's target
#    directory: CARGO_TARGET_DIR is honoured).
# 2. Fetches androidx.biometric and the AndroidX libraries it needs from Maven Central as AARs
#    (android/build-support/pom.xml) and unpacks the classes.jar of each into one jar,
#    <target dir>/android/androidx-classes.jar (and Robolectric's own AndroidX needs into
#    androidx-test-classes.jar): Maven cannot put an AAR on a classpath.
# 3. Runs `mvn test` on android/pom.xml (the first run downloads Robolectric's framework jars,
#    about 560 MB, into the local Maven repository; later runs are offline).
# Prints one line: `android: N passed, N failed[, N skipped]`. Exits non-zero when Maven fails,
# a test fails, or no test passed.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"

if [[ $# -gt 0 ]]; then
  echo "usage: scripts/test-android.sh   (RUKASEC_SKIP_BINDGEN=1 to reuse the bindings)" >&2
  exit 2
fi

if [[ "${RUKASEC_SKIP_BINDGEN:-0}" != 1 ]]; then
  bash scripts/bindgen.sh
fi

if ! command -v mvn >/dev/null 2>&1 && [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "test-android: mvn not found, installing maven with apt-get" >&2
  apt-get update -qq >/dev/null && apt-get install -y -qq maven >/dev/null
fi
missing=()
command -v java >/dev/null 2>&1 || missing+=("java (a JDK 17+)")
command -v jar >/dev/null 2>&1 || missing+=("jar (a JDK 17+)")
command -v mvn >/dev/null 2>&1 || missing+=("mvn (Maven 3.8+)")
command -v unzip >/dev/null 2>&1 || missing+=("unzip")
if [[ ${#missing[@]} -gt 0 ]]; then
  printf -v what '%s, ' "${missing[@]}"
  echo "error: test-android: missing ${what%, }; install them (Debian: apt-get install openjdk-17-jdk-headless maven unzip)" >&2
  exit 1
fi

target_dir="$(bash scripts/target-dir.sh)"
bindings="$target_dir/bindings"
for f in "$bindings/kotlin/com/rukapay/rukasec/rukasec.kt" "$bindings/lib/librukasec_ffi.so"; do
  [[ -f "$f" ]] || { echo "error: test-android: $f is missing; run scripts/bindgen.sh" >&2; exit 1; }
done

export MAVEN_OPTS="${MAVEN_OPTS:--XX:TieredStopAtLevel=1}"
work="$target_dir/android"
mkdir -p "$work"

# AndroidX: the AARs (and plain jars) fetched, then the classes.jar of each merged into one jar:
# $work/androidx-classes.jar (compile and test) and $work/androidx-test-classes.jar (what
# Robolectric itself needs, tests only).
fetch_dir="$work/androidx-fetch"
mvn -B -q -Dstyle.color=never -f android/build-support/pom.xml \
  -DbuildDirectory="$fetch_dir" package
merge_jars() { # merge_jars FROM_DIR OUT_JAR
  local from="$1" out="$2" merged archive unpacked classes
  merged="$out.d"
  rm -rf "$merged" && mkdir -p "$merged"
  shopt -s nullglob
  local archives=("$from"/*.aar "$from"/*.jar)
  shopt -u nullglob
  [[ ${#archives[@]} -gt 0 ]] || { echo "error: test-android: no AndroidX artifact in $from" >&2; return 1; }
  for archive in "${archives[@]}"; do
    if [[ $archive == *.aar ]]; then
      unpacked="$work/aar-unpacked/$(basename "$archive" .aar)"
      rm -rf "$unpacked" && mkdir -p "$unpacked"
      unzip -q -o "$archive" classes.jar -d "$unpacked" 2>/dev/null || continue  # resources-only AAR
      classes="$unpacked/classes.jar"
    else
      classes="$archive"
    fi
    # Later archives do not replace classes of earlier ones (-n): each class is in one artifact.
    unzip -q -n "$classes" -x 'META-INF/*' -d "$merged"
  done
  rm -f "$out"
  jar --create --file "$out" -C "$merged" .
  rm -rf "$merged"
  echo "test-android: AndroidX classes from ${#archives[@]} artifacts in $out" >&2
}
androidx_jar="$work/androidx-classes.jar"
androidx_test_jar="$work/androidx-test-classes.jar"
merge_jars "$fetch_dir/aar" "$androidx_jar"
merge_jars "$fetch_dir/test-aar" "$androidx_test_jar"

project=android
reports="$project/target/surefire-reports"
rm -rf "$project/target"
set +e
mvn -B -q -Dstyle.color=never -f "$project/pom.xml" \
  -Drukasec.bindings.kotlin="$bindings/kotlin" \
  -Drukasec.bindings.lib="$bindings/lib" \
  -Drukasec.androidx.jar="$androidx_jar" \
  -Drukasec.androidx.test.jar="$androidx_test_jar" \
  test
mvn_status=$?
set -e

bash scripts/surefire-summary.sh android "$reports" "$mvn_status"
