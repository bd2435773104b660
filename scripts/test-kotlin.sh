#!/usr/bin/env bash
# The Kotlin binding tests on the host JVM (tests/kotlin, Maven + JUnit 5).
#
#   scripts/test-kotlin.sh          RUKASEC_SKIP_BINDGEN=1 to reuse the bindings as they are
#
# Generates the bindings (scripts/bindgen.sh), turns the ```kotlin examples of
# docs/INTEGRATION.md into JUnit tests under tests/kotlin/target/ (scripts/doc_examples.py; build
# output, never in the git tree), tests both against <target dir>/bindings (cargo's target
# directory: CARGO_TARGET_DIR is honoured), then prints
# one line: `kotlin: N passed, N failed[, N skipped]`.
# Exits non-zero when Maven fails, a test fails, or no test passed.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"

project=tests/kotlin
reports="$project/target/surefire-reports"

if [[ "${RUKASEC_SKIP_BINDGEN:-0}" != 1 ]]; then
  bash scripts/bindgen.sh
fi

if ! command -v mvn >/dev/null 2>&1 && [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "test-kotlin: mvn not found, installing maven with apt-get" >&2
  apt-get update -qq >/dev/null && apt-get install -y -qq maven >/dev/null
fi
missing=()
command -v java >/dev/null 2>&1 || missing+=("java (a JDK 17+)")
command -v mvn >/dev/null 2>&1 || missing+=("mvn (Maven 3.8+)")
command -v python3 >/dev/null 2>&1 || missing+=("python3 (for scripts/doc_examples.py)")
if [[ ${#missing[@]} -gt 0 ]]; then
  printf -v what '%s, ' "${missing[@]}"
  echo "error: test-kotlin: missing ${what%, }; install them (Debian: apt-get install openjdk-17-jdk-headless maven python3)" >&2
  exit 1
fi

bindings="$(bash scripts/target-dir.sh)/bindings"
generated="$bindings/kotlin/com/rukapay/rukasec/rukasec.kt"
library="$bindings/lib/librukasec_ffi.so"
for f in "$generated" "$library"; do
  [[ -f "$f" ]] || { echo "error: test-kotlin: $f is missing; run scripts/bindgen.sh" >&2; exit 1; }
done

# A clean build (what `mvn clean` did), then the documentation's examples as a test source root
# of the build directory (tests/kotlin/pom.xml compiles it with the tests).
rm -rf "$project/target"
examples="$project/target/generated-test-sources/integration-docs"
python3 scripts/doc_examples.py kotlin docs/INTEGRATION.md \
  "$examples/com/rukapay/rukasec/docs/IntegrationExamplesTest.kt"
# The error variants the tests reach (ErrorReach.kt), copied out for scripts/check-error-reach.sh.
reach_out="$(bash scripts/target-dir.sh)/error-reach/kotlin.tsv"
mkdir -p "$(dirname "$reach_out")"
rm -f "$reach_out"
# Maven only runs for a short while: the C1 compiler alone makes Kotlin compilation much faster.
export MAVEN_OPTS="${MAVEN_OPTS:--XX:TieredStopAtLevel=1}"
set +e
mvn -B -q -Dstyle.color=never -f "$project/pom.xml" \
  -Drukasec.bindings.kotlin="$bindings/kotlin" \
  -Drukasec.bindings.lib="$bindings/lib" \
  test
mvn_status=$?
set -e
if [[ -f "$project/target/reached-errors.tsv" ]]; then cp "$project/target/reached-errors.tsv" "$reach_out"; fi

bash scripts/surefire-summary.sh kotlin "$reports" "$mvn_status"
