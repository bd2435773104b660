#!/usr/bin/env bash
# KeyringKeyWrapper (cargo feature `keyring`) against a real Secret Service, headless: a private
# D-Bus session (dbus-run-session) with gnome-keyring-daemon's secrets component, its login
# keyring created and unlocked with a throwaway password in a temporary directory; and against
# the kernel's keyutils in a fresh session keyring. Nothing touches the user's own keyring, and no
# daemon or keyring file is left behind.
#
#   scripts/test-keyring.sh [TEST-BINARY-ARGS...]    e.g. a test name filter, --nocapture
#
# scripts/install-deps.sh installs gnome-keyring, dbus-run-session and keyctl when they are missing.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"

bash scripts/install-deps.sh

# Build outside the D-Bus session, so the session (and the daemon) only lives for the tests.
cargo test -p rukasec-core --features keyring --test keyring_wrapper --no-run --quiet

# gnome-keyring keeps its keyrings in $XDG_DATA_HOME/keyrings and its sockets in
# $XDG_RUNTIME_DIR/keyring: both go to a directory removed on exit.
scratch=$(mktemp -d "${TMPDIR:-/tmp}/rukasec-keyring.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
mkdir -m 700 "$scratch/data" "$scratch/run"

export XDG_DATA_HOME="$scratch/data" XDG_RUNTIME_DIR="$scratch/run"
# keyctl gives the tests a new anonymous session keyring (keyutils test; a container's own one
# may belong to the runtime), dropped when they end. dbus-run-session starts a private session
# bus, runs the script and stops the bus after it.
keyctl session - dbus-run-session -- bash -c '
  set -euo pipefail
  # --foreground keeps the daemon our child, so we know its pid and can stop it; --unlock reads the
  # password from stdin and creates the login keyring (the default collection) with it.
  printf %s "rukasec-test-keyring" | gnome-keyring-daemon --foreground --unlock --components=secrets >/dev/null &
  daemon=$!
  stop() { kill "$daemon" 2>/dev/null || true; wait "$daemon" 2>/dev/null || true; }
  trap stop EXIT
  # Wait (up to 10 s) until the daemon owns org.freedesktop.secrets on the bus.
  for _ in $(seq 100); do
    if dbus-send --session --print-reply --dest=org.freedesktop.DBus / \
         org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q "boolean true"; then
      ready=1; break
    fi
    kill -0 "$daemon" 2>/dev/null || break
    sleep 0.1
  done
  if [[ -z ${ready:-} ]]; then echo "error: test-keyring: gnome-keyring-daemon did not start" >&2; exit 1; fi
  cargo test -p rukasec-core --features keyring --test keyring_wrapper -- --include-ignored "$@"
' bash "$@"
