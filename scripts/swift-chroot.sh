#!/usr/bin/env bash
# Make (once) and cache a Debian 13 (trixie) chroot with the Swift toolchain, for running the
# Swift binding tests on a Linux host that has no Swift of its own.
#
#   scripts/swift-chroot.sh            prints the chroot's path, creating it when missing
#
# The chroot lives outside the repo: $RUKASEC_SWIFT_CHROOT, default /var/cache/rukasec/swift-trixie.
# It is rebuilt when its ready-marker is missing (a half-made chroot is discarded first).
# Needs root (debootstrap, chroot, mount). Only /proc is mounted while installing, and it is
# unmounted again on every exit path.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"

chroot_dir="${RUKASEC_SWIFT_CHROOT:-/var/cache/rukasec/swift-trixie}"
marker="$chroot_dir/.rukasec-swift-ready"

if [[ -f "$marker" ]]; then
  echo "$chroot_dir"
  exit 0
fi

[[ $EUID -eq 0 ]] || { echo "error: swift-chroot: root is needed for debootstrap and chroot" >&2; exit 1; }

if ! command -v debootstrap >/dev/null 2>&1; then
  echo "swift-chroot: installing debootstrap (apt)" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2
fi

cleanup() {
  if mountpoint -q "$chroot_dir/proc" 2>/dev/null; then umount "$chroot_dir/proc" || umount -l "$chroot_dir/proc"; fi
}
trap cleanup EXIT

# A chroot without the marker is a leftover of an interrupted run: start again.
if [[ -e "$chroot_dir" ]]; then
  cleanup
  rm -rf --one-file-system "$chroot_dir"
fi
mkdir -p "$chroot_dir"

echo "swift-chroot: debootstrap trixie into $chroot_dir" >&2
debootstrap --variant=minbase trixie "$chroot_dir" http://deb.debian.org/debian >&2

mount -t proc proc "$chroot_dir/proc"
cp /etc/resolv.conf "$chroot_dir/etc/resolv.conf" 2>/dev/null || true
echo "swift-chroot: installing swiftlang" >&2
chroot "$chroot_dir" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root DEBIAN_FRONTEND=noninteractive \
  bash -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends swiftlang libc6-dev >/dev/null' >&2
chroot "$chroot_dir" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin swift --version >&2

touch "$marker"
echo "$chroot_dir"
