#!/usr/bin/env bash
# The verdict of a Maven test run, from its Surefire XML reports (one <testsuite> per class):
# prints `NAME: N passed, N failed[, N skipped]` on a fresh line, then exits non-zero when Maven
# failed (its status), a test failed, or no test passed. Used by test-kotlin.sh and
# test-android.sh after their `mvn test`.
#
#   scripts/surefire-summary.sh NAME REPORTS_DIR MVN_STATUS
set -euo pipefail

if [[ $# -ne 3 ]]; then
  echo "usage: scripts/surefire-summary.sh NAME REPORTS_DIR MVN_STATUS" >&2
  exit 2
fi
name="$1" reports="$2" mvn_status="$3"

attr() { # attr NAME HEADER: the numeric attribute NAME of a <testsuite ...> header, 0 if absent
  local value
  value=$(sed -nE "s/.*[[:space:]]$1=\"([0-9]+)\".*/\1/p" <<<"$2")
  echo "${value:-0}"
}
tests=0 failures=0 errors=0 skipped=0
shopt -s nullglob
for report in "$reports"/TEST-*.xml; do
  header=$(grep -m1 -o '<testsuite [^>]*>' "$report" || true)
  tests=$((tests + $(attr tests "$header")))
  failures=$((failures + $(attr failures "$header")))
  errors=$((errors + $(attr errors "$header")))
  skipped=$((skipped + $(attr skipped "$header")))
done
shopt -u nullglob
passed=$((tests - failures - errors - skipped))
failed=$((failures + errors))

line="$name: $passed passed, $failed failed"
[[ $skipped -gt 0 ]] && line+=", $skipped skipped"
# A fresh line: Debian's Maven 3.8 ends its output with colour resets and no newline.
printf '\n%s\n' "$line"

if [[ $mvn_status -ne 0 ]]; then
  echo "error: test-$name: mvn exited with status $mvn_status" >&2
  exit "$mvn_status"
fi
if [[ $failed -gt 0 || $passed -eq 0 ]]; then
  echo "error: test-$name: $failed failed, $passed passed" >&2
  exit 1
fi
