#!/usr/bin/env bash
# Fails when the public API changed without a CHANGELOG.md entry in the same change: every
# commit that touches an API snapshot (api/*.api: Kotlin, Swift, the core's Rust API) must touch
# CHANGELOG.md too, and so must uncommitted work that changes a snapshot. A commit that also
# changes how a snapshot is made (scripts/api_surface.py, scripts/rust_api_surface.py) may
# re-render it without an entry: the snapshot's format changed, not the API. Merge commits are
# skipped (their sides are checked). In a shallow clone only the commits present are checked.
#
#   scripts/check-changelog.sh
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
[[ $# -eq 0 ]] || { echo "usage: scripts/check-changelog.sh" >&2; exit 2; }

status=0
checked=0
while read -r commit; do
  [[ -n $commit ]] || continue
  checked=$((checked + 1))
  files=$(git diff-tree --no-commit-id --name-only -r "$commit")
  if ! grep -qx 'CHANGELOG.md' <<<"$files" && ! grep -qE '^scripts/(rust_)?api_surface\.py$' <<<"$files"; then
    echo "error: check-changelog: $(git log -1 --format='%h %s' "$commit" | cut -c1-100)" >&2
    echo "  changes api/ without a CHANGELOG.md entry" >&2
    status=1
  fi
done < <(git log --no-merges --format=%H -- api/)

if ! git diff --quiet HEAD -- api/ && git diff --quiet HEAD -- CHANGELOG.md; then
  echo "error: check-changelog: uncommitted changes to api/ without a CHANGELOG.md entry" >&2
  status=1
fi
if [[ $status -eq 0 ]]; then
  echo "check-changelog: each of the $checked commits that changed api/ has a CHANGELOG.md entry"
fi
exit $status
