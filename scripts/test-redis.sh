#!/usr/bin/env bash
# RedisReplayStore (cargo feature `redis`) against real Redis servers: Debian's redis-server,
# started here on free loopback ports in a temporary directory (no persistence), stopped and
# removed on exit. Two servers: one as a fleet should run it (maxmemory-policy noeviction) and
# one that may evict keys (allkeys-lru), which the store must refuse.
#
#   scripts/test-redis.sh [TEST-BINARY-ARGS...]    e.g. a test name filter, --nocapture
#
# scripts/install-deps.sh installs redis-server when it is missing.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"

bash scripts/install-deps.sh

# Build before any server starts, so they only live for the tests.
cargo test -p rukasec-core --features redis --test replay_store --no-run --quiet

scratch=$(mktemp -d "${TMPDIR:-/tmp}/rukasec-redis.XXXXXX")
pids=()
stop() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$scratch"
}
trap stop EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start NAME POLICY: a redis-server on a free loopback port, its port in $started_port (not
# a command substitution: the server and its pid must belong to this shell).
start() {
  local name=$1 policy=$2 port pid
  mkdir -p "$scratch/$name"
  for _ in 1 2 3; do
    port=$(free_port)
    redis-server --port "$port" --bind 127.0.0.1 --dir "$scratch/$name" --save '' \
      --appendonly no --maxmemory-policy "$policy" --daemonize no \
      --logfile "$scratch/$name/redis.log" </dev/null >/dev/null 2>&1 &
    pid=$!
    pids+=("$pid")
    for _ in $(seq 100); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        started_port=$port
        return 0
      fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
  done
  echo "error: test-redis: redis-server ($name) did not start:" >&2
  cat "$scratch/$name/redis.log" >&2 || true
  exit 1
}

start fleet noeviction
export RUKASEC_REDIS_URL="redis://127.0.0.1:$started_port/0"
start evicting allkeys-lru
export RUKASEC_REDIS_EVICTING_URL="redis://127.0.0.1:$started_port/0"
cargo test -p rukasec-core --features redis --test replay_store -- --include-ignored "$@"
