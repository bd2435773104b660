#!/usr/bin/env bash
# Installs what the build and the tests need and a fresh machine of this kind may lack.
# Idempotent and quiet when everything is there. Root is needed only when something is missing.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"

missing_apt=()
command -v cargo >/dev/null 2>&1 || { echo "error: install-deps: cargo (rustup) is missing" >&2; exit 1; }
for component in rustfmt clippy; do
  rustup component list --installed 2>/dev/null | grep -q "^$component" || rustup component add "$component"
done
# scripts/check-rust-api.sh: rustdoc's JSON output is unstable, so the Rust API snapshot needs a
# nightly, pinned by date there (its `toolchain=` line); nothing else builds with it.
rust_api_toolchain=$(sed -n 's/^toolchain=\([^ #]*\).*/\1/p' scripts/check-rust-api.sh)
[[ -n $rust_api_toolchain ]] || { echo "error: install-deps: no toolchain= in scripts/check-rust-api.sh" >&2; exit 1; }
if ! rustup run "$rust_api_toolchain" rustdoc --version >/dev/null 2>&1; then
  echo "install-deps: rustup toolchain install $rust_api_toolchain --profile minimal" >&2
  rustup toolchain install "$rust_api_toolchain" --profile minimal --no-self-update >&2
fi
command -v openssl >/dev/null 2>&1 || missing_apt+=(openssl)
command -v java >/dev/null 2>&1 || missing_apt+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || missing_apt+=(maven)
command -v debootstrap >/dev/null 2>&1 || missing_apt+=(debootstrap)
# scripts/test-keyring.sh: a headless Secret Service (gnome-keyring on a private D-Bus session)
# and keyctl (a fresh session keyring for the keyutils test).
# The `keyring` feature itself needs no dev packages (libdbus is built from source, needs only cc).
command -v gnome-keyring-daemon >/dev/null 2>&1 || missing_apt+=(gnome-keyring)
command -v dbus-run-session >/dev/null 2>&1 || missing_apt+=(dbus-daemon)
command -v dbus-send >/dev/null 2>&1 || missing_apt+=(dbus-bin)
command -v keyctl >/dev/null 2>&1 || missing_apt+=(keyutils)
# scripts/test-redis.sh: the shared replay store against a real Redis on loopback.
command -v redis-server >/dev/null 2>&1 || missing_apt+=(redis-server)
# scripts/test-android.sh: the AndroidX AARs are unpacked with unzip.
command -v unzip >/dev/null 2>&1 || missing_apt+=(unzip)

command -v python3 >/dev/null 2>&1 || missing_apt+=(python3 python3-pip)
# scripts/check-mobile.sh: ring's C and assembly, compiled by Debian's clang for the phone
# targets (freestanding, no SDK); curl is the reference client of the TLS benchmark.
command -v clang >/dev/null 2>&1 || missing_apt+=(clang)
command -v llvm-ar >/dev/null 2>&1 || missing_apt+=(llvm)
command -v curl >/dev/null 2>&1 || missing_apt+=(curl)

if [[ ${#missing_apt[@]} -gt 0 ]]; then
  if [[ $EUID -ne 0 ]]; then
    echo "error: install-deps: missing ${missing_apt[*]}; install them (apt-get) or run as root" >&2
    exit 1
  fi
  echo "install-deps: apt-get install ${missing_apt[*]}" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing_apt[@]}" >&2
fi

# core/tests/format_independent.rs: the independent vault reader (tests/format/) uses AES-GCM
# from Python's `cryptography`.
if ! python3 -c 'import cryptography' >/dev/null 2>&1; then
  echo "install-deps: pip install cryptography" >&2
  python3 -m pip install --quiet cryptography >&2 \
    || python3 -m pip install --quiet --break-system-packages cryptography >&2
fi
